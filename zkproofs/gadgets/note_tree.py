"""Membership in the note commitment tree, in-circuit.

Mirrors :mod:`zkproofs.settlement.note_tree` (node = Poseidon([left, right]),
t = 3; path bits little-endian, bit k = 1 when the node at height k is a right
child), as the Merkle-sum gadgets mirror :mod:`zkproofs.tree`.
"""

from __future__ import annotations

from typing import Sequence

from zkproofs.gadgets.bits import from_bits
from zkproofs.gadgets.poseidon import poseidon_hash
from zkproofs.gadgets.select import conditional_swap
from zkproofs.r1cs import ConstraintSystem, LinearCombination


def membership_root(
    cs: ConstraintSystem, leaf: LinearCombination, bits: Sequence[LinearCombination], siblings: Sequence[LinearCombination]
) -> tuple[LinearCombination, LinearCombination]:
    """(root, position) of ``leaf`` hashed up the path (bits, siblings), leaf level first.

    Each bit is constrained boolean; position = sum bits[k] 2^k (free), so the
    position is the one the path proves. The caller compares the root with its
    anchor. Cost per level: 1 boolean + 2 swap rows + 240 for the hash.
    """
    if len(bits) != len(siblings):
        raise ValueError("membership path needs one bit per sibling")
    node = leaf
    with cs.scope("membership"):
        for k, (bit, sibling) in enumerate(zip(bits, siblings)):
            with cs.scope(f"level[{k}]"):
                (left,), (right,) = conditional_swap(cs, bit, [node], [sibling])
                node = poseidon_hash(cs, [left, right])
    return node, from_bits(cs, bits)
