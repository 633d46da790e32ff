"""Phase 2 (per-circuit .zkey): snarkjs' format and hashes, contributions, verification, tampering.

Fixtures in ``fixtures/ceremony`` were made by snarkjs 0.7 (bls12381):
``snarkjs_pot4.ptau`` (powersoftau new 4, one contribution, prepare phase2),
``cubic_snarkjs_init.zkey`` (zkey new of ``zkproofs export r1cs cubic``) and
``cubic_snarkjs_alice_beacon.zkey`` (zkey contribute "alice", then zkey beacon
0102...1f with 2^10 iterations).
"""

import json
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from circuits import get_circuit
from cli.main import main
from zkproofs.backends import get_backend
from zkproofs.ceremony import phase2
from zkproofs.ceremony import zkey as zk
from zkproofs.backends.common import Q
from zkproofs.ceremony import encoding as enc
from zkproofs.ceremony.encoding import G1_SIZE
from zkproofs.ceremony.ptau import read_ptau
from zkproofs.errors import CeremonyError, MalformedFile, UnsatisfiedConstraint
from zkproofs.export import iden3, snarkjs
from zkproofs.groth16 import prove, verify
from zkproofs.r1cs import R1CS

FIXTURES = Path(__file__).parent / "fixtures" / "ceremony"
PTAU = FIXTURES / "snarkjs_pot4.ptau"
BEACON = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"


@pytest.fixture(scope="module")
def be():
    return get_backend("arkworks")


@pytest.fixture(scope="module")
def cubic():
    return get_circuit("cubic", {})


@pytest.fixture(scope="module")
def ptau(be):
    return read_ptau(PTAU, be)


@pytest.fixture(scope="module")
def snarkjs_key(be):
    """alice (snarkjs) then a beacon (snarkjs)."""
    return zk.read_zkey(FIXTURES / "cubic_snarkjs_alice_beacon.zkey", be)


@pytest.fixture(scope="module")
def ours(be, cubic, ptau):
    """Our initial key, then two contributions by zkproofs and a beacon."""
    key = phase2.new_zkey(cubic.shape, ptau, be)
    key = phase2.contribute(key, "carol", be).zkey
    key = phase2.contribute(key, "dave", be).zkey
    return phase2.beacon(key, "beacon", BEACON, 10, be).zkey


def _verify(key, circuit, ptau, be, **kw):
    return phase2.verify(key, circuit, ptau, be, ptau_verified=True, **kw)


def test_initial_key_is_snarkjs_byte_for_byte(be, cubic, ptau):
    theirs = zk.read_zkey(FIXTURES / "cubic_snarkjs_init.zkey", be)
    mine = phase2.new_zkey(cubic.shape, ptau, be)
    assert (mine.n_vars, mine.n_public, mine.domain_size) == (theirs.n_vars, theirs.n_public, theirs.domain_size)
    assert mine.sections == theirs.sections
    assert mine.cs_hash == theirs.cs_hash
    # and the file round-trips through our writer and reader
    again = zk.parse_zkey(zk.zkey_bytes(mine, be), be, where="memory")
    assert again.sections == mine.sections and again.cs_hash == mine.cs_hash


def test_initial_key_in_worker_processes_is_the_same(be, cubic, ptau, monkeypatch):
    """Large circuits compute runs of variables in worker processes: same bytes, same hash."""
    serial = phase2.new_zkey(cubic.shape, ptau, be)
    monkeypatch.setattr(phase2, "PARALLEL_MIN", 1)
    monkeypatch.setattr(phase2.os, "cpu_count", lambda: 2)
    parallel = phase2.new_zkey(cubic.shape, ptau, be)
    assert (parallel.sections, parallel.cs_hash) == (serial.sections, serial.cs_hash)


def test_snarkjs_contributions_verify_and_ours_chain_on_top(be, cubic, ptau, snarkjs_key):
    report = phase2.verify(snarkjs_key, cubic, ptau, be)  # phase 1 verified too
    assert [name for name, _ in report.contributions] == ["alice", "beacon"]
    assert report.beacon == phase2.BeaconInfo(BEACON, 10)
    result = phase2.contribute(snarkjs_key, "erin", be)
    report = _verify(result.zkey, cubic, ptau, be)
    assert report.contributions[-1] == ("erin", result.contribution_hash.hex())
    assert report.beacon is None  # the final contribution is no longer the beacon
    assert report.transcript_hash == result.zkey.transcript_hash(be).hex()


