"""Building a Merkle-sum liability tree from an :class:`~zkproofs.accounts.AccountSet` or a stream of accounts.

Steps: check every account (A equities and debts and K x A pledged amounts each
< 2^64, the pledges of an asset at most its equity); order accounts
and padding leaves by a keyed shuffle (HMAC of the tree secret), sorted
externally so that the accounts are never all held
(:class:`~zkproofs.tree.order.LeafOrder`, which also finds duplicate ids); hash
the tree in subtrees of up to 2^12 leaves, each a task for a worker process
(salts in Python, then the commitments and leaves in one kernel call and every
level of the subtree in one kernel call each, from and to the stored byte
records: :func:`zkproofs.tree.hashing.leaf_records`,
:func:`~zkproofs.tree.hashing.parent_records`, no Python object per node);
hash the levels above the subtrees in the parent process; store everything
into SQLite in one transaction, one row per chunk of 16 nodes of a level
(:mod:`zkproofs.tree.store`), atomically; account rows are staged in a
temporary table as they come (leaf order) and moved into the id-clustered
table in id order at the end (SQLite's temporary files, in ``SQLITE_TMPDIR``
or the system's temporary directory, hold about the accounts table's size
twice meanwhile).

Parent sums are left + right (full sums, Hu, Zhang, Guo 2019). Every leaf
amount is checked < 2^64, so a sum at height k is < 2^(64 + k) by induction
and needs no further check.

Fixed-height trees (``height`` H, DAPOL+'s NDM-SMT, Ji and Chalkias 2021):
accounts at secret-keyed random leaves of 2^H, only their paths hashed, the
siblings off those paths secret-derived padding nodes (:func:`hash_fixed_height`).

Cost (complete tree): N commitments (t = 3) and 2N - 1 tree hashes (t = 5) for N padded
leaves, 4 permutations per user at 4 assets and depth <= 20 (5 deeper, 6 with Binance's
3 pledge classes; the
layout is in :mod:`zkproofs.tree.hashing`), spread over ``workers`` processes.
Memory (complete tree): one sort run (2^18 accounts) while reading, then one
block per spilled run, the subtree tasks in flight and the N / 2^12 subtree
roots: never a level of the tree. A fixed-height tree holds its accounts.
"""

from __future__ import annotations

import gc
import json
import os
import time
from collections import deque
from contextlib import ExitStack, contextmanager
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from operator import add, itemgetter
from typing import Any, Callable, Iterable, Iterator, Sequence

from zkproofs.accounts.model import Account, AccountSet, AccountStream, Asset
from zkproofs.tree.excluded import Excluded
from zkproofs.tree.hashing import (
    AMOUNT_BITS,
    MAX_DEPTH,
    SECRET_BYTES,
    TreeError,
    commitment_inputs,
    commitments,
    leaf_hashes,
    leaf_records,
    node_hashes,
    pad_id_field,
    parent_records,
    pad_node_hash,
    pad_salt,
    position_candidate,
    prepare_hashes,
    tree_keys,
)
from zkproofs.tree.order import LeafOrder, account_key, account_keys, check_account, check_asset_count, check_secret
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
KEY_CHUNK = 1 << 13
"""Account ids per order-key task (a held set's keys come from the workers in chunks of this many)."""

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


def _keyed(accounts: Iterable[Account], secret: bytes, n_assets: int, pledges: int) -> list[tuple[bytes, Account]]:
    """[(order key, account)] sorted by key, every account checked; TreeError as :class:`LeafOrder`. O(N log N)."""
    check_secret(secret)
    check_asset_count(n_assets, pledges)
    entries = []
    keys = tree_keys(secret)
    for account in accounts:
        check_account(account, n_assets, pledges)
        entries.append((account_key(keys, account.id), account))
    if not entries:
        raise TreeError("cannot build a tree of zero accounts")
    entries.sort(key=itemgetter(0))
    for (a, account), (b, _) in zip(entries, entries[1:]):
        if a == b:
            raise TreeError(f"duplicate account id {account.id!r}")
    return entries


