"""Margin requirement of a basket at public prices, exact integer arithmetic.

Statement over A assets (collateral and debt amounts of one note, one price per asset):

    sum_i collateral_i * price_i * (10^4 - haircut_bps_i)  >=  min_ratio_bps * sum_i debt_i * price_i

Haircuts are reductions in basis points (500 bps counts collateral at 95 %);
prices are integers in the asset's fixed-point scale (8 decimals, USD per whole
unit); both sides carry a factor 10^4, so nothing is divided or rounded.

Domains: prices in [1, 2^64], haircuts in [0, 10^4], min_ratio_bps in [1, 2^24],
amounts < 2^64. All of them are preconditions here, not constraints: the amounts
are range-checked by the caller's circuit, and prices, haircuts and the ratio are
public inputs, which the verifier sees in the clear and checks
(:func:`margin_parameters_ok`; the venue also requires them to be its policy's and
its feed's) before it verifies a proof: range-checking them in-circuit would cost
65 + 30 rows per asset and 25 for the ratio (405 of the 8,192 rows of the 4-asset
``valid_transition``) to re-prove what the verifier reads. Bounds under the
preconditions: each collateral term < 2^64 * 2^64 * 2^14 = 2^142 and the right
side < 2^24 * A * 2^128, so both sides are < 2^n with n = 152 + bit_length(A)
<= 169 for A <= 2^16: no wrap mod r, and the comparison's precondition
(operands < 2^n) holds.

Cost: 3 products per asset, one for the ratio, n + 1 for the comparison.
"""

from __future__ import annotations

from typing import Sequence

from zkproofs.gadgets.compare import assert_greater_or_equal_unchecked
from zkproofs.r1cs import ConstraintSystem, LinearCombination, linear_sum

AMOUNT_BITS = 64
PRICE_BITS = 64
MAX_HAIRCUT_BPS = 10_000
RATIO_BITS = 24
BPS = 10_000
MAX_ASSETS = 1 << 16


def comparison_bits(assets: int) -> int:
    """Width of the final comparison for ``assets`` assets (module docstring)."""
    return AMOUNT_BITS + PRICE_BITS + RATIO_BITS + assets.bit_length()


def assert_margin_unchecked(
    cs: ConstraintSystem,
    collateral: Sequence[LinearCombination],
    debt: Sequence[LinearCombination],
    prices: Sequence[LinearCombination],
    haircuts_bps: Sequence[LinearCombination],
    min_ratio_bps: LinearCombination,
) -> None:
    """Constrain the margin statement. Preconditions (not checked): every amount < 2^64, and prices,
    haircuts and ratio in their domains (public inputs checked by the verifier with :func:`margin_parameters_ok`).

    A violated statement fails ``margin/greater_or_equal/...``. ValueError for
    mismatched lengths or more than 2^16 assets.
    """
    a = len(collateral)
    if not (len(debt) == len(prices) == len(haircuts_bps) == a) or not 1 <= a <= MAX_ASSETS:
        raise ValueError("assert_margin_unchecked needs 1..2^16 assets with one amount, price and haircut each")
    with cs.scope("margin"):
        weighted = [cs.mul(cs.mul(collateral[i], prices[i]), BPS - haircuts_bps[i]) for i in range(a)]
        lhs = linear_sum(weighted, cs.witness_mode)
        debt_value = linear_sum((cs.mul(debt[i], prices[i]) for i in range(a)), cs.witness_mode)
        rhs = cs.mul(min_ratio_bps, debt_value)
        assert_greater_or_equal_unchecked(cs, lhs, rhs, comparison_bits(a))


