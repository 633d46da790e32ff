"""Keys that can be trusted (issue 17): provenance, degenerate keys, and the forgeries they stop.

The forgeries are made with :mod:`tests.trapdoor` (test-only: setup that keeps
its trapdoor). Each one first succeeds against the raw Groth16 verifier, which
is what the issue reported, then is refused by the check that now stands in
its way.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from unittest import mock

import pytest
from click.testing import CliRunner

from circuits import valid_transition
from circuits.cubic import Cubic
from circuits.merkle_sum_inclusion import MerkleSumInclusion
from circuits.valid_transition import ValidTransition
from cli.main import main
from tests.trapdoor import forge, key_with_trapdoor
from zkproofs.accounts.model import Account, AccountSet, Asset
from zkproofs.backends import get_backend
from zkproofs.backends.common import Q
from zkproofs.ceremony import phase2
from zkproofs.ceremony import zkey as zk
from zkproofs.ceremony.ptau import read_ptau
from zkproofs.errors import CeremonyError, DegenerateKey, MalformedInput, UntrustedKey
from zkproofs.export import snarkjs
from zkproofs.field import R
from zkproofs.groth16 import prove, setup, verify
from zkproofs.groth16.keys import Ceremony, SingleParty
from zkproofs.groth16.serialize import (
    pk_from_bytes,
    pk_to_bytes,
    proof_from_dict,
    proof_to_dict,
    vk_from_dict,
    vk_from_json,
    vk_hash,
    vk_to_dict,
    vk_to_json,
)
from zkproofs.groth16.trust import KeyTrust, Transcript, check_key, remember_verified, require_trusted
from zkproofs.proofs.inclusion import ZK_FORMAT, ZK_VERSION, trust_inclusion_key, zk_failure
from zkproofs.settlement.venue import Venue
from zkproofs.settlement.venue_ledger import VenueLedger
from zkproofs.settlement.venue_policy import PolicyError, venue_policy_from_dict
from zkproofs.tree import TreeStore, build_tree, published_root
from zkproofs.tree.hashing import user_commitment
from zkproofs.tree.root import root_to_json



@pytest.fixture(scope="module")
def cubic_keys():
    """A single-party key of the cubic toy circuit (setup by "auditor") and an honest proof (x = 3, y = 35)."""
    pk = setup(Cubic(), party="auditor")
    r1cs, witness = Cubic().synthesize({"x": 3, "y": 35})
    return pk, prove(pk, r1cs, witness), witness[1 : r1cs.num_public + 1]


# --- provenance ----------------------------------------------------------------------


def test_setup_records_the_single_party_and_the_file_keeps_it(cubic_keys):
    pk = cubic_keys[0]
    assert pk.vk.provenance == SingleParty("auditor")
    assert pk.vk.describe_provenance() == "single-party setup by auditor"
    doc = vk_to_dict(pk.vk)
    assert doc["version"] == 2 and doc["provenance"] == {"kind": "single-party", "party": "auditor"}
    assert "generated_by" not in doc
    assert vk_from_json(vk_to_json(pk.vk)) == pk.vk
    assert pk_from_bytes(pk_to_bytes(pk)).vk == pk.vk


def test_ceremony_provenance_round_trips_and_changes_the_key_hash(cubic_keys):
    vk = cubic_keys[0].vk
    ceremony = Ceremony("ab" * 32, 3, "cd" * 32)
    other = dataclasses.replace(vk, provenance=ceremony)
    assert vk_from_dict(vk_to_dict(other)).provenance == ceremony
    assert other.describe_provenance().startswith("ceremony: transcript abababababababab..., 3 contributions")
    assert vk_hash(other) != vk_hash(vk)
    assert vk_hash(vk) == vk_hash(vk_from_json(vk_to_json(vk)))


@pytest.mark.parametrize(
    "provenance,field",
    [
        (None, "missing field 'provenance'"),
        ({"kind": "single-party", "party": " "}, "provenance.party"),
        ({"kind": "single-party", "party": "x", "extra": 1}, "exactly the fields"),
        ({"kind": "trusted-setup"}, "provenance.kind"),
        ({"kind": "ceremony", "transcript_hash": "ab" * 32, "contributions": 0, "beacon": None}, "provenance.contributions"),
        ({"kind": "ceremony", "transcript_hash": "AB" * 32, "contributions": 2, "beacon": None}, "provenance.transcript_hash"),
        ({"kind": "ceremony", "transcript_hash": "ab" * 32, "contributions": True, "beacon": None}, "contributions"),
        ({"kind": "ceremony", "transcript_hash": "ab" * 32, "contributions": 2, "beacon": "xyz"}, "provenance.beacon"),
    ],
)
def test_malformed_provenance_is_refused_naming_the_field(cubic_keys, provenance, field):
    doc = vk_to_dict(cubic_keys[0].vk)
    if provenance is None:
        del doc["provenance"]
    else:
        doc["provenance"] = provenance
    with pytest.raises(MalformedInput, match=field):
        vk_from_dict(doc, "vk.json")


def test_version_1_keys_with_free_text_generated_by_are_refused_with_the_reason(cubic_keys):
    doc = vk_to_dict(cubic_keys[0].vk)
    doc["version"] = 1
    doc["generated_by"] = doc.pop("provenance")["party"]
    with pytest.raises(MalformedInput, match="no provenance"):
        vk_from_dict(doc, "vk.json")


# --- degenerate keys -----------------------------------------------------------------


def _infinity(size: int) -> bytes:
    return bytes([0xC0]) + bytes(size - 1)


def _degenerate_cases(vk):
    be = get_backend()
    g2 = be.g2_generator()
    return {
        "gamma = delta": (dataclasses.replace(vk, delta_g2=vk.gamma_g2), "delta_g2: equals gamma_g2"),
        # setup's gamma is the generator (as snarkjs'), so delta = generator is also gamma = delta
        "delta = generator": (dataclasses.replace(vk, delta_g2=be.g2_to_bytes(g2)), "delta_g2: (is \\+/- the generator|equals gamma_g2)"),
        "delta = -generator": (dataclasses.replace(vk, delta_g2=be.g2_to_bytes(be.g2_neg(g2))), "delta_g2: is \\+/- the generator"),
        "alpha at infinity": (dataclasses.replace(vk, alpha_g1=_infinity(48)), "alpha_g1: the point at infinity"),
        "beta at infinity": (dataclasses.replace(vk, beta_g2=_infinity(96)), "beta_g2: the point at infinity"),
        "gamma at infinity": (dataclasses.replace(vk, gamma_g2=_infinity(96)), "gamma_g2: the point at infinity"),
        "delta at infinity": (dataclasses.replace(vk, delta_g2=_infinity(96)), "delta_g2: the point at infinity"),
        "IC[0] at infinity": (dataclasses.replace(vk, ic=(_infinity(48), *vk.ic[1:])), "ic\\[0\\]: the point at infinity"),
        "IC[1] at infinity": (dataclasses.replace(vk, ic=(vk.ic[0], _infinity(48), *vk.ic[2:])), "ic\\[1\\]: the point at infinity"),
    }


CASES = ["gamma = delta", "delta = generator", "delta = -generator", "alpha at infinity", "beta at infinity",
         "gamma at infinity", "delta at infinity", "IC[0] at infinity", "IC[1] at infinity"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("backend", ["arkworks", "py_ecc"])
def test_degenerate_keys_are_refused_by_the_loader_and_the_verifier(cubic_keys, case, backend):
    pk, proof, public = cubic_keys
    bad, message = _degenerate_cases(pk.vk)[case]
    with pytest.raises(DegenerateKey, match=f"vk.json.{message}"):
        vk_from_json(vk_to_json(bad), "vk.json")
    with pytest.raises(DegenerateKey, match=message):
        verify(bad, public, dataclasses.replace(proof), backend=backend)


def test_a_gamma_equal_to_the_generator_is_allowed_as_snarkjs_makes_it(cubic_keys):
    be = get_backend()
    vk = dataclasses.replace(cubic_keys[0].vk, gamma_g2=be.g2_to_bytes(be.g2_generator()))
    assert vk_from_json(vk_to_json(vk)) == vk


def test_gamma_equal_delta_lets_anyone_retarget_a_proof_so_the_key_is_refused():
    """With gamma = delta, e(L, gamma) e(C, delta) = e(L + C, delta): moving a public input by d
    and C by -d IC_i keeps the equation, with no trapdoor. Shown on the raw pairing check."""
    circuit = Cubic()
    vk, trapdoor = key_with_trapdoor(circuit, gamma_equals_delta=True)
    assert vk.gamma_g2 == vk.delta_g2
    proof = forge(vk, trapdoor, circuit, [35])  # any valid proof of y = 35 (x = 3) would do
    be = get_backend()
    shifted_c = be.g1_add(be.g1_from_bytes(proof.c), be.g1_neg(be.g1_from_bytes(vk.ic[1])))
    retargeted = dataclasses.replace(proof, c=be.g1_to_bytes(shifted_c))
    def raw_verify(vk, xs, p) -> bool:
        alpha, beta = be.g1_from_bytes(vk.alpha_g1), be.g2_from_bytes(vk.beta_g2)
        acc = be.g1_add(be.g1_from_bytes(vk.ic[0]), be.g1_msm([be.g1_from_bytes(x) for x in vk.ic[1:]], xs))
        lhs = be.multi_pairing([(be.g1_from_bytes(p.a), be.g2_from_bytes(p.b)),
                                (acc, be.g2_neg(be.g2_from_bytes(vk.gamma_g2))),
                                (be.g1_from_bytes(p.c), be.g2_neg(be.g2_from_bytes(vk.delta_g2)))])
        return be.gt_eq(lhs, be.pairing(alpha, beta))

    assert raw_verify(vk, [35], proof)
    assert raw_verify(vk, [36], retargeted)  # moved by a third party, without the trapdoor
    with pytest.raises(DegenerateKey, match="delta_g2: equals gamma_g2"):
        verify(vk, [36], retargeted)
    with pytest.raises(DegenerateKey):
        vk_from_json(vk_to_json(vk))


def test_the_trapdoor_forges_any_statement_under_a_single_party_key():
    """What the single party can do: a proof of y = 3 (x^3 + x + 5 = 3 has no solution below 2^64) verifies."""
    vk, trapdoor = key_with_trapdoor(Cubic(), party="auditor")
    forged = forge(vk, trapdoor, Cubic(), [3])
    assert verify(vk, [3], forged) and verify(vk, [3], forged, backend="py_ecc")
    assert vk_from_json(vk_to_json(vk)) == vk  # a well-formed key: only its provenance tells


# --- the forgeries of issue 17 ----------------------------------------------------------

BTC = Asset("BTC", 8)
MILLION_BTC = 1_000_000 * 10**8


@pytest.fixture(scope="module")
def twelve_btc_tree(tmp_path_factory):
    """A tree whose BTC total is 12, the exchange's single-party inclusion key with its trapdoor,
    and a root naming that key: (folder, root, vk, trapdoor)."""
    folder = tmp_path_factory.mktemp("forgery")
    accounts = AccountSet((BTC,), (Account("alice", (5 * 10**8,), (0,)), Account("bob", (7 * 10**8,), (0,))))
    build_tree(accounts, folder / "t.db", secret=bytes(32))
    with TreeStore(folder / "t.db") as store:
        root = published_root(store)
    assert root.equity_totals == (12 * 10**8,)
    vk, trapdoor = key_with_trapdoor(MerkleSumInclusion(depth=root.depth, assets=1), party="exchange")
    root = dataclasses.replace(root, verification_key=vk_hash(vk))
    (folder / "root.json").write_text(root_to_json(root))
    (folder / "vk.json").write_text(vk_to_json(vk))
    return folder, root, vk, trapdoor


def _mallory_claim(root, vk, trapdoor) -> tuple[dict, list[int]]:
    """A ZK inclusion proof file of "mallory holds 1,000,000 BTC", forged with the trapdoor."""
    salt = 42
    named = {"commitment": user_commitment("mallory", salt), "equities[0]": MILLION_BTC, "debts[0]": 0,
             "root": root.root_hash, "root_equities[0]": root.equity_totals[0], "root_debts[0]": root.debt_totals[0]}
    public = [named[n] for n in vk.public_names]
    forged = forge(vk, trapdoor, MerkleSumInclusion(depth=root.depth, assets=1), public)
    doc = {"format": ZK_FORMAT, "version": ZK_VERSION, "user_id": "mallory", "salt": str(salt), "assets": ["BTC"],
           "equities": [str(MILLION_BTC)], "debts": ["0"], "pledged": {}, "groth16": proof_to_dict(forged, vk, public)}
    return doc, public


def test_forged_million_btc_inclusion_verifies_raw_but_tree_verify_refuses_it_by_default(twelve_btc_tree):
    folder, root, vk, trapdoor = twelve_btc_tree
    doc, public = _mallory_claim(root, vk, trapdoor)
    groth, _ = proof_from_dict(doc["groth16"])
    # what the issue reported: the raw verifier accepts it, with both backends
    assert verify(vk, public, groth) and verify(vk, public, groth, backend="py_ecc")
    (folder / "mallory.json").write_text(json.dumps(doc))
    result = CliRunner().invoke(main, ["tree", "verify", str(folder / "mallory.json"), "--root", str(folder / "root.json"),
                                       "--vk", str(folder / "vk.json")])
    assert result.exit_code == 2
    assert "single-party setup by exchange" in result.stderr and "--trust-single-party-key" in result.stderr
    assert "included" not in result.output
    # the opt-in means trusting the exchange, which is exactly who forged this: the README says so
    trusted = trust_inclusion_key(root, vk, KeyTrust(single_party=True))
    assert zk_failure(doc, root, vk, trusted) is None


def test_a_ceremony_label_on_the_forging_key_is_refused_without_a_verified_transcript(twelve_btc_tree, tmp_path, monkeypatch):
    monkeypatch.setenv("ZKPROOFS_CACHE_DIR", str(tmp_path / "cache"))
    _, root, vk, _ = twelve_btc_tree
    relabelled = dataclasses.replace(vk, provenance=Ceremony("ab" * 64, 3, None))
    root = dataclasses.replace(root, verification_key=vk_hash(relabelled))
    with pytest.raises(UntrustedKey, match="has not been verified against merkle_sum_inclusion"):
        trust_inclusion_key(root, relabelled, KeyTrust())
    with pytest.raises(UntrustedKey, match="ceremony"):  # the single-party opt-in does not cover ceremony claims
        trust_inclusion_key(root, relabelled, KeyTrust(single_party=True))


class WeakTransition(ValidTransition):
    """valid_transition without the range checks of the new amounts: an overdraft proves."""

    def define(self, cs) -> None:
        with mock.patch.object(valid_transition, "range_check", lambda *args, **kwargs: None):
            super().define(cs)


WEAK_PARAMS = {"assets": 2, "depth": 2}


def _venue(tmp_path, vk, *, opt_in: bool):
    policy = venue_policy_from_dict({"venue": {"name": "v", "assets": ["BTC", "USDC"], "initial_ratio_bps": 15_000,
                                               "maintenance_ratio_bps": 12_500, "tree_depth": WEAK_PARAMS["depth"],
                                               "trust_single_party_keys": opt_in},
                                     "oracles": {"keys": ["ab" * 32], "quorum": 1},
                                     "markets": {"BTC-USDC": {"base": "BTC", "quote": "USDC"}}})
    tmp_path.mkdir(parents=True, exist_ok=True)
    ledger = VenueLedger(tmp_path / "venue.db", depth=policy.tree_depth)
    try:
        return Venue(policy, vk, ledger)
    finally:
        ledger.close()


def test_a_weakened_circuit_key_relabelled_with_the_real_digest_is_refused_by_default(tmp_path):
    real, weak = ValidTransition(**WEAK_PARAMS), WeakTransition(**WEAK_PARAMS)
    assert weak.shape.digest() != real.shape.digest()
    pk = setup(weak, party="venue")
    relabelled_vk = dataclasses.replace(pk.vk, circuit=dataclasses.replace(pk.vk.circuit, digest=real.shape.digest()))
    check_key(real, relabelled_vk)  # the label alone passes: what issue 10 reported
    _venue(tmp_path / "a", relabelled_vk, opt_in=True)  # a venue trusting the key's author takes it
    # by default a single-party key is refused before any request is taken
    with pytest.raises(UntrustedKey, match="single-party setup by venue.*trust_single_party_keys"):
        _venue(tmp_path / "b", relabelled_vk, opt_in=False)
    # and claiming a ceremony does not help: no transcript of the real circuit yields these points
    as_ceremony = dataclasses.replace(relabelled_vk, provenance=Ceremony("cd" * 64, 3, "ef" * 32))
    with pytest.raises(UntrustedKey, match="has not been verified against valid_transition"):
        _venue(tmp_path / "c", as_ceremony, opt_in=True)


def test_gamma_equal_delta_venue_key_is_refused(tmp_path):
    """With gamma = delta anyone can move an observed proof to another context (C shifted by
    -d IC_k), so the venue refuses such a key; with a sound key tests/test_venue.py shows a
    proof moved to another settlement id refused."""
    circuit = ValidTransition(**WEAK_PARAMS)
    be = get_backend()
    vk, trapdoor = key_with_trapdoor(circuit, party="venue", gamma_equals_delta=True)
    with pytest.raises(DegenerateKey, match="delta_g2: equals gamma_g2"):
        _venue(tmp_path, vk, opt_in=True)
    k = vk.public_names.index("context")
    public = [0] * vk.num_public
    public[k] = 1
    observed = forge(vk, trapdoor, circuit, public)
    shift = be.g1_mul(be.g1_from_bytes(vk.ic[k]), 1)
    moved = dataclasses.replace(observed, c=be.g1_to_bytes(be.g1_add(be.g1_from_bytes(observed.c), be.g1_neg(shift))))
    retargeted = list(public)
    retargeted[k] = 2
    with pytest.raises(DegenerateKey):
        verify(vk, retargeted, moved)


def test_venue_policy_trust_key_must_be_a_boolean():
    doc = {"venue": {"name": "v", "assets": ["BTC"], "initial_ratio_bps": 15_000, "maintenance_ratio_bps": 12_500,
                     "trust_single_party_keys": "yes"}, "oracles": {"keys": ["ab" * 32], "quorum": 1}}
    with pytest.raises(PolicyError, match="trust_single_party_keys: expected true or false"):
        venue_policy_from_dict(doc)


# --- zkproofs verify reads snarkjs' own files, with the same checks --------------------------


@pytest.fixture
def snarkjs_files(cubic_keys, tmp_path):
    pk, proof, public = cubic_keys
    docs = {"vk": snarkjs.verification_key(pk.vk), "proof": snarkjs.proof(proof), "public": snarkjs.public_signals(public)}
    return tmp_path, docs


def _verify_snarkjs(folder, docs, *extra):
    for name, doc in docs.items():
        (folder / f"{name}.json").write_text(json.dumps(doc))
    args = ["verify", "--vk", str(folder / "vk.json"), "--proof", str(folder / "proof.json"), "--public", str(folder / "public.json"), *extra]
    return CliRunner().invoke(main, args)


@pytest.mark.parametrize("backend", ["arkworks", "py_ecc"])
def test_verify_accepts_snarkjs_files_and_says_the_key_has_no_provenance(snarkjs_files, backend):
    folder, docs = snarkjs_files
    result = _verify_snarkjs(folder, docs, "--backend", backend, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["valid"] and out["key_provenance"] is None and "not recorded" in out["key"]
    assert out["public_inputs"] == {"public[0]": "35"}


def _g2_infinity():
    return [["0", "0"], ["1", "0"], ["0", "0"]]


SNARKJS_CASES = {
    "wrong public input": (lambda d: d["public"].__setitem__(0, "36"), 1, "INVALID"),
    "public input >= r": (lambda d: d["public"].__setitem__(0, str(R)), 2, r"public\.json\[0\]: .* is not in \[0, r\)"),
    "public input as a number": (lambda d: d["public"].__setitem__(0, 35), 2, "decimal string"),
    "too many public inputs": (lambda d: d["public"].append("1"), 2, "expects 1"),
    "gamma = delta": (lambda d: d["vk"].__setitem__("vk_delta_2", d["vk"]["vk_gamma_2"]), 2, "vk_delta_2|delta_g2: equals gamma_g2"),
    "delta at infinity": (lambda d: d["vk"].__setitem__("vk_delta_2", _g2_infinity()), 2, "vk_delta_2: the point at infinity"),
    "IC[1] at infinity": (lambda d: d["vk"]["IC"].__setitem__(1, ["0", "1", "0"]), 2, r"IC\[1\]: the point at infinity"),
    "A off the curve": (lambda d: d["proof"]["pi_a"].__setitem__(1, str(int(d["proof"]["pi_a"][1]) ^ 1)), 2, "pi_a: .*not on the G1 curve"),
    "coordinate >= q": (lambda d: d["proof"]["pi_a"].__setitem__(0, str(Q)), 2, r"pi_a\[0\]: coordinate is not less"),
    "z not 1": (lambda d: d["proof"]["pi_c"].__setitem__(2, "2"), 2, "z = 2"),
    "curve bn128": (lambda d: d["vk"].__setitem__("curve", "bn128"), 2, "expected 'bls12381'"),
    "protocol plonk": (lambda d: d["proof"].__setitem__("protocol", "plonk"), 2, "expected 'groth16'"),
    "nPublic disagrees with IC": (lambda d: d["vk"].__setitem__("nPublic", 2), 2, "IC has 2 points"),
    "signed coordinate": (lambda d: d["vk"]["vk_alpha_1"].__setitem__(0, "-1"), 2, "canonical decimal"),
}


@pytest.mark.parametrize("case", sorted(SNARKJS_CASES))
def test_verify_refuses_bad_snarkjs_files_as_it_refuses_ours(snarkjs_files, case):
    folder, docs = snarkjs_files
    change, code, message = SNARKJS_CASES[case]
    change(docs)
    result = _verify_snarkjs(folder, docs)
    assert result.exit_code == code, result.output
    assert re.search(message, result.output + (result.stderr if result.stderr_bytes else "")), result.output


def test_verify_refuses_mixed_formats(snarkjs_files, cubic_keys):
    folder, docs = snarkjs_files
    _verify_snarkjs(folder, docs)
    (folder / "ours.json").write_text(vk_to_json(cubic_keys[0].vk))
    mixed = CliRunner().invoke(main, ["verify", "--vk", str(folder / "vk.json"), "--proof", str(folder / "ours.json"),
                                      "--public", str(folder / "public.json")])
    assert mixed.exit_code == 2 and "must be snarkjs' proof.json" in mixed.stderr
    missing = CliRunner().invoke(main, ["verify", "--vk", str(folder / "vk.json"), "--proof", str(folder / "proof.json")])
    assert missing.exit_code == 2 and "--public" in missing.stderr


# --- ceremony keys: trusted once their transcript is verified against the circuit -------------


class _Report:
    """The fields of phase 2's Phase2Report that the trust policy reads."""

    def __init__(self, transcript_hash, contributions, beacon, vk):
        self.transcript_hash, self.contributions, self.beacon, self.vk = transcript_hash, contributions, beacon, vk


