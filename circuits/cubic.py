"""The textbook toy circuit: knowledge of x with x^3 + x + 5 = y (Buterin's QAP primer)."""

from __future__ import annotations

from zkproofs.circuit import Circuit
from zkproofs.r1cs import ConstraintSystem


class Cubic(Circuit):
    """Public y, private x, statement x^3 + x + 5 = y. Three constraints."""

    name = "cubic"
    description = "toy: knowledge of x with x^3 + x + 5 = y"

    def public_inputs(self) -> list[str]:
        return ["y"]

    def private_inputs(self) -> list[str]:
        return ["x"]

    def define(self, cs: ConstraintSystem) -> None:
        y = cs.public_input("y")
        x = cs.private_input("x")
        x2 = cs.mul(x, x, "x^2")
        x3 = cs.mul(x2, x, "x^3")
        cs.assert_equal(x3 + x + 5, y, "x^3 + x + 5 = y")