def fixed_height_placement(accounts: Iterable[Account], secret: bytes, height: int, n_assets: int, pledges: int = 0) -> list[tuple[int, Account]]:
    """[(leaf index, account)] by leaf index: the accounts' secret-keyed random leaves
    in a tree of ``height`` (DAPOL+ NDM-SMT, Ji and Chalkias 2021, section 4).

    Accounts are placed in the order of their secret order keys (so the result does
    not depend on the input order), each at the first free candidate
    :func:`~zkproofs.tree.hashing.position_candidate` (attempt 0, 1, ...): a
    collision moves the later account to a fresh random leaf. Raises TreeError as
    :class:`~zkproofs.tree.order.LeafOrder`, or if 2^height < N or height is not in [1, 64].
    Holds every account (the placement needs every taken leaf). Expected O(N log N)
    while N is well below 2^height (DAPOL+ asks for 2^H >> N).
    """
    if isinstance(height, bool) or not isinstance(height, int) or not 1 <= height <= MAX_DEPTH:
        raise TreeError(f"height {height!r} is not in [1, {MAX_DEPTH}]")
    entries = _keyed(accounts, secret, n_assets, pledges)
    if len(entries) > 1 << height:
        raise TreeError(f"{len(entries)} accounts do not fit a tree of height {height} (2^{height} leaves)")
    taken: set[int] = set()
    placed: list[tuple[int, Account]] = []
    keys = tree_keys(secret)
    for _, account in entries:
        attempt = 0
        position = position_candidate(keys, account.id, attempt, height)
        while position in taken:
            attempt += 1
            position = position_candidate(keys, account.id, attempt, height)
        taken.add(position)
        placed.append((position, account))
    placed.sort(key=itemgetter(0))
    return placed


def leaf_order(accounts: AccountSet, secret: bytes) -> tuple[int, list[int]]:
    """(depth, order) of the complete tree: ``order[i]`` is the account index (>= 0) at leaf i, or -1 - p for pad number p.

    Leaves are sorted by :func:`~zkproofs.tree.hashing.order_key`
    (:class:`~zkproofs.tree.order.LeafOrder`), a permutation chosen by the
    secret, so a leaf's position leaks nothing about the id or the input order.
    Raises TreeError as LeafOrder. O(N log N) plus 2^depth HMACs; holds the order.
    """
    index = {account.id: i for i, account in enumerate(accounts.accounts)}
    with LeafOrder(accounts.accounts, secret, len(accounts.assets), pledges=len(accounts.pledges)) as order:
        return order.depth, [-1 - leaf if isinstance(leaf, int) else index[leaf.id] for _, leaf in order]


def hash_subtree(secret: bytes, depth: int, n_assets: int, pledges: tuple[str, ...], first_leaf: int,
                 leaves: Sequence[LeafItem]) -> tuple[list[bytes], int, tuple[int, ...]]:
    """Hash the subtree whose leaves are ``leaves`` (a power of two of them, from leaf ``first_leaf``;
    an account's amounts are its equities, debts and the pledged amounts of the pledge classes
    ``pledges``, len(pledges) x ``n_assets``, class-major).

    Returns (records per height, bottom first, as :class:`NodeCodec` bytes; the
    subtree root's hash; its sums). A pure function of its inputs: the task a
    worker process runs. Cost: len(leaves) commitments and 2 len(leaves) - 1
    tree hashes, one batched Poseidon call per level.
    """
    zero = (0,) * ((2 + len(pledges)) * n_assets)
    keys: list[tuple[int, int]] = []
    sums: list[tuple[int, ...]] = []
    tree = tree_keys(secret)
    for item in leaves:
        if isinstance(item, int):
            keys.append((pad_id_field(tree, item), pad_salt(tree, item)))
            sums.append(zero)
        else:
            account_id, amounts = item
            keys.append(commitment_inputs(tree, account_id))
            sums.append(amounts)
    records = leaf_records(keys, sums, depth, 2 * n_assets, pledges)
    levels = [records]
    codec = NodeCodec(depth, n_assets)
    while len(records) > codec.size:
        records = parent_records(records, depth, 2 * n_assets)
        levels.append(records)
    root_hash, root_sums = codec.decode(records, 0)
    return levels, root_hash, root_sums


