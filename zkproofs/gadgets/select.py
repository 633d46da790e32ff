"""Selection and conditional swap (Merkle path ordering)."""

from __future__ import annotations

from typing import Sequence

from zkproofs.r1cs import ConstraintSystem, LinearCombination


def select_unchecked(cs: ConstraintSystem, cond: LinearCombination, a: LinearCombination, b: LinearCombination) -> LinearCombination:
    """a if cond else b = b + cond * (a - b). Precondition (not checked): cond in {0, 1}. One constraint."""
    return b + cs.mul(cond, a - b, "select")


def select(cs: ConstraintSystem, cond: LinearCombination, a: LinearCombination, b: LinearCombination) -> LinearCombination:
    """a if cond else b, with cond constrained boolean. Two constraints."""
    cs.assert_bool(cond, "select condition boolean")
    return select_unchecked(cs, cond, a, b)


def conditional_swap_unchecked(
    cs: ConstraintSystem, cond: LinearCombination, a: Sequence[LinearCombination], b: Sequence[LinearCombination]
) -> tuple[list[LinearCombination], list[LinearCombination]]:
    """(b, a) if cond else (a, b), element-wise over equal-length vectors.

    Precondition (not checked): cond in {0, 1}. One constraint per element:
    t = cond * (b - a); left = a + t; right = b - t.
    """
    if len(a) != len(b):
        raise ValueError("conditional_swap needs vectors of equal length")
    left, right = [], []
    for x, y in zip(a, b):
        t = cs.mul(cond, y - x, "swap")
        left.append(x + t)
        right.append(y - t)
    return left, right


def conditional_swap(
    cs: ConstraintSystem, cond: LinearCombination, a: Sequence[LinearCombination], b: Sequence[LinearCombination]
) -> tuple[list[LinearCombination], list[LinearCombination]]:
    """Like :func:`conditional_swap_unchecked`, with cond constrained boolean."""
    cs.assert_bool(cond, "swap condition boolean")
    return conditional_swap_unchecked(cs, cond, a, b)
