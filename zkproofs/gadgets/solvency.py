"""Account solvency at public prices and tiered haircuts, exact integer arithmetic.

Native twin: :mod:`zkproofs.solvency.policy` (:class:`~zkproofs.solvency.policy.TierSlots`,
:func:`~zkproofs.solvency.policy.account_values`), whose docstring derives the slots.
The slots (slopes, intercepts, lows, highs, debt units) are public inputs that the
verifier computes itself from the published policy with
:func:`~zkproofs.solvency.policy.policy_inputs`; their bounds (highs <= 2^64 - 1,
lows <= 2^64 or ceil(H / U) < 2^160, slope * amount + intercept < 2^174) are
preconditions met by that function, not constraints.
"""

from __future__ import annotations

from typing import Sequence

from zkproofs.gadgets.bits import range_check
from zkproofs.gadgets.compare import assert_greater_or_equal_unchecked
from zkproofs.r1cs import ConstraintSystem, LinearCombination, linear_sum
from zkproofs.solvency.policy import AMOUNT_BITS, VALUE_BITS


def slot_hint(amount: int, lows: Sequence[int], highs: Sequence[int]) -> int:
    """The prover's choice of slot: the first whose [low, high] holds ``amount``, -1 if none (then
    no selector bit is set and the system is unsatisfied). A hint: the constraints check it."""
    return next((k for k, (low, high) in enumerate(zip(lows, highs)) if low <= amount <= high), -1)


def tiered_value(
    cs: ConstraintSystem,
    amount: LinearCombination,
    slopes: Sequence[LinearCombination],
    intercepts: Sequence[LinearCombination],
    lows: Sequence[LinearCombination],
    highs: Sequence[LinearCombination],
) -> LinearCombination:
    """f(amount * U) in bps of the value unit: the line of the slot whose interval holds ``amount``.

    Hints: a one-hot slot selector (booleans summing to 1; the first slot holding the
    amount). Constraints pin the hint down to *a* slot whose [low, high] holds the
    amount: amount - low and high - amount are range-checked to 64 bits. Every slot's
    line equals f on its interval, so any such slot gives the same value. With
    high <= 2^64 - 1 the two checks also prove 0 <= amount < 2^64 (amount = high - z
    for z < 2^64, and a wrapped amount leaves amount - low near r): the caller need not
    range-check the amount. An amount in no slot, or a selector that is not one-hot,
    leaves the system unsatisfied.
    Cost: 5n + 132 constraints for n slots (n booleans, 1 sum, 4n selections, 1 product,
    2 x 65 range bits).
    """
    n = len(slopes)
    if not n or not (len(intercepts) == len(lows) == len(highs) == n):
        raise ValueError("tiered_value needs equally many slopes, intercepts, lows and highs (at least one)")
    with cs.scope("tiered_value"):
        chosen = slot_hint(amount.value, [x.value for x in lows], [x.value for x in highs]) if cs.witness_mode else None
        selector = []
        for k in range(n):
            s = cs.witness(lambda k=k: 1 if chosen == k else 0, f"slot {k}")
            cs.assert_bool(s, f"slot {k} boolean")
            selector.append(s)
        cs.assert_equal(linear_sum(selector, cs.witness_mode), cs.constant(1), "exactly one slot")

        def pick(values: Sequence[LinearCombination], what: str) -> LinearCombination:
            return linear_sum((cs.mul(s, v, f"{what} of slot {k}") for k, (s, v) in enumerate(zip(selector, values))), cs.witness_mode)

        slope, intercept, low, high = pick(slopes, "slope"), pick(intercepts, "intercept"), pick(lows, "low"), pick(highs, "high")
        with cs.scope("amount >= slot low"):
            range_check(cs, amount - low, AMOUNT_BITS)
        with cs.scope("amount <= slot high"):
            range_check(cs, high - amount, AMOUNT_BITS)
        return cs.mul(slope, amount, "slope * amount") + intercept


def comparison_bits(values: int) -> int:
    """Width of the solvency comparison: every tiered value and debt value < 2^174, summed over
    ``values`` terms a side (the slot sets; an account has no more debts than slot sets)."""
    return VALUE_BITS + values.bit_length()


Slots = tuple[Sequence[LinearCombination], Sequence[LinearCombination], Sequence[LinearCombination], Sequence[LinearCombination]]
"""(slopes, intercepts, lows, highs) of one slot set."""


def assert_solvent(
    cs: ConstraintSystem,
    amounts: Sequence[LinearCombination],
    slots: Sequence[Slots],
    debts: Sequence[LinearCombination],
    debt_units: Sequence[LinearCombination],
) -> None:
    """Constrain sum_s f_s(amounts[s] U_s) >= sum_i debts[i] * debt_units[i]: the account's tiered
    collateral covers its debt.

    ``amounts[s]`` is valued by slot set ``slots[s]``: the equities (one set per asset) or the
    pledged amounts (one set per pledge class and asset, class-major), as
    :func:`~zkproofs.solvency.policy.policy_inputs` orders the sets; ``debt_units[i]`` = 10^4 U_i.
    Preconditions: every debt < 2^64 (the caller's range check; the valued amounts are bounded
    by :func:`tiered_value`), slots and units as
    :func:`~zkproofs.solvency.policy.policy_inputs` makes them, len(debts) <= len(amounts). An
    undercollateralised account fails ``solvent/greater_or_equal/...``; a valued amount outside
    [0, 2^64) fails ``tiered_value/amount ...``. Native twin:
    :func:`~zkproofs.solvency.policy.account_values`.
    Cost: :func:`tiered_value` per set, 1 per debt, then comparison_bits(sets) + 1.
    """
    if not amounts or len(slots) != len(amounts) or len(debt_units) != len(debts) or len(debts) > len(amounts):
        raise ValueError("assert_solvent needs one slot set per valued amount and one unit per debt (no more debts than sets)")
    with cs.scope("solvent"):
        values, debt_values = [], []
        for s, (amount, (slopes, intercepts, lows, highs)) in enumerate(zip(amounts, slots)):
            with cs.scope(f"set[{s}]"):
                values.append(tiered_value(cs, amount, slopes, intercepts, lows, highs))
        for i, (debt, unit) in enumerate(zip(debts, debt_units)):
            with cs.scope(f"asset[{i}]"):
                debt_values.append(cs.mul(debt, unit, "debt value"))
        assert_greater_or_equal_unchecked(
            cs, linear_sum(values, cs.witness_mode), linear_sum(debt_values, cs.witness_mode), comparison_bits(len(amounts))
        )
