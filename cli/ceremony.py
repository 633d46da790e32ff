"""``zkproofs ceremony``: multi-party Groth16 setup, compatible with snarkjs.

Phase 1 (powers of tau, ``ptau``) and phase 2 (per-circuit keys, ``key``) hang
their command groups on :data:`ceremony`.
"""

from __future__ import annotations

import sys
import time

import click

from cli.common import EXIT_INVALID, backend_option, emit_json, reports_errors
from zkproofs.backends import get_backend
from zkproofs.ceremony import powersoftau as phase1
from zkproofs.ceremony.ptau import MAX_POWER, format_hash, read_ptau, write_ptau
from zkproofs.errors import CeremonyError


@click.group("ceremony")
def ceremony() -> None:
    """Multi-party setup ceremony (BGM17), file-compatible with snarkjs (bls12381).

    Phase 1: `ceremony ptau ...` (powers of tau). Phase 2: `ceremony key ...`
    (per-circuit keys). Anyone can verify a transcript; the keys are safe if at
    least one contributor destroyed their randomness.
    """


# phase 1: powers of tau --------------------------------------------------------------------------
class _Progress:
    """Progress bars on stderr (only when it is a terminal), one per stage label."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.bar = None
        self.label = None
        self.done = 0

    def __call__(self, label: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if label != self.label:
            self.close()
            self.bar = click.progressbar(length=max(total, 1), label=f"{label:<22}", file=sys.stderr)
            self.bar.__enter__()
            self.label, self.done = label, 0
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
            self.label = None


def _run(func, *args, **kwargs):
    progress = _Progress()
    try:
        return func(*args, progress=progress, **kwargs)
    finally:
        progress.close()


def _hash_lines(title: str, digest: bytes) -> None:
    click.echo(title)
    for line in format_hash(digest).splitlines():
        click.echo(f"    {line}")


@ceremony.group("ptau")
def ptau_group() -> None:
    """Phase 1, powers of tau (.ptau files, snarkjs-compatible, BLS12-381).

    Flow: `new`, then each participant `contribute`s in turn and publishes the
    printed contribution hash, a public random value is applied with `beacon`,
    anyone can `verify`, and `prepare` adds the Lagrange form phase 2 needs.
    """


@ptau_group.command("new")
@click.option("--power", required=True, type=click.IntRange(1, MAX_POWER), help=f"Circuits of up to 2^POWER constraints (1..{MAX_POWER}).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="The .ptau file to write.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@backend_option
@reports_errors
def ptau_new(power: int, out_path: str, as_json: bool, backend: str | None) -> None:
    """Start a powers-of-tau transcript (no contribution yet: not usable until contributed to)."""
    be = get_backend(backend)
    started = time.perf_counter()
    ptau = phase1.new(power, be)
    write_ptau(out_path, ptau, be)
    first = phase1.challenge_hash(ptau, be)
    summary = {"out": out_path, "power": power, "challenge_hash": first.hex(), "seconds": round(time.perf_counter() - started, 3)}
    if as_json:
        emit_json(summary)
        return
    click.echo(f"new transcript for 2^{power} written to {out_path}")
    _hash_lines("challenge hash for the first contributor:", first)


def _contribution_summary(result, out_path: str, seconds: float, as_json: bool) -> None:
    summary = {
        "out": out_path,
        "name": result.name,
        "contribution_hash": result.response_hash.hex(),
        "next_challenge": result.next_challenge.hex(),
        "contributions": len(result.ptau.contributions),
        "seconds": round(seconds, 3),
    }
    if as_json:
        emit_json(summary)
        return
    click.echo(f"contribution #{summary['contributions']} by {result.name or '(no name)'} written to {out_path} ({seconds:.2f} s)")
    _hash_lines("contribution hash (publish it):", result.response_hash)


@ptau_group.command("contribute")
@click.argument("in_path", metavar="IN", type=click.Path(dir_okay=False))
@click.argument("out_path", metavar="OUT", type=click.Path(dir_okay=False))
@click.option("--name", required=True, help="Your name as recorded in the transcript (at most 64 characters).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@backend_option
@reports_errors
def ptau_contribute(in_path: str, out_path: str, name: str, as_json: bool, backend: str | None) -> None:
    """Add a contribution to IN and write OUT.

    Secrets come from the operating system's random generator and are never
    written anywhere; the ceremony is safe if at least one contributor's were
    destroyed. Publish the printed contribution hash.
    """
    be = get_backend(backend)
    ptau = read_ptau(in_path, be)
    started = time.perf_counter()
    result = _run(phase1.contribute, ptau, name, be)
    write_ptau(out_path, result.ptau, be)
    _contribution_summary(result, out_path, time.perf_counter() - started, as_json)


@ptau_group.command("beacon")
@click.argument("in_path", metavar="IN", type=click.Path(dir_okay=False))
@click.argument("out_path", metavar="OUT", type=click.Path(dir_okay=False))
@click.option("--beacon", "beacon_hex", required=True, help="The public random value, in hex (1..255 bytes), e.g. a future block hash.")
@click.option("--iterations-exp", required=True, type=int, help="Apply SHA-256 2^N times to the beacon (10..63), as snarkjs does.")
@click.option("--name", default="beacon", show_default=True, help="Name recorded for this contribution.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@backend_option
@reports_errors
def ptau_beacon(in_path: str, out_path: str, beacon_hex: str, iterations_exp: int, name: str, as_json: bool, backend: str | None) -> None:
    """Apply a public random beacon to IN as the final contribution and write OUT."""
    be = get_backend(backend)
    ptau = read_ptau(in_path, be)
    started = time.perf_counter()
    result = _run(phase1.beacon, ptau, name, beacon_hex, iterations_exp, be)
    write_ptau(out_path, result.ptau, be)
    _contribution_summary(result, out_path, time.perf_counter() - started, as_json)


def _verified_or_exit(ptau, be, path: str, as_json: bool):
    try:
        return _run(phase1.verify, ptau, be)
    except CeremonyError as exc:
        if as_json:
            emit_json({"valid": False, "file": path, "step": exc.step, "reason": exc.reason})
        else:
            click.echo(f"INVALID transcript {path}: {exc}", err=True)
        raise SystemExit(EXIT_INVALID)


@ptau_group.command("verify")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable result.")
@backend_option
@reports_errors
def ptau_verify(path: str, as_json: bool, backend: str | None) -> None:
    """Verify a transcript: every contribution and beacon, all powers, the Lagrange form if present.

    Exit status: 0 valid, 1 invalid (the failed step is named), 2 malformed file.
    """
    be = get_backend(backend)
    ptau = read_ptau(path, be)
    started = time.perf_counter()
    report = _verified_or_exit(ptau, be, path, as_json)
    seconds = time.perf_counter() - started
    contributions = [
        {
            "index": c.index,
            "name": c.name,
            "contribution_hash": c.response_hash.hex(),
            "beacon": None if c.beacon_hash is None else {"hash": c.beacon_hash.hex(), "iterations_exp": c.num_iterations_exp},
        }
        for c in report.contributions
    ]
    if as_json:
        emit_json({
            "valid": True, "file": path, "power": report.power, "ceremony_power": report.ceremony_power,
            "contributions": contributions, "challenge_hash": report.challenge_hash.hex(),
            "prepared": report.prepared, "seconds": round(seconds, 3),
        })  # fmt: skip
        return
    click.echo(f"valid transcript {path}: 2^{report.power}, {len(contributions)} contributions ({seconds:.2f} s)")
    for c in report.contributions:
        kind = f"beacon {c.beacon_hash.hex()} (2^{c.num_iterations_exp} SHA-256)" if c.beacon_hash is not None else "contribution"
        click.echo(f"  #{c.index} {c.name or '(no name)'}: {kind}")
        for line in format_hash(c.response_hash).splitlines():
            click.echo(f"      {line}")
    click.echo("  Lagrange form for phase 2: " + ("present and checked" if report.prepared else "absent (run `ptau prepare`)"))


@ptau_group.command("prepare")
@click.argument("in_path", metavar="IN", type=click.Path(dir_okay=False))
@click.argument("out_path", metavar="OUT", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@backend_option
@reports_errors
def ptau_prepare(in_path: str, out_path: str, as_json: bool, backend: str | None) -> None:
    """Verify IN, add the Lagrange-basis sections phase 2 needs, and write OUT
    (the same bytes as `snarkjs powersoftau prepare phase2`)."""
    be = get_backend(backend)
    ptau = read_ptau(in_path, be)
    _verified_or_exit(ptau, be, in_path, as_json)
    started = time.perf_counter()
    prepared = _run(phase1.prepare, ptau, be)
    write_ptau(out_path, prepared, be)
    seconds = time.perf_counter() - started
    if as_json:
        emit_json({"out": out_path, "power": ptau.power, "seconds": round(seconds, 3)})
    else:
        click.echo(f"Lagrange form added; written to {out_path} ({seconds:.2f} s)")


from cli.ceremony_key import key  # noqa: E402  (phase 2 hangs on the group defined above)

ceremony.add_command(key)