def test_ceremony_key_proves_and_verifies(be, cubic, ptau, ours):
    report = _verify(ours, cubic, ptau, be)
    assert [n for n, _ in report.contributions] == ["carol", "dave", "beacon"]
    assert report.vk.circuit.digest == cubic.shape.digest()
    pk = phase2.proving_key(ours, report, be)
    r1cs, witness = cubic.synthesize({"x": 3, "y": 35})
    proof = prove(pk, r1cs, witness)
    assert verify(report.vk, [35], proof)
    assert not verify(report.vk, [36], proof)
    with pytest.raises(UnsatisfiedConstraint):
        prove(pk, *cubic.synthesize({"x": 3, "y": 36}))


def test_contribution_scaled_in_worker_processes_verifies(be, cubic, ptau, ours, monkeypatch):
    """Large keys scale C and H in chunks across worker processes: the chunks must come back
    in order, or the C and H checks fail."""
    monkeypatch.setattr(phase2, "PARALLEL_MIN", 1)
    monkeypatch.setattr(phase2.os, "cpu_count", lambda: 3)  # 3 chunks per section even on one core
    result = phase2.contribute(ours, "erin", be)
    assert _verify(result.zkey, cubic, ptau, be).contributions[-1] == ("erin", result.contribution_hash.hex())


def test_single_party_setup_is_a_one_contribution_phase_2(be, cubic):
    key = phase2.single_party_zkey(cubic.shape, "auditor", be)
    assert [c.name for c in key.contributions] == ["auditor"]
    assert be.g2_eq(key.gamma_g2, be.g2_generator())
    phase2._check_contributions(key, be, 1)  # the ceremony's checks accept its contribution
    forged = _with_contribution(key, 0, g1_sx=be.g1_add(key.contributions[0].g1_sx, be.g1_generator()))
    with pytest.raises(CeremonyError) as excinfo:
        phase2._check_contributions(forged, be, 1)
    assert _step(excinfo) == "contribution 1 (auditor): transcript"


def _step(excinfo) -> str:
    return excinfo.value.step


def test_zero_contributions_refused(be, cubic, ptau):
    key = phase2.new_zkey(cubic.shape, ptau, be)
    with pytest.raises(CeremonyError) as excinfo:
        _verify(key, cubic, ptau, be)
    assert _step(excinfo) == "contributions"
    assert _verify(key, cubic, ptau, be, min_contributions=0).contributions == ()


def test_altered_ic_refused(be, cubic, ptau, ours):
    ic = ours.sections[zk.IC]
    forged = ic[:G1_SIZE] + ic[:G1_SIZE]  # IC[1] := IC[0]
    assert forged != ic
    with pytest.raises(CeremonyError) as excinfo:
        _verify(replace(ours, sections=ours.sections | {zk.IC: forged}), cubic, ptau, be)
    assert _step(excinfo) == "IC"


def test_key_for_another_circuit_refused(be, cubic, ptau, ours):
    other = get_circuit("balance_threshold", {})
    with pytest.raises(CeremonyError) as excinfo:
        _verify(ours, other, ptau, be)
    assert _step(excinfo) in ("circuit", "phase 1")
    # same dimensions, one coefficient changed: the recomputed key differs
    r1cs = cubic.shape
    row = dict(r1cs.c[0])
    var = next(iter(row))
    row[var] = (row[var] + 1) % (2**255)
    changed = R1CS(r1cs.num_variables, r1cs.public_names, r1cs.a, r1cs.b, (row,) + r1cs.c[1:], r1cs.labels)
    assert changed.digest() != r1cs.digest()
    with pytest.raises(CeremonyError) as excinfo:
        _verify(ours, changed, ptau, be)
    assert _step(excinfo) in ("IC", "C section", "circuit hash")


def _with_contribution(key, index, **changes):
    cs = list(key.contributions)
    cs[index] = replace(cs[index], **changes)
    return replace(key, contributions=tuple(cs))


