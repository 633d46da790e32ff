"""Merkle-sum tree gadgets: leaf hash, node hash and one level of an inclusion path.

Mirror :mod:`zkproofs.tree.hashing` (same tags, same Poseidon t = 5 input
order): leaf = Poseidon([LEAF_TAG, commitment, *equities, *debts]), node =
Poseidon([NODE_TAG, h_L, *sums_L, h_R, *sums_R]) with sums = equity sums then
debt sums; parent sums = left + right (Hu, Zhang, Guo 2019; summa-solvency's
``merkle_sum_tree`` chip does the same per level). Sums are ordinary field
additions, so they are only meaningful while nothing wraps mod r: the level
step range-checks the sibling's sums to 64 + height bits, and the caller must
range-check the leaf amounts to 64 bits; by induction every sum at height k is
then < 2^(64 + k) < r.
"""

from __future__ import annotations

from typing import Sequence

from zkproofs.gadgets.bits import range_check
from zkproofs.gadgets.poseidon import poseidon_hash
from zkproofs.gadgets.select import conditional_swap
from zkproofs.r1cs import ConstraintSystem, LinearCombination
from zkproofs.tree.hashing import AMOUNT_BITS, LEAF_TAG, NODE_TAG, TREE_HASH_T


def leaf_hash(
    cs: ConstraintSystem, commitment: LinearCombination, equities: Sequence[LinearCombination], debts: Sequence[LinearCombination]
) -> LinearCombination:
    """Poseidon_t5([LEAF_TAG, commitment, *equities, *debts]); no range check (caller's job).

    Cost: 3 (8 * 5 + 60) = 300 constraints per 4 inputs absorbed.
    """
    with cs.scope("leaf_hash"):
        return poseidon_hash(cs, [cs.constant(LEAF_TAG), commitment, *equities, *debts], t=TREE_HASH_T)


def node_hash(
    cs: ConstraintSystem,
    left_hash: LinearCombination,
    left_sums: Sequence[LinearCombination],
    right_hash: LinearCombination,
    right_sums: Sequence[LinearCombination],
) -> LinearCombination:
    """Poseidon_t5([NODE_TAG, left_hash, *left_sums, right_hash, *right_sums]); sums: equities then debts."""
    if len(left_sums) != len(right_sums):
        raise ValueError("node_hash needs equally many left and right sums")
    with cs.scope("node_hash"):
        return poseidon_hash(cs, [cs.constant(NODE_TAG), left_hash, *left_sums, right_hash, *right_sums], t=TREE_HASH_T)


def level_step(
    cs: ConstraintSystem,
    height: int,
    is_right: LinearCombination,
    current_hash: LinearCombination,
    current_sums: Sequence[LinearCombination],
    sibling_hash: LinearCombination,
    sibling_sums: Sequence[LinearCombination],
) -> tuple[LinearCombination, list[LinearCombination]]:
    """One level up the path from a node at ``height`` (leaves: 0): (parent hash, parent sums).

    ``is_right`` is the path bit (1: the current node is the right child); it is
    constrained boolean. The sibling's sums are range-checked to 64 + height
    bits. Precondition (the caller's induction): every current sum < 2^(64 + height),
    so the parent sums are < 2^(64 + height + 1) and never wrap.
    Cost: 1 + (2A + 1) swaps + 2A (65 + height) range bits + the node hash.
    """
    if len(current_sums) != len(sibling_sums):
        raise ValueError("level_step needs equally many current and sibling sums")
    with cs.scope(f"level[{height}]"):
        for i, s in enumerate(sibling_sums):
            with cs.scope(f"sibling_sum[{i}]"):
                range_check(cs, s, AMOUNT_BITS + height)
        left, right = conditional_swap(cs, is_right, [current_hash, *current_sums], [sibling_hash, *sibling_sums])
        parent_sums = [a + b for a, b in zip(left[1:], right[1:])]
        return node_hash(cs, left[0], left[1:], right[0], right[1:]), parent_sums