def _subtree_task(args: tuple) -> tuple[list[bytes], int, tuple[int, ...]]:
    return hash_subtree(*args)


Placed = Callable[[int, Account], None]
"""placed(leaf index, account): called for every account, in leaf order, as the tree is hashed."""


def _subtree_tasks(order: LeafOrder, secret: bytes, n_assets: int, pledges: tuple[str, ...], size: int,
                   placed: Placed | None) -> Iterator[tuple]:
    """hash_subtree arguments for each run of ``size`` consecutive leaves of ``order``, read lazily."""
    depth = order.depth
    items: list[LeafItem] = []
    start = 0
    for _, leaf in order:
        if isinstance(leaf, int):
            items.append(leaf)
        else:
            if placed is not None:
                placed(start + len(items), leaf)
            items.append((leaf.id, (*leaf.equities, *leaf.debts, *leaf.collateral)))
        if len(items) == size:
            yield secret, depth, n_assets, pledges, start, items
            start += size
            items = []


@dataclass(frozen=True)
class HashedTree:
    """What :func:`hash_tree` computed: depth, leaf count (2^depth), account count, root hash and sums."""

    depth: int
    leaf_count: int
    account_count: int
    root_hash: int
    root_sums: tuple[int, ...]


def hash_tree(
    n_assets: int,
    accounts: Iterable[Account],
    secret: bytes,
    sink: RowSink,
    *,
    pledges: tuple[str, ...] = (),
    height: int | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    placed: Placed | None = None,
    tmp_dir: str | os.PathLike | None = None,
) -> HashedTree:
    """Hash the whole tree of ``accounts`` (over ``n_assets`` assets, read once) and hand every ``nodes`` row to ``sink``.

    ``height`` None: the complete tree of depth ceil(log2 N) (padding leaves,
    keyed shuffle), streamed: the leaves come from a
    :class:`~zkproofs.tree.order.LeafOrder` (an external sort spilling to
    ``tmp_dir``; a sequence, already held, is sorted in one run), subtrees of up to 2^12 leaves go to a pool of ``workers``
    processes (default: all cores) when the tree has at least 2^12 leaves, and
    the levels above them are hashed here; memory is one sort run plus the
    tasks in flight plus N / 2^12 subtree roots, never a level of the tree.
    Rows reach ``sink`` level-interleaved, each level in order; ``placed``
    learns each account's leaf. ``pledges``: the names of the K pledge classes
    (every account carries K x n_assets pledged amounts, which its leaf commits
    with the classes' digest).
    ``height`` H: the fixed-height tree of
    :func:`hash_fixed_height` (which holds the accounts). Raises TreeError as
    LeafOrder and :func:`fixed_height_placement`.
    """
    if height is not None:
        return hash_fixed_height(n_assets, accounts, secret, height, sink, pledges=pledges, workers=workers, progress=progress, placed=placed)
    workers = workers or os.cpu_count() or 1
    held = isinstance(accounts, Sequence)
    if workers > 1:
        prepare_hashes()  # before the pool forks
    with ExitStack() as stack:
        pool: Executor | None = None
        keys: Iterator[bytes] | None = None
        if held and workers > 1 and len(accounts) > PARALLEL_THRESHOLD // 2:  # then 2^depth >= PARALLEL_THRESHOLD
            # the leaf order's first pass alone held the parent for about 6 us per account while the
            # workers waited: they compute the order keys while the parent checks the amounts
            pool = stack.enter_context(ProcessPoolExecutor(max_workers=workers))
            keys = _account_keys(pool, secret, accounts, workers)
        # accounts already held (a sequence) gain nothing from spilling: one run of every entry, the
        # accounts and their padding (at most as many: a run of exactly N entries spilled all of them)
        run_size = 2 * max(1, len(accounts)) if held else None
        order = stack.enter_context(LeafOrder(accounts, secret, n_assets, pledges=len(pledges), run_size=run_size,
                                              tmp_dir=tmp_dir, keys=keys))
        depth = order.depth
        codec = NodeCodec(depth, n_assets)
        writer = ChunkWriter(codec, sink)
        parallel = workers > 1 and order.leaf_count >= PARALLEL_THRESHOLD
        # with a pool, at least 8 subtrees so both cores stay busy to the end
        sub = min(SUBTREE_BITS, depth - 3) if parallel else min(SUBTREE_BITS, depth)
        size = 1 << sub
        total = 2 * order.leaf_count - 1
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

        tasks = _subtree_tasks(order, secret, n_assets, pledges, size, placed)
        if parallel:
            if pool is None:
                pool = stack.enter_context(ProcessPoolExecutor(max_workers=workers))
            _run_pool(pool, tasks, workers * QUEUED_PER_WORKER, collect)
        else:
            for index, task in enumerate(tasks):
                collect(index, hash_subtree(*task))
        account_count, leaf_count = order.accounts, order.leaf_count
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
    root_hash, root_sums = codec.decode(records, 0)
    return HashedTree(depth, leaf_count, account_count, root_hash, root_sums)


