"""Zero tests and comparisons of bounded integers.

Comparisons follow circomlib's ``LessThan``: for a, b < 2^n, a - b + 2^n lies in
[1, 2^(n+1)) and its bit n is 1 exactly when a >= b. That is only sound when both
operands really are below 2^n, so the plain functions range-check their operands
and the ``..._unchecked`` variants, which trust the caller, say so in their name.
"""

from __future__ import annotations

from zkproofs.field import inv
from zkproofs.gadgets.bits import MAX_BITS, range_check, to_bits
from zkproofs.errors import CircuitError
from zkproofs.r1cs import ConstraintSystem, LinearCombination


def is_zero(cs: ConstraintSystem, x: LinearCombination) -> LinearCombination:
    """1 if x == 0 else 0, as a boolean variable. Two constraints.

    Hints: out and inv; x * inv = 1 - out and x * out = 0 pin out down
    (if x != 0 the second forces out = 0, then the first forces inv = 1/x;
    if x == 0 the first forces out = 1).
    """
    with cs.scope("is_zero"):
        out = cs.witness(lambda: 1 if x.value == 0 else 0, "out")
        inverse = cs.witness(lambda: inv(x.value) if x.value else 0, "inverse")
        cs.enforce(x, inverse, 1 - out, "x * inverse = 1 - out")
        cs.enforce(x, out, 0, "x * out = 0")
    return out


def is_equal(cs: ConstraintSystem, a: LinearCombination, b: LinearCombination) -> LinearCombination:
    """1 if a == b else 0. Two constraints."""
    return is_zero(cs, a - b)


def _check_comparison_width(n: int) -> None:
    if not isinstance(n, int) or not 1 <= n < MAX_BITS:
        raise CircuitError(f"comparison width {n!r} must be in [1, {MAX_BITS - 1}]")


def less_than_unchecked(cs: ConstraintSystem, a: LinearCombination, b: LinearCombination, n: int) -> LinearCombination:
    """1 if a < b else 0. Precondition (not checked): 0 <= a, b < 2^n. n + 2 constraints."""
    _check_comparison_width(n)
    with cs.scope("less_than"):
        bits = to_bits(cs, a - b + (1 << n), n + 1)
    return 1 - bits[n]


def less_than(cs: ConstraintSystem, a: LinearCombination, b: LinearCombination, n: int) -> LinearCombination:
    """1 if a < b else 0, with a and b range-checked to n bits. 3n + 4 constraints."""
    range_check(cs, a, n)
    range_check(cs, b, n)
    return less_than_unchecked(cs, a, b, n)


def greater_or_equal(cs: ConstraintSystem, a: LinearCombination, b: LinearCombination, n: int) -> LinearCombination:
    """1 if a >= b else 0, with a and b range-checked to n bits."""
    return 1 - less_than(cs, a, b, n)


def assert_greater_or_equal_unchecked(cs: ConstraintSystem, a: LinearCombination, b: LinearCombination, n: int) -> None:
    """Constrain a >= b. Precondition (not checked): 0 <= a, b < 2^n, n <= MAX_BITS - 1.

    a - b is range-checked to n bits: if a < b it equals r - (b - a) >= r - 2^n > 2^n,
    which has no n-bit decomposition. n + 1 constraints.
    """
    _check_comparison_width(n)
    with cs.scope("greater_or_equal"):
        range_check(cs, a - b, n)


def assert_greater_or_equal(cs: ConstraintSystem, a: LinearCombination, b: LinearCombination, n: int) -> None:
    """Constrain a >= b with both operands range-checked to n bits. 3n + 3 constraints."""
    range_check(cs, a, n)
    range_check(cs, b, n)
    assert_greater_or_equal_unchecked(cs, a, b, n)