@pytest.fixture
def ceremony_key(cubic_keys, tmp_path, monkeypatch):
    """A cubic key labelled as a 3-contribution ceremony, a stand-in for phase 2's verify_zkey
    (to produce reports the real one cannot: another transcript hash or count for the same
    points), and a fresh user cache. The real verify_zkey is exercised below."""
    monkeypatch.setenv("ZKPROOFS_CACHE_DIR", str(tmp_path / "cache"))
    transcript = "7a" * 64
    vk = dataclasses.replace(cubic_keys[0].vk, provenance=Ceremony(transcript, 3, None))
    calls = []
    yields = {"vk": vk, "transcript": transcript, "n": 3}

    def verify_zkey(zkey_path, circuit, ptau_path, **options):
        calls.append((str(zkey_path), circuit.name, str(ptau_path)))
        if yields.get("error"):
            raise yields["error"]
        return _Report(yields["transcript"], tuple(("c", "h") for _ in range(yields["n"])), None, yields["vk"])

    monkeypatch.setattr(phase2, "verify_zkey", verify_zkey)
    return vk, Transcript(tmp_path / "cubic.zkey", tmp_path / "pot.ptau"), calls, yields


def test_a_ceremony_key_is_verified_once_then_remembered(ceremony_key):
    vk, transcript, calls, _ = ceremony_key
    with pytest.raises(UntrustedKey, match="--zkey, --ptau"):
        require_trusted(Cubic(), vk, KeyTrust())
    first = require_trusted(Cubic(), vk, KeyTrust(), transcript=transcript)
    assert first.basis == "ceremony transcript verified against the circuit now" and len(calls) == 1
    assert calls[0] == (str(transcript.zkey), "cubic", str(transcript.ptau))
    again = require_trusted(Cubic(), vk, KeyTrust())
    assert "remembered" in again.basis and len(calls) == 1
    assert again.to_dict()["provenance"]["contributions"] == 3
    with pytest.raises(UntrustedKey):  # --reverify needs the transcript again
        require_trusted(Cubic(), vk, KeyTrust(reverify=True))
    require_trusted(Cubic(), vk, KeyTrust(reverify=True), transcript=transcript)
    assert len(calls) == 2
    # the single-party opt-in does not stand in for a ceremony's verification, nor the reverse
    other = dataclasses.replace(vk, provenance=Ceremony("7b" * 64, 3, None))
    with pytest.raises(UntrustedKey, match="ceremony"):
        require_trusted(Cubic(), other, KeyTrust(single_party=True))


