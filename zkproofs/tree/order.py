"""The keyed leaf order of a complete liability tree, sorted without holding the accounts.

A complete tree puts its N accounts and 2^depth - N padding leaves in the order
of their :func:`~zkproofs.tree.hashing.order_key` (HMAC-SHA256 of the tree
secret): a permutation chosen by the secret, so a leaf's position says nothing
about an id or the input order. :class:`LeafOrder` sorts them by an external
merge sort, so that a tree of 2^24 accounts can be built from a stream:

1. accounts arrive from any iterable, each checked (:func:`check_account`) and
   keyed, into a run of at most ``run_size`` entries; a full run is sorted and
   spilled to a temporary file (pickled blocks of :data:`BLOCK` entries); a
   held sequence is checked and keyed in bulk (:func:`check_accounts`);
2. once N is known, the padding leaves' keys follow as runs of their own;
   the last run stays in memory, split by key prefix and sorted a bucket at a
   time as it is read (:func:`_buckets`);
3. :func:`heapq.merge` of the runs yields the leaves in key order.

Two accounts with the same id have the same key, so they meet in the merge:
TreeError there, in O(1) memory instead of a set of every id.

Memory: one run (``run_size`` entries) while reading, then one block per
spilled run while merging. Time: N + pads HMACs, O(L log L) comparisons for L
leaves, and each entry of a spilled run pickled and read back once. A set that
fits one run is never written to disk.
"""

from __future__ import annotations

import heapq
import os
import pickle
import shutil
import tempfile
from itertools import chain
from operator import attrgetter, itemgetter
from typing import BinaryIO, Iterable, Iterator, Sequence

from zkproofs.accounts.model import Account
from zkproofs.tree.hashing import AMOUNT_BITS, MAX_ASSETS, MAX_DEPTH, MAX_LEAF_AMOUNTS, SECRET_BYTES, Secret, TreeError, check_sums, id_bytes, order_key, tree_keys

RUN_SIZE = 1 << 18
"""Entries per sorted run (about 100 MB of Python objects at 4 assets)."""
BLOCK = 1024
"""Entries per pickled block of a spilled run (what the merge holds per run)."""

AMOUNT_BOUND = 1 << AMOUNT_BITS
Entry = tuple[bytes, "Account | int"]
"""(order key, leaf): an :class:`Account`, or the number of a padding leaf."""


def check_account(account: Account, num_assets: int, pledges: int = 0, where: str = "account") -> None:
    """TreeError unless the account has num_assets equities and debts and ``pledges`` x
    num_assets pledged amounts (:class:`~zkproofs.accounts.model.Account`), each in
    [0, 2^64), and per asset the pledged amounts sum to at most the equity. O(K A)."""
    if len(account.equities) != num_assets or len(account.debts) != num_assets:
        raise TreeError(f"{where} {account.id!r}: expected {num_assets} equities and debts")
    if len(account.collateral) != pledges * num_assets:
        raise TreeError(f"{where} {account.id!r}: expected {pledges * num_assets} pledged amounts ({pledges} pledge classes), "
                        f"not {len(account.collateral)}")
    values = (*account.equities, *account.debts, *account.collateral)
    # the common case at C speed (a tree's first pass checks every account): ints, none out of range
    if not (set(map(type, values)) == {int} and min(values) >= 0 and max(values) < AMOUNT_BOUND):
        check_sums(values, 0, f"{where} {account.id!r}")
    for i in range(num_assets) if pledges else ():
        pledged = sum(account.collateral[i::num_assets])
        if pledged > account.equities[i]:
            raise TreeError(f"{where} {account.id!r}: asset {i} has {pledged} base units pledged, more than its equity {account.equities[i]}")


def check_accounts(accounts: Sequence[Account], num_assets: int, pledges: int = 0) -> None:
    """:func:`check_account` of every account of a held sequence, the same errors (the first bad
    account in order), the common case in bulk at C speed: the lengths, types and range of all
    amounts at once (about 1 us an account instead of 2), the per-account pass only when
    something is wrong or pledges must be held to equities. O(N K A)."""
    equities, debts, collateral = (list(map(attrgetter(name), accounts)) for name in ("equities", "debts", "collateral"))
    widths = (set(map(len, equities)), set(map(len, debts)), set(map(len, collateral)))
    if widths == ({num_assets}, {num_assets}, {pledges * num_assets}) and not pledges:
        values = list(chain.from_iterable(chain(equities, debts)))
        if set(map(type, values)) == {int} and min(values) >= 0 and max(values) < AMOUNT_BOUND:
            return
    for account in accounts:
        check_account(account, num_assets, pledges)


