"""Shared CLI plumbing: error reporting, JSON output, file reading, parameters."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any, Callable

import click

from zkproofs.errors import MalformedInput, ZkProofsError
from zkproofs.field import parse_decimal
from zkproofs.jsontext import loads

EXIT_INVALID = 1
EXIT_MALFORMED = 2

backend_option = click.option(
    "--backend",
    type=click.Choice(["arkworks", "py_ecc"]),
    envvar="ZKPROOFS_BACKEND",
    default=None,
    help="Curve backend: arkworks (native, default) or py_ecc (pure Python reference). "
    "Also read from ZKPROOFS_BACKEND.",
)


def fail(message: str, code: int = EXIT_MALFORMED) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def reports_errors(func: Callable) -> Callable:
    """Turn zkproofs' typed errors and unreadable files into 'error: ...' and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ZkProofsError as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"{exc.filename or ''}: {exc.strerror or exc}")

    return wrapper


def read_bytes(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise MalformedInput(f"{path}: {exc.strerror}") from None


def read_json(path: str) -> Any:
    return loads(read_bytes(path), path)


def parse_params(values: tuple[str, ...], option: str = "--param", max_digits: int = 9) -> dict[str, int]:
    """``("depth=10", ...)`` -> {"depth": 10}; MalformedInput naming ``option`` on anything else
    (a missing name or ``=``, a value that is not a canonical decimal of at most ``max_digits``)."""
    params = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise MalformedInput(f"{option} {item!r}: expected NAME=INTEGER")
        params[name.strip()] = parse_decimal(value.strip(), what=f"{option} {item!r}", max_digits=max_digits)
    return params


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2))


def trust_options(func: Callable) -> Callable:
    """The options with which a verifier decides whether to rely on a key (:mod:`zkproofs.groth16.trust`)."""
    options = [
        click.option("--trust-single-party-key", "trust_single_party", is_flag=True,
                     help="Accept a key from a single-party setup: you trust the party named in it, "
                     "which could forge proofs. Without it only ceremony keys are accepted."),
        click.option("--zkey", "zkey_path", type=click.Path(dir_okay=False),
                     help="The ceremony's phase-2 transcript (.zkey) of a ceremony key, verified against the "
                     "circuit once and then remembered (with --ptau)."),
        click.option("--ptau", "ptau_path", type=click.Path(dir_okay=False),
                     help="The phase-1 transcript (.ptau) the ceremony key builds on (with --zkey)."),
        click.option("--reverify", is_flag=True,
                     help="Verify the ceremony transcript again even if it was verified before (needs --zkey, --ptau)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def key_trust(trust_single_party: bool, zkey_path: str | None, ptau_path: str | None, reverify: bool):
    """(KeyTrust, Transcript or None) from :func:`trust_options`; MalformedInput if only one of --zkey, --ptau is given."""
    from zkproofs.groth16.trust import KeyTrust, Transcript

    if (zkey_path is None) != (ptau_path is None):
        raise MalformedInput("--zkey and --ptau go together: the phase-2 transcript and the phase-1 transcript it builds on")
    transcript = Transcript(Path(zkey_path), Path(ptau_path)) if zkey_path and ptau_path else None
    return KeyTrust(single_party=trust_single_party, reverify=reverify), transcript
