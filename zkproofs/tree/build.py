"""Building a Merkle-sum liability tree from an :class:`~zkproofs.accounts.AccountSet`.

Steps: check every account (ids distinct, A equities and debts each < 2^64);
order accounts and padding leaves by a keyed shuffle (HMAC of the tree secret,
:func:`leaf_order`); hash the tree in subtrees of up to 2^12 leaves, each a
task for a worker process (salts in Python, then the commitments and leaves in one
kernel call and every level of the subtree in one kernel call each, from and to the
stored byte records: :func:`zkproofs.tree.hashing.leaf_records`,
:func:`~zkproofs.tree.hashing.parent_records`, no Python object per node);
hash the levels above the subtrees in the parent process; store everything
into SQLite in one transaction, one row per chunk of 16 nodes of a level
(:mod:`zkproofs.tree.store`), atomically.

Parent sums are left + right (full sums, Hu, Zhang, Guo 2019). Every leaf
amount is checked < 2^64, so a sum at height k is < 2^(64 + k) by induction
and needs no further check.

Fixed-height trees (``height`` H, DAPOL+'s NDM-SMT, Ji and Chalkias 2021):
accounts at secret-keyed random leaves of 2^H, only their paths hashed, the
siblings off those paths secret-derived padding nodes (:func:`hash_fixed_height`).

Cost (complete tree): N commitments (t = 3) and 2N - 1 tree hashes (t = 5) for N padded
leaves, 4 permutations per user at 4 assets and depth <= 20 (5 deeper; the
layout is in :mod:`zkproofs.tree.hashing`), spread over ``workers`` processes.
Memory: the accounts, their order (N keys) and, per worker, one subtree;
the parent process never holds a level of more than N / 2^12 nodes.
"""

from __future__ import annotations

import os
import time
from collections import deque
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from operator import add
from typing import Any, Callable, Iterator, Sequence

from zkproofs.accounts.model import Account, AccountSet, Asset
from zkproofs.tree.excluded import Excluded
from zkproofs.tree.hashing import (
    AMOUNT_BITS,
    MAX_ASSETS,
    MAX_DEPTH,
    SECRET_BYTES,
    TreeError,
    check_sums,
    commitments,
    id_bytes,
    id_field,
    id_field_of,
    leaf_hashes,
    leaf_records,
    node_hashes,
    order_key,
    pad_id_field,
    parent_records,
    pad_node_hash,
    pad_salt,
    position_candidate,
    user_salt,
    user_salt_of,
)
from zkproofs.tree.store import CHUNK, CHUNK_BITS, FORMAT_VERSION, ChunkWriter, NodeCodec, atomic_database

Progress = Callable[[int, int], None]
"""progress(hashes done, hashes in total), called after each subtree."""

RowSink = Callable[[int, int, int, bytes], None]
"""sink(height, chunk, mask, data): receives every ``nodes`` row of a tree."""

SUBTREE_BITS = 12
"""A worker task hashes a subtree of at most 2^12 leaves."""
PARALLEL_THRESHOLD = 1 << 12
"""Trees with fewer leaves than this are hashed in-process (small trees, tests)."""
QUEUED_PER_WORKER = 3
"""Subtree tasks in flight per worker (bounds the memory of queued tasks and results)."""

LeafItem = tuple[str, tuple[int, ...]] | int
"""A leaf in a task: (account id, sums) for an account, the pad's number for padding."""


@dataclass(frozen=True)
class TreeSummary:
    """What a build produced: root hash and per-asset totals (base units), depth, counts."""

    root_hash: int
    depth: int
    assets: tuple[Asset, ...]
    equity_totals: tuple[int, ...]
    debt_totals: tuple[int, ...]
    account_count: int
    leaf_count: int
    created_at: str
    source: str = ""


def depth_for(count: int) -> int:
    """Smallest depth >= 1 with 2^depth >= count. TreeError if count is 0 or too large."""
    if count < 1:
        raise TreeError("cannot build a tree of zero accounts")
    depth = max(1, (count - 1).bit_length())
    if depth > MAX_DEPTH:
        raise TreeError(f"{count} accounts need depth {depth} > {MAX_DEPTH}")
    return depth


