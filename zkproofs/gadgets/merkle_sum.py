"""Merkle-sum tree gadgets: leaf hash, node hash and one level of an inclusion path.

Mirror :mod:`zkproofs.tree.hashing` (layout version 3, same tags, same packing,
Poseidon t = 5): leaf = Poseidon([commitment, (pledge digest,) *pack_64([LEAF_TAG,
*equities, *debts, *pledged])]), node = Poseidon([h_L, h_R, *pack_W([NODE_TAG, *sums_L, *sums_R])])
with W = 64 + depth and sums = equity sums then debt sums; parent sums = left
+ right (Hu, Zhang, Guo 2019; summa-solvency's ``merkle_sum_tree`` chip does the
same per level). Packing is a linear combination (no constraint), injective
only while every slot value is below 2^w; sums are ordinary field additions,
meaningful only while nothing wraps mod r. Both hold by induction: the caller
range-checks the leaf amounts to 64 bits, and the level step range-checks the
sibling's sums to 64 + height bits, so every sum at height k is < 2^(64 + k)
<= 2^W. A sibling sum that spills into its neighbour's slot (s_i + 2^W with
s_(i+1) - 1 packs to the same element) fails that range check.
"""

from __future__ import annotations

from typing import Sequence

from zkproofs.gadgets.bits import range_check
from zkproofs.gadgets.poseidon import poseidon_hash
from zkproofs.gadgets.select import conditional_swap
from zkproofs.r1cs import ConstraintSystem, LinearCombination
from zkproofs.tree.hashing import AMOUNT_BITS, LEAF_TAG, NODE_TAG, PACK_BITS, SUBTREE_TAG, TREE_HASH_T, slot_bits


def pack(cs: ConstraintSystem, values: Sequence[LinearCombination], bits: int) -> list[LinearCombination]:
    """:func:`zkproofs.tree.hashing.pack` over linear combinations: no constraint.

    Precondition (not checked): every value < 2^bits, else two packings collide.
    """
    per = PACK_BITS // bits
    if per < 1:
        raise ValueError(f"cannot pack {bits}-bit values into {PACK_BITS}-bit field elements")
    out = []
    for start in range(0, len(values), per):
        acc = cs.constant(0)
        for i, v in enumerate(values[start : start + per]):
            acc = acc + v * (1 << (bits * i))
        out.append(acc)
    return out


def leaf_hash(
    cs: ConstraintSystem,
    commitment: LinearCombination,
    equities: Sequence[LinearCombination],
    debts: Sequence[LinearCombination],
    pledged: Sequence[LinearCombination] = (),
    pledge_digest: LinearCombination | None = None,
) -> LinearCombination:
    """Poseidon_t5([commitment, *pack_64([LEAF_TAG, *equities, *debts])]) without pledge classes, or
    Poseidon_t5([commitment, pledge_digest, *pack_64([LEAF_TAG, *equities, *debts, *pledged])]) with
    them (``pledged``: the K x A pledged amounts, class-major; ``pledge_digest``: the classes' digest,
    :func:`zkproofs.tree.hashing.pledge_digest`, a public input the verifier computes).

    Precondition (the caller's range check): every amount < 2^64.
    Cost: 300 constraints per permutation, ceil((1 + min(K, 1) + ceil((1 + (2 + K) A) / 3)) / 4)
    permutations (one at 4 assets, three with 3 pledge classes: 9 inputs at rate 4).
    """
    if (pledge_digest is None) != (not pledged):
        raise ValueError("leaf_hash takes a pledge digest exactly when it takes pledged amounts")
    with cs.scope("leaf_hash"):
        packed = pack(cs, [cs.constant(LEAF_TAG), *equities, *debts, *pledged], AMOUNT_BITS)
        return poseidon_hash(cs, [commitment, *([pledge_digest] if pledged else []), *packed], t=TREE_HASH_T)


def node_hash(
    cs: ConstraintSystem,
    depth: int,
    left_hash: LinearCombination,
    left_sums: Sequence[LinearCombination],
    right_hash: LinearCombination,
    right_sums: Sequence[LinearCombination],
) -> LinearCombination:
    """Poseidon_t5([h_L, h_R, *pack_W([NODE_TAG, *left_sums, *right_sums])]), W = 64 + depth.

    Precondition: every sum < 2^W. Cost: 300 constraints per permutation,
    ceil((2 + ceil((1 + 4A) / S)) / 4) permutations, S = 254 // W (two at 4
    assets and depth <= 20, three deeper).
    """
    if len(left_sums) != len(right_sums):
        raise ValueError("node_hash needs equally many left and right sums")
    with cs.scope("node_hash"):
        packed = pack(cs, [cs.constant(NODE_TAG), *left_sums, *right_sums], slot_bits(depth))
        return poseidon_hash(cs, [left_hash, right_hash, *packed], t=TREE_HASH_T)


def level_step(
    cs: ConstraintSystem,
    depth: int,
    height: int,
    is_right: LinearCombination,
    current_hash: LinearCombination,
    current_sums: Sequence[LinearCombination],
    sibling_hash: LinearCombination,
    sibling_sums: Sequence[LinearCombination],
) -> tuple[LinearCombination, list[LinearCombination]]:
    """One level up the path from a node at ``height`` (leaves: 0) of a tree of ``depth``: (parent hash, parent sums).

    ``is_right`` is the path bit (1: the current node is the right child); it is
    constrained boolean. The sibling's sums are range-checked to 64 + height
    bits. Precondition (the caller's induction): every current sum < 2^(64 + height),
    so the parent sums are < 2^(64 + height + 1) <= 2^(64 + depth) and neither
    wrap nor overflow a packing slot.
    Cost: 1 + (2A + 1) swaps + 2A (65 + height) range bits + the node hash.
    """
    if len(current_sums) != len(sibling_sums):
        raise ValueError("level_step needs equally many current and sibling sums")
    if not 0 <= height < depth:
        raise ValueError(f"height {height} is not below the depth {depth}")
    with cs.scope(f"level[{height}]"):
        for i, s in enumerate(sibling_sums):
            with cs.scope(f"sibling_sum[{i}]"):
                range_check(cs, s, AMOUNT_BITS + height)
        left, right = conditional_swap(cs, is_right, [current_hash, *current_sums], [sibling_hash, *sibling_sums])
        parent_sums = [a + b for a, b in zip(left[1:], right[1:])]
        return node_hash(cs, depth, left[0], left[1:], right[0], right[1:]), parent_sums


def subtree_commitment(
    cs: ConstraintSystem, depth: int, node_hash_value: LinearCombination, sums: Sequence[LinearCombination], blinding: LinearCombination
) -> LinearCombination:
    """:func:`zkproofs.tree.hashing.subtree_commitment` over linear combinations:
    Poseidon_t5([hash, *pack_W([SUBTREE_TAG, *sums]), blinding]), W = 64 + depth.

    Precondition: every sum < 2^W (a circuit that computes the sums has it by
    induction; one that opens a commitment must range-check the sums it claims, or two
    sum vectors that pack alike would open the same commitment). Cost: 300 constraints
    per permutation (two at 4 assets and depth <= 20).
    """
    with cs.scope("subtree_commitment"):
        packed = pack(cs, [cs.constant(SUBTREE_TAG), *sums], slot_bits(depth))
        return poseidon_hash(cs, [node_hash_value, *packed, blinding], t=TREE_HASH_T)
