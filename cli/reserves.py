"""``zkproofs reserves nonce|prove|verify``: proof of reserves by address ownership.

The auditor draws a nonce (``reserves nonce``) and gives it to the exchange; the exchange
signs the challenge (the nonce and the published root hash; ``reserves challenge`` prints
it for external signers) with the key of every address it claims (``reserves prove``:
EIP-191 for Ethereum, BIP-137 for Bitcoin, keys here or signatures made elsewhere); the auditor
checks every signature and sums the claimed addresses' balances from a snapshot of their
own node (``reserves verify``). Exit status: 0 verified, 1 rejected (a signature that
does not verify, another root or nonce, a claimed address missing from the snapshot),
2 malformed input (file, line and field named on stderr; an address claimed twice is
malformed).
"""

from __future__ import annotations

import stat
from pathlib import Path

import click

from cli.common import EXIT_INVALID, emit_json, fail, read_bytes, read_json, reports_errors
from zkproofs.accounts import format_amount
from zkproofs.atomic import atomic_write_text
from zkproofs.errors import MalformedInput, ReservesError
from zkproofs.reserves import new_nonce, read_snapshot, reserves_from_json, reserves_to_json, sign_reserves, verify_reserves
from zkproofs.reserves.challenge import challenge_message, check_nonce
from zkproofs.tree.root import root_from_json


def _check_private(path: Path) -> None:
    """MalformedInput unless ``path`` is a regular file only its owner can read (as the
    wallet's and the oracle's key files must be)."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise MalformedInput(f"{path}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise MalformedInput(f"{path}: not a regular file")
    if mode & 0o077:
        raise MalformedInput(f"{path}: permissions {stat.S_IMODE(mode):04o} let others read the private keys (chmod 600 {path})")


@click.group()
def reserves() -> None:
    """Proof of reserves: signatures over the auditor's challenge from every claimed address,
    balances from the auditor's own node."""


@reserves.command("nonce")
def nonce_cmd() -> None:
    """Print a fresh 256-bit nonce (the auditor's; give it to the exchange)."""
    click.echo(new_nonce())


@reserves.command("challenge")
@click.option("--root", "root_path", required=True, type=click.Path(dir_okay=False), help="The published root JSON (`tree build`).")
@click.option("--nonce", required=True, help="The auditor's nonce.")
@reports_errors
def challenge_cmd(root_path: str, nonce: str) -> None:
    """Print the exact text to sign (three lines, LF line ends, no final newline), for
    signers outside zkproofs: Bitcoin Core's signmessage, a hardware wallet, custody."""
    root = root_from_json(read_bytes(root_path), root_path)
    click.echo(challenge_message(root.root_hash, check_nonce(nonce)), nl=False)


@reserves.command("prove")
@click.option("--root", "root_path", required=True, type=click.Path(dir_okay=False), help="The published root JSON (`tree build`).")
@click.option("--nonce", required=True, help="The auditor's nonce (`zkproofs reserves nonce` on the auditor's side).")
@click.option("--keys", "keys_path", type=click.Path(dir_okay=False),
              help='JSON list of keys to sign with here: {"chain": "ethereum", "private_key": "0x.."} or '
                   '{"chain": "bitcoin", "wif": "..", "kind": "p2pkh|p2sh-p2wpkh|p2wpkh"}.')
@click.option("--signatures", "signed_path", type=click.Path(dir_okay=False),
              help='JSON list of signatures made elsewhere over `reserves challenge`\'s text: '
                   '{"chain": "ethereum|bitcoin", "address": "..", "signature": ".."}.')
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Where to write the proof of reserves (JSON).")
@reports_errors
def prove_cmd(root_path: str, nonce: str, keys_path: str | None, signed_path: str | None, out_path: str) -> None:
    """Sign the challenge (nonce and root hash) with every key, add the signatures made
    elsewhere, and write the proof (at least one of --keys, --signatures).

    The keys file must be readable by its owner only (chmod 600). Every signature is
    verified before the file is written (atomically); no key material is written or
    printed.
    """
    if keys_path is None and signed_path is None:
        fail("give --keys, --signatures or both")
    if keys_path is not None:
        _check_private(Path(keys_path))
    root = root_from_json(read_bytes(root_path), root_path)
    proof = sign_reserves(root.root_hash, check_nonce(nonce), read_json(keys_path) if keys_path else [], where=keys_path or "keys",
                          signed=read_json(signed_path) if signed_path else [], signed_where=signed_path or "signatures")
    atomic_write_text(out_path, reserves_to_json(proof))
    click.echo(f"signed the challenge for {len(proof.claims)} address(es); proof of reserves written to {out_path}")


def reserves_inputs(proof_path: str, root, snapshot_path: str):
    """(proof of reserves, snapshot) read from their files for ``root``: ReservesError (exit 2, malformed:
    a file, line and field named) for anything that cannot be read, before any signature is checked."""
    return reserves_from_json(read_bytes(proof_path), proof_path), read_snapshot(snapshot_path, root)


@reserves.command("verify")
@click.option("--proof", "proof_path", required=True, type=click.Path(dir_okay=False), help="The exchange's proof of reserves.")
@click.option("--root", "root_path", required=True, type=click.Path(dir_okay=False), help="The published root JSON it must answer.")
@click.option("--nonce", required=True, help="The nonce you (the auditor) gave the exchange.")
@click.option("--snapshot", "snapshot_path", required=True, type=click.Path(dir_okay=False),
              help="CSV from your own node: address,asset,balance,block_height.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@reports_errors
def verify_cmd(proof_path: str, root_path: str, nonce: str, snapshot_path: str, as_json: bool) -> None:
    """Check every signature and sum the claimed addresses' balances per asset."""
    check_nonce(nonce)
    root = root_from_json(read_bytes(root_path), root_path)
    proof, snapshot = reserves_inputs(proof_path, root, snapshot_path)
    try:
        report = verify_reserves(proof, root, nonce, snapshot)
    except ReservesError as exc:
        if as_json:
            emit_json({"valid": False, "reason": str(exc)})
        fail(f"REJECTED: {exc}", EXIT_INVALID)
        return
    decimals = {a.symbol: a.decimals for a in root.assets}
    if as_json:
        emit_json({
            "valid": True, "root_hash": f"{root.root_hash:064x}", "proven_addresses": report.proven_addresses,
            "reserves": {s: format_amount(v, decimals[s]) for s, v in report.reserves.items()},
            "block_heights": report.heights, "unclaimed_addresses": list(report.unclaimed),
        })
        return
    click.echo(f"VERIFIED: {report.proven_addresses} address(es) signed the challenge for root {root.root_hash:064x}")
    for symbol, amount in report.reserves.items():
        click.echo(f"  {symbol}: {format_amount(amount, decimals[symbol])}")
    heights = ", ".join(f"{chain} at block {h}" for chain, h in sorted(report.heights.items()))
    click.echo(f"balances from the snapshot ({heights})")
    if report.unclaimed:
        click.echo(f"not counted: {len(report.unclaimed)} snapshot address(es) the proof does not claim")