def check_account(account: Account, num_assets: int, where: str = "account") -> None:
    """TreeError unless the account has num_assets equities and debts, each in [0, 2^64)."""
    if len(account.equities) != num_assets or len(account.debts) != num_assets:
        raise TreeError(f"{where} {account.id!r}: expected {num_assets} equities and debts")
    check_sums((*account.equities, *account.debts), 0, f"{where} {account.id!r}")


def _keyed_accounts(accounts: AccountSet, secret: bytes) -> list[tuple[bytes, int]]:
    """[(order key, account index)] after checking the secret, assets, ids and amounts (TreeError)."""
    if not isinstance(secret, bytes) or len(secret) != SECRET_BYTES:
        raise TreeError(f"the tree secret must be {SECRET_BYTES} bytes")
    n_assets = len(accounts.assets)
    if not 1 <= n_assets <= MAX_ASSETS:
        raise TreeError(f"an account set needs 1 to {MAX_ASSETS} assets, not {n_assets}")
    if not accounts.accounts:
        raise TreeError("cannot build a tree of zero accounts")
    seen: set[str] = set()
    entries: list[tuple[bytes, int]] = []
    for i, account in enumerate(accounts.accounts):
        if account.id in seen:
            raise TreeError(f"duplicate account id {account.id!r}")
        seen.add(account.id)
        check_account(account, n_assets)
        entries.append((order_key(secret, b"id/" + id_bytes(account.id)), i))
    return entries


def fixed_height_placement(accounts: AccountSet, secret: bytes, height: int) -> list[tuple[int, int]]:
    """[(leaf index, account index)] by leaf index: the accounts' secret-keyed random leaves
    in a tree of ``height`` (DAPOL+ NDM-SMT, Ji and Chalkias 2021, section 4).

    Accounts are placed in the order of their secret order keys (so the result does
    not depend on the input order), each at the first free candidate
    :func:`~zkproofs.tree.hashing.position_candidate` (attempt 0, 1, ...): a
    collision moves the later account to a fresh random leaf. Raises TreeError as
    :func:`leaf_order`, or if 2^height < N or height is not in [1, 64].
    Expected O(N) HMACs while N is well below 2^height (DAPOL+ asks for 2^H >> N).
    """
    if isinstance(height, bool) or not isinstance(height, int) or not 1 <= height <= MAX_DEPTH:
        raise TreeError(f"height {height!r} is not in [1, {MAX_DEPTH}]")
    entries = _keyed_accounts(accounts, secret)
    if len(entries) > 1 << height:
        raise TreeError(f"{len(entries)} accounts do not fit a tree of height {height} (2^{height} leaves)")
    taken: set[int] = set()
    placed: list[tuple[int, int]] = []
    for _, i in sorted(entries):
        account_id = accounts.accounts[i].id
        attempt = 0
        position = position_candidate(secret, account_id, attempt, height)
        while position in taken:
            attempt += 1
            position = position_candidate(secret, account_id, attempt, height)
        taken.add(position)
        placed.append((position, i))
    placed.sort()
    return placed


def leaf_order(accounts: AccountSet, secret: bytes) -> tuple[int, list[int]]:
    """(depth, order): ``order[i]`` is the account index (>= 0) at leaf i, or -1 - p for pad number p.

    Leaves are sorted by :func:`~zkproofs.tree.hashing.order_key`, a permutation
    chosen by the secret, so a leaf's position leaks nothing about the id or the
    input order. Raises TreeError for a bad secret, an empty set, duplicate ids,
    a wrong number of amounts or an amount outside [0, 2^64).
    O(N log N) plus 2^depth HMACs.
    """
    depth = depth_for(len(accounts.accounts))
    entries = _keyed_accounts(accounts, secret)
    for pad in range((1 << depth) - len(accounts.accounts)):
        entries.append((order_key(secret, b"pad/" + str(pad).encode()), -1 - pad))
    entries.sort()
    return depth, [label for _, label in entries]


