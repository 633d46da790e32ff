"""The native 4-ary note commitment tree against a naive full tree, and its membership gadget against it,
with forged paths, wrong position digits and non-boolean selector bits."""

from __future__ import annotations

import pytest

from zkproofs.errors import MalformedInput, UnsatisfiedConstraint
from zkproofs.field import R
from zkproofs.poseidon import poseidon_hash
from zkproofs.r1cs import ConstraintSystem
from zkproofs.settlement.note_tree import (
    MemoryNodeStore,
    MembershipPath,
    NoteTree,
    arrange,
    empty_roots,
    node_hash,
    root_from_path,
    sibling_indices,
)
from zkproofs.gadgets import note_tree as gadget  # after zkproofs.settlement: importing the gadgets first is an import cycle


def naive_root(leaves: list[int], depth: int) -> int:
    level = leaves + [0] * ((1 << depth) - len(leaves))
    for _ in range(depth // 2):
        level = [poseidon_hash(level[i : i + 4], t=5) for i in range(0, len(level), 4)]
    return level[0]


def test_empty_roots_are_hashes_of_empty_subtrees():
    z = empty_roots(3)
    assert z[0] == 0 and z[1] == poseidon_hash([0] * 4, t=5) and z[3] == node_hash([z[2]] * 4)
    assert NoteTree(depth=6).root() == z[3] == naive_root([], 6)


def test_depth_is_an_even_number_of_bits():
    assert NoteTree(depth=32).levels == 16
    for depth in (0, 3, 31, 42, True):
        with pytest.raises(MalformedInput, match="even number of bits"):
            NoteTree(depth=depth)


def test_arrange_places_the_node_at_its_digit_and_inverts_sibling_indices():
    for digit in range(4):
        children = arrange(100, (1, 2, 3), digit)
        assert children[digit] == 100 and sorted(children) == [1, 2, 3, 100]
        assert [children[i] for i in sibling_indices(digit)] == [1, 2, 3]


def test_every_prefix_root_and_path_matches_the_naive_tree():
    depth = 6
    tree = NoteTree(depth=depth)
    leaves = []
    for n in range(1, 22):
        leaf = 1000 + n
        tree.append(leaf)
        leaves.append(leaf)
        assert tree.root() == naive_root(leaves, depth)
        for pos in range(n):
            path = tree.path(pos)
            assert root_from_path(leaves[pos], path) == tree.root()
            assert tree.leaf(pos) == leaves[pos]


def test_batched_appends_equal_single_appends_and_reopen_from_the_store():
    single, batched = NoteTree(depth=6), NoteTree(depth=6)
    for leaf in range(1, 38):
        single.append(leaf)
    batched.append_many(range(1, 12))
    batched.append_many(range(12, 38))
    assert batched.root() == single.root()
    reopened = NoteTree(batched.store, size=batched.size, depth=6)
    assert reopened.root() == single.root()
    reopened.append(99)
    single.append(99)
    assert reopened.root() == single.root()
    assert reopened.path(5) == single.path(5)


def test_store_holds_fewer_than_four_thirds_nodes_per_note():
    tree = NoteTree(depth=32)
    tree.append_many(range(1, 1001))
    assert isinstance(tree.store, MemoryNodeStore) and len(tree.store.nodes) < 1000 * 4 / 3


def test_refuses_full_tree_bad_leaf_and_missing_position():
    tree = NoteTree(depth=2)
    tree.append_many([1, 2, 3, 4])
    with pytest.raises(MalformedInput, match="full"):
        tree.append(5)
    with pytest.raises(MalformedInput, match="field element"):
        NoteTree(depth=2).append(-1)
    with pytest.raises(MalformedInput, match="no note at position 4"):
        tree.path(4)


def test_reopening_with_a_store_that_lacks_nodes_fails_closed():
    with pytest.raises(MalformedInput, match="lacks complete node"):
        NoteTree(MemoryNodeStore(), size=3, depth=4).append(7)


def _gadget(leaf, bits, siblings):
    flat = [s for level in siblings for s in level]
    cs = ConstraintSystem({"leaf": leaf, **{f"b{k}": b for k, b in enumerate(bits)}, **{f"s{k}": s for k, s in enumerate(flat)}})
    b = [cs.private_input(f"b{k}") for k in range(len(bits))]
    s = [cs.private_input(f"s{k}") for k in range(len(flat))]
    root, position = gadget.membership_root(cs, cs.private_input("leaf"), b, [s[i : i + 3] for i in range(0, len(s), 3)])
    r1cs, w = cs.finish()
    return r1cs, w, root.value, position.value


@pytest.fixture(scope="module")
def tree():
    t = NoteTree(depth=6)
    t.append_many([11, 22, 33, 44, 55, 66, 77])
    return t


def test_gadget_mirrors_the_native_root_and_position(tree):
    for pos in range(tree.size):
        path = tree.path(pos)
        r1cs, w, root, position = _gadget(tree.leaf(pos), path.bits, path.siblings)
        assert (root, position) == (tree.root(), pos)
        r1cs.check(w)
        assert r1cs.num_constraints == 3 * (2 + 3 + 297)


def test_gadget_arrange_is_the_native_arrangement():
    for digit in range(4):
        cs = ConstraintSystem({})
        out = gadget.arrange(cs, cs.constant(100), [cs.constant(x) for x in (1, 2, 3)], cs.constant(digit & 1), cs.constant(digit >> 1))
        assert [x.value for x in out] == arrange(100, (1, 2, 3), digit)


def test_forged_sibling_or_swapped_siblings_give_another_root(tree):
    path = tree.path(5)
    for level in range(3):
        s0, s1, s2 = path.siblings[level]
        for forged in ((s0 + 1, s1, s2), (s0, s2, s1), (s1, s0, s2)):
            if forged == path.siblings[level]:
                continue
            siblings = list(path.siblings)
            siblings[level] = forged
            _, _, root, _ = _gadget(tree.leaf(5), path.bits, siblings)
            assert root != tree.root()


def test_a_wrong_position_digit_gives_another_root(tree):
    path = tree.path(5)  # digits (1, 1, 0)
    for k in range(6):
        bits = list(path.bits)
        bits[k] ^= 1
        _, _, root, position = _gadget(tree.leaf(5), bits, path.siblings)
        assert root != tree.root() and position != 5
    # the path of another position presented with this leaf
    other = tree.path(6)
    assert _gadget(tree.leaf(5), other.bits, other.siblings)[2] != tree.root()


@pytest.mark.parametrize("b0, b1", [(2, 0), (0, 2), (R - 1, 0), (3, 0), ((R + 1) // 2, 0)])
def test_non_boolean_selector_bits_are_refused_by_their_boolean_constraint(tree, b0, b1):
    path = tree.path(5)
    bits = [b0, b1, *path.bits[2:]]
    r1cs, w, _, _ = _gadget(tree.leaf(5), bits, path.siblings)
    with pytest.raises(UnsatisfiedConstraint, match=r"membership/level\[0\]/path bit [01] boolean"):
        r1cs.check(w)


def test_gadget_refuses_a_path_of_the_wrong_shape():
    cs = ConstraintSystem()
    x = cs.one
    with pytest.raises(ValueError):
        gadget.membership_root(cs, x, [x, x], [[x, x]])
    with pytest.raises(ValueError):
        gadget.membership_root(cs, x, [x], [[x, x, x]])


def test_path_bits_are_two_per_level():
    path = MembershipPath(6, ((1, 2, 3), (4, 5, 6)))
    assert path.depth == 4 and path.bits == [0, 1, 1, 0]
