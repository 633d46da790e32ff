"""The constraint-system builder: modes, layout, digest, labels, input handling."""

import pytest

from circuits.cubic import Cubic
from zkproofs.errors import CircuitError, NonCanonicalFieldElement, UnsatisfiedConstraint
from zkproofs.field import R
from zkproofs.r1cs import ConstraintSystem


def test_cubic_witness_and_layout():
    r1cs, witness = Cubic().synthesize({"x": 3, "y": 35})
    assert r1cs.num_constraints == 3
    assert r1cs.public_names == ("y",)
    assert witness[:3] == [1, 35, 3]  # one, public y, then private x
    assert r1cs.is_satisfied(witness)


def test_wrong_statement_names_failing_constraint():
    r1cs, witness = Cubic().synthesize({"x": 3, "y": 36})
    with pytest.raises(UnsatisfiedConstraint) as info:
        r1cs.check(witness)
    assert info.value.label == "x^3 + x + 5 = y"
    assert info.value.index == 2


def test_shape_mode_gives_same_digest_as_witness_mode():
    shape = Cubic().shape
    r1cs, _ = Cubic().synthesize({"x": 5, "y": 135})
    assert shape.digest() == r1cs.digest()
    assert Cubic().synthesize(None)[1] is None


def test_digest_depends_on_constraints_and_public_layout():
    def build(coeff: int, public: bool) -> str:
        cs = ConstraintSystem()
        x = cs.public_input("x") if public else cs.private_input("x")
        cs.assert_equal(x * coeff, 6, "eq")
        return cs.finish()[0].digest()

    assert build(2, True) == build(2, True)
    assert build(2, True) != build(3, True)
    assert build(2, True) != build(2, False)


def test_public_outputs_come_first_in_layout():
    cs = ConstraintSystem({"a": 4})
    a = cs.private_input("a")
    sq = cs.mul(a, a)
    cs.public_output("square", sq)
    r1cs, witness = cs.finish()
    assert r1cs.public_names == ("square",)
    assert witness[1] == 16
    assert r1cs.is_satisfied(witness)
    # a forged public output does not satisfy the system
    witness[1] = 17
    assert not r1cs.is_satisfied(witness)


def test_missing_unknown_and_noncanonical_inputs():
    with pytest.raises(CircuitError, match="missing input 'x'"):
        Cubic().synthesize({"y": 35})
    with pytest.raises(CircuitError, match="unknown input"):
        Cubic().synthesize({"x": 3, "y": 35, "z": 1})
    with pytest.raises(NonCanonicalFieldElement):
        Cubic().synthesize({"x": R, "y": 35})
    with pytest.raises(NonCanonicalFieldElement):
        Cubic().synthesize({"x": "-1", "y": 35})
    with pytest.raises(NonCanonicalFieldElement):
        Cubic().synthesize({"x": "three", "y": 35})


def test_decimal_and_hex_string_inputs():
    r1cs, witness = Cubic().synthesize({"x": "0x3", "y": "35"})
    assert r1cs.is_satisfied(witness)


def test_product_of_two_variables_needs_mul():
    cs = ConstraintSystem({"a": 2, "b": 3})
    a, b = cs.private_input("a"), cs.private_input("b")
    with pytest.raises(CircuitError, match="cs.mul"):
        _ = a * b
    assert cs.mul(a, 5).terms == (a * 5).terms  # by a constant: free
    assert cs.num_constraints == 0


def test_scoped_labels():
    cs = ConstraintSystem()
    x = cs.private_input("x")
    with cs.scope("outer"):
        with cs.scope("inner"):
            cs.assert_bool(x, "b")
        cs.assert_bool(x, "c")
    cs.assert_bool(x, "d")
    assert cs.finish()[0].labels == ("outer/inner/b", "outer/c", "d")


def test_unknown_circuit_parameter():
    with pytest.raises(CircuitError):
        Cubic(depth=3)


# values-only builds ------------------------------------------------------------------------
def _circuit_cases():
    from circuits.balance_threshold import BalanceThreshold
    from circuits.range_poseidon import RangePoseidon

    yield Cubic(), {"x": 3, "y": 35}
    yield BalanceThreshold(), {"balance": 1_000_000, "salt": 987654321, "threshold": 250_000}
    yield RangePoseidon(count=3), {"values[0]": 1, "values[1]": 2**64 - 1, "values[2]": 0}


@pytest.mark.parametrize("case", range(3))
def test_values_only_witness_equals_the_full_witness(case):
    circuit, inputs = list(_circuit_cases())[case]
    assert circuit.witness(inputs) == circuit.synthesize(inputs)[1]


def test_values_only_names_the_first_unsatisfied_product():
    circuit = Cubic()
    r1cs, witness = circuit.synthesize({"x": 3, "y": 36})
    first = r1cs.labels[r1cs.first_unsatisfied(witness)]
    with pytest.raises(UnsatisfiedConstraint) as info:
        circuit.witness({"x": 3, "y": 36})
    assert info.value.label == first


def test_values_only_build_that_diverges_falls_back_to_the_full_build():
    """x - x is a constant in shape mode (its product is free) but not visibly so without terms:
    the values-only build allocates variables the shape does not have, and witness() uses the full build."""
    from zkproofs.circuit import Circuit

    class Cancelling(Circuit):
        name, description = "cancelling", "x * (x - x + 2) = y"

        def public_inputs(self):
            return ["y"]

        def private_inputs(self):
            return ["x"]

        def define(self, cs):
            y, x = cs.public_input("y"), cs.private_input("x")
            zero = x - x
            cs.assert_equal(cs.mul(x, cs.mul(zero, x) + 2), y)

    cs = ConstraintSystem({"x": 5, "y": 10}, values_only=True)
    Cancelling().define(cs)
    assert len(cs.finish_witness()[2]) > Cancelling().shape.num_variables
    assert Cancelling().witness({"x": 5, "y": 10}) == Cancelling().synthesize({"x": 5, "y": 10})[1]
    with pytest.raises(CircuitError):
        ConstraintSystem(None, values_only=True)