def hash_subtree(secret: bytes, depth: int, n_assets: int, first_leaf: int, leaves: Sequence[LeafItem]) -> tuple[list[bytes], int, tuple[int, ...]]:
    """Hash the subtree whose leaves are ``leaves`` (a power of two of them, from leaf ``first_leaf``).

    Returns (records per height, bottom first, as :class:`NodeCodec` bytes; the
    subtree root's hash; its sums). A pure function of its inputs: the task a
    worker process runs. Cost: len(leaves) commitments and 2 len(leaves) - 1
    tree hashes, one batched Poseidon call per level.
    """
    zero = (0,) * (2 * n_assets)
    keys: list[tuple[int, int]] = []
    sums: list[tuple[int, ...]] = []
    for item in leaves:
        if isinstance(item, int):
            keys.append((pad_id_field(secret, item), pad_salt(secret, item)))
            sums.append(zero)
        else:
            account_id, amounts = item
            canonical = id_bytes(account_id)
            keys.append((id_field_of(canonical), user_salt_of(secret, canonical)))
            sums.append(amounts)
    records = leaf_records(keys, sums, depth)
    levels = [records]
    codec = NodeCodec(depth, n_assets)
    while len(records) > codec.size:
        records = parent_records(records, depth, 2 * n_assets)
        levels.append(records)
    root_hash, root_sums = codec.decode(records, 0)
    return levels, root_hash, root_sums


def _subtree_task(args: tuple) -> tuple[list[bytes], int, tuple[int, ...]]:
    return hash_subtree(*args)


def _leaf_items(accounts: AccountSet, order: Sequence[int], start: int, stop: int) -> list[LeafItem]:
    items: list[LeafItem] = []
    for label in order[start:stop]:
        if label < 0:
            items.append(-1 - label)
        else:
            account = accounts.accounts[label]
            items.append((account.id, (*account.equities, *account.debts)))
    return items


@dataclass(frozen=True)
class HashedTree:
    """What :func:`hash_tree` computed: depth, leaf count (2^depth), where each account
    sits ([(leaf index, account index)] by leaf index), root hash and sums."""

    depth: int
    leaf_count: int
    placement: list[tuple[int, int]]
    root_hash: int
    root_sums: tuple[int, ...]


