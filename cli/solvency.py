"""``zkproofs solvency policy|setup|prove|verify|verdict``: the global proof over every account.

The exchange makes keys for its tree's plan (``setup``, or a ceremony per circuit), proves
(``prove``: batches and aggregations on Dask, resumable), and publishes the proof folder
beside the root file. Anyone verifies it against the root with the verification keys
(``verify``), without the database; the auditor then compares proven liabilities with
proven reserves (``verdict``). Exit status: 0 proven / verified / solvent; 1 the tree
breaks the statement (prove), a proof rejected (verify, verdict) or insolvent (verdict);
2 malformed input or a key refused.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from cli.common import EXIT_INVALID, backend_option, emit_json, fail, read_bytes, reports_errors
from zkproofs.atomic import atomic_write_text
from zkproofs.errors import MalformedInput, ReservesError, StatementFails
from zkproofs.groth16.trust import KeyTrust, Transcript
from zkproofs.tree.root import PublishedRoot, root_from_json


def _root(path: str) -> PublishedRoot:
    return root_from_json(read_bytes(path), path)


def _trust(trust_single_party: bool, zkey_dir: str | None, ptau: str | None, reverify: bool, plan) -> tuple[KeyTrust, dict]:
    from zkproofs.solvency.plan import key_label

    if (zkey_dir is None) != (ptau is None):
        raise MalformedInput("--zkey-dir and --ptau go together: the ceremonies' phase-2 transcripts and their phase-1 transcript")
    transcripts = {}
    if zkey_dir:
        for circuit in plan.circuits():
            label = key_label(circuit)
            transcripts[label] = Transcript(Path(zkey_dir) / f"{label}.zkey", Path(ptau))
    return KeyTrust(single_party=trust_single_party, reverify=reverify), transcripts


def proof_set_options(func):
    """What `verify` and `verdict` check: the root, the proof folder, the verifier's policy, the keys and whether to trust them."""
    options = [
        click.option("--root", "root_path", required=True, type=click.Path(dir_okay=False), help="The published root JSON."),
        click.option("--proofs", "proofs_dir", required=True, type=click.Path(file_okay=False), help="The published proof folder."),
        click.option("--policy", "policy_path", required=True, type=click.Path(dir_okay=False),
                     help="The policy you hold (prices, decimals, tiers): the proofs must have been made under exactly this one."),
        click.option("--vk-dir", required=True, type=click.Path(file_okay=False), help="Verification keys, one subfolder per circuit."),
        click.option("--trust-single-party-key", "trust_single_party", is_flag=True,
                     help="Accept keys from a single-party setup: you trust the party named in them, which could forge "
                     "proofs. Without it only ceremony keys are accepted."),
        click.option("--zkey-dir", type=click.Path(file_okay=False),
                     help="Folder of the ceremonies' phase-2 transcripts, LABEL.zkey per circuit of the plan, verified "
                     "against the circuits once and then remembered (with --ptau)."),
        click.option("--ptau", type=click.Path(dir_okay=False), help="The phase-1 transcript the ceremony keys build on."),
        click.option("--reverify", is_flag=True, help="Verify ceremony transcripts again even if verified before."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.group("solvency")
def solvency() -> None:
    """Global proof of solvency: every account in range and solvent, the totals exact, reserves compared.

    \b
    Exchange:  solvency setup -> solvency prove -> publish the proof folder with root.json
    Anyone:    solvency verify --root root.json --proofs DIR --vk-dir KEYS
    Auditor:   solvency verdict ... --reserves PROOF --nonce N --snapshot CSV
    """


@solvency.command("policy")
@click.option("--binance", "info_csv", required=True, type=click.Path(dir_okay=False),
              help="Binance's cex_assets_info.csv (prices and collateral tiers).")
@click.option("--table", type=click.Choice(["loan", "margin", "portfolio"]), default="portfolio", show_default=True,
              help="Which of Binance's three tier tables values the equity of trees without pledged amounts "
                   "(a tree of Binance's user file commits its three pledge classes, each valued by its own table).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Policy JSON to write.")
@reports_errors
def policy_cmd(info_csv: str, table: str, out_path: str) -> None:
    """Write a solvency policy (prices and tiered haircuts) from Binance's asset config."""
    from zkproofs.solvency.policy import policy_from_binance, write_policy_text

    policy = policy_from_binance(info_csv, table)
    atomic_write_text(out_path, write_policy_text(policy))
    click.echo(f"policy for {len(policy.assets)} asset(s), at most {policy.max_tiers()} tiers, written to {out_path}")


@solvency.command("setup")
@click.option("--root", "root_path", required=True, type=click.Path(dir_okay=False), help="The published root JSON (depth, assets).")
@click.option("--policy", "policy_path", required=True, type=click.Path(dir_okay=False), help="Solvency policy JSON (its most tiers).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for the keys (one subfolder per circuit).")
@click.option("--party", help="Who runs this single-party setup (recorded in every key; it could forge proofs).")
@click.option("--batch-height", type=click.IntRange(1, 20),
              help="Leaves per batch proof: 2^HEIGHT [default: 5, 32 leaves, under 2^16 constraints at 4 assets and 5 tier "
                   "slots; with pledge classes, whose leaves cost more, 4 for one or two classes, 3 for three (Binance's) to "
                   "eight, 2 above].")
@click.option("--levels", type=click.IntRange(1, 16), default=5, show_default=True,
              help="Commitments per aggregation proof: 2^LEVELS.")
@click.option("--tiers", type=click.IntRange(1, 64), help="Tier slots per asset [default: the policy's most tiers + 1].")
@click.option("--dry-run", is_flag=True, help="Only list the circuits (with constraint counts): what a ceremony must cover.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@backend_option
@reports_errors
def setup_cmd(root_path: str, policy_path: str, out_dir: str, party: str | None, batch_height: int | None, levels: int,
              tiers: int | None, dry_run: bool, as_json: bool, backend: str | None) -> None:
    """Make the keys of every circuit the global proof of this root's tree needs.

    The plan (batch height, fan-in, tier slots, depth, assets) fixes the circuits; it is
    written to OUT/plan.json beside the keys, and `solvency prove` reads it from there.
    """
    from zkproofs.solvency.keys import single_party_setup
    from zkproofs.solvency.plan import key_label, make_plan
    from zkproofs.solvency.policy import load_policy

    root = _root(root_path)
    policy = load_policy(policy_path)
    plan = make_plan(root.depth, len(root.assets), tiers or policy.max_tiers() + 1, pledges=len(root.pledges), batch_height=batch_height,
                     levels=levels)
    listing = [{"label": key_label(c), "circuit": c.name, "params": c.params} for c in plan.circuits()]
    if dry_run:
        for item, circuit in zip(listing, plan.circuits()):
            item["constraints"] = circuit.shape.num_constraints
        if as_json:
            emit_json({"plan": plan.to_dict(), "proofs": plan.proof_count, "circuits": listing})
        else:
            click.echo(f"plan: {plan.proof_count} proofs over 2^{plan.depth} leaves; circuits:")
            for item in listing:
                click.echo(f"  {item['label']}: {item['constraints']} constraints")
        return
    if not party:
        raise MalformedInput("--party is required (who runs this single-party setup), unless --dry-run")
    started = time.monotonic()
    labels = single_party_setup(plan, out_dir, party=party, backend=backend,
                                progress=None if as_json else lambda label: click.echo(f"setup {label} ...", err=True))
    if as_json:
        emit_json({"plan": plan.to_dict(), "proofs": plan.proof_count, "keys": labels, "out": out_dir,
                   "seconds": round(time.monotonic() - started, 1)})
    else:
        click.echo(f"keys for {len(labels)} circuit(s) written to {out_dir} (single-party setup by {party}); "
                   f"the global proof will hold {plan.proof_count} proofs")


@solvency.command("prove")
@click.option("--db", "db_path", required=True, type=click.Path(dir_okay=False), help="Tree database from `tree build`.")
@click.option("--root", "root_path", required=True, type=click.Path(dir_okay=False), help="The published root JSON to prove.")
@click.option("--policy", "policy_path", required=True, type=click.Path(dir_okay=False), help="Solvency policy JSON (prices, tiers).")
@click.option("--pk-dir", required=True, type=click.Path(file_okay=False), help="Keys from `solvency setup` (with its plan.json).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for the proof set; a run interrupted there resumes where it stopped.")
@click.option("--scheduler", help="Dask scheduler address (tcp://HOST:8786) [default: a LocalCluster on this machine].")
@click.option("--workers", type=click.IntRange(1, 256), default=2, show_default=True, help="LocalCluster worker processes.")
@click.option("--in-process", "in_process", is_flag=True, help="Prove in this process, without Dask (small trees, debugging).")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr [default: when stderr is a terminal].")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@backend_option
@reports_errors
def prove_cmd(db_path: str, root_path: str, policy_path: str, pk_dir: str, out_dir: str, scheduler: str | None, workers: int,
              in_process: bool, progress: bool | None, as_json: bool, backend: str | None) -> None:
    """Prove that every account of the tree is in range and solvent and the root's totals are exact.

    Every leaf is checked first: a leaf out of range, an undercollateralised account or a
    total that is not the leaves' sum stops the run before any proving, naming the leaf
    (exit 1). Every proof a worker returns is verified before it is kept.
    """
    from zkproofs.solvency.keys import read_plan
    from zkproofs.solvency.policy import load_policy
    from zkproofs.solvency.prove import INPROCESS, prove_solvency
    from zkproofs.tree.store import TreeStore

    if in_process and scheduler:
        raise MalformedInput("--in-process and --scheduler exclude each other")
    root = _root(root_path)
    policy = load_policy(policy_path)
    plan = read_plan(pk_dir)
    show = sys.stderr.isatty() if progress is None else progress
    started = time.monotonic()
    state: dict = {"bar": None, "done": 0}

    def update(done: int, total: int) -> None:
        if state["bar"] is None:
            state["bar"] = click.progressbar(length=total, label="proofs", file=sys.stderr, show_eta=True, show_pos=True,
                                             item_show_func=lambda rate: rate)
            state["bar"].__enter__()
            state["first"], state["t0"] = done, time.monotonic()
        elapsed = time.monotonic() - state["t0"]
        rate = f"{(done - state['first']) / elapsed * 60:.1f} proofs/min" if elapsed > 0 and done > state["first"] else None
        state["bar"].update(done - state["done"], rate)
        state["done"] = done

    try:
        with TreeStore(db_path) as store:
            proof_set = prove_solvency(store, root, policy, plan, pk_dir, out_dir, scheduler=INPROCESS if in_process else scheduler,
                                       workers=workers, backend=backend, progress=update if show else None, root_where=root_path)
    except StatementFails as exc:
        if as_json:
            emit_json({"proven": False, "reason": str(exc)})
        fail(f"CANNOT PROVE: {exc}", EXIT_INVALID)
        return
    finally:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)
    seconds = time.monotonic() - started
    count = sum(len(layer.proofs) for layer in proof_set.layers)
    if as_json:
        emit_json({"proven": True, "proofs": count, "out": out_dir, "seconds": round(seconds, 1), "root_hash": str(root.root_hash)})
    else:
        click.echo(f"proven: {count} proofs cover all 2^{plan.depth} leaves of root {root.root_hash}; written to {out_dir} "
                   f"({seconds:.1f} s)")


def _verify(root_path: str, proofs_dir: str, policy_path: str, vk_dir: str, trust_single_party: bool, zkey_dir: str | None,
            ptau: str | None, reverify: bool, backend: str | None):
    from zkproofs.solvency.policy import load_policy
    from zkproofs.solvency.proofset import read_proof_set
    from zkproofs.solvency.verify import verify_solvency

    root = _root(root_path)
    policy = load_policy(policy_path)
    proof_set = read_proof_set(proofs_dir)
    trust, transcripts = _trust(trust_single_party, zkey_dir, ptau, reverify, proof_set.plan)
    return root, policy, verify_solvency(root, proof_set, policy, vk_dir, trust, transcripts=transcripts, backend=backend)


def _policy_lines(policy, root) -> list[str]:
    from zkproofs.solvency.policy import format_usd

    lines = []
    for asset in root.assets:
        p = policy.assets.get(asset.symbol)
        if p is None:
            continue
        for pledge in root.pledges or (None,):
            table = p.tiers_for(pledge) or ()
            tiers = ", ".join(f"<= {format_usd(h)} USD at {r / 100:g} %" for h, r in table) or "none (counts for nothing)"
            what = "tiers" if pledge is None else f"{pledge} tiers"
            lines.append(f"  {asset.symbol:<8} price {format_usd(p.price):>16} USD   {what}: {tiers}")
    return lines


@solvency.command("verify")
@proof_set_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
@backend_option
@reports_errors
def verify_cmd(root_path: str, proofs_dir: str, policy_path: str, vk_dir: str, trust_single_party: bool, zkey_dir: str | None,
               ptau: str | None, reverify: bool, as_json: bool, backend: str | None) -> None:
    """Check the global proof against the published root, without the database.

    Accepted means: every leaf of the tree with this root has every amount in [0, 2^64),
    every account's equity after the policy's tiered haircuts covers its debt, and the
    root's totals are the exact sums over all leaves, all at the prices and haircuts of
    --policy, which must be the one the proofs were made under (check its prices: the
    statement is only as good as they are).
    """
    started = time.monotonic()
    root, policy, report = _verify(root_path, proofs_dir, policy_path, vk_dir, trust_single_party, zkey_dir, ptau, reverify, backend)
    seconds = time.monotonic() - started
    if as_json:
        emit_json({**report.to_dict(), "seconds": round(seconds, 2), "policy": policy.to_dict()})
    elif report.ok:
        click.echo(f"VERIFIED: {report.proofs} proofs show every account of root {root.root_hash} in range and solvent, "
                   f"and its totals exact ({seconds:.2f} s)")
        for line in _policy_lines(policy, root):
            click.echo(line)
        for key in report.keys:
            click.echo(f"  key {key.circuit}: {key.provenance.describe()}; {key.basis}")
    else:
        click.echo(f"REJECTED: {report.reason}")
    if not report.ok:
        raise SystemExit(EXIT_INVALID)


@solvency.command("verdict")
@proof_set_options
@click.option("--reserves", "reserves_path", required=True, type=click.Path(dir_okay=False),
              help="The exchange's proof of reserves (`reserves prove`).")
@click.option("--nonce", required=True, help="The nonce you gave the exchange for the proof of reserves.")
@click.option("--snapshot", "snapshot_path", required=True, type=click.Path(dir_okay=False),
              help="CSV from your own node: address,asset,balance,block_height.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable verdict.")
@backend_option
@reports_errors
def verdict_cmd(root_path: str, proofs_dir: str, policy_path: str, vk_dir: str, trust_single_party: bool, zkey_dir: str | None,
                ptau: str | None, reverify: bool, reserves_path: str, nonce: str, snapshot_path: str, as_json: bool,
                backend: str | None) -> None:
    """Proven liabilities (net of proven-covered debt) against proven reserves, per asset.

    Verifies the global proof (under --policy) and the proof of reserves first; either
    rejected means no verdict (exit 1). Then prints per asset the liabilities (equity
    total - debt total, plus the equity of accounts the root records as excluded, whose
    debt nothing proves covered), the reserves and the margin; solvent when every margin
    is >= 0.
    """
    from cli.reserves import reserves_inputs
    from zkproofs.reserves import verify_reserves
    from zkproofs.reserves.challenge import check_nonce
    from zkproofs.solvency.verdict import solvency_verdict

    check_nonce(nonce)
    root, policy, report = _verify(root_path, proofs_dir, policy_path, vk_dir, trust_single_party, zkey_dir, ptau, reverify, backend)
    if not report.ok:
        if as_json:
            emit_json({"verdict": None, "reason": f"global proof rejected: {report.reason}"})
        fail(f"global proof REJECTED: {report.reason}", EXIT_INVALID)
    reserves_proof, snapshot = reserves_inputs(reserves_path, root, snapshot_path)
    try:
        reserves = verify_reserves(reserves_proof, root, nonce, snapshot)
    except ReservesError as exc:
        if as_json:
            emit_json({"verdict": None, "reason": f"proof of reserves rejected: {exc}"})
        fail(f"proof of reserves REJECTED: {exc}", EXIT_INVALID)
        return
    verdict = solvency_verdict(root, reserves.reserves)
    if as_json:
        emit_json({**verdict.to_dict(), "policy": policy.to_dict()})
    else:
        click.echo(f"{'SOLVENT' if verdict.solvent else 'INSOLVENT'}: root {root.root_hash} "
                   f"({report.proofs} proofs of liabilities, {reserves.proven_addresses} address(es) of reserves)")
        click.echo("at the policy's prices and haircuts:")
        for line in _policy_lines(policy, root):
            click.echo(line)
        click.echo(f"  {'asset':<8} {'liabilities':>24} {'reserves':>24} {'margin':>24}")
        for a in verdict.assets:
            d = a.to_dict()
            click.echo(f"  {a.symbol:<8} {d['net_liabilities']:>24} {d['reserves']:>24} {d['margin']:>24}{'' if a.covered else '  SHORT'}")
        if verdict.excluded_accounts:
            click.echo(f"liabilities include the equity of {verdict.excluded_accounts} account(s) left out of the tree: "
                       f"{root.excluded.describe(root.assets)}")
    if not verdict.solvent:
        raise SystemExit(EXIT_INVALID)
