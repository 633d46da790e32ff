"""Liquidation bounds: the collateral a liquidator takes from a note is worth at most its debt plus a penalty.

Statement over A assets, at public prices (fixed point, 8 decimals, USD per whole unit) and a
public penalty in basis points:

    10^4 * sum_i seized_i * price_i  <=  (10^4 + penalty_bps) * sum_i debt_i * price_i

(the liquidation incentive of lending protocols: Aave's "liquidation bonus", Compound's
"liquidation incentive"), in exact integers. Domains (preconditions, as in
:mod:`zkproofs.gadgets.margin`): amounts < 2^64 (range-checked by the caller's circuit),
prices in [1, 2^64] and penalty in [0, 10^4] (public inputs the verifier checks,
:func:`penalty_ok`). Bounds: the left side < 10^4 * A * 2^128 < 2^(142 + bit_length(A)) and the
right side < 2 * 10^4 * A * 2^128 < 2^(143 + bit_length(A)), both below 2^n with n =
:func:`~zkproofs.gadgets.margin.comparison_bits` (A): no wrap mod r. Cost: 2A products and n + 1
rows for the comparison.
"""

from __future__ import annotations

from typing import Sequence

from zkproofs.gadgets.compare import assert_greater_or_equal_unchecked
from zkproofs.gadgets.margin import AMOUNT_BITS, BPS, MAX_ASSETS, comparison_bits
from zkproofs.r1cs import ConstraintSystem, LinearCombination, linear_sum

MAX_PENALTY_BPS = 10_000


def assert_seizure_within_penalty_unchecked(
    cs: ConstraintSystem,
    seized: Sequence[LinearCombination],
    debt: Sequence[LinearCombination],
    prices: Sequence[LinearCombination],
    penalty_bps: LinearCombination,
) -> None:
    """Constrain 10^4 x value(seized) <= (10^4 + penalty) x value(debt) (module docstring; native twin
    :func:`seizure_within_penalty`). Fails ``seizure/greater_or_equal/...`` when more is taken."""
    a = len(seized)
    if not (len(debt) == len(prices) == a) or not 1 <= a <= MAX_ASSETS:
        raise ValueError("the seizure bound needs 1..2^16 assets with one amount and price each")
    with cs.scope("seizure"):
        taken = linear_sum((cs.mul(seized[i], prices[i]) for i in range(a)), cs.witness_mode)
        owed = linear_sum((cs.mul(debt[i], prices[i]) for i in range(a)), cs.witness_mode)
        allowed = cs.mul(BPS + penalty_bps, owed)
        assert_greater_or_equal_unchecked(cs, allowed, taken * BPS, comparison_bits(a))


def penalty_ok(penalty_bps: object) -> bool:
    """True iff the penalty is an integer in [0, 10^4] bps: the domain the circuit leaves to its verifier."""
    return isinstance(penalty_bps, int) and not isinstance(penalty_bps, bool) and 0 <= penalty_bps <= MAX_PENALTY_BPS


def seizure_within_penalty(seized: Sequence[int], debt: Sequence[int], prices: Sequence[int], penalty_bps: int) -> bool:
    """The native twin of :func:`assert_seizure_within_penalty_unchecked`, domains included. O(A)."""
    if not (penalty_ok(penalty_bps) and all(0 <= x < 1 << AMOUNT_BITS for x in (*seized, *debt))):
        return False
    taken = sum(s * p for s, p in zip(seized, prices, strict=True))
    owed = sum(d * p for d, p in zip(debt, prices, strict=True))
    return BPS * taken <= (BPS + penalty_bps) * owed


def seizure_for(collateral: Sequence[int], debt: Sequence[int], prices: Sequence[int], penalty_bps: int) -> tuple[int, ...]:
    """The collateral a liquidation takes: worth as close to debt value x (1 + penalty) as whole units
    allow without exceeding it, taken asset by asset in the venue's order (each at most what the note
    holds; all of it when the note is worth less). Satisfies :func:`seizure_within_penalty`. O(A)."""
    remaining = (BPS + penalty_bps) * sum(d * p for d, p in zip(debt, prices, strict=True))  # value x 10^4
    seized = []
    for held, price in zip(collateral, prices, strict=True):
        take = min(held, remaining // (BPS * price))
        seized.append(take)
        remaining -= take * price * BPS
    return tuple(seized)
