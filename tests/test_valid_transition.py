"""VALID TRANSITION: honest transitions satisfy it; every forgery named in issue 11 leaves it unsatisfied
(naming the failing constraint) and its proof does not verify."""

from __future__ import annotations

import pytest

from circuits.valid_transition import ValidTransition
from zkproofs.errors import CircuitError, UnsatisfiedConstraint
from zkproofs.gadgets.margin import margin_parameters_ok
from zkproofs.field import R
from zkproofs.groth16 import setup, verify
from zkproofs.settlement.note_tree import NoteTree
from zkproofs.settlement.notes import Note, OwnerKeys, note_commitment, nullifier
from zkproofs.settlement.transition import (
    Kind,
    TransitionRefused,
    build_transition,
    field_to_signed,
    prove_transition,
    signed_to_field,
    transition_context,
)

DEPTH, ASSETS = 4, 2
PRICES = [27_000_00000000, 1_00000000]  # BTC, USDC (8 decimals)
HAIRCUTS = [500, 0]
RATIO = 15_000
ONE = 10**8
ALICE = OwnerKeys.from_spending_key(1111)
MALLORY = OwnerKeys.from_spending_key(2222)
CTX = transition_context(Kind.TRADE, "BTC-USDC", "trade-1", 1_900_000_000, 77, epoch=1)


def with_note(note: Note, others: int = 3):
    """A tree holding a few other notes and ``note``; returns (tree, position)."""
    tree = NoteTree(depth=DEPTH)
    tree.append_many(range(100, 100 + others))
    tree.append(note.commitment())
    return tree, others


def spend_of(note: Note, keys=ALICE, cdelta=(-ONE, 27_000 * ONE), ddelta=(0, 0), prices=PRICES, ratio=RATIO):
    tree, pos = with_note(note)
    return build_transition(keys, (note, tree.path(pos), tree.root()), list(cdelta), list(ddelta), prices, HAIRCUTS, ratio, CTX, depth=DEPTH), tree


ALICE_NOTE = Note(pk=ALICE.pk, collateral=(2 * ONE, 0), debt=(0, 0), salt=5)


def witness(inputs: dict, circuit=None):
    circuit = circuit or ValidTransition(assets=ASSETS, depth=DEPTH)
    return circuit.synthesize(inputs)


def public_index(r1cs, name):
    return 1 + list(r1cs.public_names).index(name)


def assert_fails(inputs: dict, label_part: str):
    r1cs, w = witness(inputs)
    with pytest.raises(UnsatisfiedConstraint) as info:
        r1cs.check(w)
    assert label_part in info.value.label, info.value.label


def test_honest_trade_leg_satisfies_and_exposes_nullifier_and_new_commitment():
    t, tree = spend_of(ALICE_NOTE)
    r1cs, w = witness(t.inputs)
    r1cs.check(w)
    assert w[public_index(r1cs, "nullifier")] == nullifier(ALICE.nk, 3, ALICE_NOTE.commitment()) == t.nullifier
    assert w[public_index(r1cs, "new_commitment")] == t.new_note.commitment()
    assert t.new_note.collateral == (ONE, 27_000 * ONE)


def test_first_deposit_creates_without_spending_and_reveals_no_nullifier():
    t = build_transition(ALICE, None, [3 * ONE, 0], [0, 0], PRICES, HAIRCUTS, RATIO, CTX, depth=DEPTH)
    r1cs, w = witness(t.inputs)
    r1cs.check(w)
    assert w[public_index(r1cs, "nullifier")] == 0 and t.new_note.collateral == (3 * ONE, 0)


def test_creation_cannot_start_from_a_nonzero_note():
    t = build_transition(ALICE, None, [ONE, 0], [0, 0], PRICES, HAIRCUTS, RATIO, CTX, depth=DEPTH)
    assert_fails({**t.inputs, "old_collateral[0]": 5 * ONE}, "creation/old amount 0 is 0 without a spend")


def test_forged_membership_path_fails_at_the_anchor():
    t, _ = spend_of(ALICE_NOTE)
    assert_fails({**t.inputs, "siblings[1]": t.inputs["siblings[1]"] + 1}, "anchor")
    # a note that is not in the tree at all (amounts inflated), with the honest path
    assert_fails({**t.inputs, "old_collateral[0]": 1000 * ONE}, "anchor")
    # the right note, but claimed at another position (path bit flipped)
    for k in range(DEPTH):  # either bit of either level's position digit
        assert_fails({**t.inputs, f"path_bits[{k}]": 1 - t.inputs[f"path_bits[{k}]"]}, "anchor")
    # the level's siblings in another order (s1 and s2 swapped)
    assert_fails({**t.inputs, "siblings[1]": t.inputs["siblings[2]"], "siblings[2]": t.inputs["siblings[1]"]}, "anchor")
    # a non-boolean selector is refused by its boolean row before any hash
    assert_fails({**t.inputs, "path_bits[1]": 2}, "membership/level[0]/path bit 1 boolean")


