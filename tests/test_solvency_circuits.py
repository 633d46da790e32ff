"""The global solvency proof's policy, gadgets and circuits: native twins, honest and forged witnesses.

Each of the four statements (zkproofs.solvency) gets a forged witness that must leave
the system unsatisfied, at the constraint that guards it: (1) an amount out of range,
(2) an undercollateralised account or a lying slot hint, (3) a commitment that does not
open to the leaves' subtree, (4) totals or a root that are not the leaves' own, or sums
that spill between packing slots.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits.solvency_aggregate import SolvencyAggregate, SolvencyRoot
from circuits.solvency_batch import SolvencyBatch
from tests.helpers import forged
from zkproofs.accounts.model import Asset
from zkproofs.errors import CircuitError, SolvencyError
from zkproofs.field import R
from zkproofs.gadgets import solvency as solvency_gadget
from zkproofs.solvency.plan import make_plan
from zkproofs.solvency.policy import (
    EMPTY_LOW,
    MAX_AMOUNT,
    account_values,
    policy_from_dict,
    policy_inputs,
    tiered_value_reference,
)
from zkproofs.solvency.witness import Leaf, aggregate_inputs, batch_inputs, combine, commit, subtree_root
from zkproofs.tree.hashing import slot_bits

ASSETS = (Asset("BTC", 8), Asset("USD", 2))
POLICY = policy_from_dict({
    "format": "zkproofs/solvency-policy", "version": 1,
    "assets": {"BTC": {"price": "50000.5", "decimals": 8, "tiers": [["100000", 10000], ["200000", 5000]]},
               "USD": {"price": "1", "decimals": 2, "tiers": [["1000000", 10000]]}},
})
TIERS = 4  # BTC: 2 tiers + tail + 1 empty slot; USD: 1 tier + tail + 2 empty
SLOTS = policy_inputs(POLICY, ASSETS, TIERS)
DEPTH = 3
BTC = 10**8


def failing(r1cs, witness):
    index = r1cs.first_unsatisfied(witness)
    return None if index is None else r1cs.labels[index]


def leaf(index, equities, debts, commitment=None):
    return Leaf(index, f"u{index}", commitment if commitment is not None else 1000 + index, tuple(equities), tuple(debts))


def batch(leaves, blinding=77, tiers=TIERS):
    circuit = SolvencyBatch(depth=DEPTH, assets=2, tiers=tiers, height=(len(leaves) - 1).bit_length())
    return circuit.synthesize(batch_inputs(leaves, policy_inputs(POLICY, ASSETS, tiers), blinding, 2))


def max_debt_usd(equities):
    """The largest USD debt (cents) an account with ``equities`` and no other debt may carry."""
    collateral, _ = account_values(SLOTS, equities, (0, 0))
    return collateral // SLOTS[1].debt_unit


# the policy -----------------------------------------------------------------------------
def test_slots_follow_the_tiers():
    btc = SLOTS[0]
    unit = 5_000_050_000_000  # 50000.5 USD at 8 decimals, times 10^(8 - 8)
    assert btc.slopes == (10000 * unit, 5000 * unit, 0, 0)
    assert btc.lows[0] == 0 and btc.lows[3] == EMPTY_LOW and btc.highs[2] == MAX_AMOUNT
    # the first tier ends at 100,000 USD = 1.99998 BTC: floor in the first slot, ceil in the next
    assert btc.highs[0] == 100_000 * 10**16 // unit and btc.lows[1] == -(-100_000 * 10**16 // unit)
    assert SLOTS[1].debt_unit == 10**8 * 10**6 * 10**4  # USD: price 1 at 8 decimals, 6 decimals below BTC's


@settings(max_examples=200, deadline=None)
@given(
    price=st.integers(1, 10**14),
    decimals=st.integers(0, 12),
    extra=st.integers(0, 6),
    bounds=st.lists(st.integers(1, 10**18), min_size=0, max_size=5, unique=True),
    ratios=st.lists(st.integers(0, 10000), min_size=5, max_size=5),
    amount=st.integers(0, MAX_AMOUNT),
)
def test_slot_value_is_the_tiered_sum(price, decimals, extra, bounds, ratios, amount):
    """The slot evaluation equals f(V) = sum of clamped slices, at random amounts and at every slot edge."""
    bounds = sorted(bounds)
    ratios = sorted(ratios[: len(bounds)], reverse=True)
    tiers = [[f"{b // 10**8}.{b % 10**8:08d}", r] for b, r in zip(bounds, ratios)]
    p = f"{price // 10**8}.{price % 10**8:08d}"
    assets = (Asset("A", decimals), Asset("B", decimals + extra))
    policy = policy_from_dict({"format": "zkproofs/solvency-policy", "version": 1,
                               "assets": {"A": {"price": p, "decimals": decimals, "tiers": tiers},
                                          "B": {"price": "1", "decimals": decimals + extra, "tiers": []}}})
    slots = policy_inputs(policy, assets, len(bounds) + 1)[0]
    d_max = decimals + extra
    tiers_int = [(b, r) for b, r in zip(bounds, ratios)]
    edges = {amount, 0, MAX_AMOUNT} | {x for x in (*slots.lows, *slots.highs) if 0 <= x <= MAX_AMOUNT} | \
            {x + 1 for x in slots.highs if x < MAX_AMOUNT} | {x - 1 for x in slots.lows if 0 < x <= MAX_AMOUNT}
    for a in edges:
        assert slots.value(a) == tiered_value_reference(price, decimals, d_max, tiers_int, a)


@pytest.mark.parametrize("assets,message", [
    ({"BTC": {"price": "0", "decimals": 8, "tiers": []}}, "above zero"),
    ({"BTC": {"price": "1.000000001", "decimals": 8, "tiers": []}}, "more than 8 decimals"),
    ({"BTC": {"price": 1, "decimals": 8, "tiers": []}}, "decimal string"),
    ({"BTC": {"price": "1", "decimals": 8, "tiers": [["10", 5000], ["20", 6000]]}}, "may not increase"),
    ({"BTC": {"price": "1", "decimals": 8, "tiers": [["20", 5000], ["10", 4000]]}}, "does not increase"),
    ({"BTC": {"price": "1", "decimals": 8, "tiers": [["10", 10001]]}}, "basis points"),
    ({"BTC": {"price": "1", "decimals": 8, "tiers": [["10", True]]}}, "basis points"),
    ({"BTC": {"price": "1", "decimals": True, "tiers": []}}, "decimals"),
    ({"BTC": {"price": "1", "decimals": 37, "tiers": []}}, "decimals"),
    ({"BTC": {"price": "1", "tiers": []}}, "exactly"),
    ({}, "non-empty"),
])
def test_malformed_policy_is_refused(assets, message):
    with pytest.raises(SolvencyError, match=message):
        policy_from_dict({"format": "zkproofs/solvency-policy", "version": 1, "assets": assets})


def test_policy_must_fit_the_tree():
    with pytest.raises(SolvencyError, match="no price for asset"):
        policy_inputs(POLICY, (*ASSETS, Asset("ETH", 18)), TIERS)
    with pytest.raises(SolvencyError, match="BTC has 18 decimals, the policy 8"):
        policy_inputs(POLICY, (Asset("BTC", 18), ASSETS[1]), TIERS)
    with pytest.raises(SolvencyError, match="does not hold"):
        policy_inputs(POLICY, ASSETS[:1], TIERS)
    with pytest.raises(SolvencyError, match="tiers >= 3"):
        policy_inputs(POLICY, ASSETS, 2)


def test_binance_tiers_become_a_policy(tmp_path):
    from zkproofs.solvency.policy import policy_from_binance

    policy = policy_from_binance("tests/fixtures/accounts/binance/cex_assets_info.csv")
    assert all(ratio % 100 == 0 for p in policy.assets.values() for _, ratio in p.tiers)
    with pytest.raises(SolvencyError, match="unknown Binance tier table"):
        policy_from_binance("tests/fixtures/accounts/binance/cex_assets_info.csv", "vip")


# the batch circuit: honest ---------------------------------------------------------------
def test_honest_batch_outputs_the_subtree_commitment():
    leaves = [leaf(0, (3 * BTC, 500_00), (0, 1000_00)), leaf(1, (0, 0), (0, 0))]
    r1cs, witness = batch(leaves)
    assert failing(r1cs, witness) is None
    _, top = subtree_root(leaves, DEPTH)
    assert witness[r1cs.num_public] == commit(top, 77, DEPTH)  # the last public input (the output)


@pytest.mark.parametrize("equity", [0, 1, 2 * BTC, 4 * BTC, MAX_AMOUNT])
def test_debt_exactly_covered_passes_and_one_unit_more_fails(equity):
    equities = (equity, 0)
    d = min(max_debt_usd(equities), MAX_AMOUNT)
    r1cs, witness = batch([leaf(0, equities, (0, d)), leaf(1, (0, 0), (0, 0))])
    assert failing(r1cs, witness) is None
    if d < MAX_AMOUNT:
        r1cs, witness = batch([leaf(0, equities, (0, d + 1)), leaf(1, (0, 0), (0, 0))])
        assert failing(r1cs, witness).startswith("leaf[0]/solvent/greater_or_equal/")


# statement 1: ranges -----------------------------------------------------------------------
@pytest.mark.parametrize("equities,debts,prefix", [
    ((1 << 64, 0), (0, 0), "leaf[0]/solvent/set[0]/tiered_value/"),
    ((R - 1, 0), (0, 0), "leaf[0]/solvent/set[0]/tiered_value/"),
    ((BTC, 0), (0, 1 << 64), "leaf[0]/debt[1]/to_bits[64]/"),
    ((BTC, 0), (R - 1, 0), "leaf[0]/debt[0]/to_bits[64]/"),
])
def test_amount_out_of_range_fails(equities, debts, prefix):
    r1cs, witness = batch([leaf(0, equities, debts), leaf(1, (0, 0), (0, 0))])
    assert failing(r1cs, witness).startswith(prefix)


def test_padding_leaves_are_checked_too():
    r1cs, witness = batch([leaf(0, (BTC, 0), (0, 0)), Leaf(1, None, 5, (0, 1 << 64), (0, 0))])
    assert failing(r1cs, witness).startswith("leaf[1]/solvent/set[1]/tiered_value/")


# statement 2: a lying slot hint ---------------------------------------------------------
@pytest.mark.parametrize("wrong_slot", [0, 2, 3])
def test_a_slot_that_does_not_hold_the_amount_fails(monkeypatch, wrong_slot):
    """A prover who picks a slot with a more generous line (the first tier's 100 % for a
    position deep in the second tier, or the tail's flat value) is caught by the interval checks."""
    equities = (3 * BTC, 0)  # 150,001.5 USD: second tier (slot 1)
    assert SLOTS[0].slot_of(3 * BTC) == 1
    real = solvency_gadget.slot_hint
    monkeypatch.setattr(solvency_gadget, "slot_hint",
                        lambda amount, lows, highs: wrong_slot if amount == 3 * BTC else real(amount, lows, highs))
    r1cs, witness = batch([leaf(0, equities, (0, 0)), leaf(1, (0, 0), (0, 0))])
    label = failing(r1cs, witness)
    assert label.startswith("leaf[0]/solvent/set[0]/tiered_value/amount ") and "to_bits[64]" in label


def test_selector_that_is_not_one_hot_fails():
    r1cs, witness = batch([leaf(0, (3 * BTC, 0), (0, 0)), leaf(1, (0, 0), (0, 0))])
    index = next(i for i, label in r1cs.hint_labels.items() if label.endswith("leaf[0]/solvent/set[0]/tiered_value/slot 0"))
    assert failing(r1cs, forged(witness, index, 1)) is not None


# statement 3 and the output --------------------------------------------------------------
def test_output_commitment_cannot_be_replaced():
    r1cs, witness = batch([leaf(0, (BTC, 0), (0, 0)), leaf(1, (0, 0), (0, 0))])
    assert failing(r1cs, forged(witness, r1cs.num_public, witness[r1cs.num_public] + 1)) == "output commitment"


def test_default_batches_stay_under_2_16_constraints_with_pledges():
    from zkproofs.solvency.plan import default_batch_height

    assert [default_batch_height(k) for k in (0, 1, 2, 3, 8, 9, 16)] == [5, 4, 4, 3, 3, 2, 2]
    assert make_plan(12, 4, 5, pledges=3).batch_height == 3 and make_plan(12, 4, 5).batch_height == 5


def test_batch_parameters_are_checked():
    with pytest.raises(CircuitError):
        SolvencyBatch(depth=3, assets=2, tiers=2, height=3)


# pledged collateral (statement 2 over the pledge, statement 3: the pledge is in the leaf) --
PLEDGES = ("loan", "margin")
PLEDGE_POLICY = policy_from_dict({
    "format": "zkproofs/solvency-policy", "version": 1,
    "assets": {"BTC": {"price": "50000.5", "decimals": 8, "tiers": [["100000", 10000]],
                       "pledge_tiers": {"loan": [["100000", 9000], ["200000", 5000]], "margin": [["50000", 8000]]}},
               "USD": {"price": "1", "decimals": 2, "tiers": [["1000000", 10000]],
                       "pledge_tiers": {"loan": [["1000000", 10000]], "margin": []}}},
})
PLEDGE_SLOTS = policy_inputs(PLEDGE_POLICY, ASSETS, TIERS, PLEDGES)


def pledged_leaf(index, equities, debts, pledged):
    return Leaf(index, f"u{index}", 1000 + index, tuple(equities), tuple(debts), tuple(pledged))


def pledged_batch(leaves, blinding=77):
    circuit = SolvencyBatch(depth=DEPTH, assets=2, tiers=TIERS, height=1, pledges=len(PLEDGES))
    return circuit.synthesize(batch_inputs(leaves, PLEDGE_SLOTS, blinding, 2, PLEDGES))


EMPTY_PLEDGED = pledged_leaf(1, (0, 0), (0, 0), (0, 0, 0, 0))


def test_pledge_slots_are_per_class_and_asset():
    assert len(PLEDGE_SLOTS) == 4  # loan BTC, loan USD, margin BTC, margin USD
    unit = 5_000_050_000_000
    assert PLEDGE_SLOTS[0].slopes[:2] == (9000 * unit, 5000 * unit) and PLEDGE_SLOTS[2].slopes[0] == 8000 * unit
    assert PLEDGE_SLOTS[3].slopes == (0, 0, 0, 0)  # USD pledged for margin counts for nothing
    with pytest.raises(SolvencyError, match="no tiers for pledge class 'portfolio' of asset BTC"):
        policy_inputs(PLEDGE_POLICY, ASSETS, TIERS, ("loan", "portfolio"))


def test_pledged_collateral_not_equity_covers_the_debt():
    """1 BTC pledged for loans (90 %) covers 45,000.45 USD; the 9 unpledged BTC count for nothing."""
    cover = account_values(PLEDGE_SLOTS, (BTC, 0, 0, 0), (0, 0))[0] // PLEDGE_SLOTS[1].debt_unit
    assert cover == 45_000_45
    honest = [pledged_leaf(0, (10 * BTC, 0), (0, cover), (BTC, 0, 0, 0)), EMPTY_PLEDGED]
    r1cs, witness = pledged_batch(honest)
    assert failing(r1cs, witness) is None
    _, top = subtree_root(honest, DEPTH, PLEDGES)
    assert witness[r1cs.num_public] == commit(top, 77, DEPTH)
    # one cent more: the 10 BTC of equity would cover it, the pledge does not
    r1cs, witness = pledged_batch([pledged_leaf(0, (10 * BTC, 0), (0, cover + 1), (BTC, 0, 0, 0)), EMPTY_PLEDGED])
    assert failing(r1cs, witness).startswith("leaf[0]/solvent/greater_or_equal/")


def test_each_class_is_valued_by_its_own_tiers():
    """The same BTC pledged for margin counts at 80 % up to 50,000 USD and nothing above."""
    margin = account_values(PLEDGE_SLOTS, (0, 0, 2 * BTC, 0), (0, 0))[0] // PLEDGE_SLOTS[1].debt_unit
    assert margin == 40_000_00
    r1cs, witness = pledged_batch([pledged_leaf(0, (2 * BTC, 0), (0, margin), (0, 0, 2 * BTC, 0)), EMPTY_PLEDGED])
    assert failing(r1cs, witness) is None
    r1cs, witness = pledged_batch([pledged_leaf(0, (2 * BTC, 0), (0, margin + 1), (0, 0, 2 * BTC, 0)), EMPTY_PLEDGED])
    assert failing(r1cs, witness).startswith("leaf[0]/solvent/greater_or_equal/")


@pytest.mark.parametrize("pledged,prefix", [
    ((BTC, 0, BTC, 0), "leaf[0]/pledged[0] <= equity/"),  # 2 BTC pledged from 1.5 BTC of equity, across two classes
    ((2 * BTC, 0, 0, 0), "leaf[0]/pledged[0] <= equity/"),
    ((0, 1, 0, 0), "leaf[0]/pledged[1] <= equity/"),  # a USD pledge without USD equity
    ((1 << 64, 0, 0, 0), "leaf[0]/pledged[0] <= equity/"),
])
def test_pledging_more_than_the_equity_fails(pledged, prefix):
    r1cs, witness = pledged_batch([pledged_leaf(0, (3 * BTC // 2, 0), (0, 0), pledged), EMPTY_PLEDGED])
    assert failing(r1cs, witness).startswith(prefix)


def test_a_wrapped_pledge_is_out_of_range():
    """p = r - 1 with another class pledging 1 unit sums to 0 <= equity: the slot interval checks catch it."""
    r1cs, witness = pledged_batch([pledged_leaf(0, (BTC, 0), (0, 0), (R - 1, 0, 1, 0)), EMPTY_PLEDGED])
    assert failing(r1cs, witness).startswith("leaf[0]/solvent/set[0]/tiered_value/")


def test_equity_is_range_checked_when_pledges_are_valued():
    r1cs, witness = pledged_batch([pledged_leaf(0, (1 << 64, 0), (0, 0), (0, 0, 0, 0)), EMPTY_PLEDGED])
    assert failing(r1cs, witness).startswith("leaf[0]/equity[0]/to_bits[64]/")


def test_the_pledge_is_bound_to_the_leaf():
    """A prover who values a larger pledge than the leaf commits gets another subtree commitment,
    which the aggregation above cannot open to the tree's node (statement 3)."""
    committed = [pledged_leaf(0, (10 * BTC, 0), (0, 0), (BTC, 0, 0, 0)), EMPTY_PLEDGED]
    claimed = [pledged_leaf(0, (10 * BTC, 0), (0, 0), (5 * BTC, 0, 0, 0)), EMPTY_PLEDGED]
    r1cs, witness = pledged_batch(claimed)
    assert failing(r1cs, witness) is None
    _, top = subtree_root(committed, DEPTH, PLEDGES)
    assert witness[r1cs.num_public] != commit(top, 77, DEPTH)
    # and the native leaf hash commits the pledge: the tree's leaf differs with it
    assert subtree_root(committed, DEPTH, PLEDGES)[0][0] != subtree_root(claimed, DEPTH, PLEDGES)[0][0]


def test_the_class_names_are_bound_to_the_leaf():
    """The leaves hash the digest of the class names: a batch proven with the classes relabelled
    (margin's amounts valued by the loan tiers) outputs another commitment than the tree's."""
    from zkproofs.tree.hashing import pledge_digest

    leaves = [pledged_leaf(0, (10 * BTC, 0), (0, 0), (BTC, 0, 2 * BTC, 0)), EMPTY_PLEDGED]
    r1cs, witness = pledged_batch(leaves)
    index = r1cs.public_names.index("pledge_classes")
    assert witness[1 + index] == pledge_digest(PLEDGES)
    _, honest = subtree_root(leaves, DEPTH, PLEDGES)
    _, relabelled = subtree_root(leaves, DEPTH, PLEDGES[::-1])
    assert honest[0] != relabelled[0] and honest[1] == relabelled[1]
    assert failing(r1cs, forged(witness, 1 + index, pledge_digest(PLEDGES[::-1]))) is not None


def test_native_check_names_the_pledge():
    from zkproofs.errors import StatementFails
    from zkproofs.solvency.witness import check_leaf

    check_leaf(pledged_leaf(0, (10 * BTC, 0), (0, 45_000_45), (BTC, 0, 0, 0)), PLEDGE_SLOTS, ASSETS, PLEDGES)
    with pytest.raises(StatementFails, match="pledged collateral is worth 45000.45 USD"):
        check_leaf(pledged_leaf(0, (10 * BTC, 0), (0, 45_000_46), (BTC, 0, 0, 0)), PLEDGE_SLOTS, ASSETS, PLEDGES)
    with pytest.raises(StatementFails, match="200000000 base units of BTC pledged, more than its equity 150000000"):
        check_leaf(pledged_leaf(0, (3 * BTC // 2, 0), (0, 0), (BTC, 0, BTC, 0)), PLEDGE_SLOTS, ASSETS, PLEDGES)
    with pytest.raises(StatementFails, match="margin collateral BTC"):
        check_leaf(pledged_leaf(0, (BTC, 0), (0, 0), (0, 0, 1 << 64, 0)), PLEDGE_SLOTS, ASSETS, PLEDGES)


# aggregation and root ------------------------------------------------------------------
def _children(n, height):
    leaves = [leaf(j, (j * BTC, 100_00 * j), (0, j)) for j in range(n << height)]
    nodes = [subtree_root(leaves[m << height : (m + 1) << height], DEPTH)[1] for m in range(n)]
    return [(node, 900 + m, commit(node, 900 + m, DEPTH)) for m, node in enumerate(nodes)], combine(nodes, DEPTH)


def _root_of(top):
    from zkproofs.tree.root import PublishedRoot

    return PublishedRoot(top[0], DEPTH, ASSETS, top[1][:2], top[1][2:], "2026-01-01T00:00:00+00:00")


def test_honest_aggregation_and_root():
    children, top = _children(2, 1)
    layer = make_plan(DEPTH, 2, TIERS, batch_height=1, levels=1).layers[1]
    assert layer.role == "aggregate"
    r1cs, witness = SolvencyAggregate(depth=DEPTH, assets=2, height=1, levels=1).synthesize(aggregate_inputs(layer, children, None, 55))
    assert failing(r1cs, witness) is None and witness[r1cs.num_public] == commit(top, 55, DEPTH)
    children, top = _children(2, 2)
    root_layer = make_plan(DEPTH, 2, TIERS, batch_height=2, levels=1).layers[1]
    r1cs, witness = SolvencyRoot(depth=DEPTH, assets=2, height=2, levels=1).synthesize(aggregate_inputs(root_layer, children, _root_of(top), None))
    assert failing(r1cs, witness) is None


@pytest.mark.parametrize("field,delta,label", [
    ("root_equities[0]", 1, "root sum 0"),
    ("root_debts[1]", -1, "root sum 3"),
    ("root", 1, "root hash"),
])
def test_root_with_a_total_off_by_one_fails(field, delta, label):
    children, top = _children(2, 2)
    layer = make_plan(DEPTH, 2, TIERS, batch_height=2, levels=1).layers[1]
    inputs = aggregate_inputs(layer, children, _root_of(top), None)
    inputs[field] = (inputs[field] + delta) % R
    r1cs, witness = SolvencyRoot(depth=DEPTH, assets=2, height=2, levels=1).synthesize(inputs)
    assert failing(r1cs, witness) == label


@pytest.mark.parametrize("change,prefix", [
    ("hash", "input[0]/opens the input commitment"),
    ("blinding", "input[0]/opens the input commitment"),
    ("sum", "input[0]/opens the input commitment"),
    ("spill", "input[0]/sum[0]/to_bits["),
])
def test_a_commitment_opens_only_to_its_subtree(change, prefix):
    """Another hash, blinding or sums do not open a child's commitment; sums that pack alike
    (s_0 + 2^W and s_1 - 1) do, and are refused by the range check."""
    children, top = _children(2, 2)
    layer = make_plan(DEPTH, 2, TIERS, batch_height=2, levels=1).layers[1]
    inputs = aggregate_inputs(layer, children, _root_of(top), None)
    if change == "hash":
        inputs["hashes[0]"] += 1
    elif change == "blinding":
        inputs["blindings[0]"] += 1
    elif change == "sum":
        inputs["sums[0][0]"] += 1
    else:
        assert inputs["sums[0][1]"] > 0
        inputs["sums[0][0]"] += 1 << slot_bits(DEPTH)
        inputs["sums[0][1]"] -= 1
        inputs["root_equities[0]"] = (inputs["root_equities[0]"] + (1 << slot_bits(DEPTH))) % R
        inputs["root_equities[1]"] -= 1
    r1cs, witness = SolvencyRoot(depth=DEPTH, assets=2, height=2, levels=1).synthesize(inputs)
    assert failing(r1cs, witness).startswith(prefix)


def test_plan_layers():
    plan = make_plan(12, 4, 5)
    assert [(layer.role, layer.count, layer.height) for layer in plan.layers] == [("batch", 128, 5), ("aggregate", 4, 10), ("root", 1, 12)]
    assert plan.proof_count == 133
    small = make_plan(3, 2, 3)
    assert small.batch_height == 2 and [layer.role for layer in small.layers] == ["batch", "root"]
    with pytest.raises(SolvencyError):
        make_plan(1, 2, 3)


def test_public_slots_outside_their_domain_are_named():
    """A generic verifier of one batch proof (zkproofs verify) checks the bounds the soundness argument needs."""
    from circuits.solvency_batch import slot_names
    from zkproofs.solvency.policy import flat_inputs

    public = dict(zip(slot_names(2, TIERS), flat_inputs(SLOTS, 2))) | {"commitment": 5}
    assert SolvencyBatch.public_domain_problem(public) is None
    for name, value, message in (("highs[0][1]", 1 << 64, "above 2^64 - 1"), ("lows[1][0]", (1 << 160) + 1, "above 2^160"),
                                 ("debt_units[0]", 1 << 110, "below 2^110"), ("intercepts[0][2]", 1 << 174, "exceed 2^174"),
                                 ("slopes[1][0]", 1 << 111, "exceed 2^174")):
        assert message in SolvencyBatch.public_domain_problem({**public, name: value}), name
