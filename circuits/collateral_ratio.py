"""Collateral-to-debt ratio of a hidden position, bound to one settlement.

Statement, with C collateral assets and D debt assets:

    sum_i collateral_i * price_i * (10^4 - haircut_bps_i)  >=  min_ratio_bps * sum_j debt_j * debt_price_j

``haircut_bps`` is the standard haircut, a *reduction*: 500 bps counts the
collateral at 95 %. The issue's factor ``haircut_bps_i`` is therefore the
retained share ``10^4 - haircut_bps_i`` here; ``haircut_bps_i <= 10^4`` is
enforced, so the retained share lies in [0, 10^4].

Units: every amount is an integer in 10^-8 of a whole unit of its asset (the
venue's settlement precision, for every asset) and every price is USD per whole
unit as a fixed-point integer with 8 decimals, so amount * price is in 10^-16 USD
for every asset and the values of different assets add exactly. Haircut and
ratio are in basis points on both sides (the common factor 10^4 cancels), so the
statement is an exact integer inequality: no division, no rounding, nothing can
round in the prover's favour.

Public inputs: the position commitment (derived: Poseidon sponge, t = 3, over
the shape tag C * 2^32 + D, the collateral amounts, the debt amounts and a
secret salt, in that order; the tag keeps one commitment from opening as
another split of the same amounts between collateral and debt), every
collateral price and haircut, every debt price, the minimum ratio, and the
settlement context: ``settlement_context`` (market and settlement id hashed to a
field element by :func:`zkproofs.settlement.request.settlement_context_to_field`)
and ``expiry`` (unix seconds).
No constraint uses the context: Groth16's input-consistency rows
(:mod:`zkproofs.groth16.qap` appends a row z_k * 0 = 0 per public input) bind
every public input into the proof anyway, so a proof for one settlement (or
market) does not verify for another.

Domains, all enforced: amounts in [0, 2^64); prices in [1, 2^64] (a zero price
is a broken oracle and would make debt free); haircuts in [0, 10^4];
min_ratio_bps in [1, 2^24] (a ratio of 0 would accept an empty position with
debt). Zero debt is solvent (0 >= 0); zero collateral with positive debt is not
(0 < min_ratio * price * debt, all factors >= 1).

Bounds (r ~ 2^254.86, nothing wraps): each collateral term is
< 2^64 * 2^64 * 2^14 = 2^142 (amount <= 2^64 - 1, price <= 2^64, share <= 10^4 < 2^14),
so the left side is < C * 2^142; the debt value is < D * 2^128 and the right side
is < 2^24 * D * 2^128 = D * 2^152. With k = bit_length(max(C, D)) both sides are
< 2^n for n = 152 + k (<= 169 at the cap of 2^16 assets), which is the width of
the comparison, satisfying the precondition of
:func:`zkproofs.gadgets.compare.assert_greater_or_equal_unchecked` (operands < 2^n,
n <= 253): a violated statement leaves lhs - rhs = r - (rhs - lhs) > 2^n, which has
no n-bit decomposition.

Cost: 160 range-check constraints per collateral asset (65 each for amount and
price, 15 each for haircut and 10^4 - haircut), 130 per debt asset, 25 for the
ratio, 2C + D + 1 products, a Poseidon sponge over C + D + 2 inputs and n + 1 for
the comparison: 954 constraints at 1x1, 2564 at 4x4, 8998 at 16x16.
"""

from __future__ import annotations

from zkproofs.circuit import Circuit
from zkproofs.errors import CircuitError
from zkproofs.gadgets.bits import range_check
from zkproofs.gadgets.compare import assert_greater_or_equal_unchecked
from zkproofs.gadgets.poseidon import poseidon_hash
from zkproofs.r1cs import ConstraintSystem, linear_sum

AMOUNT_BITS = 64


def commitment_tag(collateral: int, debt: int) -> int:
    """The shape tag that opens a position commitment: C * 2^32 + D (injective, as C, D <= 2^16)."""
    return (collateral << 32) | debt
"""Amounts (10^-8 units) are in [0, 2^64)."""
PRICE_BITS = 64
"""Prices (8-decimal USD per whole unit) are in [1, 2^64]."""
HAIRCUT_BITS = 14
MAX_HAIRCUT_BPS = 10_000
RATIO_BITS = 24
"""min_ratio_bps is in [1, 2^24]."""
BPS = 10_000
MAX_ASSETS = 1 << 16