def test_spend_without_the_spending_key_fails():
    t, _ = spend_of(ALICE_NOTE)
    # Mallory knows the opening but not Alice's sk: her key opens another commitment
    assert_fails({**t.inputs, "sk": MALLORY.sk}, "anchor")
    with pytest.raises(Exception, match="not owned"):
        spend_of(ALICE_NOTE, keys=MALLORY)


def test_spend_flag_must_be_boolean():
    t, _ = spend_of(ALICE_NOTE)
    assert_fails({**t.inputs, "spend": 2}, "spend boolean")


def forge_public(t, name, value):
    r1cs, w = witness(t.inputs)
    w = list(w)
    w[public_index(r1cs, name)] = value % R
    with pytest.raises(UnsatisfiedConstraint) as info:
        r1cs.check(w)
    return info.value.label


def test_nullifier_of_another_note_key_or_position_fails():
    t, tree = spend_of(ALICE_NOTE)
    cm = ALICE_NOTE.commitment()
    for other in (nullifier(MALLORY.nk, 3, cm), nullifier(ALICE.nk, 2, cm), nullifier(ALICE.nk, 3, tree.leaf(0)), 0):
        assert forge_public(t, "nullifier", other) == "output nullifier"


def test_new_note_that_is_not_old_plus_delta_fails():
    t, _ = spend_of(ALICE_NOTE)
    more = t.new_note.collateral[1] + 1
    richer = note_commitment(ALICE.pk, [t.new_note.collateral[0], more], list(t.new_note.debt), t.new_note.salt)
    assert forge_public(t, "new_commitment", richer) == "output new_commitment"
    other_owner = note_commitment(MALLORY.pk, list(t.new_note.collateral), list(t.new_note.debt), t.new_note.salt)
    assert forge_public(t, "new_commitment", other_owner) == "output new_commitment"
    # the delta changed after the fact: the new amount's bits no longer recompose to it
    assert "new amounts/collateral[1]" in forge_public(t, "collateral_delta[1]", 27_001 * ONE)


def test_amount_wrapping_the_field_fails_range_check_and_is_refused_natively():
    t, _ = spend_of(ALICE_NOTE)
    # take 3 BTC from a note holding 2: new = r - 1 BTC unit count, not an amount
    assert_fails({**t.inputs, "collateral_delta[0]": (-3 * ONE) % R}, "new amounts/collateral[0]")
    assert_fails({**t.inputs, "collateral_delta[0]": (1 << 64) - 2 * ONE}, "new amounts/collateral[0]")  # reaches 2^64
    with pytest.raises(TransitionRefused) as info:
        spend_of(ALICE_NOTE, cdelta=(-3 * ONE, 0))
    assert info.value.reason == "INSUFFICIENT_BALANCE" and "holds 200000000 units" in str(info.value)


