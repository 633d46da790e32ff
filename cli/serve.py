"""``zkproofs serve``: the escrow venue's HTTP service (:mod:`zkproofs.service`) under uvicorn.

Files: ``--policy`` is the venue policy TOML (:mod:`zkproofs.settlement.venue_policy`;
its ``[oracles]`` sign the price epochs, posted to ``POST /epochs``), ``--keys`` the folder ``zkproofs venue
init`` writes (``verification_key.json`` is read, through
:func:`~zkproofs.settlement.venue.load_venue_key`), ``--db`` the venue's SQLite
ledger (created if missing). Key trust is the venue's: a single-party key only
with the policy's ``trust_single_party_keys = true``; a ceremony key once its
transcript verifies (``--zkey`` with ``--ptau``, remembered per user; ``--reverify``).

Order of start-up, so that a failure leaves nothing behind: the policy and the key
are read and checked, then the port is bound (a taken port exits 2 before any file
is created), then the ledger is opened (a new ledger file is removed again if the
venue then refuses to start), then the service listens on the socket already bound.
"""

from __future__ import annotations

import logging
import os
import resource
import socket
import stat
from pathlib import Path

import click

from cli.common import backend_option, key_trust, reports_errors
from zkproofs.errors import MalformedInput
from zkproofs.service_guard import Limits
from zkproofs.groth16.verifier import prepare
from zkproofs.settlement.venue import load_venue_key, open_venue
from zkproofs.settlement.venue_policy import load_venue_policy

TOKEN_ENV = "ZKPROOFS_OPERATOR_TOKEN"
DEFAULTS = Limits()
MIN_TOKEN_CHARS = 16


def read_operator_token(path: str | None) -> bytes | None:
    """The operator token from ``path`` (one line; the file must not be readable by group or others)
    or from $ZKPROOFS_OPERATOR_TOKEN; None if neither is set. MalformedInput for a token
    shorter than 16 characters, with whitespace inside or outside printable ASCII (the message never
    contains the token)."""
    if path is not None:
        try:
            mode = os.stat(path).st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise MalformedInput(f"--operator-token-file {path}: readable by group or others (chmod 600 it)")
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise MalformedInput(f"--operator-token-file {path}: {exc.strerror}") from None
        where = f"--operator-token-file {path}"
        try:
            token = raw.decode("ascii").removesuffix("\n").removesuffix("\r")
        except UnicodeDecodeError:
            raise MalformedInput(f"{where}: the token must be printable ASCII") from None
    elif os.environ.get(TOKEN_ENV):
        token, where = os.environ[TOKEN_ENV], f"${TOKEN_ENV}"
    else:
        return None
    if len(token) < MIN_TOKEN_CHARS or not all("!" <= ch <= "~" for ch in token):
        raise MalformedInput(f"{where}: expected one line of at least {MIN_TOKEN_CHARS} printable ASCII characters, no spaces")
    return token.encode("ascii")


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port); MalformedInput if the address is taken or unusable."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except (OSError, UnicodeError) as exc:
        sock.close()
        raise MalformedInput(f"cannot listen on {host}:{port}: {getattr(exc, 'strerror', None) or exc}") from None
    sock.set_inheritable(True)
    return sock


@click.command("serve")
@click.option("--policy", "policy_path", required=True, type=click.Path(dir_okay=False, exists=True),
              help="Venue policy TOML (assets, ratios, markets, oracle keys, max_request_bytes).")
@click.option("--keys", "keys_dir", required=True, type=click.Path(file_okay=False, exists=True),
              help="Folder with the venue's verification_key.json (as zkproofs venue init writes it).")