class CollateralRatio(Circuit):
    """A hidden basket of collateral and debt is above the minimum ratio at public prices."""

    name = "collateral_ratio"
    description = "hidden position: haircut collateral value >= min ratio x debt value"
    parameters = {
        "collateral": (2, "number of collateral assets"),
        "debt": (1, "number of debt assets"),
    }

    def validate_params(self) -> None:
        if max(self.params["collateral"], self.params["debt"]) > MAX_ASSETS:
            raise CircuitError(f"at most {MAX_ASSETS} collateral or debt assets")

    def _n(self) -> tuple[int, int]:
        return self.params["collateral"], self.params["debt"]

    def public_inputs(self) -> list[str]:
        c, d = self._n()
        return (
            ["commitment"]
            + [f"collateral_price[{i}]" for i in range(c)]
            + [f"haircut_bps[{i}]" for i in range(c)]
            + [f"debt_price[{j}]" for j in range(d)]
            + ["min_ratio_bps", "settlement_context", "expiry"]
        )

    def derived_public_inputs(self) -> list[str]:
        return ["commitment"]

    def private_inputs(self) -> list[str]:
        c, d = self._n()
        return [f"collateral[{i}]" for i in range(c)] + [f"debt[{j}]" for j in range(d)] + ["salt"]

    def comparison_bits(self) -> int:
        """Width n of the final comparison: both sides are < 2^n (see the module docstring)."""
        c, d = self._n()
        return AMOUNT_BITS + PRICE_BITS + RATIO_BITS + max(c, d).bit_length()

    def define(self, cs: ConstraintSystem) -> None:
        c, d = self._n()
        collateral = [cs.private_input(f"collateral[{i}]") for i in range(c)]
        debt = [cs.private_input(f"debt[{j}]") for j in range(d)]
        salt = cs.private_input("salt")
        commitment = poseidon_hash(cs, [cs.constant(commitment_tag(c, d))] + collateral + debt + [salt])
        cs.public_output("commitment", commitment)
        prices = [cs.public_input(f"collateral_price[{i}]") for i in range(c)]
        haircuts = [cs.public_input(f"haircut_bps[{i}]") for i in range(c)]
        debt_prices = [cs.public_input(f"debt_price[{j}]") for j in range(d)]
        min_ratio = cs.public_input("min_ratio_bps")
        cs.public_input("settlement_context")  # bound by the input-consistency rows only
        cs.public_input("expiry")  # idem

        with cs.scope("bounds"):
            for i in range(c):
                with cs.scope(f"collateral[{i}]"):
                    range_check(cs, collateral[i], AMOUNT_BITS)
                with cs.scope(f"collateral_price[{i}]"):
                    range_check(cs, prices[i] - 1, PRICE_BITS)
                with cs.scope(f"haircut_bps[{i}]"):
                    range_check(cs, haircuts[i], HAIRCUT_BITS)
                    assert_greater_or_equal_unchecked(cs, cs.constant(MAX_HAIRCUT_BPS), haircuts[i], HAIRCUT_BITS)
            for j in range(d):
                with cs.scope(f"debt[{j}]"):
                    range_check(cs, debt[j], AMOUNT_BITS)
                with cs.scope(f"debt_price[{j}]"):
                    range_check(cs, debt_prices[j] - 1, PRICE_BITS)
            with cs.scope("min_ratio_bps"):
                range_check(cs, min_ratio - 1, RATIO_BITS)

        with cs.scope("collateral value"):
            weighted = [cs.mul(cs.mul(collateral[i], prices[i]), BPS - haircuts[i]) for i in range(c)]
            lhs = linear_sum(weighted, cs.witness_mode)
        with cs.scope("debt value"):
            debt_value = linear_sum((cs.mul(debt[j], debt_prices[j]) for j in range(d)), cs.witness_mode)
            rhs = cs.mul(min_ratio, debt_value)
        with cs.scope("ratio"):
            assert_greater_or_equal_unchecked(cs, lhs, rhs, self.comparison_bits())


def collateral_ratio_holds(
    collateral: list[int],
    prices: list[int],
    haircuts_bps: list[int],
    debt: list[int],
    debt_prices: list[int],
    min_ratio_bps: int,
) -> bool:
    """The statement in plain Python integers (the native reference of :class:`CollateralRatio`).

    Checks the domains of the module docstring as well; True iff the circuit is
    satisfiable for these values. O(C + D).
    """
    if not (
        all(0 <= a < 1 << AMOUNT_BITS for a in collateral + debt)
        and all(1 <= p <= 1 << PRICE_BITS for p in prices + debt_prices)
        and all(0 <= h <= MAX_HAIRCUT_BPS for h in haircuts_bps)
        and 1 <= min_ratio_bps <= 1 << RATIO_BITS
    ):
        return False
    lhs = sum(a * p * (BPS - h) for a, p, h in zip(collateral, prices, haircuts_bps, strict=True))
    rhs = min_ratio_bps * sum(a * p for a, p in zip(debt, debt_prices, strict=True))
    return lhs >= rhs