def test_a_remembered_transcript_vouches_only_for_the_key_it_yielded(ceremony_key, cubic_keys):
    vk, transcript, _, _ = ceremony_key
    require_trusted(Cubic(), vk, KeyTrust(), transcript=transcript)
    be = get_backend()
    swapped = dataclasses.replace(vk, delta_g2=be.g2_to_bytes(be.g2_mul(be.g2_generator(), 5)))  # same transcript hash
    with pytest.raises(UntrustedKey, match="has not been verified"):
        require_trusted(Cubic(), swapped, KeyTrust())


@pytest.mark.parametrize(
    "change,message",
    [
        ({"transcript": "7c" * 64}, "names transcript 7a7a"),
        ({"n": 1}, "claims 3 contributions"),
        ({"vk": "other points"}, "its points are not the key"),
        ({"error": CeremonyError("contribution 2 (bob): proof of knowledge", "mismatch")}, "contribution 2"),
    ],
)
def test_a_ceremony_key_is_refused_unless_its_transcript_yields_exactly_it(ceremony_key, cubic_keys, change, message):
    vk, transcript, _, yields = ceremony_key
    if change.get("vk") == "other points":
        change = {"vk": dataclasses.replace(vk, alpha_g1=setup(Cubic(), party="x").vk.alpha_g1)}
    yields.update(change)
    with pytest.raises((UntrustedKey, CeremonyError), match=message):
        require_trusted(Cubic(), vk, KeyTrust(), transcript=transcript)
    with pytest.raises(UntrustedKey):  # and nothing was remembered
        require_trusted(Cubic(), vk, KeyTrust())