def hash_leaves(context: tuple[bytes, tuple[str, ...]], items: Sequence[tuple[str, tuple[int, ...]]]) -> list[int]:
    """Leaf hashes of (account id, amounts) in a tree of (secret, pledge classes): salts, commitments,
    one batched leaf hash. A pool task."""
    secret, pledges = context
    tree = tree_keys(secret)
    keys = [commitment_inputs(tree, account_id) for account_id, _ in items]
    return leaf_hashes(list(zip(commitments(keys), [amounts for _, amounts in items])), pledges)


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
    n_assets: int,
    accounts: Iterable[Account],
    secret: bytes,
    height: int,
    sink: RowSink,
    *,
    pledges: tuple[str, ...] = (),
    workers: int | None = None,
    progress: Progress | None = None,
    placed: Placed | None = None,
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
    placement = fixed_height_placement(accounts, secret, height, n_assets, len(pledges))
    tree = tree_keys(secret)
    codec = NodeCodec(height, n_assets)
    zero = (0,) * (2 * n_assets)
    workers = workers or os.cpu_count() or 1
    total = len(placement) * (height + 1)
    done = 0
    items = []
    for index, account in placement:
        if placed is not None:
            placed(index, account)
        items.append((account.id, (*account.equities, *account.debts, *account.collateral)))
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 and len(items) >= PARALLEL_THRESHOLD else None
    try:
        hashes = _split(hash_leaves, (secret, pledges), items, pool, workers)
        level = [(idx, h, amounts[: 2 * n_assets]) for (idx, _), h, (_, amounts) in zip(placement, hashes, items)]
        for k in range(height):
            present = {idx for idx, _, _ in level}
            nodes = list(level)
            nodes += [(idx ^ 1, pad_node_hash(tree, k, idx ^ 1), zero) for idx, _, _ in level if idx ^ 1 not in present]
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
    return HashedTree(height, 1 << height, len(placement), root_hash, root_sums)


