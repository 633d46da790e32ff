"""Phase 1 interoperability with snarkjs 0.7 (bls12381), both directions.

Needs node and snarkjs: ``ZKPROOFS_SNARKJS`` (set by ``.ci/run``) or ``snarkjs`` on PATH;
skipped with the reason otherwise.
"""

import dataclasses
import os
import shutil
import subprocess

import pytest

from zkproofs.backends import get_backend
from zkproofs.ceremony import encoding as enc
from zkproofs.ceremony import powersoftau as phase1
from zkproofs.ceremony.ptau import TAU_G1, read_ptau, write_ptau
from zkproofs.errors import CeremonyError

ark = get_backend("arkworks")
BEACON = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def snarkjs():
    if shutil.which("node") is None:
        pytest.skip("node is not installed: cannot run snarkjs")
    path = os.environ.get("ZKPROOFS_SNARKJS") or shutil.which("snarkjs")
    if path is None:
        pytest.skip("snarkjs not found: .ci/run installs it and sets ZKPROOFS_SNARKJS")

    def run(*args, ok=True):
        done = subprocess.run([path, *map(str, args)], capture_output=True, text=True, timeout=300)
        if ok:
            assert done.returncode == 0, done.stdout + done.stderr
        return done

    return run


def test_snarkjs_transcript_verified_and_prepared_by_zkproofs(snarkjs, tmp_path):
    f = lambda name: tmp_path / name  # noqa: E731
    snarkjs("powersoftau", "new", "bls12381", 3, f("0.ptau"))
    snarkjs("powersoftau", "contribute", f("0.ptau"), f("1.ptau"), "--name=alice", "-e=some entropy")
    snarkjs("powersoftau", "contribute", f("1.ptau"), f("2.ptau"), "--name=bob", "-e=more entropy")
    snarkjs("powersoftau", "beacon", f("2.ptau"), f("3.ptau"), BEACON, 10, "-n=final")
    ptau = read_ptau(f("3.ptau"), ark)
    report = phase1.verify(ptau, ark)
    assert [c.name for c in report.contributions] == ["alice", "bob", "final"]
    assert report.contributions[2].beacon_hash == bytes.fromhex(BEACON)
    # our beacon on snarkjs' transcript reproduces snarkjs' beacon exactly
    assert phase1.beacon(read_ptau(f("2.ptau"), ark), "final", BEACON, 10, ark).ptau.sections == ptau.sections
    write_ptau(f("ours.ptau"), phase1.prepare(ptau, ark), ark)
    snarkjs("powersoftau", "prepare", "phase2", f("3.ptau"), f("theirs.ptau"))
    assert f("ours.ptau").read_bytes() == f("theirs.ptau").read_bytes()
    assert phase1.verify(read_ptau(f("theirs.ptau"), ark), ark).prepared


def test_zkproofs_transcript_passes_snarkjs_verify(snarkjs, tmp_path):
    f = lambda name: tmp_path / name  # noqa: E731
    alice = phase1.contribute(phase1.new(3, ark), "alice", ark)
    write_ptau(f("1.ptau"), alice.ptau, ark)
    # snarkjs contributes in the middle; we continue from its file
    snarkjs("powersoftau", "contribute", f("1.ptau"), f("2.ptau"), "--name=carol", "-e=entropy")
    carol = read_ptau(f("2.ptau"), ark)
    final = phase1.beacon(phase1.contribute(carol, "dave", ark).ptau, "final", BEACON, 10, ark)
    prepared = phase1.prepare(final.ptau, ark)
    write_ptau(f("4.ptau"), prepared, ark)
    done = snarkjs("powersoftau", "verify", f("4.ptau"))
    assert "Powers of Tau Ok!" in done.stdout + done.stderr
    assert alice.response_hash.hex()[:8] in (done.stdout + done.stderr).replace(" ", "")
    assert [c.name for c in phase1.verify(prepared, ark).contributions] == ["alice", "carol", "dave", "final"]


def test_tampered_transcript_refused_by_both(snarkjs, tmp_path):
    final = phase1.beacon(phase1.contribute(phase1.new(3, ark), "alice", ark).ptau, "final", BEACON, 10, ark).ptau
    data = bytearray(final.sections[TAU_G1])
    data[5 * enc.G1_SIZE : 6 * enc.G1_SIZE] = enc.g1_to_lem(ark, ark.g1_mul(ark.g1_generator(), 5))
    forged = dataclasses.replace(final, sections={**final.sections, TAU_G1: bytes(data)})
    write_ptau(tmp_path / "forged.ptau", forged, ark)
    assert snarkjs("powersoftau", "verify", tmp_path / "forged.ptau", ok=False).returncode != 0
    with pytest.raises(CeremonyError) as err:
        phase1.verify(read_ptau(tmp_path / "forged.ptau", ark), ark)
    assert err.value.step == "tauG1 section: powers"
