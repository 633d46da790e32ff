"""``zkproofs demo``: the whole product end to end on bundled sample data, with a readable report."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

import click

from cli.demo_steps import STEPS, Scenario, StepFailed


def _print_step(title: str, ok: bool, seconds: float, rows: list[tuple[str, str]]) -> None:
    click.echo()
    status = click.style("ok", fg="green") if ok else click.style("FAILED", fg="red", bold=True)
    click.echo(click.style(title, bold=True) + f"  [{status}, {seconds:.1f} s]")
    width = max((len(label) for label, _ in rows), default=0)
    for label, value in rows:
        click.echo(f"  {label:<{width}}  {value}")


@contextlib.contextmanager
def _own_cache() -> Iterator[Callable[[Path], None]]:
    """Point the user cache (:mod:`zkproofs.usercache`) at a folder of the demo's for the
    duration, and restore ``ZKPROOFS_CACHE_DIR`` afterwards."""
    before = os.environ.get("ZKPROOFS_CACHE_DIR")

    def set_cache(path: Path) -> None:
        os.environ["ZKPROOFS_CACHE_DIR"] = str(path)

    try:
        yield set_cache
    finally:
        if before is None:
            os.environ.pop("ZKPROOFS_CACHE_DIR", None)
        else:
            os.environ["ZKPROOFS_CACHE_DIR"] = before


@click.command("demo")
@click.option("--workdir", type=click.Path(file_okay=False), help="Keep every artifact (tree, root, keys, proofs, ledger) in this folder.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary instead of tables.")
def demo(workdir: str | None, as_json: bool) -> None:
    """Run zkproofs end to end on the bundled sample data and report each step.

    \b
    1. The exchange builds a Merkle-sum liability tree from 170 sample accounts
       (4 assets) and publishes the root and per-asset liabilities.
    2. The Groth16 keys come from a multi-party ceremony (three contributors
       and a beacon, BGM17) whose transcript is bundled with the package: the
       powers of tau and both circuits' keys are verified against the circuits
       (every contribution, every point), then exported.
    3. The exchange (it holds the database) proves a customer's inclusion in
       zero knowledge; the customer verifies it against the published root with
       the pure-Python backend (py_ecc) and with arkworks. The key is trusted by
       default because its transcript was verified (a key relabelled as the
       exchange's own setup is refused); verification times are the proof
       checks alone.
    4. The global proof of solvency over a 16-account tree: the exchange proves
       on a local Dask cluster that every account is in range and solvent under
       the sample policy's tiered haircuts and that the totals are exact; the
       auditor verifies it without the database; a negative balance written
       into the database, a borrower pushed just past cover and a total off by
       one unit cannot be proven (each named); the sample reserve keys sign the
       auditor's challenge and the verdict is solvent, insolvent with BTC
       reserves one unit short.
    5. At an escrow venue (in process, SQLite ledger), two traders' wallets
       deposit registered transfers and settle a trade atomically (alice proposes
       a leg, bob accepts and submits both); alice's wallet restored from a
       backup spends her old note again: DOUBLE_SPEND; a withdrawal of more than
       the note holds is refused and cannot be proven; alice borrows USDT
       against her note, and a withdrawal that would leave it under the
       venue's margin is refused (BELOW_MARGIN) and cannot be proven; the
       ledger audit re-verifies every proof, recomputes every root and sums
       the lending book.

    Exits 1 if any step does not behave as described. About a minute and a
    quarter on 2 cores. What the demo verifies it remembers in its own user cache
    (WORKDIR/usercache), not in yours.
    """
    with tempfile.TemporaryDirectory(prefix="zkproofs-demo-") as tmp, _own_cache() as set_cache:
        folder = Path(workdir) if workdir else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        set_cache(folder / "usercache")
        scenario = Scenario(workdir=folder, now=time.time())
        results = []
        started = time.perf_counter()
        for title, step in STEPS:
            t0 = time.perf_counter()
            try:
                rows, ok = step(scenario), True
            except StepFailed as exc:
                rows, ok = [("unexpected", str(exc))], False
            except Exception as exc:  # a crash is a failed step, reported with its cause
                rows, ok = [("error", f"{type(exc).__name__}: {exc}")], False
            seconds = time.perf_counter() - t0
            results.append({"step": title, "ok": ok, "seconds": round(seconds, 2), "details": dict(rows)})
            if not as_json:
                _print_step(title, ok, seconds, rows)
            if not ok:
                break
        ok = len(results) == len(STEPS) and all(r["ok"] for r in results)
        total = time.perf_counter() - started
        if as_json:
            summary = {"ok": ok, "seconds": round(total, 2), "steps": results}
            if workdir:
                summary["artifacts"] = scenario.artifacts
            click.echo(json.dumps(summary, indent=2))
        else:
            click.echo()
            verdict = click.style("demo succeeded", fg="green", bold=True) if ok else click.style("demo FAILED", fg="red", bold=True)
            click.echo(f"{verdict} in {total:.1f} s" + (f"; artifacts in {folder}" if workdir else " (--workdir DIR keeps the artifacts)"))
    if not ok:
        raise SystemExit(1)
