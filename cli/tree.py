"""``zkproofs tree build|prove|verify`` and ``zkproofs audit``: the liability tree from the shell.

Exit status as everywhere in the CLI: 0 ok (included / solvent), 1 invalid (not
included / insolvent or a failed audit check), 2 malformed input (file, line and
field named on stderr).

Tree secret: ``tree build`` draws a fresh 32-byte secret for every build (salts,
padding and leaf order change, so the root does too), unless ``--reuse-secret``
is given and the ``--db`` file already exists: then the secret stored there is
reused, and the same accounts give the same root again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

import click

from cli.common import EXIT_INVALID, backend_option, emit_json, key_trust, parse_params, read_bytes, read_json, reports_errors, trust_options
from zkproofs.accounts import FORMATS, AccountSet, detect_format, format_amount, load_accounts
from zkproofs.accounts.model import AccountStream
from zkproofs.accounts.binance import MissingAssetsInfo
from zkproofs.atomic import atomic_write_text
from zkproofs.errors import AccountsError, MalformedInput
from zkproofs.groth16.serialize import pk_from_bytes, vk_from_dict, vk_hash
from zkproofs.groth16.trust import check_key
from zkproofs.tree import TreeStore, build_tree, make_inclusion_proof, published_root
from zkproofs.tree.audit import audit_tree
from zkproofs.tree.excluded import Excluded
from zkproofs.tree.publish import publish, recover, remove_stale, staging_path
from zkproofs.tree.proof import inclusion_failure, pledged_to_dict, proof_from_dict, proof_to_json
from zkproofs.tree.root import root_from_dict, root_to_dict, root_to_json
from zkproofs.proofs.inclusion import inclusion_circuit, is_zk_proof, make_zk_proof, trust_inclusion_key, zk_failure, zk_to_json


@contextlib.contextmanager
def _progress(label: str, enabled: bool) -> Iterator:
    """A progress(done, total) callback drawing a click progress bar on stderr (or nothing)."""
    if not enabled:
        yield None
        return
    state = {"bar": None, "done": 0}

    def update(done: int, total: int) -> None:
        if state["bar"] is None:
            state["bar"] = click.progressbar(length=total, label=label, file=sys.stderr)
            state["bar"].__enter__()
        state["bar"].update(done - state["done"])
        state["done"] = done

    try:
        yield update
    finally:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)


@click.group("tree")
def tree() -> None:
    """Merkle-sum liability tree: build it, prove and verify a customer's inclusion."""


def _load(accounts: str, fmt: str | None, decimals: tuple[str, ...], assets_info: str | None, progress: Callable[[int], None] | None) -> AccountSet | AccountStream:
    """``load_accounts(stream=True)`` with errors that name the CLI's options (``--format``, ``--decimals``, ``--assets-info``).

    A csv file comes back as an AccountStream, read while the tree is built
    (``progress(rows read)`` is called then); other formats are read now."""
    if fmt is None:
        try:
            fmt = detect_format(accounts)
        except AccountsError as exc:
            raise MalformedInput(f"{exc}; pass --format") from None
    if decimals and fmt != "csv":
        raise MalformedInput(f"--decimals applies to --format csv only; {fmt} fixes its decimals")
    if assets_info is not None and fmt != "binance":
        raise MalformedInput(f"--assets-info applies to --format binance only, not {fmt}")
    try:
        return load_accounts(accounts, format=fmt, decimals=parse_params(decimals, "--decimals", max_digits=3) or None,
                             assets_info=assets_info, progress=progress, stream=True)
    except MissingAssetsInfo as exc:
        raise MalformedInput(f"{exc}; pass --assets-info PATH") from None


def _on_terminal() -> bool:
    """Whether stderr is a terminal (progress is drawn only there)."""
    return sys.stderr.isatty()


@tree.command("build")
@click.argument("accounts", type=click.Path(dir_okay=False))
@click.option("--db", "db_path", required=True, type=click.Path(dir_okay=False), help="SQLite file to (re)create.")
@click.option("--root-out", "root_out", type=click.Path(dir_okay=False), help="Published root JSON [default: DB with .root.json].")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Input format [default: detected].")
@click.option("--decimals", "decimals", multiple=True, metavar="SYMBOL=N", help="Decimals of an asset (csv format; repeatable).")
@click.option("--assets-info", "assets_info", type=click.Path(dir_okay=False),
              help="Binance format: the cex_assets_info.csv with prices and collateral tiers [default: beside ACCOUNTS].")