def test_signed_deltas_round_trip_and_refuse_out_of_range():
    for v in (0, 1, -1, (1 << 64) - 1, -(1 << 64) + 1):
        assert field_to_signed(signed_to_field(v)) == v
    with pytest.raises(Exception):
        signed_to_field(1 << 64)
    with pytest.raises(Exception):
        field_to_signed(R // 3)


# --- margin at the boundary ------------------------------------------------------------

# 1 BTC at 27000 with a 5 % haircut is worth 25,650 USDC; at 150 % it carries 17,100 USDC of debt.
BOUNDARY_DEBT = 17_100 * ONE


def margin_inputs(debt):
    note = Note(pk=ALICE.pk, collateral=(ONE, 0), debt=(0, 0), salt=8)
    tree, pos = with_note(note)
    honest = build_transition(ALICE, (note, tree.path(pos), tree.root()), [0, 0], [0, 0], PRICES, HAIRCUTS, RATIO, CTX, depth=DEPTH)
    return {**honest.inputs, "debt_delta[1]": debt % R}


def test_margin_exactly_at_the_ratio_passes_one_unit_below_fails():
    r1cs, w = witness(margin_inputs(BOUNDARY_DEBT))
    r1cs.check(w)
    assert_fails(margin_inputs(BOUNDARY_DEBT + 1), "margin/greater_or_equal")


def test_native_refusal_says_the_ratio_reached_and_required():
    note = Note(pk=ALICE.pk, collateral=(ONE, 0), debt=(0, 0), salt=8)
    with pytest.raises(TransitionRefused) as info:
        spend_of(note, cdelta=(0, 0), ddelta=(0, 20_000 * ONE))
    assert info.value.reason == "BELOW_MARGIN"
    assert "128.25 %" in str(info.value) and "requires 150.00 %" in str(info.value)


def test_parameter_domains_are_the_verifiers_check_and_the_circuit_is_under_8192_rows():
    # prices, haircuts and the ratio are public: margin_parameters_ok (the venue and the audit call it) holds them
    assert margin_parameters_ok([1, 2**64], [0, 10_000], 2**24) and margin_parameters_ok(PRICES, HAIRCUTS, RATIO)
    for prices, haircuts, ratio in (([0, ONE], HAIRCUTS, RATIO), ([2**64 + 1, ONE], HAIRCUTS, RATIO), ([True, ONE], HAIRCUTS, RATIO),
                                    (PRICES, [10_001, 0], RATIO), (PRICES, [-1, 0], RATIO), (PRICES, HAIRCUTS, 0),
                                    (PRICES, HAIRCUTS, 2**24 + 1)):
        assert not margin_parameters_ok(prices, haircuts, ratio)
    shape = ValidTransition(assets=4, depth=32).shape
    assert shape.num_constraints + shape.num_public + 1 <= 8192  # QAP domain 2^13


@pytest.mark.parametrize("depth", [3, 31, 42])
def test_tree_depth_must_be_an_even_number_of_bits(depth):
    with pytest.raises(CircuitError, match="even number of bits"):
        ValidTransition(assets=2, depth=depth)


def test_four_asset_depth_32_trade_leg_satisfies():
    keys = OwnerKeys.from_spending_key(31337)
    note = Note(pk=keys.pk, collateral=(ONE, 5 * ONE, 0, 10_000 * ONE), debt=(0, 0, 0, 0), salt=3)
    tree = NoteTree()
    tree.append_many([7, 8, note.commitment()])
    t = build_transition(keys, (note, tree.path(2), tree.root()), [-ONE, 0, 0, 27_000 * ONE], [0] * 4,
                         [27_000 * ONE, 1_800 * ONE, ONE, ONE], [500, 1000, 0, 0], RATIO, CTX, depth=32)
    r1cs, w = t.circuit.synthesize(t.inputs)
    r1cs.check(w)


# --- Groth16: the proof of an honest leg verifies; changed public inputs do not -----------


@pytest.fixture(scope="module")
def key():
    return setup(ValidTransition(assets=ASSETS, depth=DEPTH), backend="arkworks", party="test venue")


def test_proof_verifies_only_for_its_own_public_inputs(key):
    t, _ = spend_of(ALICE_NOTE)
    proof, public = prove_transition(key, t)
    names = list(key.vk.public_names)
    values = [public[n] for n in names]
    assert verify(key.vk, values, proof, backend="arkworks")
    other_ctx = transition_context(Kind.TRADE, "BTC-USDC", "trade-2", 1_900_000_000, 77, epoch=1)
    for name, value in (("context", other_ctx), ("nullifier", nullifier(MALLORY.nk, 3, ALICE_NOTE.commitment())),
                        ("collateral_delta[1]", 28_000 * ONE), ("anchor", public["anchor"] + 1), ("price[0]", PRICES[0] + 1)):
        forged = list(values)
        forged[names.index(name)] = value
        assert not verify(key.vk, forged, proof, backend="arkworks"), name


def test_prover_refuses_a_forged_witness(key):
    t, _ = spend_of(ALICE_NOTE)
    forged = type(t)(t.circuit, {**t.inputs, "sk": MALLORY.sk}, t.new_note, t.nullifier)
    with pytest.raises(UnsatisfiedConstraint, match="anchor"):
        prove_transition(key, forged)


def test_zkproofs_verify_refuses_public_inputs_outside_the_circuits_domain(key, tmp_path):
    """The circuit leaves the price range to its verifier: a proof at price 0 is a valid Groth16
    proof of a statement outside the domain, and the generic `zkproofs verify` must say INVALID."""
    import dataclasses
    import json

    from click.testing import CliRunner

    from cli.main import main
    from zkproofs.groth16.serialize import proof_to_json, vk_to_json

    honest, _ = spend_of(ALICE_NOTE)
    zero_price = dataclasses.replace(honest, inputs={**honest.inputs, "price[0]": 0})
    (tmp_path / "vk.json").write_text(vk_to_json(key.vk))
    results = {}
    for label, transition in (("honest", honest), ("zero_price", zero_price)):
        proof, public = prove_transition(key, transition)
        ordered = [public[name] for name in key.vk.public_names]
        assert verify(key.vk, ordered, proof, backend="arkworks")  # the pairing check alone accepts both
        (tmp_path / f"{label}.json").write_text(proof_to_json(proof, key.vk, ordered))
        results[label] = CliRunner().invoke(main, ["verify", "--vk", str(tmp_path / "vk.json"), "--proof",
                                                   str(tmp_path / f"{label}.json"), "--json"])
    assert results["honest"].exit_code == 0 and json.loads(results["honest"].output)["valid"] is True
    refused = json.loads(results["zero_price"].output)
    assert results["zero_price"].exit_code == 1 and refused["valid"] is False and "prices" in refused["reason"]
    assert ValidTransition.public_domain_problem({"price[0]": 1, "haircut_bps[0]": 0}) == "public input 'min_ratio_bps' is missing"
