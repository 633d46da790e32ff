"""A scalable benchmark circuit: a batch of 64-bit values bound by a Poseidon hash chain.

Statement (public: digest; private: values[0..count-1]): every value is < 2^64
and digest = h_count where h_0 = 0 and h_i = Poseidon(h_{i-1}, values[i-1]).
About 65 + 243 constraints per value, and a realistic mix of witness scalars
(bits from the range checks, full field elements from Poseidon): the circuit
the benchmarks scale from 2^10 to 2^16 constraints.
"""

from __future__ import annotations

from zkproofs.circuit import Circuit
from zkproofs.gadgets.bits import range_check
from zkproofs.gadgets.poseidon import poseidon_hash
from zkproofs.r1cs import ConstraintSystem


class RangePoseidon(Circuit):
    """count private 64-bit values hashed into one public Poseidon chain digest."""

    name = "range_poseidon"
    description = "benchmark: count 64-bit range checks + a Poseidon hash chain"
    parameters = {"count": (4, "number of private 64-bit values")}

    def public_inputs(self) -> list[str]:
        return ["digest"]

    def derived_public_inputs(self) -> list[str]:
        return ["digest"]

    def private_inputs(self) -> list[str]:
        return [f"values[{i}]" for i in range(self.params["count"])]

    def define(self, cs: ConstraintSystem) -> None:
        acc = cs.constant(0)
        for i in range(self.params["count"]):
            value = cs.private_input(f"values[{i}]")
            with cs.scope(f"value {i}"):
                range_check(cs, value, 64)
                acc = poseidon_hash(cs, [acc, value])
        cs.public_output("digest", acc)
