"""The collateral-ratio circuit: boundaries, adversarial hints, and full Groth16 for small baskets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits.collateral_ratio import (
    BPS,
    MAX_HAIRCUT_BPS,
    CollateralRatio,
    collateral_ratio_holds,
    commitment_tag,
)
from tests.helpers import forged, hint_index
from zkproofs.errors import UnsatisfiedConstraint
from zkproofs.field import R
from zkproofs.groth16 import prove, setup, verify
from zkproofs.poseidon import poseidon_hash
from zkproofs.settlement.position import Position, position_commitment

BTC = 27_000_12000000  # 27000.12 USD, 8 decimals
USDC = 1_00000000
ONE = 10**8  # one whole unit in 10^-8 units


def inputs(collateral, prices, haircuts, debt, debt_prices, ratio, salt=12345, sid=777, expiry=1_700_000_000):
    return {
        "collateral": collateral,
        "collateral_price": prices,
        "haircut_bps": haircuts,
        "debt": debt,
        "debt_price": debt_prices,
        "min_ratio_bps": ratio,
        "salt": salt,
        "settlement_context": sid,
        "expiry": expiry,
    }


def boundary_debt(collateral, price, haircut, ratio, debt_price):
    """Largest debt amount the position supports exactly (lhs == rhs when divisible)."""
    return collateral * price * (BPS - haircut) // (ratio * debt_price)


def synth(circuit, values):
    r1cs, witness = circuit.synthesize(values)
    return r1cs, witness


C11 = CollateralRatio(collateral=1, debt=1)
C21 = CollateralRatio(collateral=2, debt=1)


# --- the statement at the boundary --------------------------------------------------


def test_exactly_at_ratio_passes_and_one_unit_below_fails():
    # 1.5 BTC at 27000.12 with a 5 % haircut against 150 % ratio: choose debt so lhs == rhs.
    collateral, haircut, ratio = 150_000_000, 500, 15_000
    lhs = collateral * BTC * (BPS - haircut)
    assert lhs % (ratio * USDC) == 0
    debt = lhs // (ratio * USDC)
    r1cs, w = synth(C11, inputs([collateral], [BTC], [haircut], [debt], [USDC], ratio))
    assert r1cs.is_satisfied(w)
    r1cs, w = synth(C11, inputs([collateral], [BTC], [haircut], [debt + 1], [USDC], ratio))
    assert r1cs.labels[r1cs.first_unsatisfied(w)].startswith("ratio")
    r1cs, w = synth(C11, inputs([collateral - 1], [BTC], [haircut], [debt], [USDC], ratio))
    assert not r1cs.is_satisfied(w)


def test_haircut_is_a_reduction():
    # 100 units at price 1 with a 500 bps haircut are worth 95 units at ratio 100 %.
    ok = inputs([100], [1], [500], [95], [1], BPS)
    bad = inputs([100], [1], [500], [96], [1], BPS)
    assert C11.synthesize(ok)[0].is_satisfied(C11.synthesize(ok)[1])
    r1cs, w = C11.synthesize(bad)
    assert not r1cs.is_satisfied(w)
    full = inputs([100], [1], [MAX_HAIRCUT_BPS], [1], [1], 1)  # collateral counts for nothing
    r1cs, w = C11.synthesize(full)
    assert not r1cs.is_satisfied(w)


@pytest.mark.parametrize(
    "collateral,price,haircut,ratio,debt_price",
    [
        (1, 1, 0, 1, 1),
        (2**64 - 1, 2**64, 0, 1, 1),
        (2**64 - 1, 2**64, 0, 2**24, 2**64),
        (2**64 - 1, 2**64 - 1, 9_999, 12_345, 3),
        (150_000_000, BTC, 500, 15_000, USDC),
        (10**8, 1, 0, 10_000, 1),
        (7, 11, 1_234, 101, 13),
    ],
)
def test_boundary_over_many_values(collateral, price, haircut, ratio, debt_price):
    debt = boundary_debt(collateral, price, haircut, ratio, debt_price)
    debt = min(debt, 2**64 - 1)
    holds = collateral_ratio_holds([collateral], [price], [haircut], [debt], [debt_price], ratio)
    r1cs, w = C11.synthesize(inputs([collateral], [price], [haircut], [debt], [debt_price], ratio))
    assert holds and r1cs.is_satisfied(w)
    if debt + 1 < 2**64:
        r1cs, w = C11.synthesize(inputs([collateral], [price], [haircut], [debt + 1], [debt_price], ratio))
        assert not collateral_ratio_holds([collateral], [price], [haircut], [debt + 1], [debt_price], ratio)
        assert not r1cs.is_satisfied(w)


amounts = st.integers(0, 2**64 - 1)
prices = st.integers(1, 2**64)
haircuts = st.integers(0, MAX_HAIRCUT_BPS)


@settings(max_examples=60, deadline=None)
@given(
    collateral=st.lists(amounts, min_size=2, max_size=2),
    cprices=st.lists(prices, min_size=2, max_size=2),
    cuts=st.lists(haircuts, min_size=2, max_size=2),
    debt=amounts,
    dprice=prices,
    ratio=st.integers(1, 2**24),
    shift=st.integers(-3, 3),
)
def test_circuit_matches_integer_statement(collateral, cprices, cuts, debt, dprice, ratio, shift):
    # Aim near the boundary: the debt the collateral supports, shifted by a few units.
    lhs = sum(a * p * (BPS - h) for a, p, h in zip(collateral, cprices, cuts))
    debt = min(max(lhs // (ratio * dprice) + shift, 0), 2**64 - 1) if shift else debt
    expected = lhs >= ratio * debt * dprice
    assert collateral_ratio_holds(collateral, cprices, cuts, [debt], [dprice], ratio) == expected
    r1cs, w = C21.synthesize(inputs(collateral, cprices, cuts, [debt], [dprice], ratio))
    assert r1cs.is_satisfied(w) == expected


# --- domains --------------------------------------------------------------------------


def test_zero_debt_is_solvent():
    r1cs, w = C11.synthesize(inputs([0], [BTC], [500], [0], [USDC], 15_000))
    assert r1cs.is_satisfied(w)


def test_zero_collateral_with_debt_is_refused():
    r1cs, w = C11.synthesize(inputs([0], [BTC], [0], [1], [1], 1))
    assert not r1cs.is_satisfied(w)


@pytest.mark.parametrize("field,value,scope", [
    ("collateral", [2**64], "bounds/collateral[0]"),
    ("debt", [2**64], "bounds/debt[0]"),
    ("collateral_price", [2**64 + 1], "bounds/collateral_price[0]"),
    ("collateral_price", [0], "bounds/collateral_price[0]"),
    ("debt_price", [0], "bounds/debt_price[0]"),
    ("haircut_bps", [MAX_HAIRCUT_BPS + 1], "bounds/haircut_bps[0]"),
    ("haircut_bps", [R - 1], "bounds/haircut_bps[0]"),
    ("min_ratio_bps", 0, "bounds/min_ratio_bps"),
    ("min_ratio_bps", 2**24 + 1, "bounds/min_ratio_bps"),
])
def test_out_of_domain_values_fail(field, value, scope):
    values = inputs([10], [10], [0], [0], [1], 1)
    values[field] = value
    r1cs, w = C11.synthesize(values)
    index = r1cs.first_unsatisfied(w)
    assert index is not None and r1cs.labels[index].startswith(scope), r1cs.labels[index] if index is not None else None


def test_amount_2_pow_64_fails_even_when_the_ratio_would_hold():
    # 2^64 = r-wrap-free but out of range: the range check, not the ratio, must fail.
    r1cs, w = C11.synthesize(inputs([2**64], [1], [0], [1], [1], 1))
    assert r1cs.labels[r1cs.first_unsatisfied(w)].startswith("bounds/collateral[0]")
    r1cs, w = C11.synthesize(inputs([2**64 - 1], [1], [0], [1], [1], 1))
    assert r1cs.is_satisfied(w)


def test_negative_debt_wrapping_mod_r_fails():
    # debt = r - 1 ("-1") would make the right side negative mod r.
    r1cs, w = C11.synthesize(inputs([0], [1], [0], [R - 1], [1], 1))
    assert not r1cs.is_satisfied(w)


# --- adversarial witnesses ------------------------------------------------------------


def test_forged_commitment_fails():
    r1cs, w = C11.synthesize(inputs([5], [1], [0], [1], [1], 1))
    assert r1cs.is_satisfied(w)
    assert w[1] == poseidon_hash([commitment_tag(1, 1), 5, 1, 12345])
    bad = forged(w, 1, w[1] + 1)
    assert r1cs.labels[r1cs.first_unsatisfied(bad)].endswith("output commitment")
    bad = forged(w, 1, poseidon_hash([commitment_tag(1, 1), 6, 1, 12345]))  # the commitment of another position
    assert not r1cs.is_satisfied(bad)


def _position21(collateral, debt, salt=12345):
    return Position(collateral=(("BTC", collateral[0]), ("ETH", collateral[1])), debt=(("USDC", debt[0]),), salt=salt)


def _commitment_index(r1cs):
    return 1 + r1cs.public_names.index("commitment")


@pytest.mark.parametrize(
    "collateral,debt,salt",
    [([150_000_000, 10**10], [2_000_000_000_000], 12345), ([0, 1], [0], 0), ([2**64 - 1, 7], [2**64 - 1], R - 1)],
)
def test_commitment_is_the_native_position_commitment_2x1(collateral, debt, salt):
    # Never the formula itself: whatever position_commitment computes, the circuit must agree.
    r1cs, w = C21.synthesize(inputs(collateral, [BTC, 3_000_00000000], [500, 1_000], debt, [USDC], 1, salt=salt))
    assert w[_commitment_index(r1cs)] == position_commitment(_position21(collateral, debt, salt))
    aligned = _position21(collateral, debt, salt).for_market(("BTC", "ETH"), ("USDC",))
    assert w[_commitment_index(r1cs)] == position_commitment(aligned)


@pytest.mark.parametrize("index,other", [(0, 150_000_001), (1, 10**10 + 1), (1, 0), (1, 2**64 - 1)])
def test_forged_collateral_amount_with_the_old_commitment_fails_2x1(index, other):
    # Commit to one position, then run the circuit honestly on the same position
    # with one collateral amount changed but publish the old commitment: the ratio
    # still holds (ratio 1, no debt), so only the commitment can object.
    collateral = [150_000_000, 10**10]
    values = inputs(collateral, [BTC, 3_000_00000000], [500, 1_000], [0], [USDC], 1)
    r1cs, honest = C21.synthesize(values)
    k = _commitment_index(r1cs)
    assert honest[k] == position_commitment(_position21(collateral, [0]))
    changed = list(collateral)
    changed[index] = other
    r1cs, w = C21.synthesize({**values, "collateral": changed})
    assert r1cs.is_satisfied(w) and w[k] != honest[k]
    bad = forged(w, k, honest[k])
    assert r1cs.labels[r1cs.first_unsatisfied(bad)].endswith("output commitment")


def _ratio_bits(r1cs):
    return [i for i, label in r1cs.hint_labels.items() if label.startswith("ratio/")]


def test_forged_comparison_bits_fail():
    # A position below the ratio: replace the comparison's bit hints with those of
    # any other value (here: the decomposition of 0, and of the true value minus r)
    # and the system stays unsatisfied.
    r1cs, w = C11.synthesize(inputs([1], [1], [0], [2], [1], BPS))
    assert not r1cs.is_satisfied(w)
    bits = _ratio_bits(r1cs)
    assert len(bits) == C11.comparison_bits()
    zero = list(w)
    for i in bits:
        zero[i] = 0
    assert not r1cs.is_satisfied(zero)
    # A valid position: flipping any single bit hint breaks it.
    r1cs, w = C11.synthesize(inputs([3], [1], [0], [2], [1], BPS))
    assert r1cs.is_satisfied(w)
    for i in bits[:5] + bits[-3:]:
        assert not r1cs.is_satisfied(forged(w, i, 1 - w[i]))
        assert not r1cs.is_satisfied(forged(w, i, 2))


def test_forged_range_check_hints_fail():
    r1cs, w = C11.synthesize(inputs([3], [1], [0], [2], [1], BPS))
    for label in ("bounds/collateral[0]/to_bits[64]/bit 0", "bounds/haircut_bps[0]/to_bits[14]/bit 3"):
        i = hint_index(r1cs, label)
        assert not r1cs.is_satisfied(forged(w, i, 1 - w[i]))


def test_prove_refuses_one_unit_below(setup11):
    pk = setup11
    r1cs, w = C11.synthesize(inputs([1], [1], [0], [2], [1], BPS))
    with pytest.raises(UnsatisfiedConstraint) as info:
        prove(pk, r1cs, w)
    assert info.value.label.startswith("ratio")


# --- full Groth16 ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def setup11():
    return setup(C11, party="test")


@pytest.fixture(scope="module")
def setup21():
    return setup(C21, party="test")


@pytest.mark.parametrize(
    "circuit_name,values",
    [
        ("setup11", inputs([150_000_000], [BTC], [500], [2_000_000_000_000], [USDC], 15_000)),
        ("setup21", inputs([150_000_000, 10**10], [BTC, 3_000_00000000], [500, 1_000], [2_000_000_000_000], [USDC], 15_000)),
    ],
)
def test_groth16_binds_every_public_input(request, circuit_name, values):
    pk = request.getfixturevalue(circuit_name)
    circuit = C11 if circuit_name == "setup11" else C21
    r1cs, w = circuit.synthesize(values)
    proof = prove(pk, r1cs, w)
    public = w[1 : r1cs.num_public + 1]
    assert verify(pk.vk, public, proof)
    names = list(pk.vk.public_names)
    for name in ("collateral_price[0]", "haircut_bps[0]", "debt_price[0]", "min_ratio_bps", "settlement_context", "expiry", "commitment"):
        altered = list(public)
        k = names.index(name)
        altered[k] = (altered[k] + 1) % R
        assert not verify(pk.vk, altered, proof), name


def test_settlement_context_alone_changes_verification(setup11):
    values = inputs([10], [1], [0], [1], [1], 1, sid=2**200 + 5)
    r1cs, w = C11.synthesize(values)
    proof = prove(setup11, r1cs, w)
    public = w[1 : r1cs.num_public + 1]
    assert verify(setup11.vk, public, proof)
    other = C11.synthesize({**values, "settlement_context": 2**200 + 6})[1][1 : r1cs.num_public + 1]
    assert other != public
    assert not verify(setup11.vk, other, proof)


def test_zero_collateral_with_debt_cannot_be_proved(setup11):
    r1cs, w = C11.synthesize(inputs([0], [BTC], [0], [1], [USDC], BPS))
    with pytest.raises(UnsatisfiedConstraint):
        prove(setup11, r1cs, w)


def test_zero_debt_proves(setup11):
    r1cs, w = C11.synthesize(inputs([0], [BTC], [0], [0], [USDC], BPS))
    proof = prove(setup11, r1cs, w)
    assert verify(setup11.vk, w[1 : r1cs.num_public + 1], proof)


@pytest.mark.parametrize("c,d,n", [(1, 1, 153), (16, 16, 157), (2, 1, 154), (1, 2**16, 169), (2**16, 2**16, 169)])
def test_comparison_bits_pinned(c, d, n):
    # Module docstring: n = 152 + bit_length(max(C, D)), 169 at the cap of 2^16 assets.
    assert CollateralRatio(collateral=c, debt=d).comparison_bits() == n


def test_comparison_width_fits_the_field():
    # Largest possible sides: every amount 2^64 - 1, every price 2^64, ratio 2^24, no haircut.
    for c, d in ((1, 1), (3, 5), (16, 16), (1, 2**16), (2**16, 1)):
        n = CollateralRatio(collateral=c, debt=d).comparison_bits()
        lhs = c * (2**64 - 1) * 2**64 * BPS
        rhs = 2**24 * d * (2**64 - 1) * 2**64
        assert lhs < 2**n and rhs < 2**n and n <= 253


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["arkworks", "py_ecc"])
def test_groth16_4x4_over_both_backends(backend):
    circuit = CollateralRatio(collateral=4, debt=4)
    pk = setup(circuit, party="test")
    values = inputs([10**8] * 4, [BTC] * 4, [500] * 4, [10**8] * 4, [USDC] * 4, 15_000)
    r1cs, w = circuit.synthesize(values)
    proof = prove(pk, r1cs, w)
    public = w[1 : r1cs.num_public + 1]
    assert verify(pk.vk, public, proof, backend=backend)
    k = list(pk.vk.public_names).index("debt_price[3]")
    assert not verify(pk.vk, public[:k] + [public[k] - 1] + public[k + 1 :], proof, backend=backend)