def account_key(secret: Secret, account_id: str) -> bytes:
    """An account's order key: :func:`~zkproofs.tree.hashing.order_key` of b"id/" + its canonical id.
    TreeError for an id that is not valid Unicode text."""
    return order_key(secret, b"id/" + id_bytes(account_id))


def account_keys(secret: Secret, ids: Iterable[str]) -> list[bytes]:
    """:func:`account_key` of each of ``ids`` (a worker process computes them for a held set
    while the parent checks the amounts). O(len(ids))."""
    keys = tree_keys(secret)
    return [account_key(keys, i) for i in ids]


def depth_for(count: int) -> int:
    """Smallest depth >= 1 with 2^depth >= count. TreeError if count is 0 or too large."""
    if count < 1:
        raise TreeError("cannot build a tree of zero accounts")
    depth = max(1, (count - 1).bit_length())
    if depth > MAX_DEPTH:
        raise TreeError(f"{count} accounts need depth {depth} > {MAX_DEPTH}")
    return depth


def check_secret(secret: bytes) -> None:
    """TreeError unless ``secret`` is a tree secret (:data:`SECRET_BYTES` bytes)."""
    if not isinstance(secret, bytes) or len(secret) != SECRET_BYTES:
        raise TreeError(f"the tree secret must be {SECRET_BYTES} bytes")


def check_asset_count(n_assets: int, pledges: int = 0) -> None:
    """TreeError unless a tree can carry ``n_assets`` assets (1 to MAX_ASSETS) and ``pledges``
    pledge classes ((2 + K) A amounts per leaf, at most MAX_LEAF_AMOUNTS)."""
    if not 1 <= n_assets <= MAX_ASSETS:
        raise TreeError(f"an account set needs 1 to {MAX_ASSETS} assets, not {n_assets}")
    if (2 + pledges) * n_assets > MAX_LEAF_AMOUNTS:
        raise TreeError(f"{n_assets} assets with {pledges} pledge classes make leaves of more than {MAX_LEAF_AMOUNTS} amounts")


def _buckets(run: list[Entry]) -> list[list[Entry]]:
    """``run`` split by its keys' first byte into 256 buckets, in key order, each still unsorted.

    Order keys are HMAC outputs, so the buckets are about equal; sorting them one at a time as
    the leaves are read (:func:`_sorted_buckets`) lets a build hash its first subtree after
    sorting 1/256 of the run (the whole sort took 0.7-0.9 s at 2^20 accounts before the
    first subtree could start). O(len(run))."""
    buckets: list[list[Entry]] = [[] for _ in range(256)]
    for entry in run:
        buckets[entry[0][0]].append(entry)
    return buckets


def _sorted_buckets(buckets: list[list[Entry]]) -> Iterator[Entry]:
    """The entries of :func:`_buckets` in key order, each bucket sorted (and released) as it is reached."""
    for i, bucket in enumerate(buckets):
        bucket.sort(key=itemgetter(0))
        buckets[i] = []
        yield from bucket


def _read_run(handle: BinaryIO) -> Iterator[Entry]:
    while True:
        try:
            block = pickle.load(handle)
        except EOFError:
            return
        yield from block


