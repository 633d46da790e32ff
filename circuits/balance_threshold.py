"""Proof of minimum balance: a committed hidden balance is at least a public threshold.

Statement (public: threshold, commitment; private: balance, salt):
    commitment = Poseidon(balance, salt)      (t = 3 sponge, zkproofs.poseidon)
    balance < 2^64                            (64-bit range check)
    threshold < 2^64 and balance >= threshold
The commitment is computed in-circuit from the private inputs and exposed as a
public input, so the verifier learns it without the prover supplying it.
The template for the product circuits: declared inputs, one ``define``.
"""

from __future__ import annotations

from zkproofs.circuit import Circuit
from zkproofs.gadgets.bits import range_check
from zkproofs.gadgets.compare import assert_greater_or_equal_unchecked
from zkproofs.gadgets.poseidon import poseidon_hash
from zkproofs.r1cs import ConstraintSystem

BALANCE_BITS = 64


class BalanceThreshold(Circuit):
    """Hidden balance (64-bit, committed with a salt) >= public threshold."""

    name = "balance_threshold"
    description = "committed balance in [threshold, 2^64)"

    def public_inputs(self) -> list[str]:
        return ["threshold", "commitment"]

    def derived_public_inputs(self) -> list[str]:
        return ["commitment"]

    def private_inputs(self) -> list[str]:
        return ["balance", "salt"]

    def define(self, cs: ConstraintSystem) -> None:
        threshold = cs.public_input("threshold")
        balance = cs.private_input("balance")
        salt = cs.private_input("salt")
        with cs.scope("balance"):
            range_check(cs, balance, BALANCE_BITS)
        with cs.scope("threshold"):
            range_check(cs, threshold, BALANCE_BITS)
        assert_greater_or_equal_unchecked(cs, balance, threshold, BALANCE_BITS)
        cs.public_output("commitment", poseidon_hash(cs, [balance, salt]))
