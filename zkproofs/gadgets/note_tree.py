"""Membership in the 4-ary note commitment tree, in-circuit.

Mirrors :mod:`zkproofs.settlement.note_tree` (node = Poseidon_t5 of four
children; per level a digit d = b0 + 2 b1 given by two little-endian path bits
and three siblings in the order of :func:`zkproofs.settlement.note_tree.arrange`),
as the Merkle-sum gadgets mirror :mod:`zkproofs.tree`.
"""

from __future__ import annotations

from typing import Sequence

from zkproofs.gadgets.bits import from_bits
from zkproofs.gadgets.poseidon import poseidon_hash
from zkproofs.gadgets.select import conditional_swap_unchecked
from zkproofs.r1cs import ConstraintSystem, LinearCombination
from zkproofs.settlement.note_tree import NODE_HASH_T


def arrange(
    cs: ConstraintSystem, node: LinearCombination, siblings: Sequence[LinearCombination], b0: LinearCombination, b1: LinearCombination
) -> list[LinearCombination]:
    """The four children with ``node`` in slot b0 + 2 b1: two swaps, 3 constraints.

    (x, y) = (s0, node) if b0 else (node, s0); then (x, y, s1, s2), or (s1, s2, x, y) if b1.
    Precondition (not checked): b0, b1 in {0, 1} (the caller constrains them); then
    the result is a permutation of (node, s0, s1, s2) with node in slot b0 + 2 b1.
    """
    s0, s1, s2 = siblings
    (x,), (y,) = conditional_swap_unchecked(cs, b0, [node], [s0])
    low, high = conditional_swap_unchecked(cs, b1, [x, y], [s1, s2])
    return [*low, *high]


def membership_root(
    cs: ConstraintSystem, leaf: LinearCombination, bits: Sequence[LinearCombination], siblings: Sequence[Sequence[LinearCombination]]
) -> tuple[LinearCombination, LinearCombination]:
    """(root, position) of ``leaf`` hashed up the path: two bits and three siblings per level, leaf level first.

    Every bit is constrained boolean (so each digit is in {0, 1, 2, 3} and the
    children a permutation with the node in its slot); position = sum bits[k] 2^k
    (free), so the position is the one the path proves. The caller compares the
    root with its anchor. Cost per level: 2 booleans + 3 swap rows + 297 for the
    hash (its capacity is constant): 302.
    """
    if len(bits) != 2 * len(siblings) or any(len(s) != 3 for s in siblings):
        raise ValueError("membership path needs two bits and three siblings per level")
    node = leaf
    with cs.scope("membership"):
        for k, level_siblings in enumerate(siblings):
            with cs.scope(f"level[{k}]"):
                b0, b1 = bits[2 * k], bits[2 * k + 1]
                cs.assert_bool(b0, "path bit 0 boolean")
                cs.assert_bool(b1, "path bit 1 boolean")
                node = poseidon_hash(cs, arrange(cs, node, level_siblings, b0, b1), t=NODE_HASH_T)
    return node, from_bits(cs, bits)
