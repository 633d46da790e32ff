"""``zkproofs demo``: the product end to end on bundled sample data, with a readable report."""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import click

from circuits.balance_threshold import BalanceThreshold
from zkproofs.atomic import atomic_write_bytes, atomic_write_text
from zkproofs.errors import UnsatisfiedConstraint
from zkproofs.groth16 import prove, setup, verify
from zkproofs.groth16.serialize import pk_to_bytes, proof_to_json, vk_to_json

SAMPLE_BALANCE = {"balance": "1250000000", "salt": "80084422859880547211683076133703299733277748156566366325829078699459944778998", "threshold": "1000000000"}


@dataclass
class Report:
    """The demo's steps: what was expected, what happened, how long it took."""

    steps: list[dict[str, Any]] = field(default_factory=list)

    def run(self, name: str, expected: str, action: Callable[[], tuple[bool, str]]) -> None:
        started = time.perf_counter()
        try:
            ok, detail = action()
        except Exception as exc:  # a demo step that crashes is a failed step, reported as such
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        self.steps.append(
            {"step": name, "expected": expected, "ok": ok, "detail": detail, "seconds": round(time.perf_counter() - started, 3)}
        )

    @property
    def ok(self) -> bool:
        return all(step["ok"] for step in self.steps)


def _print_table(report: Report) -> None:
    click.echo(f"{'step':<44} {'result':<7} {'time':>8}  detail")
    click.echo("-" * 100)
    for step in report.steps:
        mark = "ok" if step["ok"] else "FAILED"
        click.echo(f"{step['step']:<44} {mark:<7} {step['seconds']:>7.2f}s  {step['detail']}")


@click.command("demo")
@click.option("--workdir", type=click.Path(file_okay=False), help="Keep every artifact in this folder (default: a temporary one).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
def demo(workdir: str | None, as_json: bool) -> None:
    """Run zkproofs end to end on bundled sample data and report each step.

    Proof of minimum balance: the verifier side generates keys, a customer proves
    that a committed hidden balance is at least a public threshold, and the proof
    is verified with the pure-Python backend (py_ecc) and with arkworks. A balance
    below the threshold cannot be proven; a tampered threshold is rejected.
    Exits non-zero if any step does not behave as described.
    """
    with tempfile.TemporaryDirectory(prefix="zkproofs-demo-") as tmp:
        out = Path(workdir or tmp)
        out.mkdir(parents=True, exist_ok=True)
        report = Report()
        state: dict[str, Any] = {}
        circuit = BalanceThreshold()

        def do_setup() -> tuple[bool, str]:
            pk = setup(circuit, generated_by="demo verifier (auditor)")
            state["pk"] = pk
            atomic_write_bytes(out / "proving_key.bin", pk_to_bytes(pk))
            atomic_write_text(out / "verification_key.json", vk_to_json(pk.vk))
            return True, f"{circuit.shape.num_constraints} constraints; keys in {out}"

        def do_prove() -> tuple[bool, str]:
            r1cs, witness = circuit.synthesize(SAMPLE_BALANCE)
            proof = prove(state["pk"], r1cs, witness)
            state["proof"], state["public"] = proof, witness[1 : r1cs.num_public + 1]
            atomic_write_text(out / "proof.json", proof_to_json(proof, state["pk"].vk, state["public"]))
            return True, f"balance hidden, threshold {SAMPLE_BALANCE['threshold']}, proof 192 bytes"

        def do_verify(backend: str) -> Callable[[], tuple[bool, str]]:
            def check() -> tuple[bool, str]:
                ok = verify(state["pk"].vk, state["public"], state["proof"], backend=backend)
                return ok, "valid" if ok else "rejected (unexpected)"

            return check

        def do_below_threshold() -> tuple[bool, str]:
            r1cs, witness = circuit.synthesize({**SAMPLE_BALANCE, "threshold": "1250000001"})
            try:
                prove(state["pk"], r1cs, witness)
            except UnsatisfiedConstraint as exc:
                return True, f"cannot be proven: {exc.label}"
            return False, "a proof was produced (unexpected)"

        def do_tampered() -> tuple[bool, str]:
            threshold, commitment = state["public"]
            ok = verify(state["pk"].vk, [threshold - 1, commitment], state["proof"])
            return not ok, "rejected" if not ok else "accepted (unexpected)"

        report.run("1. setup (verifier side runs it)", "keys written", do_setup)
        if report.ok:
            report.run("2. prove balance >= threshold", "proof", do_prove)
        if report.ok:
            report.run("3. verify with py_ecc (pure Python)", "valid", do_verify("py_ecc"))
            report.run("4. verify with arkworks", "valid", do_verify("arkworks"))
            report.run("5. balance below threshold", "cannot be proven", do_below_threshold)
            report.run("6. tampered threshold", "rejected", do_tampered)

        if as_json:
            click.echo(json.dumps({"ok": report.ok, "workdir": str(out) if workdir else None, "steps": report.steps}, indent=2))
        else:
            _print_table(report)
            click.echo(f"\ndemo {'succeeded' if report.ok else 'FAILED'}" + (f"; artifacts in {out}" if workdir else ""))
    if not report.ok:
        raise SystemExit(1)
