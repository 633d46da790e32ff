"""Bit decomposition and range checks.

``to_bits`` allocates n bit hints, constrains each to {0, 1} and constrains their
weighted sum to equal x (n + 1 constraints), as circomlib's ``Num2Bits``.
The decomposition is unique only while 2^n <= r, so n is capped at
MAX_BITS = 254: with n >= 255 a value could have two decompositions (x and x + r)
and a "range check" would accept values that wrapped around the field.
"""

from __future__ import annotations

from typing import Sequence

from zkproofs.errors import CircuitError
from zkproofs.field import R_BITS
from zkproofs.r1cs import ConstraintSystem, LinearCombination, linear_sum

MAX_BITS = R_BITS - 1
"""Largest n for which n-bit decompositions are unique in F_r (2^254 < r < 2^255)."""


def _check_width(n: int) -> None:
    if not isinstance(n, int) or not 1 <= n <= MAX_BITS:
        raise CircuitError(f"bit width {n!r} must be in [1, {MAX_BITS}]: wider values can wrap mod r")


def boolean(cs: ConstraintSystem, x: LinearCombination, label: str = "boolean") -> LinearCombination:
    """Constrain x to {0, 1} (one constraint) and return it."""
    cs.assert_bool(x, label)
    return x


def to_bits(cs: ConstraintSystem, x: LinearCombination, n: int) -> list[LinearCombination]:
    """Little-endian n-bit decomposition of x; unsatisfiable unless 0 <= x < 2^n.

    Cost: n + 1 constraints. Raises CircuitError if n is not in [1, MAX_BITS].
    """
    _check_width(n)
    bits = []
    with cs.scope(f"to_bits[{n}]"):
        for i in range(n):
            bit = cs.witness(lambda i=i: (x.value >> i) & 1, f"bit {i}")
            cs.assert_bool(bit, f"bit {i} boolean")
            bits.append(bit)
        cs.assert_equal(from_bits(cs, bits), x, "recomposition")
    return bits


def from_bits(cs: ConstraintSystem, bits: Sequence[LinearCombination]) -> LinearCombination:
    """Sum of bits[i] * 2^i (no constraint; the bits must already be boolean)."""
    return linear_sum((bit * (1 << i) for i, bit in enumerate(bits)), cs.witness_mode)


def range_check(cs: ConstraintSystem, x: LinearCombination, n: int) -> None:
    """Constrain 0 <= x < 2^n (n + 1 constraints). n must be in [1, MAX_BITS]."""
    to_bits(cs, x, n)