def assert_below_margin_unchecked(
    cs: ConstraintSystem,
    collateral: Sequence[LinearCombination],
    debt: Sequence[LinearCombination],
    prices: Sequence[LinearCombination],
    haircuts_bps: Sequence[LinearCombination],
    ratio_bps: LinearCombination,
) -> None:
    """Constrain the negation of the margin statement, strictly: haircut collateral value x 10^4 <
    ratio x debt value (what a liquidation proves of the note it takes, at the maintenance ratio).
    Same preconditions and bounds as :func:`assert_margin_unchecked` (both sides < 2^(n - 1), so
    lhs + 1 < 2^n); native twin :func:`below_margin`. A note at or above the ratio fails
    ``below_margin/greater_or_equal/...``. Cost: as :func:`assert_margin_unchecked`.
    """
    a = len(collateral)
    if not (len(debt) == len(prices) == len(haircuts_bps) == a) or not 1 <= a <= MAX_ASSETS:
        raise ValueError("assert_below_margin_unchecked needs 1..2^16 assets with one amount, price and haircut each")
    with cs.scope("below_margin"):
        weighted = [cs.mul(cs.mul(collateral[i], prices[i]), BPS - haircuts_bps[i]) for i in range(a)]
        lhs = linear_sum(weighted, cs.witness_mode)
        debt_value = linear_sum((cs.mul(debt[i], prices[i]) for i in range(a)), cs.witness_mode)
        rhs = cs.mul(ratio_bps, debt_value)
        assert_greater_or_equal_unchecked(cs, rhs, lhs + 1, comparison_bits(a))


def below_margin(collateral: Sequence[int], debt: Sequence[int], prices: Sequence[int], haircuts_bps: Sequence[int], ratio_bps: int) -> bool:
    """The native twin of :func:`assert_below_margin_unchecked`: amounts and parameters in their domains and
    haircut collateral value x 10^4 < ratio x debt value. O(A)."""
    if not (all(0 <= x < 1 << AMOUNT_BITS for x in (*collateral, *debt)) and margin_parameters_ok(prices, haircuts_bps, ratio_bps)):
        return False
    lhs, debt_value = margin_values(collateral, debt, prices, haircuts_bps)
    return lhs < ratio_bps * debt_value


def margin_parameters_ok(prices: Sequence[int], haircuts_bps: Sequence[int], min_ratio_bps: int) -> bool:
    """True iff prices are in [1, 2^64], haircuts in [0, 10^4] and the ratio in [1, 2^24]: the
    preconditions :func:`assert_margin_unchecked` leaves to the verifier. O(A)."""
    return (
        all(_int(p) and 1 <= p <= 1 << PRICE_BITS for p in prices)
        and all(_int(h) and 0 <= h <= MAX_HAIRCUT_BPS for h in haircuts_bps)
        and _int(min_ratio_bps) and 1 <= min_ratio_bps <= 1 << RATIO_BITS
    )


def _int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def margin_values(collateral: Sequence[int], debt: Sequence[int], prices: Sequence[int], haircuts_bps: Sequence[int]) -> tuple[int, int]:
    """(haircut collateral value x 10^4, debt value), both in 10^-16 USD x 10^4 and 10^-16 USD. O(A)."""
    lhs = sum(c * p * (BPS - h) for c, p, h in zip(collateral, prices, haircuts_bps, strict=True))
    rhs = sum(d * p for d, p in zip(debt, prices, strict=True))
    return lhs, rhs


def margin_holds(collateral: Sequence[int], debt: Sequence[int], prices: Sequence[int], haircuts_bps: Sequence[int], min_ratio_bps: int) -> bool:
    """The statement in plain integers (the native reference of :func:`assert_margin_unchecked`), domains included."""
    if not (all(0 <= x < 1 << AMOUNT_BITS for x in (*collateral, *debt)) and margin_parameters_ok(prices, haircuts_bps, min_ratio_bps)):
        return False
    lhs, debt_value = margin_values(collateral, debt, prices, haircuts_bps)
    return lhs >= min_ratio_bps * debt_value


def ratio_reached_bps(collateral: Sequence[int], debt: Sequence[int], prices: Sequence[int], haircuts_bps: Sequence[int]) -> int | None:
    """The ratio the basket reaches, in bps rounded down (None without debt: unbounded)."""
    lhs, debt_value = margin_values(collateral, debt, prices, haircuts_bps)
    return None if debt_value == 0 else lhs // debt_value