def _account_keys(pool: Executor, secret: bytes, accounts: Sequence[Account], workers: int) -> Iterator[bytes]:
    """The accounts' order keys (:func:`~zkproofs.tree.order.account_keys`), computed across ``pool``
    in chunks submitted now and read in order as the caller iterates."""
    # small chunks: the parent checks the first accounts as soon as the first chunk is back
    size = max(1, min(KEY_CHUNK, -(-len(accounts) // (QUEUED_PER_WORKER * workers))))
    futures = [pool.submit(account_keys, secret, [a.id for a in accounts[i : i + size]])
               for i in range(0, len(accounts), size)]
    for future in futures:
        yield from future.result()


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
    """A JSON list of ``values``, which :func:`~zkproofs.tree.order.check_account` held to be ints
    (Python's list repr is then JSON, and made in C)."""
    return str(list(values))


ACCOUNT_ROWS_PER_INSERT = 8192
"""Account rows buffered per executemany while a tree is built."""


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, restored after. A build allocates
    millions of tuples (order entries, tasks, account rows) and no reference cycles; each
    allocation burst set off collections that traversed every live object, the held
    accounts included (list(zip(keys, accounts)) took 0.95 s at 2^20 with the collector on,
    0.08 s with it off)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def build_tree(
    accounts: AccountSet | AccountStream,
    db_path: str | os.PathLike,
    *,
    secret: bytes | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    height: int | None = None,
    exclude_invalid: bool = False,
    tmp_dir: str | os.PathLike | None = None,
) -> TreeSummary:
    """Build the tree of ``accounts`` into the SQLite file ``db_path`` (atomically replaced).

    ``accounts``: an :class:`AccountSet`, or an :class:`AccountStream` whose
    accounts are read once and never held (a complete tree of 2^24 accounts
    builds in bounded memory: see :func:`hash_tree`). ``secret`` (32 bytes)
    fixes salts, padding and leaf order: the same accounts and secret give the
    same root; None draws a fresh one. ``height`` None: the complete tree of
    depth ceil(log2 N); H: the fixed-height tree that hides N
    (:func:`hash_fixed_height`). ``tmp_dir``: where the leaf sort spills.
    Raises TreeError for an unbuildable set (nothing is written then), and for
    a set whose loader rejected rows unless ``exclude_invalid`` is true: then
    the tree records them (:mod:`zkproofs.tree.excluded`). Cost: see the
    module docstring.
    """
    if accounts.rejected and not exclude_invalid:
        raise TreeError(f"{len(accounts.rejected)} input account(s) were rejected; building without them needs exclude_invalid=True")
    secret = new_secret() if secret is None else secret
    n_assets = len(accounts.assets)
    with _gc_paused(), atomic_database(db_path) as conn:
        rows: list[tuple[str, int, str, str, str]] = []

        def sink(height: int, chunk: int, mask: int, data: bytes) -> None:
            conn.execute("INSERT INTO nodes(height, chunk, mask, data) VALUES (?, ?, ?, ?)", (height, chunk, mask, data))

        # Accounts arrive in leaf order, a keyed shuffle of their ids: inserted straight into the
        # table clustered by id, each row landed on a random page (7.8 s for 2^20 accounts). They are
        # staged in a temporary table in arrival order and moved in id order at the end (3.6 s).
        conn.execute("CREATE TEMP TABLE staged_accounts (id TEXT NOT NULL, leaf_index INTEGER NOT NULL, "
                     "equities TEXT NOT NULL, debts TEXT NOT NULL, collateral TEXT NOT NULL)")

        def flush() -> None:
            conn.executemany("INSERT INTO staged_accounts VALUES (?, ?, ?, ?, ?)", rows)
            rows.clear()

        def placed(index: int, a: Account) -> None:
            rows.append((a.id, index, _json_ints(a.equities), _json_ints(a.debts), _json_ints(a.collateral) if a.collateral else "[]"))
            if len(rows) == ACCOUNT_ROWS_PER_INSERT:
                flush()

        tree = hash_tree(n_assets, accounts.accounts, secret, sink, pledges=tuple(accounts.pledges), height=height, workers=workers,
                         progress=progress, placed=placed, tmp_dir=tmp_dir)
        flush()
        conn.execute("INSERT INTO accounts(id, leaf_index, equities, debts, collateral) "
                     "SELECT id, leaf_index, equities, debts, collateral FROM staged_accounts ORDER BY id")
        conn.execute("DROP TABLE staged_accounts")
        conn.executemany(
            "INSERT INTO assets(position, symbol, decimals) VALUES (?, ?, ?)",
            [(i, a.symbol, a.decimals) for i, a in enumerate(accounts.assets)],
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
            "pledges": json.dumps(list(accounts.pledges)),
            "excluded": Excluded.of(accounts).to_meta(),
        }
        conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", meta.items())
    return TreeSummary(
        root_hash=tree.root_hash,
        depth=tree.depth,
        assets=tuple(accounts.assets),
        equity_totals=tuple(tree.root_sums[:n_assets]),
        debt_totals=tuple(tree.root_sums[n_assets:]),
        account_count=tree.account_count,
        leaf_count=tree.leaf_count,
        created_at=created_at,
        source=accounts.source,
    )
