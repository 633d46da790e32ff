"""The native note commitment tree against a naive full tree, and its membership gadget against it."""

from __future__ import annotations

import pytest

from zkproofs.errors import MalformedInput, UnsatisfiedConstraint
from zkproofs.gadgets.note_tree import membership_root
from zkproofs.poseidon import hash2
from zkproofs.r1cs import ConstraintSystem
from zkproofs.settlement.note_tree import MemoryNodeStore, MembershipPath, NoteTree, empty_roots, root_from_path


def naive_root(leaves: list[int], depth: int) -> int:
    level = leaves + [0] * ((1 << depth) - len(leaves))
    for _ in range(depth):
        level = [hash2(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def test_empty_roots_are_hashes_of_empty_subtrees():
    z = empty_roots(3)
    assert z[0] == 0 and z[1] == hash2(0, 0) and z[3] == hash2(z[2], z[2])
    assert NoteTree(depth=3).root() == z[3] == naive_root([], 3)


def test_every_prefix_root_and_path_matches_the_naive_tree():
    depth = 5
    tree = NoteTree(depth=depth)
    leaves = []
    for n in range(1, 20):
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


def test_store_holds_fewer_than_two_nodes_per_note():
    tree = NoteTree(depth=32)
    tree.append_many(range(1, 1001))
    assert isinstance(tree.store, MemoryNodeStore) and len(tree.store.nodes) < 2000


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


def _gadget_root(leaf, path):
    cs = ConstraintSystem({"leaf": leaf, **{f"b{k}": b for k, b in enumerate(path.bits)},
                           **{f"s{k}": s for k, s in enumerate(path.siblings)}})
    d = len(path.siblings)
    root, position = membership_root(
        cs, cs.private_input("leaf"), [cs.private_input(f"b{k}") for k in range(d)], [cs.private_input(f"s{k}") for k in range(d)]
    )
    return cs, root, position


def test_gadget_mirrors_the_native_root_and_position():
    tree = NoteTree(depth=4)
    tree.append_many([11, 22, 33, 44, 55])
    for pos in range(5):
        cs, root, position = _gadget_root(tree.leaf(pos), tree.path(pos))
        assert root.value == tree.root() and position.value == pos
        r1cs, w = cs.finish()
        r1cs.check(w)


def test_gadget_refuses_a_non_boolean_path_bit():
    tree = NoteTree(depth=3)
    tree.append_many([1, 2])
    path = tree.path(1)
    forged = MembershipPath(1, path.siblings)
    cs, _, _ = _gadget_root(2, forged)
    r1cs, w = cs.finish()
    r1cs.check(w)
    # a bit of 2 is not a left or right child: refused by its boolean constraint
    cs = ConstraintSystem({"leaf": 2, "b0": 2, "b1": 0, "b2": 0, "s0": path.siblings[0], "s1": path.siblings[1], "s2": path.siblings[2]})
    membership_root(cs, cs.private_input("leaf"), [cs.private_input(f"b{k}") for k in range(3)], [cs.private_input(f"s{k}") for k in range(3)])
    r1cs, w = cs.finish()
    with pytest.raises(UnsatisfiedConstraint, match="swap condition boolean"):
        r1cs.check(w)