def test_contribution_with_wrong_proof_of_knowledge_refused(be, cubic, ptau, ours):
    c = ours.contributions[1]
    forged = _with_contribution(ours, 1, g2_spx=be.g2_add(c.g2_spx, c.g2_spx))
    with pytest.raises(CeremonyError) as excinfo:
        _verify(forged, cubic, ptau, be)
    assert _step(excinfo) == "contribution 2 (dave): proof of knowledge"


def test_contribution_with_foreign_transcript_refused(be, cubic, ptau, ours):
    forged = _with_contribution(ours, 0, transcript=bytes(64))
    with pytest.raises(CeremonyError) as excinfo:
        _verify(forged, cubic, ptau, be)
    assert _step(excinfo) == "contribution 1 (carol): transcript"


def test_delta_not_following_the_proof_refused(be, cubic, ptau, ours):
    c = ours.contributions[0]
    forged = _with_contribution(ours, 0, delta_after=be.g1_add(c.delta_after, be.g1_generator()))
    with pytest.raises(CeremonyError) as excinfo:
        _verify(forged, cubic, ptau, be)
    assert _step(excinfo) == "contribution 1 (carol): delta update"


def test_bad_beacon_refused(be, cubic, ptau, ours):
    forged = _with_contribution(ours, 2, beacon_hash=bytes.fromhex(BEACON[:-2] + "ff"))
    with pytest.raises(CeremonyError) as excinfo:
        _verify(forged, cubic, ptau, be)
    assert _step(excinfo) == "contribution 3 (beacon): beacon"


def test_header_delta_must_be_the_last_contribution(be, cubic, ptau, ours):
    forged = replace(ours, delta_g2=be.g2_add(ours.delta_g2, be.g2_generator()))
    with pytest.raises(CeremonyError) as excinfo:
        _verify(forged, cubic, ptau, be)
    assert _step(excinfo) == "delta"


@pytest.mark.parametrize("kind", [zk.POINTS_C, zk.POINTS_H])
def test_sections_not_divided_by_delta_refused(be, cubic, ptau, ours, kind):
    initial = phase2.new_zkey(cubic.shape, ptau, be)
    forged = replace(ours, sections=ours.sections | {kind: initial.sections[kind]})
    with pytest.raises(CeremonyError) as excinfo:
        _verify(forged, cubic, ptau, be)
    assert _step(excinfo) == f"{zk.SECTION_NAMES[kind]} section"


def _altered(be, key, kind, index):
    """``key`` with point ``index`` of section ``kind`` moved by the generator (still a valid point)."""
    group = "G2" if kind == zk.POINTS_B2 else "G1"
    size = G1_SIZE if group == "G1" else 2 * G1_SIZE
    data = key.sections[kind]
    index %= len(data) // size
    point = (enc.g1_from_lem if group == "G1" else enc.g2_from_lem)(be, data[index * size : (index + 1) * size])
    moved = be.g1_add(point, be.g1_generator()) if group == "G1" else be.g2_add(point, be.g2_generator())
    encoded = enc.g1_to_lem(be, moved) if group == "G1" else enc.g2_to_lem(be, moved)
    return replace(key, sections=key.sections | {kind: data[: index * size] + encoded + data[(index + 1) * size :]})


@pytest.mark.parametrize("index", [1, -1], ids=["second", "last"])
@pytest.mark.parametrize("kind", [zk.IC, zk.POINTS_A, zk.POINTS_B1, zk.POINTS_B2, zk.POINTS_C, zk.POINTS_H], ids=zk.SECTION_NAMES.get)
def test_a_single_altered_point_anywhere_is_refused(be, cubic, ptau, ours, kind, index):
    """The random linear combination covers every point, not only the first of a section."""
    with pytest.raises(CeremonyError) as excinfo:
        _verify(_altered(be, ours, kind, index), cubic, ptau, be)
    name = zk.SECTION_NAMES[kind]
    assert _step(excinfo) == (f"{name} section" if kind in (zk.POINTS_C, zk.POINTS_H) else name)


def _squaring_chain(length: int) -> R1CS:
    """x_{i+1} = x_i^2 for ``length`` constraints, x_0 private and the last public: a toy R1CS
    whose size is chosen to fill a domain exactly."""
    m = length + 2  # one, the public output, x_0 .. x_{length - 1}
    var = lambda i: 2 + i if i < length else 1  # noqa: E731  x_length is the public output
    a = tuple({var(i): 1} for i in range(length))
    c = tuple({var(i + 1): 1} for i in range(length))
    return R1CS(m, ("y",), a, a, c, tuple(f"square {i}" for i in range(length)))


