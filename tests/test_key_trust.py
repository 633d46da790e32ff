"""Keys that can be trusted (issue 17): provenance, degenerate keys, and the forgeries they stop.

The forgeries are made with :mod:`tests.trapdoor` (test-only: setup that keeps
its trapdoor). Each one first succeeds against the raw Groth16 verifier, which
is what the issue reported, then is refused by the check that now stands in
its way.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from circuits.cubic import Cubic
from tests.trapdoor import forge, key_with_trapdoor
from zkproofs.backends import get_backend
from zkproofs.errors import DegenerateKey, MalformedInput
from zkproofs.groth16 import prove, setup, verify
from zkproofs.groth16.keys import Ceremony, SingleParty
from zkproofs.groth16.serialize import pk_from_bytes, pk_to_bytes, vk_from_dict, vk_from_json, vk_hash, vk_to_dict, vk_to_json


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
        "delta = generator": (dataclasses.replace(vk, delta_g2=be.g2_to_bytes(g2)), "delta_g2: is \\+/- the generator"),
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
