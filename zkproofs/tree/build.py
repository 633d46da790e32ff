"""Building a Merkle-sum liability tree from an :class:`~zkproofs.accounts.AccountSet`.

Steps: derive each account's salt and commitment from the tree secret
(:mod:`zkproofs.tree.hashing`); pad to a power of two (depth >= 1) with
zero-balance leaves whose commitments look random; order all leaves by a keyed
shuffle (HMAC of the secret); hash leaves, then each level bottom-up, with
parent sums = left + right (full sums, Hu, Zhang, Guo 2019); range-check every
amount (< 2^64) and every sum at height k (< 2^(64 + k)); store into SQLite
atomically (:func:`zkproofs.tree.store.atomic_database`).

Cost: 2N - 1 Poseidon hashes for N padded leaves (a leaf costs ceil((2 + 2A) / 4)
t = 5 permutations, a node ceil((3 + 4A) / 4)), spread over the cores with a
process pool in chunks when a level has at least ``parallel_threshold`` hashes.
Memory: one level at a time.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

from zkproofs.accounts.model import Account, AccountSet, Asset
from zkproofs.tree.hashing import (
    AMOUNT_BITS,
    MAX_DEPTH,
    SECRET_BYTES,
    TreeError,
    check_sums,
    commitment,
    id_bytes,
    id_field,
    leaf_hash,
    node_hash,
    order_key,
    pad_id_field,
    pad_salt,
    user_salt,
)
from zkproofs.tree.store import FORMAT_VERSION, atomic_database

Progress = Callable[[int, int], None]
"""progress(hashes done, hashes in total), called after each chunk."""

CHUNK = 2048
"""Most hashes per task sent to a worker process (fewer when a level is small)."""
PARALLEL_THRESHOLD = 1024
"""Levels with fewer hashes than this are hashed in-process (small trees, tests)."""


@dataclass(frozen=True)
class LeafSlot:
    """One leaf position: the account there (None for padding), its id field, salt and sums.

    The commitment (a t = 3 Poseidon hash) is computed where the leaf is hashed,
    in the worker processes; :attr:`commitment` recomputes it.
    """

    index: int
    account: Account | None
    id_value: int
    salt: int
    sums: tuple[int, ...]

    @property
    def commitment(self) -> int:
        """Poseidon_t3([id field, salt]) of this leaf."""
        return commitment(self.id_value, self.salt)


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


def leaf_layout(accounts: AccountSet, secret: bytes) -> list[LeafSlot]:
    """All 2^depth leaves in tree order: accounts and padding, shuffled by the secret.

    Raises TreeError for an empty set, duplicate ids, a wrong number of amounts or
    an amount outside [0, 2^64). O(N log N) plus 2N HMACs and N SHA-512.
    """
    if not isinstance(secret, bytes) or len(secret) != SECRET_BYTES:
        raise TreeError(f"the tree secret must be {SECRET_BYTES} bytes")
    n_assets = len(accounts.assets)
    if n_assets < 1:
        raise TreeError("an account set needs at least one asset")
    depth = depth_for(len(accounts.accounts))
    seen: set[str] = set()
    entries: list[tuple[bytes, Account | None, int]] = []
    for account in accounts.accounts:
        if account.id in seen:
            raise TreeError(f"duplicate account id {account.id!r}")
        seen.add(account.id)
        check_account(account, n_assets)
        entries.append((order_key(secret, b"id/" + id_bytes(account.id)), account, -1))
    for pad in range((1 << depth) - len(accounts.accounts)):
        entries.append((order_key(secret, b"pad/" + str(pad).encode()), None, pad))
    entries.sort(key=lambda e: e[0])
    zero = (0,) * (2 * n_assets)
    slots = []
    for index, (_, account, pad) in enumerate(entries):
        if account is None:
            slots.append(LeafSlot(index, None, pad_id_field(secret, pad), pad_salt(secret, pad), zero))
        else:
            sums = (*account.equities, *account.debts)
            slots.append(LeafSlot(index, account, id_field(account.id), user_salt(secret, account.id), sums))
    return slots


def _leaf_hashes(chunk: Sequence[tuple[int, int, tuple[int, ...]]], n_assets: int) -> list[int]:
    return [leaf_hash(commitment(id_value, salt), sums[:n_assets], sums[n_assets:]) for id_value, salt, sums in chunk]


def _node_hashes(chunk: Sequence[tuple[int, tuple[int, ...], int, tuple[int, ...]]]) -> list[int]:
    return [node_hash(lh, ls, rh, rs) for lh, ls, rh, rs in chunk]


def _run_chunks(
    fn, items: list, extra: tuple, pool: Executor | None, workers: int, done: int, total: int, progress: Progress | None
) -> list[int]:
    out: list[int] = []
    parallel = pool is not None and len(items) >= PARALLEL_THRESHOLD
    # at least two chunks per worker, so a level smaller than workers * CHUNK still uses every core
    size = max(1, min(CHUNK, -(-len(items) // (2 * workers)))) if parallel else CHUNK
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    if parallel:
        results: Iterator[list[int]] = pool.map(fn, chunks, *([e] * len(chunks) for e in extra))
    else:
        results = (fn(chunk, *extra) for chunk in chunks)
    for part in results:
        out.extend(part)
        done += len(part)
        if progress is not None:
            progress(done, total)
    return out


def tree_levels(
    slots: Sequence[LeafSlot], n_assets: int, *, workers: int | None = None, progress: Progress | None = None
) -> Iterator[list[tuple[int, tuple[int, ...]]]]:
    """Yield each level's [(hash, sums)], leaves (height 0) first, the root level last.

    Sums are checked against 2^(64 + height) (TreeError naming the node). Uses a
    process pool of ``workers`` (default: all cores) for large levels.
    """
    total = 2 * len(slots) - 1
    workers = workers or os.cpu_count() or 1
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 and len(slots) >= PARALLEL_THRESHOLD else None
    try:
        items = [(s.id_value, s.salt, s.sums) for s in slots]
        hashes = _run_chunks(_leaf_hashes, items, (n_assets,), pool, workers, 0, total, progress)
        done = len(hashes)
        level = [(h, s.sums) for h, s in zip(hashes, slots)]
        yield level
        height = 0
        while len(level) > 1:
            height += 1
            pairs = [(level[i][0], level[i][1], level[i + 1][0], level[i + 1][1]) for i in range(0, len(level), 2)]
            sums = [tuple(a + b for a, b in zip(ls, rs)) for _, ls, _, rs in pairs]
            for idx, s in enumerate(sums):
                check_sums(s, height, f"node ({height}, {idx})")
            hashes = _run_chunks(_node_hashes, pairs, (), pool, workers, done, total, progress)
            done += len(hashes)
            level = list(zip(hashes, sums))
            yield level
    finally:
        if pool is not None:
            pool.shutdown()


def new_secret() -> bytes:
    """A fresh random tree secret (os.urandom, 32 bytes)."""
    return os.urandom(SECRET_BYTES)


def build_tree(
    accounts: AccountSet,
    db_path: str | os.PathLike,
    *,
    secret: bytes | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> TreeSummary:
    """Build the tree of ``accounts`` into the SQLite file ``db_path`` (atomically replaced).

    ``secret`` (32 bytes) fixes salts, padding and leaf order: the same accounts
    and secret give the same root; None draws a fresh one. Raises TreeError for
    an unbuildable set (nothing is written then). Cost: see the module docstring.
    """
    secret = new_secret() if secret is None else secret
    slots = leaf_layout(accounts, secret)
    depth = depth_for(len(accounts.accounts))
    n_assets = len(accounts.assets)
    with atomic_database(db_path) as conn:
        conn.executemany(
            "INSERT INTO assets(position, symbol, decimals) VALUES (?, ?, ?)",
            [(i, a.symbol, a.decimals) for i, a in enumerate(accounts.assets)],
        )
        conn.executemany(
            "INSERT INTO accounts(id, leaf_index, salt, equities, debts, collateral) VALUES (?, ?, ?, ?, ?, ?)",
            (
                (
                    s.account.id,
                    s.index,
                    str(s.salt),
                    json.dumps(list(s.account.equities)),
                    json.dumps(list(s.account.debts)),
                    json.dumps(list(s.account.collateral)),
                )
                for s in slots
                if s.account is not None
            ),
        )
        root = None
        for height, level in enumerate(tree_levels(slots, n_assets, workers=workers, progress=progress)):
            conn.executemany(
                "INSERT INTO nodes(height, idx, hash, sums) VALUES (?, ?, ?, ?)",
                ((height, idx, str(h), json.dumps(list(sums))) for idx, (h, sums) in enumerate(level)),
            )
            root = level[0]
        root_hash, root_sums = root
        created_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        summary = TreeSummary(
            root_hash=root_hash,
            depth=depth,
            assets=tuple(accounts.assets),
            equity_totals=tuple(root_sums[:n_assets]),
            debt_totals=tuple(root_sums[n_assets:]),
            account_count=len(accounts.accounts),
            leaf_count=len(slots),
            created_at=created_at,
            source=accounts.source,
        )
        meta = {
            "format_version": str(FORMAT_VERSION),
            "tree_secret": secret.hex(),
            "depth": str(depth),
            "created_at": created_at,
            "source": accounts.source,
            "amount_bits": str(AMOUNT_BITS),
        }
        conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", meta.items())
    return summary