class LeafOrder:
    """The leaves of the complete tree over ``accounts``, in keyed order (see the module docstring).

    Reads ``accounts`` once on construction (raising TreeError for a bad secret
    or asset count, no accounts, too many, or an account with the wrong number
    of amounts or one outside [0, 2^64)); then :attr:`accounts` (N),
    :attr:`depth` and :attr:`leaf_count` (2^depth) are known and iterating
    yields the 2^depth (key, leaf) entries once, raising TreeError at a
    duplicate id. ``run_size``: entries per sorted run (default
    :data:`RUN_SIZE`). A context manager: leaving it removes the spilled runs
    (``tmp_dir``: where they go, default the system's temporary directory).
    """

    def __init__(self, accounts: Iterable[Account], secret: bytes, n_assets: int, *, pledges: int = 0, run_size: int | None = None,
                 tmp_dir: str | os.PathLike | None = None, keys: Iterable[bytes] | None = None):
        check_secret(secret)
        check_asset_count(n_assets, pledges)
        run_size = RUN_SIZE if run_size is None else run_size
        if run_size < 1:
            raise ValueError("run_size must be positive")
        self._tmp_root = tmp_dir
        self._folder: str | None = None
        self._spilled: list[str] = []
        self._memory: list[list[list[Entry]]] = []
        self._consumed = False
        run: list[Entry] = []
        try:
            if isinstance(accounts, Sequence):
                entries = self._keyed_held(accounts, secret, n_assets, pledges, keys)
                for start in range(0, len(entries) - run_size + 1, run_size):
                    self._spill(entries[start : start + run_size])
                run = entries[len(entries) - len(entries) % run_size :]
            else:
                for entry in self._keyed(accounts, secret, n_assets, pledges, keys):
                    run.append(entry)
                    if len(run) == run_size:
                        self._spill(run)
                        run = []
            if run:
                self._memory.append(_buckets(run))
        except BaseException:
            self.close()
            raise

    def _keyed(self, accounts: Iterable[Account], secret: bytes, n_assets: int, pledges: int,
               keys: Iterable[bytes] | None) -> Iterator[Entry]:
        """Every account (checked), then the padding leaves, with its order key (from ``keys``,
        :func:`account_keys` of the same accounts computed elsewhere, when given); sets
        ``accounts``, ``depth`` and ``leaf_count`` once the accounts are counted."""
        count = 0
        given = iter(keys) if keys is not None else None
        tree = tree_keys(secret)
        for account in accounts:
            check_account(account, n_assets, pledges)
            yield (next(given) if given is not None else account_key(tree, account.id)), account
            count += 1
        yield from self._padding(count, secret)

    def _keyed_held(self, accounts: Sequence[Account], secret: bytes, n_assets: int, pledges: int,
                    keys: Iterable[bytes] | None) -> list[Entry]:
        """:meth:`_keyed` of a held sequence as one list, each step in bulk: the accounts checked
        at once (:func:`check_accounts`, while ``keys`` may still be computed elsewhere), then
        paired with their keys."""
        check_accounts(accounts, n_assets, pledges)
        key_list = list(keys) if keys is not None else account_keys(secret, [account.id for account in accounts])
        if len(key_list) != len(accounts):
            raise ValueError(f"{len(key_list)} order keys for {len(accounts)} accounts")
        entries: list[Entry] = list(zip(key_list, accounts))
        entries.extend(self._padding(len(accounts), secret))
        return entries

    def _padding(self, count: int, secret: bytes) -> Iterator[Entry]:
        """Set ``accounts``, ``depth`` and ``leaf_count`` for ``count`` accounts; yield the padding leaves with their keys."""
        self.accounts = count
        self.depth = depth_for(count)
        self.leaf_count = 1 << self.depth
        keys = tree_keys(secret)
        for pad in range(self.leaf_count - count):
            yield order_key(keys, b"pad/" + str(pad).encode()), pad

    def _spill(self, run: list[Entry]) -> None:
        run.sort(key=itemgetter(0))
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix="zkproofs-order-", dir=self._tmp_root)
        path = os.path.join(self._folder, f"run{len(self._spilled)}")
        with open(path, "wb") as handle:
            for start in range(0, len(run), BLOCK):
                pickle.dump(run[start : start + BLOCK], handle, protocol=pickle.HIGHEST_PROTOCOL)
        self._spilled.append(path)

    def __iter__(self) -> Iterator[Entry]:
        if self._consumed:
            raise RuntimeError("a LeafOrder is iterated once")
        self._consumed = True
        handles = [open(path, "rb") for path in self._spilled]
        try:
            sources = [_read_run(handle) for handle in handles] + [_sorted_buckets(run) for run in self._memory]
            merged = sources[0] if len(sources) == 1 else heapq.merge(*sources, key=itemgetter(0))
            previous = None
            for key, leaf in merged:
                if key == previous:
                    raise TreeError(f"duplicate account id {leaf.id!r}")
                previous = key
                yield key, leaf
        finally:
            for handle in handles:
                handle.close()

    def close(self) -> None:
        """Remove the spilled runs (idempotent)."""
        self._memory = []
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def __enter__(self) -> "LeafOrder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
