"""``zkproofs oracle``: a price oracle's commands (its Ed25519 key, its signed quotes for an epoch).

A venue's policy lists its oracles' public keys and a quorum k (``[oracles]``,
:mod:`zkproofs.settlement.venue_policy`). For each price epoch every oracle signs
its own quotes for all the venue's assets (``oracle sign``); anyone then relays k
or more signed quote files to the venue (``venue publish-epoch``, or ``POST /epochs``),
which takes each asset's lower median (:mod:`zkproofs.settlement.epochs`).
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import click

from cli.common import emit_json, read_json, reports_errors
from zkproofs.atomic import atomic_write_text
from zkproofs.errors import MalformedInput
from zkproofs.settlement.epochs import new_oracle_key, oracle_key_from_json, oracle_key_to_json, quotes_to_json, sign_quotes
from zkproofs.settlement.units import format_fixed, parse_fixed
from zkproofs.settlement.venue_policy import load_venue_policy

json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.group("oracle")
def oracle() -> None:
    """Run a price oracle: make its key, sign its quotes for a price epoch."""


@oracle.command("keygen")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="The key file to create (mode 0600; never overwritten).")
@json_option
@reports_errors
def keygen_cmd(out_path: str, as_json: bool) -> None:
    """Make an oracle key (Ed25519, from the OS's randomness) and print its public key for the venue's policy."""
    path = Path(out_path)
    if path.exists():
        raise MalformedInput(f"{path}: already exists (a key file is never overwritten)")
    seed, public = new_oracle_key()
    atomic_write_text(path, oracle_key_to_json(seed))
    os.chmod(path, 0o600)
    if as_json:
        emit_json({"key_file": str(path), "public_key": public})
    else:
        click.echo(f"oracle key written to {path}; its public key (for the policy's [oracles] keys):\n{public}")


def read_oracle_key(path: str) -> bytes:
    """The seed in an oracle key file; MalformedInput if it is unreadable, malformed or readable by others."""
    p = Path(path)
    try:
        mode = p.stat().st_mode
        data = p.read_bytes()
    except OSError as exc:
        raise MalformedInput(f"{p}: {exc.strerror}") from None
    if mode & 0o077:
        raise MalformedInput(f"{p}: permissions {stat.S_IMODE(mode):04o} let others read the oracle's key (chmod 600 {p})")
    return oracle_key_from_json(data, str(p))


@oracle.command("sign")
@click.option("--key", "key_path", required=True, type=click.Path(dir_okay=False, exists=True), help="This oracle's key file.")
@click.option("--policy", "policy_path", required=True, type=click.Path(dir_okay=False, exists=True),
              help="The venue's policy (its name and assets: every asset must be priced).")
@click.option("--sequence", required=True, type=click.IntRange(1, (1 << 63) - 1), help="The epoch's number (the latest + 1).")
@click.option("--prices", "prices_path", required=True, type=click.Path(dir_okay=False, exists=True),
              help='JSON object asset -> decimal string, USD per whole unit (at most 8 decimals), e.g. {"BTC": "65100.22"}.')
@click.option("--timestamp", type=click.IntRange(0, (1 << 63) - 1), default=None,
              help="Unix seconds of the quotes (default: now).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="The signed quotes file to write.")
@json_option
@reports_errors
def sign_cmd(key_path: str, policy_path: str, sequence: int, prices_path: str, timestamp: int | None, out_path: str,
             as_json: bool) -> None:
    """Sign this oracle's quotes for one epoch of the venue: every asset of the policy, no other."""
    seed = read_oracle_key(key_path)
    policy = load_venue_policy(policy_path)
    raw = read_json(prices_path)
    if not isinstance(raw, dict):
        raise MalformedInput(f"{prices_path}: expected a JSON object of asset -> decimal price")
    extra = sorted(set(raw) - set(policy.assets))
    missing = [a for a in policy.assets if a not in raw]
    if extra or missing:
        raise MalformedInput(f"{prices_path}: " + (f"{extra[0]} is not one of the venue's assets" if extra
                                                   else f"no price for {missing[0]}"))
    prices = {}
    for asset in policy.assets:
        if not isinstance(raw[asset], str):
            raise MalformedInput(f"{prices_path}: {asset}: expected a decimal string such as \"65100.22\"")
        prices[asset] = parse_fixed(raw[asset], f"{prices_path}: {asset}")
        if prices[asset] == 0:
            raise MalformedInput(f"{prices_path}: {asset}: a price must be positive")
    quotes = sign_quotes(seed, policy.name, sequence, int(time.time()) if timestamp is None else timestamp, prices, policy.assets)
    atomic_write_text(out_path, quotes_to_json(quotes))
    if as_json:
        emit_json({"quotes": out_path, "signer": quotes.signer, "sequence": sequence, "timestamp": quotes.timestamp})
    else:
        click.echo(f"epoch {sequence} quotes signed by {quotes.signer[:16]}...: "
                   + ", ".join(f"{a} {format_fixed(p)}" for a, p in prices.items()) + f" -> {out_path}")