# --- ceremony keys against the real phase-2 verification (snarkjs' transcript, no stand-in) ---

CEREMONY_FIXTURES = Path(__file__).parent / "fixtures" / "ceremony"
CUBIC_ZKEY = CEREMONY_FIXTURES / "cubic_snarkjs_alice_beacon.zkey"  # alice, then a beacon (snarkjs 0.7)
POT4 = CEREMONY_FIXTURES / "snarkjs_pot4.ptau"


@pytest.fixture(scope="module")
def snarkjs_ceremony_pk():
    """The proving key (with its ceremony vk) of snarkjs' cubic transcript, as ``ceremony key export`` makes it."""
    be = get_backend()
    zkey = zk.read_zkey(CUBIC_ZKEY, be)
    return phase2.proving_key(zkey, phase2.verify_zkey(CUBIC_ZKEY, Cubic(), POT4), be)


def test_a_real_ceremony_key_is_trusted_by_default_once_its_transcript_verifies(snarkjs_ceremony_pk, tmp_path, monkeypatch):
    monkeypatch.setenv("ZKPROOFS_CACHE_DIR", str(tmp_path / "cache"))
    pk = snarkjs_ceremony_pk
    assert isinstance(pk.vk.provenance, Ceremony)
    assert (pk.vk.provenance.contributions, pk.vk.provenance.beacon is not None) == (2, True)
    with pytest.raises(UntrustedKey, match="--zkey, --ptau"):  # not before its transcript was seen
        require_trusted(Cubic(), pk.vk, KeyTrust())
    decision = require_trusted(Cubic(), pk.vk, KeyTrust(), transcript=Transcript(CUBIC_ZKEY, POT4))
    assert decision.basis == "ceremony transcript verified against the circuit now"
    assert "remembered" in require_trusted(Cubic(), pk.vk, KeyTrust()).basis
    r1cs, witness = Cubic().synthesize({"x": 3, "y": 35})
    proof = prove(pk, r1cs, witness)
    assert verify(pk.vk, [35], proof) and not verify(pk.vk, [36], proof)


