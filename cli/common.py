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
