"""The liquidation circuit and its gadgets: a note strictly below maintenance loses its whole debt and at most
debt x (1 + penalty) of collateral; the remainder goes to the same owner; every forged witness fails its constraint."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits.liquidation import Liquidation
from zkproofs.errors import MalformedInput, UnsatisfiedConstraint
from zkproofs.gadgets.liquidation import assert_seizure_within_penalty_unchecked, seizure_for, seizure_within_penalty
from zkproofs.gadgets.margin import assert_below_margin_unchecked, below_margin, margin_holds
from zkproofs.groth16 import setup, verify
from zkproofs.r1cs import ConstraintSystem
from zkproofs.settlement.liquidation import build_liquidation
from zkproofs.settlement.note_tree import NoteTree
from zkproofs.settlement.notes import Note, OwnerKeys, liquidation_salt
from zkproofs.settlement.transition import Kind, TransitionRefused, prove_transition, signed_to_field, transition_context

ONE = 10**8
DEPTH = 4
HAIRCUTS = [500, 0]
MAINTENANCE = 12_500
PENALTY = 500
OWNER = OwnerKeys.from_spending_key(4242)
CONTEXT = transition_context(Kind.LIQUIDATE, "test-venue", "liq-1", 1_900_000_000, epoch=3)
DEBT = 30_000 * ONE
EDGE = -(-MAINTENANCE * DEBT * ONE // (2 * ONE * 9_500))
"""The lowest BTC price at which 2 BTC (5 % haircut) cover 30,000 USDC of debt at 125 %."""


def note_in_tree(collateral=(2 * ONE, 0), debt=(0, DEBT)):
    tree = NoteTree(depth=DEPTH)
    tree.append(12345)  # another note first: the position is not 0
    note = Note(OWNER.pk, collateral, debt, 777)
    tree.append(note.commitment())
    return note, tree.path(1), tree.root()


def witness(btc_price, *, penalty=PENALTY, **note_kwargs):
    note, path, root = note_in_tree(**note_kwargs)
    return build_liquidation(OWNER.ak, OWNER.nk, note, path, root, [btc_price, ONE], HAIRCUTS, MAINTENANCE, penalty, CONTEXT, depth=DEPTH)


def check(inputs):
    r1cs, values = Liquidation(assets=2, depth=DEPTH).synthesize(inputs)
    r1cs.check(values)
    return dict(zip(r1cs.public_names, values[1 : 1 + r1cs.num_public]))


def failing_label(inputs):
    with pytest.raises(UnsatisfiedConstraint) as info:
        check(inputs)
    return info.value.label


def test_one_unit_below_maintenance_is_liquidated_and_the_remainder_is_the_owners():
    w = witness(EDGE - 1)
    public = check(w.inputs)
    assert public["nullifier"] == w.nullifier and public["new_commitment"] == w.new_note.commitment()
    # debt 30,000 + 5 % = 31,500 USD of BTC at 19,736.84...: 1.59600000 BTC; the rest stays the owner's
    assert w.repaid == (0, DEBT) and w.new_note.debt == (0, 0)
    assert seizure_within_penalty(w.seized, w.repaid, [EDGE - 1, ONE], PENALTY)
    assert w.new_note.collateral == (2 * ONE - w.seized[0], 0) and w.new_note.pk == OWNER.pk
    assert w.new_note.salt == liquidation_salt(OWNER.nk, w.nullifier)  # the owner can open it from the public nullifier


def test_a_note_at_maintenance_cannot_be_liquidated():
    with pytest.raises(TransitionRefused) as info:
        witness(EDGE)
    assert info.value.reason == "NOT_LIQUIDATABLE" and "125.00 %" in str(info.value)
    # forced: the honest inputs of a one-unit-lower price, with the price put back at the edge
    w = witness(EDGE - 1)
    assert failing_label({**w.inputs, "price[0]": EDGE}).startswith("below_margin/")
    with pytest.raises(TransitionRefused):  # and a note without debt never is
        witness(EDGE - 1, debt=(0, 0))


@pytest.mark.parametrize("forge", [
    "seize_more", "leave_debt", "take_more_than_held", "add_collateral", "wrong_keys", "other_salt_owner", "higher_penalty_used",
])
def test_forged_liquidations_leave_the_system_unsatisfied(forge):
    w = witness(EDGE // 2)  # deep under water: 2 BTC are worth less than debt + penalty, all of it is taken
    inputs = dict(w.inputs)
    if forge == "seize_more":  # a shallow liquidation: one unit more than debt + penalty allows
        w = witness(EDGE - 1)
        inputs = {**w.inputs, "collateral_delta[0]": signed_to_field(-(w.seized[0] + 1))}
        assert failing_label(inputs).startswith("seizure/")
        return
    if forge == "leave_debt":
        inputs["debt_delta[1]"] = signed_to_field(-(DEBT - 1))
        assert failing_label(inputs).startswith("debt repaid/")
    elif forge == "take_more_than_held":
        inputs["collateral_delta[0]"] = signed_to_field(-(2 * ONE + 1))
        assert failing_label(inputs).startswith("seized/left[0]")
    elif forge == "add_collateral":  # a "seizure" that credits the note
        inputs["collateral_delta[1]"] = signed_to_field(5)
        assert failing_label(inputs).startswith("seized/seized[1]")
    elif forge == "wrong_keys":  # nk of someone else: the derived pk opens no note in the tree
        inputs["nk"] = OwnerKeys.from_spending_key(99).nk
        assert failing_label(inputs).startswith("anchor")
    elif forge == "other_salt_owner":  # the remainder is a derived output: a proof cannot name another note
        r1cs, values = Liquidation(assets=2, depth=DEPTH).synthesize(inputs)
        at = 1 + r1cs.public_names.index("new_commitment")
        with pytest.raises(UnsatisfiedConstraint):
            r1cs.check(values[:at] + [values[at] + 1] + values[at + 1:])
    elif forge == "higher_penalty_used":  # the seizure computed with 20 % but the public penalty says 5 %
        w = witness(EDGE - 1, penalty=2_000)
        inputs = {**w.inputs, "penalty_bps": PENALTY}
        assert failing_label(inputs).startswith("seizure/")


def test_the_proof_verifies_and_binds_the_penalty_prices_and_context():
    w = witness(EDGE - 1)
    pk = setup(w.circuit, backend="arkworks", party="test liquidator")
    proof, public = prove_transition(pk, w)
    names = list(pk.vk.public_names)
    values = [public[n] for n in names]
    assert verify(pk.vk, values, proof, backend="arkworks")
    for name, value in (("penalty_bps", 0), ("price[0]", EDGE), ("context", CONTEXT + 1), ("collateral_delta[0]", 0)):
        tampered = list(values)
        tampered[names.index(name)] = value
        assert not verify(pk.vk, tampered, proof, backend="arkworks"), name
    assert Liquidation.public_domain_problem({**public, "penalty_bps": 10_001}) is not None
    assert Liquidation.public_domain_problem(public) is None


def test_the_builder_refuses_keys_that_do_not_own_the_note():
    note, path, root = note_in_tree()
    other = OwnerKeys.from_spending_key(7)
    with pytest.raises(MalformedInput, match="do not own"):
        build_liquidation(other.ak, other.nk, note, path, root, [EDGE - 1, ONE], HAIRCUTS, MAINTENANCE, PENALTY, CONTEXT, depth=DEPTH)
    with pytest.raises(MalformedInput, match="penalty"):
        build_liquidation(OWNER.ak, OWNER.nk, note, path, root, [EDGE - 1, ONE], HAIRCUTS, MAINTENANCE, 10_001, CONTEXT, depth=DEPTH)


amounts = st.integers(0, (1 << 64) - 1)
prices = st.integers(1, 1 << 64)


@settings(max_examples=60, deadline=None)
@given(collateral=st.lists(amounts, min_size=2, max_size=2), debt=st.lists(amounts, min_size=2, max_size=2),
       price=st.lists(prices, min_size=2, max_size=2), haircuts=st.lists(st.integers(0, 10_000), min_size=2, max_size=2),
       ratio=st.integers(1, 1 << 24), penalty=st.integers(0, 10_000))
def test_the_gadgets_agree_with_their_native_twins(collateral, debt, price, haircuts, ratio, penalty):
    seized = seizure_for(collateral, debt, price, penalty)
    assert seizure_within_penalty(seized, debt, price, penalty) and all(0 <= s <= c for s, c in zip(seized, collateral))
    assert below_margin(collateral, debt, price, haircuts, ratio) == (not margin_holds(collateral, debt, price, haircuts, ratio))
    for gadget, native, args in (
        (assert_below_margin_unchecked, below_margin, (collateral, debt, price, haircuts, ratio)),
        (assert_seizure_within_penalty_unchecked, seizure_within_penalty, (collateral, debt, price, penalty)),
    ):
        names = {f"x{k}_{i}": v for k, arg in enumerate(args) for i, v in enumerate(arg if isinstance(arg, list) else [arg])}
        cs = ConstraintSystem(names)
        wires = [[cs.private_input(f"x{k}_{i}") for i in range(len(arg))] if isinstance(arg, list) else cs.private_input(f"x{k}_0")
                 for k, arg in enumerate(args)]
        gadget(cs, *wires)
        r1cs, values = cs.finish()
        assert r1cs.is_satisfied(values) == native(*args), gadget.__name__


def test_liquidation_salt_is_the_circuits():
    w = witness(EDGE - 1)
    assert check(w.inputs)["new_commitment"] == Note(OWNER.pk, w.new_note.collateral, (0, 0), liquidation_salt(OWNER.nk, w.nullifier)).commitment()
