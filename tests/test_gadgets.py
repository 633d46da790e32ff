"""Gadgets: boundary cases and adversarial hints (a forged witness must not satisfy).

Tier 1 of the test pyramid: constraint satisfaction only, many cases, fast.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits.range_poseidon import RangePoseidon
from tests.helpers import forged, hint_index
from zkproofs.errors import CircuitError
from zkproofs.field import R
from zkproofs.gadgets.bits import MAX_BITS, from_bits, range_check, to_bits
from zkproofs.gadgets.compare import (
    assert_greater_or_equal,
    assert_greater_or_equal_unchecked,
    greater_or_equal,
    is_equal,
    is_zero,
    less_than,
    less_than_unchecked,
)
from zkproofs.gadgets.select import conditional_swap, select
from zkproofs.r1cs import ConstraintSystem


def build(values: dict[str, int], body):
    """Run ``body(cs, *inputs)`` in witness mode; return (r1cs, witness, result)."""
    cs = ConstraintSystem(values)
    inputs = [cs.private_input(name) for name in values]
    result = body(cs, *inputs)
    r1cs, witness = cs.finish()
    return r1cs, witness, result


# bits -----------------------------------------------------------------------------
@pytest.mark.parametrize("value,ok", [(0, True), (2**64 - 1, True), (2**64, False), (R - 1, False), (2**65, False)])
def test_range_check_64_boundary(value, ok):
    r1cs, witness, _ = build({"x": value}, lambda cs, x: range_check(cs, x, 64))
    assert r1cs.is_satisfied(witness) is ok


def test_to_bits_recomposes():
    r1cs, witness, bits = build({"x": 0b1011}, lambda cs, x: to_bits(cs, x, 4))
    assert [b.value for b in bits] == [1, 1, 0, 1]
    assert r1cs.num_constraints == 5
    assert r1cs.is_satisfied(witness)


def test_wrong_bit_is_rejected():
    r1cs, witness, _ = build({"x": 0b1011}, lambda cs, x: to_bits(cs, x, 4))
    assert not r1cs.is_satisfied(forged(witness, hint_index(r1cs, "bit 2"), 1))


def test_non_boolean_bits_that_recompose_are_rejected():
    # x = 3 written as bit0 = 3, bit1 = 0: the recomposition holds, booleanity does not.
    r1cs, witness, _ = build({"x": 3}, lambda cs, x: to_bits(cs, x, 4))
    w = forged(witness, hint_index(r1cs, "bit 0"), 3)
    w = forged(w, hint_index(r1cs, "bit 1"), 0)
    index = r1cs.first_unsatisfied(w)
    assert index is not None and r1cs.labels[index].endswith("bit 0 boolean")


def test_wrapping_widths_are_refused():
    cs = ConstraintSystem()
    x = cs.private_input("x")
    with pytest.raises(CircuitError, match="wrap"):
        to_bits(cs, x, MAX_BITS + 1)
    with pytest.raises(CircuitError):
        range_check(cs, x, 0)


def test_bit_width_cap_is_254_literally():
    # 2^254 < r < 2^255: 254-bit decompositions are unique, 255-bit ones are not.
    r1cs, witness, _ = build({"x": 2**254 - 1}, lambda cs, x: to_bits(cs, x, 254))
    assert r1cs.is_satisfied(witness)
    r1cs, witness, _ = build({"x": R - 1}, lambda cs, x: range_check(cs, x, 254))
    assert not r1cs.is_satisfied(witness)  # r - 1 >= 2^254
    cs = ConstraintSystem({"x": 5})
    x = cs.private_input("x")
    with pytest.raises(CircuitError):
        to_bits(cs, x, 255)
    with pytest.raises(CircuitError):
        range_check(cs, x, 255)


def test_range_poseidon_value_2_64_is_unsatisfied():
    # The prover picks the value freely (every other hint is computed from it), so
    # forging it to >= 2^64 means synthesizing with that value: the Poseidon chain
    # accepts any field element, only the 64-bit range check refuses it.
    circuit = RangePoseidon(count=2)
    r1cs, witness = circuit.synthesize({"values[0]": 7, "values[1]": 2**64 - 1})
    assert r1cs.is_satisfied(witness)
    for value in (2**64, 2**64 + 7, R - 1):
        r1cs, witness = circuit.synthesize({"values[0]": 7, "values[1]": value})
        index = r1cs.first_unsatisfied(witness)
        assert index is not None and r1cs.labels[index].startswith("value 1/to_bits[64]/"), value


def test_from_bits_is_linear():
    cs = ConstraintSystem({"a": 1, "b": 0, "c": 1})
    bits = [cs.private_input(n) for n in "abc"]
    assert from_bits(cs, bits).value == 5
    assert cs.num_constraints == 0


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_to_bits_property(value):
    r1cs, witness, bits = build({"x": value}, lambda cs, x: to_bits(cs, x, 32))
    assert r1cs.is_satisfied(witness)
    assert sum(b.value << i for i, b in enumerate(bits)) == value


# is_zero / is_equal -------------------------------------------------------------------
@pytest.mark.parametrize("value,expected", [(0, 1), (1, 0), (R - 1, 0), (12345, 0)])
def test_is_zero(value, expected):
    r1cs, witness, out = build({"x": value}, is_zero)
    assert out.value == expected
    assert r1cs.is_satisfied(witness)


@pytest.mark.parametrize("value", [0, 7])
def test_is_zero_forged_output_rejected(value):
    r1cs, witness, out = build({"x": value}, is_zero)
    assert not r1cs.is_satisfied(forged(witness, hint_index(r1cs, "is_zero/out"), 1 - out.value))


def test_is_zero_forged_inverse_rejected_for_nonzero():
    r1cs, witness, _ = build({"x": 7}, is_zero)
    assert not r1cs.is_satisfied(forged(witness, hint_index(r1cs, "is_zero/inverse"), 5))


@pytest.mark.parametrize("value", [7, R - 1])
def test_is_zero_forged_out_one_and_inverse_zero_rejected(value):
    # out = 1, inverse = 0 satisfies x * inverse = 1 - out; only x * out = 0 refuses it.
    r1cs, witness, out = build({"x": value}, is_zero)
    assert out.value == 0
    w = forged(witness, hint_index(r1cs, "is_zero/out"), 1)
    w = forged(w, hint_index(r1cs, "is_zero/inverse"), 0)
    index = r1cs.first_unsatisfied(w)
    assert index is not None and r1cs.labels[index] == "is_zero/x * out = 0"


def test_is_equal():
    _, _, eq = build({"a": 9, "b": 9}, is_equal)
    _, _, ne = build({"a": 9, "b": 8}, is_equal)
    assert (eq.value, ne.value) == (1, 0)


# comparisons ------------------------------------------------------------------------
@pytest.mark.parametrize("a,b,expected", [(9, 10, 1), (10, 10, 0), (11, 10, 0), (0, 255, 1), (255, 0, 0)])
def test_less_than_boundary(a, b, expected):
    r1cs, witness, lt = build({"a": a, "b": b}, lambda cs, x, y: less_than(cs, x, y, 8))
    assert lt.value == expected
    assert r1cs.is_satisfied(witness)


def test_less_than_forged_result_rejected():
    # forging the top bit of the difference (the result) breaks the recomposition
    r1cs, witness, lt = build({"a": 9, "b": 10}, lambda cs, x, y: less_than_unchecked(cs, x, y, 8))
    assert lt.value == 1
    assert not r1cs.is_satisfied(forged(witness, hint_index(r1cs, "less_than/to_bits[9]/bit 8"), 1))


def test_less_than_refuses_out_of_range_operands():
    # 256 does not fit 8 bits: the checked comparison is unsatisfiable
    r1cs, witness, _ = build({"a": 256, "b": 3}, lambda cs, x, y: less_than(cs, x, y, 8))
    assert not r1cs.is_satisfied(witness)


@pytest.mark.parametrize("b", [R - 1, 2**8, R - 200])
def test_less_than_refuses_out_of_range_second_operand(b):
    # a - b + 2^8 fits 9 bits for these b, so the comparison itself accepts them
    # (and would claim a >= b); only the range check of b refuses them.
    r1cs, witness, _ = build({"a": 3, "b": b}, lambda cs, x, y: less_than_unchecked(cs, x, y, 8))
    assert r1cs.is_satisfied(witness)
    r1cs, witness, _ = build({"a": 3, "b": b}, lambda cs, x, y: less_than(cs, x, y, 8))
    index = r1cs.first_unsatisfied(witness)
    # rows 0..8: range check of a; rows 9..17: range check of b; then the comparison
    assert index is not None and 9 <= index < 18 and r1cs.labels[index] == "to_bits[8]/recomposition"


def test_greater_or_equal():
    _, _, ge = build({"a": 10, "b": 10}, lambda cs, x, y: greater_or_equal(cs, x, y, 8))
    _, _, lt = build({"a": 9, "b": 10}, lambda cs, x, y: greater_or_equal(cs, x, y, 8))
    assert (ge.value, lt.value) == (1, 0)


@pytest.mark.parametrize("a,b,ok", [(17, 10, True), (10, 10, True), (10, 11, False), (0, 2**64 - 1, False), (2**64 - 1, 0, True)])
def test_assert_greater_or_equal_unchecked_boundary(a, b, ok):
    r1cs, witness, _ = build({"a": a, "b": b}, lambda cs, x, y: assert_greater_or_equal_unchecked(cs, x, y, 64))
    assert r1cs.is_satisfied(witness) is ok


def test_assert_greater_or_equal_checks_operands():
    # a = 2^64 + 5 is not a 64-bit value even though a >= b
    r1cs, witness, _ = build({"a": 2**64 + 5, "b": 3}, lambda cs, x, y: assert_greater_or_equal(cs, x, y, 64))
    assert not r1cs.is_satisfied(witness)


@pytest.mark.parametrize("a,b", [(10, R - 5), (0, R - 2**64 + 1), (2**64 - 2, R - 1)])
def test_assert_greater_or_equal_checks_second_operand(a, b):
    # b = r - k is "negative": a - b = a + k < 2^64 passes the difference check, a is
    # in range, so only the range check of b refuses it.
    r1cs, witness, _ = build({"a": a, "b": b}, lambda cs, x, y: assert_greater_or_equal_unchecked(cs, x, y, 64))
    assert r1cs.is_satisfied(witness)
    r1cs, witness, _ = build({"a": a, "b": b}, lambda cs, x, y: assert_greater_or_equal(cs, x, y, 64))
    index = r1cs.first_unsatisfied(witness)
    # rows 0..64: range check of a; rows 65..129: range check of b; then the difference
    assert index is not None and 65 <= index < 130 and r1cs.labels[index] == "to_bits[64]/recomposition"


def test_comparison_width_cap_is_253_literally():
    # Width 254 would be unsound: for a < b, a - b = r - (b - a) can be < 2^254.
    cs = ConstraintSystem({"a": 1, "b": 2})
    a, b = cs.private_input("a"), cs.private_input("b")
    for gadget in (assert_greater_or_equal_unchecked, less_than_unchecked, assert_greater_or_equal, less_than):
        with pytest.raises(CircuitError):
            gadget(cs, a, b, 254)
    ok = lambda cs, x, y: assert_greater_or_equal_unchecked(cs, x, y, 253)  # noqa: E731
    r1cs, witness, _ = build({"a": 2**253 - 1, "b": 0}, ok)
    assert r1cs.is_satisfied(witness)
    r1cs, witness, _ = build({"a": 0, "b": 2**253 - 1}, ok)
    assert not r1cs.is_satisfied(witness)
    r1cs, witness, lt = build({"a": 0, "b": 2**253 - 1}, lambda cs, x, y: less_than(cs, x, y, 253))
    assert lt.value == 1 and r1cs.is_satisfied(witness)


# select / swap --------------------------------------------------------------------------
@pytest.mark.parametrize("cond,expected", [(1, 4), (0, 9)])
def test_select(cond, expected):
    r1cs, witness, out = build({"c": cond, "a": 4, "b": 9}, select)
    assert out.value == expected
    assert r1cs.is_satisfied(witness)


def test_select_non_boolean_condition_rejected():
    r1cs, witness, _ = build({"c": 2, "a": 4, "b": 9}, select)
    assert not r1cs.is_satisfied(witness)


@pytest.mark.parametrize("cond", [0, 1])
def test_conditional_swap(cond):
    def body(cs, c, a0, a1, b0, b1):
        return conditional_swap(cs, c, [a0, a1], [b0, b1])

    r1cs, witness, (left, right) = build({"c": cond, "a0": 1, "a1": 2, "b0": 3, "b1": 4}, body)
    assert r1cs.is_satisfied(witness)
    got = ([x.value for x in left], [x.value for x in right])
    assert got == (([1, 2], [3, 4]) if cond == 0 else ([3, 4], [1, 2]))


def test_conditional_swap_non_boolean_rejected():
    def body(cs, c, a, b):
        return conditional_swap(cs, c, [a], [b])

    r1cs, witness, _ = build({"c": 2, "a": 1, "b": 3}, body)
    assert not r1cs.is_satisfied(witness)
