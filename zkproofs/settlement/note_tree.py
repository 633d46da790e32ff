"""The note commitment tree: an append-only, incremental Poseidon Merkle tree (native; no constraints).

As Zcash Sapling's note commitment tree (Zcash protocol specification, section
3.8 "Note commitment trees", and the incremental Merkle tree of
``zcash/incrementalmerkletree``): a binary tree of fixed depth (32 by default,
2^32 notes) whose leaves, left to right, are the note commitments in the order
the venue accepted them; an unused leaf is the value 0 and an empty subtree of
height k has the root ``EMPTY[k]`` (EMPTY[0] = 0, EMPTY[k+1] = H(EMPTY[k], EMPTY[k])).
A node is ``H(left, right) = Poseidon([left, right])`` (t = 3), mirrored by
:mod:`zkproofs.gadgets.note_tree`. Every root the tree reaches is an **anchor**
a spend can prove membership against.

Only *complete* subtrees are stored (level, index -> hash), in a
:class:`NodeStore`: the leaves and every node whose subtree is full. The frontier
(the rightmost complete node per level) is read from the store, so a tree is
reopened from (store, size) without rehashing anything.

Costs: :meth:`NoteTree.append` O(1) amortised hashes (a binary-counter carry,
at most ``depth``); :meth:`NoteTree.append_many` batches each level's hashes
into one :func:`zkproofs.poseidon.poseidon_hash_many` call; :meth:`NoteTree.root`
at most ``depth`` hashes (cached per size); :meth:`NoteTree.path` O(depth)
store reads and at most ``depth`` hashes. Storage: under 2 nodes per note (n + n/2 + n/4 + ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Protocol, Sequence

from zkproofs.errors import MalformedInput
from zkproofs.field import R
from zkproofs.poseidon import hash2, poseidon_hash_many

DEFAULT_DEPTH = 32
MAX_DEPTH = 40


@lru_cache(maxsize=None)
def empty_roots(depth: int) -> tuple[int, ...]:
    """EMPTY[0..depth]: the root of an empty subtree of each height."""
    roots = [0]
    for _ in range(depth):
        roots.append(hash2(roots[-1], roots[-1]))
    return tuple(roots)


class NodeStore(Protocol):
    """Where complete nodes live: (level, index) -> hash."""

    def get(self, level: int, index: int) -> int | None: ...

    def put_many(self, nodes: Sequence[tuple[int, int, int]]) -> None: ...


class MemoryNodeStore:
    """A dict-backed :class:`NodeStore`."""

    def __init__(self) -> None:
        self.nodes: dict[tuple[int, int], int] = {}

    def get(self, level: int, index: int) -> int | None:
        return self.nodes.get((level, index))

    def put_many(self, nodes: Sequence[tuple[int, int, int]]) -> None:
        for level, index, value in nodes:
            self.nodes[(level, index)] = value


@dataclass(frozen=True)
class MembershipPath:
    """The authentication path of the leaf at ``position``: siblings from the leaf level up."""

    position: int
    siblings: tuple[int, ...]

    @property
    def bits(self) -> list[int]:
        """Little-endian path bits: bit k = 1 when the node at height k is a right child."""
        return [(self.position >> k) & 1 for k in range(len(self.siblings))]


def root_from_path(leaf: int, path: MembershipPath) -> int:
    """The root that ``leaf`` at ``path.position`` with ``path.siblings`` hashes to. O(depth) hashes."""
    node = leaf
    for k, sibling in enumerate(path.siblings):
        node = hash2(sibling, node) if (path.position >> k) & 1 else hash2(node, sibling)
    return node


class NoteTree:
    """An incremental note commitment tree of ``depth`` levels over ``store`` holding ``size`` leaves.

    Raises MalformedInput for a leaf that is not a field element or a full tree.
    Not thread-safe: the venue serialises writers (one ledger transaction at a time).
    """

    def __init__(self, store: NodeStore | None = None, size: int = 0, depth: int = DEFAULT_DEPTH):
        if not 1 <= depth <= MAX_DEPTH:
            raise MalformedInput(f"note tree depth {depth} is not in [1, {MAX_DEPTH}]")
        if not 0 <= size <= 1 << depth:
            raise MalformedInput(f"note tree size {size} does not fit depth {depth}")
        self.depth = depth
        self.store: NodeStore = store if store is not None else MemoryNodeStore()
        self.size = size
        self._empty = empty_roots(depth)
        self._root_cache: tuple[int, int] | None = None

    def _stored(self, level: int, index: int) -> int:
        value = self.store.get(level, index)
        if value is None:
            raise MalformedInput(f"note tree store lacks complete node ({level}, {index}) of a tree of {self.size} notes")
        return value

    def append(self, leaf: int) -> list[tuple[int, int, int]]:
        """Append one note commitment; return the complete nodes it created (level, index, hash)."""
        return self.append_many([leaf])

    def append_many(self, leaves: Iterable[int]) -> list[tuple[int, int, int]]:
        """Append note commitments in order; return (and store) every node they complete.

        O(n) hashes for n leaves (plus at most ``depth`` per level boundary),
        batched per level through :func:`poseidon_hash_many`.
        """
        leaves = list(leaves)
        for leaf in leaves:
            if isinstance(leaf, bool) or not isinstance(leaf, int) or not 0 <= leaf < R:
                raise MalformedInput(f"note commitment {leaf!r} is not a field element")
        if self.size + len(leaves) > 1 << self.depth:
            raise MalformedInput(f"the note tree of depth {self.depth} is full")
        start, end = self.size, self.size + len(leaves)
        created = [(0, start + i, leaf) for i, leaf in enumerate(leaves)]
        level_new = {start + i: leaf for i, leaf in enumerate(leaves)}
        lo, hi = start, end  # leaves [lo, hi) are new at this level
        for level in range(self.depth):
            # parents completed by the new nodes: indices p with 2p + 1 in [lo, hi)
            parents = range(lo >> 1, hi >> 1)
            if not parents:
                break
            pairs = []
            for p in parents:
                left = level_new.get(2 * p)
                if left is None:
                    left = self._stored(level, 2 * p)
                pairs.append([left, level_new[2 * p + 1]])
            hashes = poseidon_hash_many(pairs)
            level_new = dict(zip(parents, hashes))
            created.extend((level + 1, p, h) for p, h in zip(parents, hashes))
            lo, hi = lo >> 1, hi >> 1
        self.store.put_many(created)
        self.size = end
        return created

    def _node(self, level: int, index: int) -> int:
        """The value of any node: stored (complete), EMPTY (past the end) or computed (the partial one)."""
        if index << level >= self.size:
            return self._empty[level]
        value = self.store.get(level, index)
        if value is not None:
            return value
        return hash2(self._node(level - 1, 2 * index), self._node(level - 1, 2 * index + 1))

    def root(self) -> int:
        """The current root (an anchor). At most ``depth`` hashes; cached until the next append."""
        if self._root_cache is not None and self._root_cache[0] == self.size:
            return self._root_cache[1]
        root = self._node(self.depth, 0)
        self._root_cache = (self.size, root)
        return root

    def path(self, position: int) -> MembershipPath:
        """The membership path of the note at ``position`` in the current tree (O(depth))."""
        if not 0 <= position < self.size:
            raise MalformedInput(f"no note at position {position} (the tree holds {self.size})")
        siblings = tuple(self._node(k, (position >> k) ^ 1) for k in range(self.depth))
        return MembershipPath(position, siblings)

    def leaf(self, position: int) -> int:
        """The note commitment at ``position``."""
        if not 0 <= position < self.size:
            raise MalformedInput(f"no note at position {position} (the tree holds {self.size})")
        return self._stored(0, position)