def hash_tree(
    accounts: AccountSet,
    secret: bytes,
    sink: RowSink,
    *,
    height: int | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> HashedTree:
    """Hash the whole tree of ``accounts`` and hand every ``nodes`` row to ``sink``.

    ``height`` None: the complete tree of depth ceil(log2 N) (padding leaves,
    keyed shuffle). Subtrees of up to 2^12 leaves go to a pool of ``workers``
    processes (default: all cores) when the tree has at least 2^12 leaves; the
    levels above them are hashed here. Rows reach ``sink`` level-interleaved,
    each level in order. ``height`` H: the fixed-height tree of
    :func:`hash_fixed_height`. Raises TreeError as :func:`leaf_order` and
    :func:`fixed_height_placement`.
    """
    if height is not None:
        return hash_fixed_height(accounts, secret, height, sink, workers=workers, progress=progress)
    depth, order = leaf_order(accounts, secret)
    n_assets = len(accounts.assets)
    codec = NodeCodec(depth, n_assets)
    writer = ChunkWriter(codec, sink)
    workers = workers or os.cpu_count() or 1
    parallel = workers > 1 and len(order) >= PARALLEL_THRESHOLD
    # with a pool, at least 8 subtrees so both cores stay busy to the end
    sub = min(SUBTREE_BITS, depth - 3) if parallel else min(SUBTREE_BITS, depth)
    size = 1 << sub
    total = 2 * len(order) - 1
    done = 0
    tops: list[tuple[int, tuple[int, ...]]] = []

    def collect(index: int, result: tuple[list[bytes], int, tuple[int, ...]]) -> None:
        nonlocal done
        levels, h, s = result
        for height, records in enumerate(levels):
            writer.add(height, (index * size) >> height, records)
        tops.append((h, s))
        done += 2 * size - 1
        if progress is not None:
            progress(done, total)

    tasks = ((secret, depth, n_assets, start, _leaf_items(accounts, order, start, start + size)) for start in range(0, len(order), size))
    if parallel:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            _run_pool(pool, tasks, workers * QUEUED_PER_WORKER, collect)
    else:
        for index, task in enumerate(tasks):
            collect(index, hash_subtree(*task))
    records = codec.encode_many([h for h, _ in tops], [s for _, s in tops])
    height = sub
    while len(records) > codec.size:
        height += 1
        records = parent_records(records, depth, 2 * n_assets)
        writer.add(height, 0, records)
        done += len(records) // codec.size
        if progress is not None:
            progress(done, total)
    writer.finish()
    placement = [(index, label) for index, label in enumerate(order) if label >= 0]
    root_hash, root_sums = codec.decode(records, 0)
    return HashedTree(depth, len(order), placement, root_hash, root_sums)


def hash_leaves(secret: bytes, items: Sequence[tuple[str, tuple[int, ...]]]) -> list[int]:
    """Leaf hashes of (account id, sums): salts, commitments, one batched leaf hash. A pool task."""
    keys = [(id_field(account_id), user_salt(secret, account_id)) for account_id, _ in items]
    return leaf_hashes(list(zip(commitments(keys), [sums for _, sums in items])))


def hash_nodes(depth: int, pairs: Sequence[tuple[int, tuple[int, ...], int, tuple[int, ...]]]) -> list[int]:
    """:func:`~zkproofs.tree.hashing.node_hashes` of ``pairs`` (a pool task)."""
    return node_hashes(pairs, depth)


def _split(fn: Callable, first: Any, items: list, pool: Executor | None, workers: int) -> list:
    """fn(first, chunk) over chunks of ``items`` (across ``pool`` when given), concatenated in order."""
    if pool is None or len(items) < PARALLEL_THRESHOLD:
        return fn(first, items)
    size = max(1, min(1 << SUBTREE_BITS, -(-len(items) // (QUEUED_PER_WORKER * workers))))
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    return [x for part in pool.map(fn, [first] * len(chunks), chunks) for x in part]


def _write_sparse_level(height: int, nodes: Sequence[tuple[int, int, tuple[int, ...]]], codec: NodeCodec, sink: RowSink) -> None:
    """Rows of one level of materialised nodes [(idx, hash, sums)] sorted by idx."""
    start = 0
    while start < len(nodes):
        chunk = nodes[start][0] >> CHUNK_BITS
        stop = start
        mask = 0
        while stop < len(nodes) and nodes[stop][0] >> CHUNK_BITS == chunk:
            mask |= 1 << (nodes[stop][0] & (CHUNK - 1))
            stop += 1
        part = nodes[start:stop]
        sink(height, chunk, mask, codec.encode_many([h for _, h, _ in part], [s for _, _, s in part]))
        start = stop


def hash_fixed_height(
    accounts: AccountSet,
    secret: bytes,
    height: int,
    sink: RowSink,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> HashedTree:
    """Hash the fixed-height tree of ``accounts`` (DAPOL+ NDM-SMT, Ji and Chalkias 2021).

    Accounts sit at :func:`fixed_height_placement`; only the nodes on their paths
    to the root are hashed, and every sibling off those paths is a padding node
    (:func:`~zkproofs.tree.hashing.pad_node_hash`, zero sums) that looks like a
    real node of a subtree of zero balances. The root and every inclusion proof
    show the height and nothing about N. Rows go to ``sink`` level by level
    (at most one level in memory). Cost: N leaves and at most N (H - log2 N + 1)
    + N node hashes, so O(N H), not O(2^H); levels of 2^12 or more hashes are
    spread over ``workers`` processes.
    """
    placement = fixed_height_placement(accounts, secret, height)
    n_assets = len(accounts.assets)
    codec = NodeCodec(height, n_assets)
    zero = (0,) * (2 * n_assets)
    workers = workers or os.cpu_count() or 1
    total = len(placement) * (height + 1)
    done = 0
    items = []
    for _, i in placement:
        account = accounts.accounts[i]
        items.append((account.id, (*account.equities, *account.debts)))
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 and len(items) >= PARALLEL_THRESHOLD else None
    try:
        hashes = _split(hash_leaves, secret, items, pool, workers)
        level = [(idx, h, sums) for (idx, _), h, (_, sums) in zip(placement, hashes, items)]
        for k in range(height):
            present = {idx for idx, _, _ in level}
            nodes = list(level)
            nodes += [(idx ^ 1, pad_node_hash(secret, k, idx ^ 1), zero) for idx, _, _ in level if idx ^ 1 not in present]
            nodes.sort(key=lambda node: node[0])
            _write_sparse_level(k, nodes, codec, sink)
            pairs = [(nodes[j][1], nodes[j][2], nodes[j + 1][1], nodes[j + 1][2]) for j in range(0, len(nodes), 2)]
            parents = _split(hash_nodes, height, pairs, pool, workers)
            level = [(nodes[j][0] >> 1, h, tuple(map(add, nodes[j][2], nodes[j + 1][2]))) for j, h in zip(range(0, len(nodes), 2), parents)]
            done += len(level)
            if progress is not None:
                progress(min(done + len(items), total), total)
    finally:
        if pool is not None:
            pool.shutdown()
    _write_sparse_level(height, level, codec, sink)
    if progress is not None:
        progress(total, total)
    (_, root_hash, root_sums), = level
    return HashedTree(height, 1 << height, placement, root_hash, root_sums)


def _run_pool(pool: Executor, tasks: Iterator[tuple], window: int, collect: Callable[[int, tuple], None]) -> None:
    """Submit ``tasks`` with at most ``window`` in flight; ``collect`` results in task order."""
    pending: deque[Future] = deque()
    index = 0
    for task in tasks:
        pending.append(pool.submit(_subtree_task, task))
        if len(pending) >= window:
            collect(index, pending.popleft().result())
            index += 1
    while pending:
        collect(index, pending.popleft().result())
        index += 1


def new_secret() -> bytes:
    """A fresh random tree secret (os.urandom, 32 bytes)."""
    return os.urandom(SECRET_BYTES)


def _json_ints(values: Sequence[int]) -> str:
    return "[" + ",".join(map(str, values)) + "]"


def build_tree(
    accounts: AccountSet,
    db_path: str | os.PathLike,
    *,
    secret: bytes | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    height: int | None = None,
    exclude_invalid: bool = False,
) -> TreeSummary:
    """Build the tree of ``accounts`` into the SQLite file ``db_path`` (atomically replaced).

    ``secret`` (32 bytes) fixes salts, padding and leaf order: the same accounts
    and secret give the same root; None draws a fresh one. ``height`` None: the
    complete tree of depth ceil(log2 N); H: the fixed-height tree that hides N
    (:func:`hash_fixed_height`). Raises TreeError for an unbuildable set
    (nothing is written then), and for a set whose loader rejected rows unless
    ``exclude_invalid`` is true: then the tree records them
    (:mod:`zkproofs.tree.excluded`). Cost: see the module docstring.
    """
    if accounts.rejected and not exclude_invalid:
        raise TreeError(f"{len(accounts.rejected)} input account(s) were rejected; building without them needs exclude_invalid=True")
    secret = new_secret() if secret is None else secret
    n_assets = len(accounts.assets)
    with atomic_database(db_path) as conn:

        def sink(height: int, chunk: int, mask: int, data: bytes) -> None:
            conn.execute("INSERT INTO nodes(height, chunk, mask, data) VALUES (?, ?, ?, ?)", (height, chunk, mask, data))

        tree = hash_tree(accounts, secret, sink, height=height, workers=workers, progress=progress)
        conn.executemany(
            "INSERT INTO assets(position, symbol, decimals) VALUES (?, ?, ?)",
            [(i, a.symbol, a.decimals) for i, a in enumerate(accounts.assets)],
        )
        conn.executemany(
            "INSERT INTO accounts(id, leaf_index, equities, debts, collateral) VALUES (?, ?, ?, ?, ?)",
            (
                (a.id, index, _json_ints(a.equities), _json_ints(a.debts), _json_ints(a.collateral))
                for index, a in ((index, accounts.accounts[i]) for index, i in tree.placement)
            ),
        )
        created_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        meta = {
            "format_version": str(FORMAT_VERSION),
            "tree_secret": secret.hex(),
            "depth": str(tree.depth),
            "shape": "complete" if height is None else "fixed-height",
            "created_at": created_at,
            "source": accounts.source,
            "amount_bits": str(AMOUNT_BITS),
            "excluded": Excluded.of(accounts).to_meta(),
        }
        conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", meta.items())
    return TreeSummary(
        root_hash=tree.root_hash,
        depth=tree.depth,
        assets=tuple(accounts.assets),
        equity_totals=tuple(tree.root_sums[:n_assets]),
        debt_totals=tuple(tree.root_sums[n_assets:]),
        account_count=len(accounts.accounts),
        leaf_count=tree.leaf_count,
        created_at=created_at,
        source=accounts.source,
    )
