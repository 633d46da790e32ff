"""``zkproofs venue``: the escrow venue operator's commands (keys, custody transfers, price epochs, the ledger audit).

Files: ``--policy`` is the venue policy TOML (:mod:`zkproofs.settlement.venue_policy`),
``--keys`` the folder ``venue init`` writes (proving_key.bin for traders,
verification_key.json for the venue), ``--db`` the venue's SQLite ledger.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from cli.common import EXIT_INVALID, backend_option, emit_json, read_json, reports_errors
from circuits.valid_transition import ValidTransition
from zkproofs.atomic import atomic_write_bytes, atomic_write_text
from zkproofs.errors import MalformedInput
from zkproofs.groth16 import setup
from zkproofs.groth16.serialize import pk_from_bytes, pk_to_bytes, vk_to_json
from zkproofs.settlement.units import format_fixed, parse_fixed
from circuits.liquidation import Liquidation
from zkproofs.settlement.material import write_sealing_key
from zkproofs.settlement.venue import (
    LIQUIDATION_PROVING_KEY_FILE,
    LIQUIDATION_VERIFYING_KEY_FILE,
    PROVING_KEY_FILE,
    SEALING_KEY_FILE,
    SEALING_PUBLIC_KEY_FILE,
    VERIFYING_KEY_FILE,
    audit_ledger,
    load_lending_keys,
    load_venue_key,
    open_venue,
    publish_epoch,
    register_transfer,
)
from zkproofs.settlement.venue_ledger import VenueLedger
from zkproofs.settlement.venue_policy import load_venue_policy

policy_option = click.option("--policy", "policy_path", required=True, type=click.Path(dir_okay=False, exists=True),
                             help="Venue policy TOML (assets, ratios, markets, oracle keys).")
db_option = click.option("--db", "db", required=True, type=click.Path(dir_okay=False),
                         help="The venue's SQLite ledger (created if missing).")
keys_option = click.option("--keys", "keys_dir", required=True, type=click.Path(file_okay=False),
                           help="Folder with the venue's proving_key.bin and verification_key.json.")
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.group("venue")
def venue() -> None:
    """Operate an escrow venue: keys, custody transfers, price epochs, the ledger audit."""


@venue.command("init")
@policy_option
@keys_option
@click.option("--party", required=True, metavar="NAME",
              help="Who runs this setup (the venue), recorded in the key as 'single-party setup by NAME': NAME could forge proofs.")
@json_option
@backend_option
@reports_errors
def init_cmd(policy_path: str, keys_dir: str, party: str, as_json: bool, backend: str | None) -> None:
    """Generate the venue's keys for the policy's assets and tree depth.

    The valid_transition keys (the proving key is published to traders), the
    liquidation keys (the venue proves its liquidations) and the sealing key
    (X25519; traders seal the liquidation material of notes that carry debt to
    its public key, KEYS/sealing_public_key, published with the proving key).
    The venue runs setup (whoever holds its randomness could forge proofs; it
    is discarded).
    """
    policy = load_venue_policy(policy_path)
    out = Path(keys_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = {"params": policy.circuit_params, "keys": str(out), "circuits": {}}
    for circuit, pk_file, vk_file in ((ValidTransition(**policy.circuit_params), PROVING_KEY_FILE, VERIFYING_KEY_FILE),
                                      (Liquidation(**policy.circuit_params), LIQUIDATION_PROVING_KEY_FILE, LIQUIDATION_VERIFYING_KEY_FILE)):
        pk = setup(circuit, backend=backend, party=party)
        atomic_write_bytes(out / pk_file, pk_to_bytes(pk))
        atomic_write_text(out / vk_file, vk_to_json(pk.vk))
        summary["circuits"][circuit.name] = circuit.shape.num_constraints
    if not (out / SEALING_KEY_FILE).exists():
        summary["sealing_public_key"] = write_sealing_key(out, SEALING_KEY_FILE, SEALING_PUBLIC_KEY_FILE)
    if as_json:
        emit_json(summary)
    else:
        click.echo(", ".join(f"{name} ({n} constraints)" for name, n in summary["circuits"].items())
                   + f" {policy.circuit_params}: keys and the sealing key in {out}")


@venue.command("register-transfer")
@policy_option
@db_option
@click.option("--reference", required=True, help="The custody system's transfer reference (consumed by one deposit).")
@click.option("--asset", required=True, help="One of the venue's assets.")
@click.option("--amount", required=True, help="Whole units as a decimal string, at most 8 decimals (e.g. 1.5).")
@json_option
@reports_errors
def register_transfer_cmd(policy_path: str, db: str, reference: str, asset: str, amount: str, as_json: bool) -> None:
    """Record a confirmed incoming transfer, which one deposit may then credit (exit 1 if refused)."""
    policy = load_venue_policy(policy_path)
    ledger = VenueLedger(db, depth=policy.tree_depth)
    try:
        decision = register_transfer(ledger, policy, reference, asset, parse_fixed(amount, "--amount"))
    finally:
        ledger.close()
    if as_json:
        emit_json(decision.to_dict())
    else:
        click.echo(decision.message if decision.accepted else f"refused ({decision.reason.value}): {decision.message}")
    if not decision.accepted:
        sys.exit(EXIT_INVALID)


@venue.command("publish-epoch")
@click.option("--policy", "policy_path", required=True, type=click.Path(dir_okay=False, exists=True),
              help="Venue policy TOML (its [oracles] keys and quorum decide).")
@click.option("--db", "db", default=None, type=click.Path(dir_okay=False), help="The venue's SQLite ledger (in process).")
@click.option("--venue", "url", default=None, envvar="ZKPROOFS_VENUE",
              help="Or the venue's HTTP service (POST /epochs), e.g. http://127.0.0.1:8080; also ZKPROOFS_VENUE.")
@click.argument("quotes", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True))
@json_option
@reports_errors
def publish_epoch_cmd(policy_path: str, db: str | None, url: str | None, quotes: tuple[str, ...], as_json: bool) -> None:
    """Publish the next price epoch from QUOTES, files of oracles' signed quotes (`oracle sign`).

    At least the policy's quorum of distinct oracles must have signed the same
    sequence number (the latest + 1); each asset's epoch price is the lower median
    of their quotes, within max_move_bps of the previous epoch's. Exit 1 if refused,
    with the reason code (BAD_SIGNATURE, NO_QUORUM, STALE_SEQUENCE, PRICE_OUT_OF_BOUNDS...).
    """
    policy = load_venue_policy(policy_path)
    if (db is None) == (url is None):
        raise MalformedInput("give the venue's ledger (--db) or its service (--venue URL), one of them")
    body = {"quotes": [read_json(path) for path in quotes]}
    if url is not None:
        from zkproofs.settlement.client import VenueClient

        with VenueClient(url) as client:
            decision = client.publish_epoch(body["quotes"])
    else:
        ledger = VenueLedger(db, depth=policy.tree_depth)
        try:
            decision = publish_epoch(ledger, policy, body, int(time.time()))
        finally:
            ledger.close()
    if as_json:
        emit_json(decision.to_dict())
    elif decision.accepted:
        prices = decision.record["prices"]
        click.echo(f"{decision.message}: " + ", ".join(f"{asset} {price}" for asset, price in prices.items()))
    else:
        click.echo(f"refused ({decision.reason.value}): {decision.message}")
    if not decision.accepted:
        sys.exit(EXIT_INVALID)


@venue.command("at-risk")
@policy_option
@db_option
@keys_option
@json_option
@reports_errors
def at_risk_cmd(policy_path: str, db: str, keys_dir: str, as_json: bool) -> None:
    """List the notes that carry debt and where each stands after the latest price epoch.

    A note is "proven" at the latest epoch, "due" (an epoch since, inside the
    policy's grace period) or "overdue"; with the sealing key the venue also
    shows its debt, its ratio at the latest prices and whether it is
    liquidatable (overdue and strictly under the maintenance ratio). Notes are
    named by their position in the note tree.
    """
    venue = _open(policy_path, keys_dir, db)
    try:
        notes = venue.at_risk()
    finally:
        venue.ledger.close()
    if as_json:
        emit_json({"notes": notes})
        return
    if not notes:
        click.echo("no open note carries debt")
    for n in notes:
        extra = ""
        if "ratio_bps" in n:
            extra = (f"; debt {', '.join(f'{v} {a}' for a, v in n['debt'].items())}; ratio {n['ratio_bps'] / 100:.2f} %"
                     + ("; LIQUIDATABLE" if n["liquidatable"] else ""))
        deadline = "" if n["deadline"] is None else f" (grace until {int(n['deadline'])})"
        click.echo(f"position {n['position']}: {n['status']}{deadline}, last proven at epoch {n['proven_epoch']}{extra}")


@venue.command("liquidate")
@policy_option
@db_option
@keys_option
@click.option("--position", required=True, type=click.IntRange(0, None), help="The note's position in the note tree (`venue at-risk`).")
@json_option
@backend_option
@reports_errors
def liquidate_cmd(policy_path: str, db: str, keys_dir: str, position: int, as_json: bool, backend: str | None) -> None:
    """Liquidate an overdue note under the maintenance ratio: prove it with the note's sealed material and apply it.

    The note's whole debt is repaid with collateral worth at most debt x (1 +
    liquidation_penalty_bps) at the latest epoch's prices; the rest stays the
    owner's, in a new note its wallet finds by itself. Exit 1 if refused:
    NOT_A_DEBT_NOTE, NOTE_IN_GRACE, NOT_LIQUIDATABLE (at or above maintenance).
    """
    venue = _open(policy_path, keys_dir, db, backend)
    try:
        path = Path(keys_dir) / LIQUIDATION_PROVING_KEY_FILE
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise MalformedInput(f"{path}: {exc.strerror}") from None
        decision = venue.liquidate(position, pk_from_bytes(data, backend=backend, where=str(path)))
    finally:
        venue.ledger.close()
    if as_json:
        emit_json(decision.to_dict())
    elif decision.accepted:
        r = decision.record
        click.echo(f"{decision.message}: repaid {', '.join(f'{format_fixed(v)} {a}' for a, v in r['repaid'].items())} with "
                   f"{', '.join(f'{format_fixed(v)} {a}' for a, v in r['seized'].items())}; the remainder is at position {r['position']}")
    else:
        click.echo(f"refused ({decision.reason.value}): {decision.message}")
    if not decision.accepted:
        sys.exit(EXIT_INVALID)


def _open(policy_path: str, keys_dir: str, db: str, backend: str | None = None):
    if not Path(db).is_file():
        raise MalformedInput(f"--db {db}: no such ledger")
    return open_venue(policy_path, keys_dir, db, backend=backend)


@venue.command("audit-ledger")
@policy_option
@db_option
@keys_option
@json_option
@backend_option
@reports_errors
def audit_ledger_cmd(policy_path: str, db: str, keys_dir: str, as_json: bool, backend: str | None) -> None:
    """Replay the ledger offline: re-verify every proof, recompute every root. Exit 1 on any problem."""
    policy = load_venue_policy(policy_path)
    if not Path(db).is_file():
        raise MalformedInput(f"--db {db}: no such ledger")
    vk = load_venue_key(keys_dir, policy)
    liquidation_vk, _ = load_lending_keys(keys_dir, policy)
    ledger = VenueLedger(db, depth=policy.tree_depth)
    try:
        report = audit_ledger(ledger, policy, vk, liquidation_vk=liquidation_vk, backend=backend)
    finally:
        ledger.close()
    if as_json:
        emit_json(report.to_dict())
    else:
        click.echo(f"{report.epochs} price epochs, {report.transitions} transitions, {report.settlements} settlements, {report.roots} roots: "
                   + ("every proof verifies and every root recomputes" if report.ok else f"{len(report.problems)} problem(s)"))
        if report.lent or report.repaid:
            click.echo("lending book: " + ", ".join(
                f"{asset} {format_fixed(report.lent.get(asset, 0))} lent, {format_fixed(report.repaid.get(asset, 0))} repaid"
                for asset in sorted({*report.lent, *report.repaid})))
        if report.seized:
            click.echo("collateral seized by liquidations: " + ", ".join(f"{format_fixed(v)} {a}" for a, v in report.seized.items()))
        for problem in report.problems:
            click.echo(f"  - {problem}")
    if not report.ok:
        sys.exit(EXIT_INVALID)