@click.option("--db", "db", required=True, type=click.Path(dir_okay=False), help="The venue's SQLite ledger (created if missing).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for every interface).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="TCP port to listen on.")
@click.option("--operator-token-file", "token_file", type=click.Path(dir_okay=False),
              help=f"File holding the operator's bearer token (mode 600; else ${TOKEN_ENV}). Without one, the operator "
                   "endpoints refuse everyone.")
@click.option("--zkey", "zkey_path", type=click.Path(dir_okay=False),
              help="For a ceremony key: its phase-2 transcript (.zkey), verified once against the circuit (with --ptau).")
@click.option("--ptau", "ptau_path", type=click.Path(dir_okay=False), help="The phase-1 transcript (.ptau) of --zkey.")
@click.option("--reverify", is_flag=True, help="Verify the ceremony transcript again even if verified before.")
@click.option("--limit-concurrency", default=DEFAULTS.limit_concurrency, show_default=True, type=click.IntRange(8, 1 << 20),
              help="Most connections plus tasks at once; above it the service answers 503 at once.")
@click.option("--header-timeout", default=DEFAULTS.header_timeout, show_default=True, type=click.FloatRange(0.1, 3600),
              help="Seconds a client has to send a request's line and headers before it is disconnected.")
@click.option("--body-timeout", default=DEFAULTS.body_timeout, show_default=True, type=click.FloatRange(0.1, 3600),
              help="Seconds a client has to send a request's body (408 after).")
@click.option("--timeout-keep-alive", default=DEFAULTS.timeout_keep_alive, show_default=True, type=click.FloatRange(0.1, 3600),
              help="Seconds an idle keep-alive connection stays open.")
@click.option("--submission-threads", default=None, type=click.IntRange(1, 1024),
              help="Submissions checked at once; the rest wait their turn. Default: the CPU cores this process may "
                   f"use (here {DEFAULTS.submission_threads}): more threads only contend for the GIL.")
@click.option("--submissions-per-second", "rate", default=DEFAULTS.submissions_per_second, show_default=True,
              type=click.FloatRange(0.01, 1e6), help="Deposits, withdrawals and settlements per second per client address (429 above).")
@click.option("--submission-burst", "burst", default=DEFAULTS.submission_burst, show_default=True, type=click.IntRange(1, 1 << 20),
              help="Submissions a client address may make at once before the rate applies.")
@backend_option
@reports_errors
def serve(policy_path: str, keys_dir: str, db: str, host: str, port: int, token_file: str | None,
          zkey_path: str | None, ptau_path: str | None, reverify: bool, limit_concurrency: int, header_timeout: float, submission_threads: int | None,
          body_timeout: float, timeout_keep_alive: float, rate: float, burst: int, backend: str | None) -> None:
    """Run the venue's HTTP service: deposits, withdrawals, settlements, roots, paths; docs at /docs."""
    import uvicorn

    from zkproofs.service import create_app
    from zkproofs.service_guard import uvicorn_config

    limits = Limits(submissions_per_second=rate, submission_burst=burst, body_timeout=body_timeout,
                    header_timeout=header_timeout, timeout_keep_alive=timeout_keep_alive, limit_concurrency=limit_concurrency,
                    submission_threads=submission_threads or DEFAULTS.submission_threads)

    token = read_operator_token(token_file)
    trust, transcript = key_trust(False, zkey_path, ptau_path, reverify)
    load_venue_key(keys_dir, load_venue_policy(policy_path))  # a bad policy or key fails before anything else
    sock = bind(host, port)
    existed = Path(db).exists()
    try:
        venue = open_venue(policy_path, keys_dir, db, backend=backend, transcript=transcript, reverify=trust.reverify)
    except BaseException:
        sock.close()
        if not existed:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(db + suffix).unlink(missing_ok=True)
        raise
    for vk in (venue.vk, venue.liquidation_vk):  # a long-running verifier: fixed-base tables for the keys' IC points
        if vk is not None:
            prepare(vk, backend, fixed_base=True)
    app = create_app(venue, operator_token=token, server_paths=[policy_path, keys_dir, db], limits=limits)
    bound = sock.getsockname()[1]
    click.echo(f"venue {venue.policy.name} ({', '.join(venue.policy.markets)}) on http://{host}:{bound} (ledger {db})")
    click.echo(f"  key: {venue.key_report.provenance.describe()}; {venue.key_report.basis}")
    click.echo("  operator endpoints: " + ("enabled (bearer token)" if token else "disabled (no operator token)"))
    raise_file_limit()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    uvicorn.Server(uvicorn_config(app, limits, log_level="info")).run(sockets=[sock])


def raise_file_limit() -> None:
    """Open files: the soft limit up to the hard one (each connection is a file descriptor)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else max(soft, 65536), hard))
        except (ValueError, OSError):
            pass