def test_key_on_the_top_level_of_the_powers_of_tau(be, ptau):
    """A circuit whose domain is the whole phase-1 power (2^4 here): its H section uses the top
    Lagrange level, where snarkjs counts the missing tau^(2N-1) as zero."""
    r1cs = _squaring_chain(13)  # 13 constraints + 2 input rows fill 16
    key = phase2.new_zkey(r1cs, ptau, be)
    assert key.domain_size == 1 << ptau.power
    key = phase2.contribute(key, "alice", be).zkey
    assert _verify(key, r1cs, ptau, be).contributions[0][0] == "alice"
    with pytest.raises(CeremonyError) as excinfo:
        _verify(_altered(be, key, zk.POINTS_H, -1), r1cs, ptau, be)
    assert _step(excinfo) == "H section"


def test_point_outside_the_subgroup_is_malformed(be, cubic, ptau, ours):
    """A point on the curve with a small-order component could pass a random linear combination
    with probability 1/3: every section point is decoded with a subgroup check."""
    x = 1
    while True:  # the first x with x^3 + 4 a square mod q gives a point of E(Fq) outside G1
        rhs = (x**3 + 4) % Q
        y = pow(rhs, (Q + 1) // 4, Q)
        if y * y % Q == rhs:
            break
        x += 1
    outside = enc.fq_to_mont(x) + enc.fq_to_mont(y)
    data = ours.sections[zk.POINTS_C]
    with pytest.raises(MalformedFile, match="subgroup"):
        _verify(replace(ours, sections=ours.sections | {zk.POINTS_C: data[:G1_SIZE] + outside + data[2 * G1_SIZE :]}), cubic, ptau, be)


def test_truncated_or_garbled_files_are_malformed(be, ours):
    data = zk.zkey_bytes(ours, be)
    with pytest.raises(MalformedFile):
        zk.parse_zkey(data[:-10], be, where="cut.zkey")
    header_at = 12 + 12  # file header, then section 1's type and size, then the protocol id
    assert data[header_at : header_at + 4] == b"\x01\x00\x00\x00"
    with pytest.raises(MalformedFile, match="Groth16"):
        zk.parse_zkey(data[:header_at] + b"\x02" + data[header_at + 1 :], be, where="plonk.zkey")


def test_beacon_and_names_are_validated(be, ours):
    with pytest.raises(Exception, match="beacon"):
        phase2.beacon(ours, "b", "xyz", 10, be)
    with pytest.raises(Exception, match="name"):
        phase2.contribute(ours, "n" * 65, be)


# CLI -------------------------------------------------------------------------------------------
def test_cli_ceremony_end_to_end(tmp_path):
    runner = CliRunner()

    def run(*args, code=0):
        result = runner.invoke(main, list(args))
        assert result.exit_code == code, result.output
        return result.output

    k0, k1, k2, k3 = (str(tmp_path / f"k{i}.zkey") for i in range(4))
    run("ceremony", "key", "new", "cubic", "--ptau", str(PTAU), "--out", k0)
    out = run("ceremony", "key", "verify", k0, "cubic", "--ptau", str(PTAU), "--json", code=1)
    assert '"step": "contributions"' in out
    run("ceremony", "key", "contribute", k0, k1, "--name", "alice")
    run("ceremony", "key", "contribute", k1, k2, "--name", "bob", "--json")
    run("ceremony", "key", "beacon", k2, k3, "--beacon", BEACON, "--iterations-exp", "10")
    out = run("ceremony", "key", "verify", k3, "cubic", "--ptau", str(PTAU))
    assert "alice" in out and "bob" in out and "beacon" in out
    refused = tmp_path / "refused"
    run("ceremony", "key", "export", k0, "cubic", "--ptau", str(PTAU), "--out", str(refused), code=1)
    assert not refused.exists() or not any(refused.iterdir())
    keys = tmp_path / "keys"
    run("ceremony", "key", "export", k3, "cubic", "--ptau", str(PTAU), "--out", str(keys))
    (tmp_path / "in.json").write_text('{"x": "3", "y": "35"}')
    run("prove", "--pk", str(keys / "proving_key.bin"), "--inputs", str(tmp_path / "in.json"), "--out", str(tmp_path / "p.json"))
    out = run("verify", "--vk", str(keys / "verification_key.json"), "--proof", str(tmp_path / "p.json"))
    assert out.startswith("valid")


# snarkjs interoperability ----------------------------------------------------------------------
def _snarkjs() -> str:
    if shutil.which("node") is None:
        pytest.skip("node is not installed: cannot run snarkjs")
    path = os.environ.get("ZKPROOFS_SNARKJS") or shutil.which("snarkjs")
    if path is None:
        pytest.skip("snarkjs not found: .ci/run installs it and sets ZKPROOFS_SNARKJS")
    return path


def _run(*args):
    done = subprocess.run(list(args), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_snarkjs_interop_both_ways(be, cubic, ptau, tmp_path):
    sj = _snarkjs()
    r1cs = tmp_path / "cubic.r1cs"
    r1cs.write_bytes(iden3.r1cs_to_bytes(cubic.shape))
    k0, k1, k2, k3 = (tmp_path / f"k{i}.zkey" for i in range(4))
    zk.write_zkey(k0, phase2.new_zkey(cubic.shape, ptau, be), be)
    zk.write_zkey(k1, phase2.contribute(zk.read_zkey(k0, be), "zkproofs", be).zkey, be)
    _run(sj, "zkey", "contribute", str(k1), str(k2), "--name=snarkjs", "-e=some entropy")
    zk.write_zkey(k3, phase2.beacon(zk.read_zkey(k2, be), "beacon", BEACON, 10, be).zkey, be)
    assert "ZKey Ok!" in _run(sj, "zkey", "verify", str(r1cs), str(PTAU), str(k3))
    report = phase2.verify_zkey(k3, cubic, PTAU, backend="arkworks")
    assert [n for n, _ in report.contributions] == ["zkproofs", "snarkjs", "beacon"]
    pk = phase2.proving_key(zk.read_zkey(k3, be), report, be)
    r1cs_, witness = cubic.synthesize({"x": 3, "y": 35})
    proof = prove(pk, r1cs_, witness)
    for name, obj in (("vk.json", snarkjs.verification_key(report.vk)), ("proof.json", snarkjs.proof(proof)),
                      ("public.json", snarkjs.public_signals([35]))):  # fmt: skip
        (tmp_path / name).write_text(json.dumps(obj))
    files = [str(tmp_path / n) for n in ("vk.json", "public.json", "proof.json")]
    assert "OK" in _run(sj, "groth16", "verify", *files)
    (tmp_path / "public.json").write_text(json.dumps(["36"]))
    done = subprocess.run([sj, "groth16", "verify", *files], capture_output=True, text=True, timeout=120)
    assert "OK" not in done.stdout


def test_a_phase_1_verified_once_is_remembered_by_its_bytes_only_when_asked(be, cubic, tmp_path, monkeypatch):
    """verify_zkey(remember_phase1=True) (what a verifier's trust check uses) verifies a
    .ptau once per content; every other call, and any other bytes, verify it again."""
    monkeypatch.setenv("ZKPROOFS_CACHE_DIR", str(tmp_path / "cache"))
    key = FIXTURES / "cubic_snarkjs_alice_beacon.zkey"
    calls = []
    real = phase2.verify_ptau
    monkeypatch.setattr(phase2, "verify_ptau", lambda *a, **k: calls.append(1) or real(*a, **k))
    for remember, expected in ((False, 1), (True, 2), (True, 2), (False, 3)):
        phase2.verify_zkey(key, cubic, PTAU, backend="arkworks", remember_phase1=remember)
        assert len(calls) == expected
    # a copy with one byte of a point changed is other content: verified again, and refused
    data = bytearray(PTAU.read_bytes())
    data[-G1_SIZE - 7] ^= 1
    altered = tmp_path / "altered.ptau"
    altered.write_bytes(bytes(data))
    with pytest.raises((CeremonyError, MalformedFile)):
        phase2.verify_zkey(key, cubic, altered, backend="arkworks", remember_phase1=True)
    assert len(calls) == 4
