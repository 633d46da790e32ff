"""Collateral-to-debt ratio of a hidden position, bound to one settlement.

Statement, with C collateral assets and D debt assets:

    sum_i collateral_i * price_i * haircut_bps_i  >=  min_ratio_bps * sum_j debt_j * debt_price_j

Both sides are exact integers (prices are fixed-point integers with 8 decimals,
haircuts and the ratio are in basis points), so no division or rounding happens
and nothing can round in the prover's favour: the haircut scales collateral by
haircut_bps / 10^4 and the ratio scales debt by min_ratio_bps / 10^4; the common
factor 10^4 cancels.

Public inputs: the position commitment (derived: Poseidon over the amounts and a
secret salt), every price and haircut, the minimum ratio, and the settlement
context (settlement id, expiry), which Groth16's input-consistency rows bind
into the proof so it cannot be replayed for another settlement.

Bounds (so nothing wraps around r ~ 2^254.9): amounts and prices < 2^64,
haircuts <= 10^4 (< 2^14), the ratio < 2^24 bps. Left side < C * 2^142,
right side < D * 2^152; compared with a range check of width 152 + ceil(log2(max(C, D))) + 1 <= 253.
"""

from __future__ import annotations

from zkproofs.circuit import Circuit
from zkproofs.errors import CircuitError
from zkproofs.gadgets.bits import range_check
from zkproofs.gadgets.compare import assert_greater_or_equal_unchecked
from zkproofs.gadgets.poseidon import poseidon_hash
from zkproofs.r1cs import ConstraintSystem, linear_sum

AMOUNT_BITS = 64
PRICE_BITS = 64
HAIRCUT_BITS = 14
MAX_HAIRCUT_BPS = 10_000
RATIO_BITS = 24
BPS = 10_000


class CollateralRatio(Circuit):
    """A hidden basket of collateral and debt is above the minimum ratio at public prices."""

    name = "collateral_ratio"
    description = "hidden position: haircut collateral value >= min ratio x debt value"
    parameters = {
        "collateral": (2, "number of collateral assets"),
        "debt": (1, "number of debt assets"),
    }

    def validate_params(self) -> None:
        if max(self.params["collateral"], self.params["debt"]) > 1 << 16:
            raise CircuitError("at most 65536 collateral or debt assets")

    def _n(self) -> tuple[int, int]:
        return self.params["collateral"], self.params["debt"]

    def public_inputs(self) -> list[str]:
        c, d = self._n()
        return (
            ["commitment"]
            + [f"collateral_price[{i}]" for i in range(c)]
            + [f"haircut_bps[{i}]" for i in range(c)]
            + [f"debt_price[{j}]" for j in range(d)]
            + ["min_ratio_bps", "settlement_id", "expiry"]
        )

    def derived_public_inputs(self) -> list[str]:
        return ["commitment"]

    def private_inputs(self) -> list[str]:
        c, d = self._n()
        return [f"collateral[{i}]" for i in range(c)] + [f"debt[{j}]" for j in range(d)] + ["salt"]

    def comparison_bits(self) -> int:
        c, d = self._n()
        return AMOUNT_BITS + PRICE_BITS + RATIO_BITS + max(c, d).bit_length() + 1

    def define(self, cs: ConstraintSystem) -> None:
        c, d = self._n()
        collateral = [cs.private_input(f"collateral[{i}]") for i in range(c)]
        debt = [cs.private_input(f"debt[{j}]") for j in range(d)]
        salt = cs.private_input("salt")
        commitment = poseidon_hash(cs, collateral + debt + [salt])
        cs.public_output("commitment", commitment)
        prices = [cs.public_input(f"collateral_price[{i}]") for i in range(c)]
        haircuts = [cs.public_input(f"haircut_bps[{i}]") for i in range(c)]
        debt_prices = [cs.public_input(f"debt_price[{j}]") for j in range(d)]
        min_ratio = cs.public_input("min_ratio_bps")
        cs.public_input("settlement_id")
        cs.public_input("expiry")

        with cs.scope("bounds"):
            for i in range(c):
                range_check(cs, collateral[i], AMOUNT_BITS)
                range_check(cs, prices[i], PRICE_BITS)
                range_check(cs, haircuts[i], HAIRCUT_BITS)
                assert_greater_or_equal_unchecked(cs, cs.constant(MAX_HAIRCUT_BPS), haircuts[i], HAIRCUT_BITS)
            for j in range(d):
                range_check(cs, debt[j], AMOUNT_BITS)
                range_check(cs, debt_prices[j], PRICE_BITS)
            range_check(cs, min_ratio, RATIO_BITS)

        with cs.scope("collateral value"):
            weighted = [cs.mul(cs.mul(collateral[i], prices[i]), haircuts[i]) for i in range(c)]
            lhs = linear_sum(weighted, cs.witness_mode)
        with cs.scope("debt value"):
            debt_value = linear_sum((cs.mul(debt[j], debt_prices[j]) for j in range(d)), cs.witness_mode)
            rhs = cs.mul(min_ratio, debt_value)
        with cs.scope("ratio"):
            assert_greater_or_equal_unchecked(cs, lhs, rhs, self.comparison_bits())
