"""Phase 1 (powers of tau): transcripts verify, every kind of tampering is refused with the
step named, the Lagrange form is the Lagrange basis, and the file format is strict."""

import dataclasses
import hashlib
import json
import os
import struct

import pytest
from click.testing import CliRunner

from cli.main import main
from zkproofs.backends import get_backend
from zkproofs.ceremony import encoding as enc
from zkproofs.ceremony import powersoftau as phase1
from zkproofs.ceremony.blake2b import Blake2b512
from zkproofs.ceremony.ptau import (
    ALPHA_TAU_G1,
    BETA_TAU_G1,
    TAU_G1,
    TAU_G2,
    first_challenge_hash,
    parse_ptau,
    ptau_bytes,
    read_ptau,
    write_ptau,
)
from zkproofs.ceremony.rng import ChaCha
from zkproofs.errors import CeremonyError, MalformedFile, MalformedInput
from zkproofs.field import R

BEACON = "0123456789abcdef0123456789abcdef"
ark = get_backend("arkworks")


@pytest.fixture(scope="module")
def transcript():
    """power 3: alice, bob, then a beacon."""
    start = phase1.new(3, ark)
    alice = phase1.contribute(start, "alice", ark)
    bob = phase1.contribute(alice.ptau, "bob", ark)
    final = phase1.beacon(bob.ptau, "final", BEACON, 10, ark)
    return {"start": start, "alice": alice, "bob": bob, "final": final, "ptau": final.ptau}


def _step(ptau) -> str:
    with pytest.raises(CeremonyError) as err:
        phase1.verify(ptau, ark)
    return err.value.step


def _with_point(ptau, kind, index, point):
    size = enc.G1_SIZE if kind in (TAU_G1, ALPHA_TAU_G1, BETA_TAU_G1, 12, 14, 15) else enc.G2_SIZE
    encode = enc.g1_to_lem if size == enc.G1_SIZE else enc.g2_to_lem
    data = bytearray(ptau.sections[kind])
    data[index * size : (index + 1) * size] = encode(ark, point)
    return dataclasses.replace(ptau, sections={**ptau.sections, kind: bytes(data)})


def _with_contribution(ptau, index, **changes):
    contributions = list(ptau.contributions)
    contributions[index] = dataclasses.replace(contributions[index], **changes)
    return dataclasses.replace(ptau, contributions=tuple(contributions))


