"""``zkproofs ceremony key``: phase 2 of the setup ceremony (per-circuit ``.zkey``), snarkjs-compatible."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from circuits import get_circuit
from cli.common import EXIT_INVALID, backend_option, emit_json, parse_params, reports_errors
from zkproofs.atomic import atomic_write_bytes, atomic_write_text
from zkproofs.backends import get_backend
from zkproofs.ceremony import phase2
from zkproofs.ceremony.ptau import read_ptau
from zkproofs.ceremony.zkey import read_zkey, write_zkey
from zkproofs.errors import CeremonyError
from zkproofs.groth16.serialize import pk_to_bytes, vk_to_json

_params_option = click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Circuit parameter (repeatable).")
_ptau_option = click.option(
    "--ptau", "ptau_path", required=True, type=click.Path(dir_okay=False, exists=True),
    help="Powers-of-tau transcript (.ptau) from zkproofs or snarkjs; `key new` needs it prepared (`ceremony ptau prepare`).",
)  # fmt: skip
_json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
_quiet_option = click.option("--quiet", is_flag=True, help="No progress bar on stderr.")


def _progress(quiet: bool):
    """A progress callback drawing one line on stderr (only on a terminal, unless quiet)."""
    if quiet or not sys.stderr.isatty():
        return None

    def show(label: str, done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        end = "\n" if done >= total else ""
        click.echo(f"\r{label:<28} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", err=True, nl=False)
        if end:
            click.echo("", err=True)

    return show


@click.group("key")
def key() -> None:
    """Phase 2: a circuit's Groth16 key (.zkey, snarkjs' format) and its contributions.

    Flow: `key new` (from the circuit and a prepared .ptau), then each participant
    runs `key contribute`, optionally a final `key beacon`; anyone runs `key verify`;
    `key export` writes the verified key in zkproofs' formats. snarkjs (`snarkjs zkey
    contribute/beacon/verify`) works on the same files; `zkproofs export r1cs` gives
    snarkjs the circuit.
    """


@key.command("new")
@click.argument("circuit")
@_params_option
@_ptau_option
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="The initial .zkey to write.")
@_json_option
@_quiet_option
@backend_option
@reports_errors
def key_new(circuit: str, params: tuple[str, ...], ptau_path: str, out_path: str, as_json: bool, quiet: bool, backend: str | None) -> None:
    """Create CIRCUIT's initial key (no contribution yet) from a prepared .ptau (as `snarkjs zkey new`)."""
    be = get_backend(backend)
    instance = get_circuit(circuit, parse_params(params))
    started = time.perf_counter()
    zkey = phase2.new_zkey(instance.shape, read_ptau(ptau_path, be), be, progress=_progress(quiet))
    write_zkey(out_path, zkey, be)
    summary = {"zkey": out_path, "circuit": instance.name, "params": instance.params, "circuit_hash": zkey.cs_hash.hex(),
               "constraints": instance.shape.num_constraints, "domain_size": zkey.domain_size, "seconds": round(time.perf_counter() - started, 3)}  # fmt: skip
    if as_json:
        emit_json(summary)
    else:
        click.echo(f"wrote {out_path}: {instance.name}, {summary['constraints']} constraints, domain 2^{zkey.domain_size.bit_length() - 1}")
        click.echo(f"circuit hash: {summary['circuit_hash']}")


def _contribution_output(result: phase2.ContributionResult, out_path: str, as_json: bool, seconds: float) -> None:
    digest = result.contribution_hash.hex()
    if as_json:
        emit_json({"zkey": out_path, "name": result.name, "contribution_hash": digest,
                   "contributions": len(result.zkey.contributions), "seconds": round(seconds, 3)})  # fmt: skip
    else:
        click.echo(f"wrote {out_path} (contribution #{len(result.zkey.contributions)} by {result.name or '(no name)'})")
        click.echo(f"contribution hash (publish it): {digest}")


@key.command("contribute")
@click.argument("in_path", metavar="IN.zkey", type=click.Path(dir_okay=False, exists=True))
@click.argument("out_path", metavar="OUT.zkey", type=click.Path(dir_okay=False))
@click.option("--name", required=True, help="Your name as recorded in the transcript (at most 64 characters).")
@_json_option
@_quiet_option
@backend_option
@reports_errors
def key_contribute(in_path: str, out_path: str, name: str, as_json: bool, quiet: bool, backend: str | None) -> None:
    """Add your contribution: a fresh secret from the OS, never written anywhere.

    Prints the contribution hash for you to publish; `key verify` lists it.
    """
    be = get_backend(backend)
    started = time.perf_counter()
    result = phase2.contribute(read_zkey(in_path, be), name, be, progress=_progress(quiet))
    write_zkey(out_path, result.zkey, be)
    _contribution_output(result, out_path, as_json, time.perf_counter() - started)


@key.command("beacon")
@click.argument("in_path", metavar="IN.zkey", type=click.Path(dir_okay=False, exists=True))
@click.argument("out_path", metavar="OUT.zkey", type=click.Path(dir_okay=False))
@click.option("--beacon", "beacon_hex", required=True, help="The public random value, hex (1 to 255 bytes), e.g. a future block hash.")
@click.option("--iterations-exp", type=click.IntRange(10, 63), default=10, show_default=True, help="SHA-256 is applied 2^N times to the beacon.")
@click.option("--name", default="beacon", show_default=True, help="Name recorded for the beacon contribution.")
@_json_option
@_quiet_option
@backend_option
@reports_errors
def key_beacon(in_path: str, out_path: str, beacon_hex: str, iterations_exp: int, name: str, as_json: bool, quiet: bool, backend: str | None) -> None:
    """Apply a public random beacon as the final contribution (anyone can recompute it)."""
    be = get_backend(backend)
    started = time.perf_counter()
    result = phase2.beacon(read_zkey(in_path, be), name, beacon_hex, iterations_exp, be, progress=_progress(quiet))
    write_zkey(out_path, result.zkey, be)
    _contribution_output(result, out_path, as_json, time.perf_counter() - started)


def _verified(zkey_path: str, circuit: str, params: tuple[str, ...], ptau_path: str, min_contributions: int, quiet: bool, as_json: bool, be):
    instance = get_circuit(circuit, parse_params(params))
    zkey = read_zkey(zkey_path, be)
    try:
        report = phase2.verify(zkey, instance, read_ptau(ptau_path, be), be, min_contributions=min_contributions, progress=_progress(quiet))
    except CeremonyError as exc:
        if as_json:
            emit_json({"valid": False, "zkey": zkey_path, "step": exc.step, "reason": exc.reason})
        else:
            click.echo(f"INVALID key {zkey_path}: {exc}", err=True)
        raise SystemExit(EXIT_INVALID) from None
    return zkey, report


def _report_dict(zkey_path: str, report: phase2.Phase2Report) -> dict:
    return {
        "valid": True,
        "zkey": zkey_path,
        "circuit": report.vk.circuit.name,
        "params": report.vk.circuit.params_dict,
        "circuit_digest": report.vk.circuit.digest,
        "circuit_hash": report.circuit_hash,
        "transcript_hash": report.transcript_hash,
        "contributions": [{"name": n, "hash": h} for n, h in report.contributions],
        "beacon": None if report.beacon is None else {"hash": report.beacon.beacon_hash, "iterations_exp": report.beacon.num_iterations_exp},
    }


_min_option = click.option("--min-contributions", type=click.IntRange(0), default=1, show_default=True,
                           help="Refuse a key with fewer contributions (0 accepts the initial key, which anyone can forge with).")  # fmt: skip


@key.command("verify")
@click.argument("zkey_path", metavar="KEY.zkey", type=click.Path(dir_okay=False, exists=True))
@click.argument("circuit")
@_params_option
@_ptau_option
@_min_option
@_json_option
@_quiet_option
@backend_option
@reports_errors
def key_verify(zkey_path: str, circuit: str, params: tuple[str, ...], ptau_path: str, min_contributions: int, as_json: bool, quiet: bool, backend: str | None) -> None:
    """Check KEY.zkey against CIRCUIT and the .ptau: every contribution, and every point against the circuit.

    Exit status: 0 valid, 1 a check failed (the step is named), 2 malformed input.
    """
    _, report = _verified(zkey_path, circuit, params, ptau_path, min_contributions, quiet, as_json, get_backend(backend))
    if as_json:
        emit_json(_report_dict(zkey_path, report))
        return
    click.echo(f"valid key for {report.vk.circuit.name} (circuit hash {report.circuit_hash[:16]}...)")
    for i, (name, digest) in enumerate(report.contributions, 1):
        click.echo(f"  contribution #{i} {name or '(no name)'}: {digest}")
    if report.beacon is not None:
        click.echo(f"  beacon {report.beacon.beacon_hash}, 2^{report.beacon.num_iterations_exp} SHA-256 iterations")
    click.echo(f"transcript hash: {report.transcript_hash}")


@key.command("export")
@click.argument("zkey_path", metavar="KEY.zkey", type=click.Path(dir_okay=False, exists=True))
@click.argument("circuit")
@_params_option
@_ptau_option
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for proving_key.bin and verification_key.json.")
@_min_option
@_json_option
@_quiet_option
@backend_option
@reports_errors
def key_export(zkey_path: str, circuit: str, params: tuple[str, ...], ptau_path: str, out_dir: str, min_contributions: int, as_json: bool, quiet: bool, backend: str | None) -> None:
    """Verify KEY.zkey (as `key verify`), then write DIR/proving_key.bin and DIR/verification_key.json.

    Nothing is written if verification fails (exit status 1, the step named).
    """
    be = get_backend(backend)
    zkey, report = _verified(zkey_path, circuit, params, ptau_path, min_contributions, quiet, as_json, be)
    pk = phase2.proving_key(zkey, report, be)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "proving_key.bin", pk_to_bytes(pk))
    atomic_write_text(out / "verification_key.json", vk_to_json(pk.vk))
    summary = _report_dict(zkey_path, report) | {"proving_key": str(out / "proving_key.bin"), "verification_key": str(out / "verification_key.json")}
    if as_json:
        emit_json(summary)
    else:
        click.echo(f"verified {zkey_path} ({len(report.contributions)} contributions); wrote {summary['proving_key']} and {summary['verification_key']}")