def test_a_verification_made_elsewhere_is_remembered_only_for_a_ceremony_key_of_that_circuit(snarkjs_ceremony_pk, cubic_keys, tmp_path, monkeypatch):
    """remember_verified (what `zkproofs demo` calls after verifying its bundled transcript)
    vouches for exactly the key it is given, and only for a ceremony key of that circuit."""
    monkeypatch.setenv("ZKPROOFS_CACHE_DIR", str(tmp_path / "cache"))
    vk = snarkjs_ceremony_pk.vk
    with pytest.raises(ValueError, match="ceremony"):
        remember_verified(Cubic(), cubic_keys[0].vk)  # a single-party key
    with pytest.raises(MalformedInput):  # labelled for another circuit
        remember_verified(MerkleSumInclusion(depth=2, assets=1), vk)
    with pytest.raises(UntrustedKey):
        require_trusted(Cubic(), vk, KeyTrust())
    remember_verified(Cubic(), vk)
    assert "remembered" in require_trusted(Cubic(), vk, KeyTrust()).basis
    other = dataclasses.replace(vk, created_at="2000-01-01T00:00:00+00:00")  # another key under the same transcript
    with pytest.raises(UntrustedKey, match="has not been verified"):
        require_trusted(Cubic(), other, KeyTrust())