# hashes and vectors --------------------------------------------------------------------------
def test_blake2b_matches_hashlib_and_resumes():
    for n in (0, 1, 127, 128, 129, 256, 257, 1000):
        data = os.urandom(n)
        h = Blake2b512().update(data[: n // 3]).update(data[n // 3 :])
        assert h.digest() == hashlib.blake2b(data).digest()
        resumed = Blake2b512.from_partial_state(h.partial_state()).update(b"more")
        assert resumed.digest() == hashlib.blake2b(data + b"more").digest()
    with pytest.raises(MalformedInput):
        Blake2b512.from_partial_state(bytes(128 + 64) + struct.pack("<QQ", 0, 129) + bytes(8))


def test_chacha_matches_rfc_block_function():
    # RFC 7539 section 2.3.2 uses a nonce; with the all-zero key and counter, the first
    # ChaCha20 output word is the well-known 0xade0b876 (little-endian bytes 76 b8 e0 ad).
    assert ChaCha([0] * 8).next_u32() == 0xADE0B876


def test_first_challenge_hash_is_snarkjs():
    # printed by `snarkjs powersoftau new bls12381 3 x.ptau -v` ("First Contribution Hash")
    assert first_challenge_hash(3, ark).hex().startswith("22691f7f7ed9a36b2c8774d331c3f256")


# honest transcripts -----------------------------------------------------------------------------
def test_verify_accepts_and_reports_every_contribution(transcript):
    report = phase1.verify(transcript["ptau"], ark)
    assert [c.name for c in report.contributions] == ["alice", "bob", "final"]
    assert [c.response_hash for c in report.contributions] == [transcript[k].response_hash for k in ("alice", "bob", "final")]
    assert report.contributions[2].beacon_hash == bytes.fromhex(BEACON) and report.contributions[2].num_iterations_exp == 10
    assert report.challenge_hash == transcript["final"].next_challenge and not report.prepared


def test_round_trip_is_byte_exact(transcript, tmp_path):
    path = tmp_path / "t.ptau"
    write_ptau(path, transcript["ptau"], ark)
    data = path.read_bytes()
    again = read_ptau(path, ark)
    assert ptau_bytes(again, ark) == data
    phase1.verify(again, ark)


def test_contributions_use_fresh_secrets(transcript):
    a = phase1.contribute(transcript["start"], "x", ark)
    b = phase1.contribute(transcript["start"], "x", ark)
    assert a.response_hash != b.response_hash and a.ptau.sections[TAU_G1] != b.ptau.sections[TAU_G1]


def test_beacon_is_deterministic(transcript):
    again = phase1.beacon(transcript["bob"].ptau, "final", BEACON, 10, ark)
    assert again.response_hash == transcript["final"].response_hash


# tampering ---------------------------------------------------------------------------------------
def test_zero_contributions_refused(transcript):
    assert _step(transcript["start"]) == "contributions"


@pytest.mark.parametrize("secret", ["tau", "alpha", "beta"])
def test_bad_proof_of_knowledge_refused(transcript, secret):
    ptau = transcript["ptau"]
    part = getattr(ptau.contributions[1], secret)
    forged = dataclasses.replace(part, g2_spx=ark.g2_mul(part.g2_spx, 2))
    assert _step(_with_contribution(ptau, 1, **{secret: forged})) == f"contribution 2 (bob): proof of knowledge of {secret}"


def test_proof_of_knowledge_is_bound_to_the_challenge(transcript):
    # drop bob: the beacon's proofs were made for bob's challenge, not alice's
    ptau = transcript["ptau"]
    dropped = dataclasses.replace(ptau, contributions=(ptau.contributions[0], ptau.contributions[2]))
    assert _step(dropped) == "contribution 2 (final): beacon"
    honest_pair = dataclasses.replace(transcript["bob"].ptau, contributions=(transcript["bob"].ptau.contributions[1],))
    assert _step(honest_pair).startswith("contribution 1 (bob): proof of knowledge")


def test_contribution_that_does_not_follow_refused(transcript):
    ptau = transcript["ptau"]
    moved = ark.g1_mul(ptau.contributions[0].tau_g1, 3)
    assert _step(_with_contribution(ptau, 0, tau_g1=moved)) == "contribution 1 (alice): tau*G1"


@pytest.mark.parametrize("kind,index,name", [(TAU_G1, 5, "tauG1"), (TAU_G1, 14, "tauG1"), (TAU_G2, 3, "tauG2"), (ALPHA_TAU_G1, 4, "alphaTauG1"), (BETA_TAU_G1, 7, "betaTauG1")])
def test_altered_power_refused(transcript, kind, index, name):
    ptau = transcript["ptau"]
    gen = ark.g1_generator() if kind != TAU_G2 else ark.g2_generator()
    mul = ark.g1_mul if kind != TAU_G2 else ark.g2_mul
    assert _step(_with_point(ptau, kind, index, mul(gen, 12345))) == f"{name} section: powers"


def test_altered_first_powers_refused(transcript):
    ptau = transcript["ptau"]
    assert _step(_with_point(ptau, TAU_G1, 0, ark.g1_mul(ark.g1_generator(), 2))) == "tauG1 section"
    assert _step(_with_point(ptau, TAU_G2, 1, ark.g2_generator())) == "tauG2 section"


def test_bad_beacon_refused(transcript):
    ptau = transcript["ptau"]
    assert _step(_with_contribution(ptau, 2, beacon_hash=bytes.fromhex(BEACON[:-2] + "00"))) == "contribution 3 (final): beacon"
    assert _step(_with_contribution(ptau, 2, num_iterations_exp=11)) == "contribution 3 (final): beacon"


def test_beacon_claim_on_a_random_contribution_refused(transcript):
    ptau = transcript["ptau"]
    assert _step(_with_contribution(ptau, 1, beacon_hash=b"\x01", num_iterations_exp=10)) == "contribution 2 (bob): beacon"


def test_challenge_hash_mismatch_refused(transcript):
    ptau = transcript["ptau"]
    assert _step(_with_contribution(ptau, 2, next_challenge=bytes(64))) == "challenge hash"


def test_contribute_to_reduced_file_refused(transcript):
    reduced = dataclasses.replace(transcript["ptau"], ceremony_power=4)
    with pytest.raises(CeremonyError, match="reduced"):
        phase1.contribute(reduced, "x", ark)


@pytest.mark.parametrize("beacon,exp", [("abc", 10), ("zz", 10), ("", 10), ("00", 9), ("00", 64)])
def test_bad_beacon_parameters_refused(transcript, beacon, exp):
    with pytest.raises(MalformedInput):
        phase1.beacon(transcript["start"], "b", beacon, exp, ark)


def test_long_name_refused(transcript):
    with pytest.raises(MalformedInput, match="64 characters"):
        phase1.contribute(transcript["start"], "x" * 65, ark)


# prepare -----------------------------------------------------------------------------------------
def test_prepare_gives_the_lagrange_basis_at_a_known_tau():
    tau, alpha, beta = 7, 11, 13
    g1 = ark.g1_generator()
    start = phase1.new(2, ark)
    ptau = phase1._apply(start, ark, (tau, alpha, beta), [g1, g1, g1], "known", None, None).ptau
    prepared = phase1.prepare(ptau, ark)
    offset = 0
    for p in range(0, 4):  # tauG1 levels 0..power+1
        n = 1 << p
        omega = phase1.snarkjs_root_of_unity(n)
        points = prepared.points(ark, 12, start=offset, count=n)
        for i, point in enumerate(points):
            w = pow(omega, i, R)
            expected = sum(pow(tau * pow(w, -1, R), j, R) for j in range(n)) * pow(n, -1, R) % R  # L_i(tau)
            if p == 3:  # the top level lacks tau^(2N-1): L_i(tau) minus its share of that power
                expected = (expected - pow(tau * pow(w, -1, R), n - 1, R) * pow(n, -1, R)) % R
            assert ark.g1_eq(point, ark.g1_mul(g1, expected)), (p, i)
        offset += n
    phase1.verify(prepared, ark)


def test_prepare_in_worker_processes_gives_the_same_bytes(transcript, monkeypatch):
    """Large transcripts compute the levels in worker processes, largest first: they must be
    put back in order."""
    serial = phase1.prepare(transcript["ptau"], ark)
    monkeypatch.setattr(phase1, "PARALLEL_PREPARE_MIN", 1)
    monkeypatch.setattr(phase1.os, "cpu_count", lambda: 2)
    assert phase1.prepare(transcript["ptau"], ark).sections == serial.sections


def test_altered_lagrange_point_refused(transcript):
    prepared = phase1.prepare(transcript["ptau"], ark)
    assert phase1.verify(prepared, ark).prepared
    forged = _with_point(prepared, 14, 5, ark.g1_mul(ark.g1_generator(), 99))
    assert _step(forged) == "lagrange alphaTauG1 section"
    forged = _with_point(prepared, 13, 0, ark.g2_mul(ark.g2_generator(), 99))
    assert _step(forged) == "lagrange tauG2 section"


def test_contribution_drops_the_lagrange_form(transcript):
    prepared = phase1.prepare(transcript["ptau"], ark)
    assert not phase1.contribute(prepared, "late", ark).ptau.prepared


# strict parsing ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def file_bytes(transcript):
    return ptau_bytes(transcript["ptau"], ark)


def _parse(data):
    return parse_ptau(bytes(data), ark, where="t.ptau")


def test_wrong_prime_refused(file_bytes):
    data = bytearray(file_bytes)
    data[12 + 12 + 4] ^= 1  # first byte of q
    with pytest.raises(MalformedFile, match="section 1, offset 28: the prime q"):
        _parse(data)


def test_header_power_change_refused(file_bytes):
    data = bytearray(file_bytes)
    struct.pack_into("<I", data, 12 + 12 + 52, 4)  # power 4 in a power-3 file
    with pytest.raises(MalformedFile, match="offset 76: power 4 / ceremonyPower 3 out of range"):
        _parse(data)
    struct.pack_into("<II", data, 12 + 12 + 52, 4, 4)
    with pytest.raises(MalformedFile, match="section 2, offset 96: tauG1: expected 2976 bytes for power 4, found 1440"):
        _parse(data)


def test_truncated_contributions_refused(file_bytes):
    data = bytearray(file_bytes[:-3])
    # shrink the contributions section's declared size to match
    pos = 12
    while True:
        kind, size = struct.unpack_from("<IQ", data, pos)
        if kind == 7:
            struct.pack_into("<Q", data, pos + 4, size - 3)
            break
        pos += 12 + size
    with pytest.raises(MalformedFile, match=r"section 7, offset \d+: contribution 3: parameters run past the end"):
        _parse(data)


def test_point_off_curve_in_contribution_refused(file_bytes, transcript):
    data = bytearray(file_bytes)
    pos = 12
    while True:
        kind, size = struct.unpack_from("<IQ", data, pos)
        if kind == 7:
            break
        pos += 12 + size
    data[pos + 12 + 4 + 50] ^= 0xFF  # y of contribution 1's tauG1
    with pytest.raises(MalformedFile, match="section 7.*contribution 1 tauG1"):
        _parse(data)


# CLI ---------------------------------------------------------------------------------------------
def _cli(*args, code=0):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result


def test_cli_ceremony_end_to_end(tmp_path):
    p = lambda name: str(tmp_path / name)  # noqa: E731
    _cli("ceremony", "ptau", "new", "--power", "2", "--out", p("0.ptau"))
    out = _cli("ceremony", "ptau", "contribute", p("0.ptau"), p("1.ptau"), "--name", "alice").output
    assert "alice" in out and "contribution hash" in out
    info = json.loads(_cli("ceremony", "ptau", "contribute", p("1.ptau"), p("2.ptau"), "--name", "bob", "--json").output)
    assert info["name"] == "bob" and len(info["contribution_hash"]) == 128
    _cli("ceremony", "ptau", "beacon", p("2.ptau"), p("3.ptau"), "--beacon", BEACON, "--iterations-exp", "10")
    _cli("ceremony", "ptau", "prepare", p("3.ptau"), p("4.ptau"))
    report = json.loads(_cli("ceremony", "ptau", "verify", p("4.ptau"), "--json").output)
    assert report["valid"] and report["prepared"] and [c["name"] for c in report["contributions"]] == ["alice", "bob", "beacon"]
    assert report["contributions"][1]["contribution_hash"] == info["contribution_hash"]
    # an uncontributed transcript is invalid (exit 1, step named) and prepare writes nothing
    bad = json.loads(_cli("ceremony", "ptau", "verify", p("0.ptau"), "--json", code=1).output)
    assert bad == {"valid": False, "file": p("0.ptau"), "step": "contributions", "reason": bad["reason"]}
    _cli("ceremony", "ptau", "prepare", p("0.ptau"), p("never.ptau"), code=1)
    assert not os.path.exists(p("never.ptau"))
    # a malformed file is exit 2 with the place named
    (tmp_path / "cut.ptau").write_bytes((tmp_path / "1.ptau").read_bytes()[:500])
    assert "cut.ptau" in _cli("ceremony", "ptau", "verify", p("cut.ptau"), code=2).output
    assert "between 10 and 63" in _cli("ceremony", "ptau", "beacon", p("2.ptau"), p("x.ptau"), "--beacon", "00", "--iterations-exp", "5", code=2).output


@pytest.mark.slow
def test_reference_backend_verifies_a_native_transcript():
    ref = get_backend("py_ecc")
    start = phase1.new(1, ark)
    one = phase1.beacon(phase1.contribute(start, "a", ark).ptau, "b", BEACON, 10, ark).ptau
    prepared = phase1.prepare(one, ark)
    again = parse_ptau(ptau_bytes(prepared, ark), ref, where="t.ptau")
    report = phase1.verify(again, ref)
    assert report.prepared and len(report.contributions) == 2
