"""The note commitment tree: an append-only, incremental 4-ary Poseidon Merkle tree (native; no constraints).

As Zcash Sapling's note commitment tree (Zcash protocol specification, section
3.8 "Note commitment trees", and the incremental Merkle tree of
``zcash/incrementalmerkletree``), with arity 4: a tree of ``depth / 2`` levels
whose leaves, left to right, are the note commitments in the order the venue
accepted them. ``depth`` is the tree's height in bits (log2 of its capacity):
the default depth 32 is 16 levels of 4-ary nodes, 4^16 = 2^32 notes, the capacity
of the binary depth-32 tree of the issue; ``depth`` must be even. An unused leaf is
the value 0 and an empty subtree of ``k`` levels has the root ``EMPTY[k]``
(EMPTY[0] = 0, EMPTY[k+1] = H(EMPTY[k] x 4)). A node is
``H(c0, c1, c2, c3) = Poseidon_t5([c0, c1, c2, c3])`` (one t = 5 permutation:
about 300 constraints per level in-circuit against 2 x 243 for two binary
levels), mirrored by :mod:`zkproofs.gadgets.note_tree`. Every root the tree
reaches is an **anchor** a spend can prove membership against.

A membership path gives, per level, the digit d = (position >> 2k) & 3 of the
node on the path and its three siblings in the order the gadget's two swaps
place them (:func:`arrange`): s0 is the other child of the node's pair (children
2j, 2j + 1), s1 and s2 the other pair's children, left to right.

Only *complete* subtrees are stored (level, index -> hash), in a
:class:`NodeStore`: the leaves and every node whose subtree is full. A tree is
reopened from (store, size) without rehashing anything.

Costs: :meth:`NoteTree.append` O(1) amortised hashes (a base-4 counter carry, at
most ``depth / 2``); :meth:`NoteTree.append_many` batches each level's hashes into
one :func:`zkproofs.poseidon.poseidon_hash_many` call; :meth:`NoteTree.root` at
most ``depth / 2`` hashes (cached per size); :meth:`NoteTree.path` O(depth) store
reads and O(depth) hashes. Storage: under 4/3 nodes per note (n + n/4 + n/16 + ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Protocol, Sequence

from zkproofs.errors import MalformedInput
from zkproofs.field import R
from zkproofs.poseidon import poseidon_hash, poseidon_hash_many

DEFAULT_DEPTH = 32
MAX_DEPTH = 40
ARITY = 4
NODE_HASH_T = 5
"""Poseidon width of a node hash: the four children fill the rate."""


def levels_of(depth: int) -> int:
    """The number of 4-ary levels of a tree of ``depth`` bits; MalformedInput unless depth is even and in [2, MAX_DEPTH]."""
    if isinstance(depth, bool) or not isinstance(depth, int) or not 2 <= depth <= MAX_DEPTH or depth % 2:
        raise MalformedInput(f"note tree depth {depth!r} is not an even number of bits in [2, {MAX_DEPTH}]")
    return depth // 2


def node_hash(children: Sequence[int]) -> int:
    """H(c0, c1, c2, c3) = Poseidon_t5([c0, c1, c2, c3])."""
    return poseidon_hash(children, t=NODE_HASH_T)


@lru_cache(maxsize=None)
def empty_roots(levels: int) -> tuple[int, ...]:
    """EMPTY[0..levels]: the root of an empty subtree of each number of levels."""
    roots = [0]
    for _ in range(levels):
        roots.append(node_hash([roots[-1]] * ARITY))
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


def sibling_indices(digit: int) -> tuple[int, int, int]:
    """The child slots of the siblings s0, s1, s2 of the child in slot ``digit`` (module docstring)."""
    other = (digit ^ 2) & 2
    return digit ^ 1, other, other + 1


def arrange(node: int, siblings: Sequence[int], digit: int) -> list[int]:
    """The four children with ``node`` in slot ``digit`` and ``siblings`` in theirs (inverse of :func:`sibling_indices`)."""
    children = [0] * ARITY
    children[digit] = node
    for slot, value in zip(sibling_indices(digit), siblings):
        children[slot] = value
    return children


@dataclass(frozen=True)
class MembershipPath:
    """The authentication path of the leaf at ``position``: three siblings per level, leaf level first."""

    position: int
    siblings: tuple[tuple[int, int, int], ...]

    @property
    def depth(self) -> int:
        return 2 * len(self.siblings)

    @property
    def bits(self) -> list[int]:
        """Little-endian position bits, two per level (level k's digit is bit 2k + 2 * bit 2k+1)."""
        return [(self.position >> k) & 1 for k in range(self.depth)]


def root_from_path(leaf: int, path: MembershipPath) -> int:
    """The root that ``leaf`` at ``path.position`` with ``path.siblings`` hashes to. O(depth) hashes."""
    node = leaf
    for k, siblings in enumerate(path.siblings):
        node = node_hash(arrange(node, siblings, (path.position >> (2 * k)) & 3))
    return node


class NoteTree:
    """An incremental note commitment tree of ``depth`` bits (``depth / 2`` 4-ary levels) over ``store`` holding ``size`` leaves.

    Raises MalformedInput for an odd or out-of-range depth, a leaf that is not a
    field element or a full tree. Not thread-safe: the venue serialises writers
    (one ledger transaction at a time).
    """

    def __init__(self, store: NodeStore | None = None, size: int = 0, depth: int = DEFAULT_DEPTH):
        self.levels = levels_of(depth)
        if not 0 <= size <= 1 << depth:
            raise MalformedInput(f"note tree size {size} does not fit depth {depth}")
        self.depth = depth
        self.store: NodeStore = store if store is not None else MemoryNodeStore()
        self.size = size
        self._empty = empty_roots(self.levels)
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

        O(n) hashes for n leaves (n/3 in all: n/4 + n/16 + ...), batched per level
        through :func:`poseidon_hash_many`; O(depth) store reads for the left
        siblings of the first new node at each level.
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
        lo, hi = start, end  # nodes [lo, hi) are new at this level
        for level in range(self.levels):
            # parents completed by the new nodes: indices p with 4p + 3 in [lo, hi)
            parents = range(lo >> 2, hi >> 2)
            if not parents:
                break
            rows = []
            for p in parents:
                row = []
                for child in range(ARITY * p, ARITY * p + ARITY):
                    value = level_new.get(child)
                    row.append(self._stored(level, child) if value is None else value)
                rows.append(row)
            hashes = poseidon_hash_many(rows, t=NODE_HASH_T)
            level_new = dict(zip(parents, hashes))
            created.extend((level + 1, p, h) for p, h in zip(parents, hashes))
            lo, hi = lo >> 2, hi >> 2
        self.store.put_many(created)
        self.size = end
        return created

    def _node(self, level: int, index: int) -> int:
        """The value of any node: stored (complete), EMPTY (past the end) or computed (the partial one)."""
        if index << (2 * level) >= self.size:
            return self._empty[level]
        value = self.store.get(level, index)
        if value is not None:
            return value
        return node_hash([self._node(level - 1, ARITY * index + j) for j in range(ARITY)])

    def root(self) -> int:
        """The current root (an anchor). At most ``depth / 2`` hashes; cached until the next append."""
        if self._root_cache is not None and self._root_cache[0] == self.size:
            return self._root_cache[1]
        root = self._node(self.levels, 0)
        self._root_cache = (self.size, root)
        return root

    def path(self, position: int) -> MembershipPath:
        """The membership path of the note at ``position`` in the current tree (O(depth))."""
        if not 0 <= position < self.size:
            raise MalformedInput(f"no note at position {position} (the tree holds {self.size})")
        siblings = []
        for k in range(self.levels):
            index = position >> (2 * k)
            base = index & ~3
            siblings.append(tuple(self._node(k, base + slot) for slot in sibling_indices(index & 3)))
        return MembershipPath(position, tuple(siblings))

    def leaf(self, position: int) -> int:
        """The note commitment at ``position``."""
        if not 0 <= position < self.size:
            raise MalformedInput(f"no note at position {position} (the tree holds {self.size})")
        return self._stored(0, position)