def test_a_tampered_ceremony_transcript_or_key_is_refused_by_the_real_verification(snarkjs_ceremony_pk, tmp_path, monkeypatch):
    monkeypatch.setenv("ZKPROOFS_CACHE_DIR", str(tmp_path / "cache"))
    be = get_backend()
    vk = snarkjs_ceremony_pk.vk
    # the transcript: H no longer divided by the final delta (a contribution that was not made)
    genuine = zk.read_zkey(CUBIC_ZKEY, be)
    initial = phase2.new_zkey(Cubic().shape, read_ptau(POT4, be), be)
    tampered = tmp_path / "tampered.zkey"
    zk.write_zkey(tampered, dataclasses.replace(genuine, sections=genuine.sections | {zk.POINTS_H: initial.sections[zk.POINTS_H]}), be)
    with pytest.raises(CeremonyError, match="H section"):
        require_trusted(Cubic(), vk, KeyTrust(), transcript=Transcript(tampered, POT4))
    # the key: another delta under the genuine transcript's label
    swapped = dataclasses.replace(vk, delta_g2=be.g2_to_bytes(be.g2_mul(be.g2_generator(), 5)))
    with pytest.raises(UntrustedKey, match="its points are not the key"):
        require_trusted(Cubic(), swapped, KeyTrust(), transcript=Transcript(CUBIC_ZKEY, POT4))
    for key in (vk, swapped):  # and neither refusal was remembered as trust
        with pytest.raises(UntrustedKey, match="has not been verified"):
            require_trusted(Cubic(), key, KeyTrust())