@click.option("--exclude-invalid", is_flag=True,
              help="Publish although the format rejected some accounts (Binance's invalid ones); the root file and database "
                   "record how many were left out and their balances, and the audit fails unless the auditor accepts them.")
@click.option("--reuse-secret", is_flag=True, help="Reuse the tree secret of an existing --db (same input, same root).")
@click.option("--workers", type=click.IntRange(1, 64), help="Hashing processes [default: all cores].")
@click.option(
    "--height",
    type=click.IntRange(1, 64),
    help="Fixed tree height H that hides the number of accounts (DAPOL+): accounts at secret random "
    "leaves of 2^H, padding siblings on their paths; root and proofs reveal H only [default: "
    "the smallest complete tree, whose depth tells N within a factor of two].",
)
@click.option("--vk", "vk_path", type=click.Path(dir_okay=False),
              help="verification_key.json of merkle_sum_inclusion at this tree's depth and assets: the root names it "
              "(SHA-256), and ZK inclusion proofs verify only with it. Without it the root admits plain proofs only.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@reports_errors
def build_cmd(accounts: str, db_path: str, root_out: str | None, fmt: str | None, decimals: tuple[str, ...], assets_info: str | None,
              exclude_invalid: bool, reuse_secret: bool, workers: int | None, height: int | None, vk_path: str | None, as_json: bool) -> None:
    """Build the tree of ACCOUNTS into --db and write the published root.

    Nothing is written when the input is bad (exit 2, naming file, line and
    column), when --vk is not a key of merkle_sum_inclusion at the tree's depth
    and assets, nor when the format rejects accounts (exit 1, every rejected row
    listed with its reason) unless --exclude-invalid is given.
    """
    build_started = time.time()
    vk = vk_from_dict(read_json(vk_path), vk_path) if vk_path else None
    root_path = root_out or str(Path(db_path).with_suffix(".root.json"))
    if len({Path(p).resolve() for p in (accounts, db_path, root_path)}) < 3:
        raise MalformedInput(f"ACCOUNTS, --db and --root-out must be three different files, got {accounts}, {db_path}, {root_path}")
    reading: list[int] = []

    def read_progress(rows: int) -> None:  # on a terminal only: scripts and logs get no carriage returns
        click.echo(f"\rreading {Path(accounts).name}: {rows:,} rows", err=True, nl=False)
        reading.append(rows)

    def end_reading() -> None:
        if reading:
            click.echo(err=True)
            reading.clear()

    account_set = _load(accounts, fmt, decimals, assets_info, read_progress if _on_terminal() and not as_json else None)
    end_reading()
    rejected = [{"where": where, "id": ident, "reason": reason} for where, ident, reason in account_set.rejected]
    excluded = Excluded.of(account_set)
    if rejected and not exclude_invalid:
        for row in rejected:
            click.echo(f"rejected: {row['where']}: {row['id']}: {row['reason']}", err=True)
        click.echo(
            f"error: {excluded.describe(account_set.assets)}; nothing written. Publishing without them "
            "would shrink the liabilities: fix the input, or pass --exclude-invalid to publish and record them.",
            err=True,
        )
        raise SystemExit(EXIT_INVALID)
    secret = None
    if reuse_secret and Path(db_path).exists():
        with TreeStore(db_path) as old:
            secret = old.secret
    started = time.perf_counter()
    # Build beside the target, then publish database and root together (zkproofs.tree.publish):
    # a failure at any point leaves both old or, after the next run's recovery, both new.
    db, root_file = Path(db_path), Path(root_path)
    note = recover(db, root_file)
    if note:
        click.echo(f"note: {note}", err=True)
    for path in remove_stale(db, root_file, before=build_started):
        click.echo(f"note: removed {path}, left by an interrupted build", err=True)
    staging = staging_path(db)
    try:
        with _progress("hashing", not as_json) as progress:

            def hashing(done: int, total: int) -> None:
                end_reading()
                progress(done, total)

            try:
                summary = build_tree(account_set, staging, secret=secret, progress=hashing if progress else None, workers=workers,
                                     height=height, exclude_invalid=exclude_invalid, tmp_dir=staging.parent)
            finally:
                end_reading()
        with TreeStore(staging) as store:
            root = published_root(store)
        if vk is not None:
            check_key(inclusion_circuit(root.depth, len(root.assets), len(root.pledges)), vk, vk_path)
            root = dataclasses.replace(root, verification_key=vk_hash(vk))
        publish(staging, db, root_to_json(root), root_file)
    finally:
        staging.unlink(missing_ok=True)
    elapsed = time.perf_counter() - started
    if rejected:
        click.echo(f"warning: {excluded.describe(account_set.assets)} (--exclude-invalid; recorded in the root file)", err=True)
    if as_json:
        doc = root_to_dict(root)
        doc.update(
            db=db_path,
            root_file=root_path,
            accounts=summary.account_count,
            leaves=summary.leaf_count,
            rejected=rejected,
            seconds=round(elapsed, 3),
        )
        emit_json(doc)
        return
    shape = f"fixed height {summary.depth}" if height else f"{summary.leaf_count} leaves, depth {summary.depth}"
    click.echo(f"tree of {summary.account_count} accounts ({shape}) in {elapsed:.2f} s")
    click.echo(f"  root hash: {summary.root_hash}")
    for asset, equity, debt in zip(summary.assets, summary.equity_totals, summary.debt_totals):
        click.echo(
            f"  {asset.symbol:<8} liabilities {format_amount(equity, asset.decimals):>28}   debts {format_amount(debt, asset.decimals):>24}"
        )
    click.echo(f"  database: {db_path}\n  root file: {root_path}")
    if rejected:
        click.echo(f"  {len(rejected)} input row(s) excluded (--exclude-invalid):")
        for row in rejected:
            click.echo(f"    {row['where']}: {row['id']}: {row['reason']}")


@tree.command("prove")
@click.argument("user_id")
@click.option("--db", "db_path", required=True, type=click.Path(dir_okay=False), help="Tree database from `tree build`.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Proof file to write.")
@click.option("--zk", is_flag=True, help="Zero-knowledge proof (hides sibling hashes and sums); needs --pk.")
@click.option("--pk", "pk_path", type=click.Path(dir_okay=False),
              help="proving_key.bin of merkle_sum_inclusion (the tree's depth, assets and pledge classes).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@backend_option
@reports_errors
def prove_cmd(user_id: str, db_path: str, out_path: str, zk: bool, pk_path: str | None, as_json: bool, backend: str | None) -> None:
    """Write USER_ID's inclusion proof (with their salt): plain by default, Groth16 with --zk."""
    if zk and not pk_path:
        raise MalformedInput("--zk needs --pk (from `zkproofs setup merkle_sum_inclusion --param depth=D --param assets=A "
                             "[--param pledges=K]`)")
    with TreeStore(db_path) as store:
        proof = make_inclusion_proof(store, user_id)
    started = time.perf_counter()
    if zk:
        pk = pk_from_bytes(read_bytes(pk_path), backend=backend, where=pk_path)
        atomic_write_text(out_path, zk_to_json(make_zk_proof(pk, proof)))
    else:
        atomic_write_text(out_path, proof_to_json(proof))
    elapsed = time.perf_counter() - started
    kind = "zero-knowledge" if zk else "plain"
    if as_json:
        emit_json({"proof": out_path, "kind": kind, "user_id": user_id, "depth": proof.depth, "seconds": round(elapsed, 3)})
    else:
        click.echo(f"{kind} inclusion proof for {user_id!r} written to {out_path} ({elapsed:.2f} s)")


@tree.command("verify")
@click.argument("proof_path", type=click.Path(dir_okay=False))
@click.option("--root", "root_path", required=True, type=click.Path(dir_okay=False), help="The published root JSON.")
@click.option("--vk", "vk_path", type=click.Path(dir_okay=False), help="verification_key.json (zero-knowledge proofs): the key the root names.")
@trust_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable result.")
@backend_option
@reports_errors
def verify_cmd(proof_path: str, root_path: str, vk_path: str | None, trust_single_party: bool, zkey_path: str | None,
               ptau_path: str | None, reverify: bool, as_json: bool, backend: str | None) -> None:
    """Check that PROOF shows its user's balances in the tree of the published --root.

    A zero-knowledge proof is checked with --vk, which must be the key the root
    names and a key you trust: a ceremony key whose transcript you verified
    against the circuit (--zkey/--ptau the first time), or a single-party key
    with --trust-single-party-key. Exit status: 0 included, 1 not included, 2
    malformed input or a key refused.
    """
    key_report = None
    root = root_from_dict(read_json(root_path), root_path)
    doc = read_json(proof_path)
    if is_zk_proof(doc):
        if not vk_path:
            raise MalformedInput(f"{proof_path} is a zero-knowledge proof: pass --vk")
        vk = vk_from_dict(read_json(vk_path), vk_path)
        trust, transcript = key_trust(trust_single_party, zkey_path, ptau_path, reverify)
        key_report = trust_inclusion_key(root, vk, trust, transcript=transcript, what=vk_path)
        failure = zk_failure(doc, root, vk, key_report, backend=backend, where=proof_path)
        kind, user = "zero-knowledge", doc.get("user_id")
        balances = (doc.get("equities"), doc.get("debts"))
        pledged = doc.get("pledged") if failure is None else {}  # checked by zk_failure when it passes
    else:
        proof = proof_from_dict(doc, proof_path)
        failure = inclusion_failure(proof, root)
        kind, user = "plain", proof.user_id
        balances = ([str(v) for v in proof.equities], [str(v) for v in proof.debts])
        pledged = pledged_to_dict(proof.pledges, proof.pledged, len(proof.assets))
    if as_json:
        emit_json({"included": failure is None, "reason": failure, "kind": kind, "user_id": user, "root_hash": str(root.root_hash),
                   "key": key_report.to_dict() if key_report else None, "excluded_accounts": root.excluded.accounts})
    elif failure is None:
        click.echo(f"included: {user!r} ({kind} proof) is in the tree with root {root.root_hash}")
        if key_report:
            click.echo(f"  key: {key_report.provenance.describe()}; {key_report.basis}")
        for i, (asset, equity, debt) in enumerate(zip(root.assets, *balances)):
            pledges = "".join(f"   {c} {format_amount(int(v[i]), asset.decimals)}" for c, v in pledged.items())
            click.echo(f"  {asset.symbol:<8} equity {format_amount(int(equity), asset.decimals):>24}   debt {format_amount(int(debt), asset.decimals):>24}"
                       + (f"   pledged:{pledges}" if pledges else ""))
    else:
        click.echo(f"NOT included: {failure}")
    if root.excluded.accounts and not as_json:
        click.echo(f"note: this root's totals leave out accounts: {root.excluded.describe(root.assets)}")
    if failure is not None:
        raise SystemExit(EXIT_INVALID)


@click.command("audit")
@click.option("--db", "db_path", required=True, type=click.Path(dir_okay=False), help="Tree database from `tree build`.")
@click.option("--root", "root_path", required=True, type=click.Path(dir_okay=False), help="The published root JSON.")
@click.option("--accept-excluded", is_flag=True,
              help="Pass the 'excluded' check although the tree leaves input accounts out (built with --exclude-invalid).")
@click.option("--workers", type=click.IntRange(1, 64), help="Hashing processes [default: all cores].")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
@reports_errors
def audit(db_path: str, root_path: str, accept_excluded: bool, workers: int | None, as_json: bool) -> None:
    """Recompute the whole tree from the database and the secret and compare it with the published root.

    For whoever holds the plaintext database (the exchange, an auditor it lets in).
    Solvency itself is shown to anyone without it: `zkproofs solvency verify` (every
    account in range and solvent, totals exact) and `zkproofs solvency verdict`
    (against proven reserves). Exit status: 0 consistent, 1 a failed check, 2 malformed input.
    """
    root = root_from_dict(read_json(root_path), root_path)
    with _progress("recomputing", not as_json) as progress:
        report = audit_tree(db_path, root, progress=progress, workers=workers, accept_excluded=accept_excluded)
    if as_json:
        emit_json(report.to_dict())
    else:
        for check in report.checks:
            click.echo(f"[{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}")
        for i, asset in enumerate(report.assets):
            click.echo(f"  {asset.symbol:<8} liabilities {format_amount(report.liabilities[i], asset.decimals):>28}"
                       f"   debts {format_amount(report.debts[i], asset.decimals):>28}")
        click.echo(f"verdict: {report.verdict}")
        for reason in report.reasons:
            click.echo(f"  - {reason}")
    if not report.ok:
        raise SystemExit(EXIT_INVALID)
