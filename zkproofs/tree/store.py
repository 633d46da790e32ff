"""SQLite storage of a liability tree: one file, written atomically, read by primary key.

Tables (``FORMAT_VERSION`` 4; earlier versions hash leaves otherwise and are refused):

* ``meta(key PRIMARY KEY, value)``: format_version, tree_secret (hex; the
  exchange's secret, never published), depth, shape ("complete": 2^depth
  leaves, all materialised; "fixed-height": ``tree build --height``, only the
  paths to real leaves and their padding siblings), created_at, source,
  amount_bits, excluded (the input accounts left out, :mod:`zkproofs.tree.excluded`),
  pledges (JSON list of the pledge classes' names, :class:`~zkproofs.accounts.model.AccountSet`)
  (the root hash and totals are the root node's row, never copied here);
* ``assets(position PRIMARY KEY, symbol UNIQUE, decimals)``;
* ``accounts(id PRIMARY KEY, leaf_index, equities, debts, collateral)``
  (amounts JSON int lists in base units, ``collateral`` the K x A pledged
  amounts the leaf commits, class-major; the salt is not stored: it is
  HMAC(tree_secret, id), derived on read);
* ``nodes(height, chunk, mask, data, PRIMARY KEY(height, chunk))``: one row per
  chunk of :data:`CHUNK` consecutive nodes of a level (height 0 = leaves): node
  ``idx`` lives in row ``(height, idx >> CHUNK_BITS)``, bit ``idx % CHUNK`` of
  ``mask`` says whether it is materialised, and ``data`` concatenates the
  records of the materialised nodes in index order. A record
  (:class:`NodeCodec`) is the hash as 32 big-endian bytes, then the 2A sums
  (equity sums, then debt sums) as ceil((64 + depth) / 8) big-endian bytes each.

All tables are WITHOUT ROWID (clustered by key). Chunk rows cut the row count
by 16 (a build of 2^20 users writes 131,072 rows instead of 2^21) and keep
one inclusion proof at one primary-key read per level. Writers build into a
temporary file beside the target and ``os.replace`` it (see
:func:`atomic_database`), so a crash leaves the old database or none.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from zkproofs.accounts.model import Asset, pledge_problem
from zkproofs.jsontext import loads
from zkproofs.tree.hashing import TreeError, TreeKeys, record_sum_bytes, user_salt

FORMAT_VERSION = 4
CHUNK_BITS = 4
CHUNK = 1 << CHUNK_BITS
"""Nodes per ``nodes`` row."""
FULL_MASK = (1 << CHUNK) - 1
HASH_BYTES = 32

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE assets (position INTEGER PRIMARY KEY, symbol TEXT NOT NULL UNIQUE, decimals INTEGER NOT NULL);
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    leaf_index INTEGER NOT NULL,
    equities TEXT NOT NULL,
    debts TEXT NOT NULL,
    collateral TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE nodes (
    height INTEGER NOT NULL,
    chunk INTEGER NOT NULL,
    mask INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (height, chunk)
) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class NodeCodec:
    """Fixed-size byte records of (hash, sums) for a tree of ``depth`` and ``assets`` assets."""

    depth: int
    assets: int

    @property
    def sum_bytes(self) -> int:
        """Bytes per sum: ceil((64 + depth) / 8)."""
        return record_sum_bytes(self.depth)

    @property
    def size(self) -> int:
        """Bytes per record: 32 + 2A * sum_bytes."""
        return HASH_BYTES + 2 * self.assets * self.sum_bytes

    def encode_many(self, hashes: Sequence[int], sums: Sequence[Sequence[int]]) -> bytes:
        """Records of each (hash, sums), concatenated. O(n A). OverflowError if a value does not fit."""
        sb = self.sum_bytes
        return b"".join(
            h.to_bytes(HASH_BYTES, "big") + b"".join(v.to_bytes(sb, "big") for v in s) for h, s in zip(hashes, sums)
        )

    def decode(self, data: bytes, position: int) -> tuple[int, tuple[int, ...]]:
        """(hash, sums) of the record at ``position`` (in records) of ``data``."""
        start = position * self.size
        sb = self.sum_bytes
        h = int.from_bytes(data[start : start + HASH_BYTES], "big")
        first = start + HASH_BYTES
        return h, tuple(int.from_bytes(data[first + i * sb : first + (i + 1) * sb], "big") for i in range(2 * self.assets))


class ChunkWriter:
    """Groups node records into ``nodes`` rows: ``write(height, chunk, mask, data)`` per full chunk.

    :meth:`add` takes the records of consecutive nodes of one level, in index
    order per level (levels may interleave); :meth:`finish` writes the partial
    last chunk of every level. Holds at most one chunk per level.
    """

    def __init__(self, codec: NodeCodec, write):
        self.codec = codec
        self.write = write
        self.pending: dict[int, tuple[int, bytearray]] = {}

    def add(self, height: int, first_idx: int, records: bytes) -> None:
        """Append the records of nodes first_idx, first_idx + 1, ... at ``height``."""
        size = self.codec.size
        start, buf = self.pending.get(height, (first_idx, bytearray()))
        if start + len(buf) // size != first_idx:
            raise ValueError(f"records at height {height} must arrive in index order")
        buf += records
        full = CHUNK * size
        offset = 0
        if start % CHUNK == 0:
            while len(buf) - offset >= full:
                self.write(height, (start >> CHUNK_BITS), FULL_MASK, bytes(buf[offset : offset + full]))
                start += CHUNK
                offset += full
        del buf[:offset]
        self.pending[height] = (start, buf)

    def finish(self) -> None:
        """Write every level's partial last chunk."""
        size = self.codec.size
        for height, (start, buf) in sorted(self.pending.items()):
            if buf:
                self.write(height, start >> CHUNK_BITS, (1 << (len(buf) // size)) - 1, bytes(buf))
        self.pending.clear()


@contextlib.contextmanager
def atomic_database(path: str | os.PathLike) -> Iterator[sqlite3.Connection]:
    """A connection to a fresh database that replaces ``path`` only if the block succeeds.

    The database is created as a temporary file in ``path``'s folder with
    :data:`SCHEMA`; on normal exit it is committed, closed and renamed onto
    ``path`` (``os.replace``: atomic on POSIX); on any exception it is deleted
    and ``path`` (old database or nothing) is left untouched.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    conn = None
    try:
        conn = sqlite3.connect(tmp)
        conn.execute("PRAGMA page_size=8192")
        conn.execute("PRAGMA cache_size=-65536")
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.executescript(SCHEMA)
        yield conn
        conn.commit()
        conn.execute("PRAGMA synchronous=FULL")
        conn.close()
        conn = None
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        if conn is not None:
            conn.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _int_list(text: str, where: str) -> tuple[int, ...]:
    values = loads(text, where, TreeError)
    if not isinstance(values, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise TreeError(f"{where}: expected a list of integers")
    return tuple(values)


def _int(text: str, where: str) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        raise TreeError(f"{where}: {text!r} is not an integer") from None


@dataclass(frozen=True)
class AccountRow:
    """One stored account: id, leaf index, salt (derived from the secret) and amounts (base units, per asset;
    ``collateral``: the pledged amounts, K x A class-major, empty without pledge classes)."""

    id: str
    leaf_index: int
    salt: int
    equities: tuple[int, ...]
    debts: tuple[int, ...]
    collateral: tuple[int, ...]


class TreeStore:
    """Read access to a tree database (opened read-only; TreeError if it is not one).

    Use as a context manager or call :meth:`close`. Every lookup is by primary key.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        if not Path(path).is_file():
            raise TreeError(f"{path}: no such tree database")
        try:
            self.conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)
            rows = self.conn.execute("SELECT key, value FROM meta").fetchall()
            self._assets = tuple(
                Asset(symbol, decimals)
                for symbol, decimals in self.conn.execute("SELECT symbol, decimals FROM assets ORDER BY position")
            )
        except sqlite3.DatabaseError as exc:
            raise TreeError(f"{path}: not a zkproofs tree database ({exc})") from None
        self.meta = dict(rows)
        version = self.meta.get("format_version")
        if version != str(FORMAT_VERSION):
            raise TreeError(f"{path}: unsupported tree database format {version!r} (this version reads {FORMAT_VERSION}: rebuild the tree)")
        self.codec = NodeCodec(self.depth, len(self._assets))

    def __enter__(self) -> "TreeStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    @property
    def assets(self) -> tuple[Asset, ...]:
        """The asset columns, in leaf order."""
        return self._assets

    @property
    def depth(self) -> int:
        """Tree depth (the root is at this height)."""
        return _int(self.meta.get("depth"), f"{self.path}: meta depth")

    @property
    def fixed_height(self) -> int | None:
        """The height of a fixed-height tree (``tree build --height``), None for a complete tree."""
        shape = self.meta.get("shape", "complete")
        if shape == "complete":
            return None
        if shape == "fixed-height":
            return self.depth
        raise TreeError(f"{self.path}: meta shape {shape!r} is neither 'complete' nor 'fixed-height'")

    @property
    def pledges(self) -> tuple[str, ...]:
        """The pledge classes every leaf commits (meta ``pledges``), () when the input had none."""
        where = f"{self.path}: meta pledges"
        if "pledges" not in self.meta:
            raise TreeError(f"{where}: missing")
        value = loads(self.meta["pledges"], where, TreeError)
        problem = pledge_problem(value) if isinstance(value, list) else "expected a JSON list"
        if problem:
            raise TreeError(f"{where}: {problem}")
        return tuple(value)

    @functools.cached_property
    def keys(self) -> TreeKeys:
        """The secret's :class:`~zkproofs.tree.hashing.TreeKeys` (set up on first use: a scan of every account derives every salt)."""
        return TreeKeys(self.secret)

    @property
    def secret(self) -> bytes:
        """The tree secret (salts, padding, leaf order). Confidential to the exchange."""
        try:
            return bytes.fromhex(self.meta["tree_secret"])
        except (KeyError, ValueError):
            raise TreeError(f"{self.path}: meta tree_secret missing or not hex") from None

    def account(self, account_id: str) -> AccountRow | None:
        """The stored account ``account_id`` or None. One primary-key read and one HMAC (the salt)."""
        row = self.conn.execute(
            "SELECT id, leaf_index, equities, debts, collateral FROM accounts WHERE id = ?", (account_id,)
        ).fetchone()
        return None if row is None else self._account(row)

    def accounts(self) -> Iterator[AccountRow]:
        """Every stored account, by id."""
        for row in self.conn.execute("SELECT id, leaf_index, equities, debts, collateral FROM accounts ORDER BY id"):
            yield self._account(row)

    def accounts_by_leaf(self) -> Iterator[AccountRow]:
        """Every stored account, in leaf order (one scan and sort of the table)."""
        for row in self.conn.execute("SELECT id, leaf_index, equities, debts, collateral FROM accounts ORDER BY leaf_index"):
            yield self._account(row)

    def account_count(self) -> int:
        """Number of stored accounts."""
        return self.conn.execute("SELECT COUNT(*) FROM accounts").fetchone()[0]

    def leaf_indices(self) -> dict[str, int]:
        """{account id: leaf index} of every stored account (one table scan)."""
        return dict(self.conn.execute("SELECT id, leaf_index FROM accounts"))

    def _account(self, row: tuple) -> AccountRow:
        where = f"{self.path}: account {row[0]!r}"
        return AccountRow(
            id=row[0],
            leaf_index=_int(row[1], f"{where} leaf_index"),
            salt=user_salt(self.keys, row[0]),
            equities=_int_list(row[2], f"{where} equities"),
            debts=_int_list(row[3], f"{where} debts"),
            collateral=_int_list(row[4], f"{where} collateral"),
        )

    def node(self, height: int, idx: int) -> tuple[int, tuple[int, ...]]:
        """(hash, sums) of node (height, idx); TreeError if missing. One primary-key read."""
        row = self.row(height, idx >> CHUNK_BITS)
        bit = idx & (CHUNK - 1)
        if row is None or not isinstance(row[0], int) or not (row[0] >> bit) & 1:
            raise TreeError(f"{self.path}: node ({height}, {idx}) is missing")
        mask, data = row
        position = bin(mask & ((1 << bit) - 1)).count("1")
        if not isinstance(data, bytes) or len(data) != bin(mask).count("1") * self.codec.size:
            raise TreeError(f"{self.path}: node row ({height}, {idx >> CHUNK_BITS}) has a malformed record")
        return self.codec.decode(data, position)

    def rows(self) -> Iterator[tuple[int, int, int, bytes]]:
        """(height, chunk, mask, data) of every ``nodes`` row, by key."""
        yield from self.conn.execute("SELECT height, chunk, mask, data FROM nodes ORDER BY height, chunk")

    def row(self, height: int, chunk: int) -> tuple[int, bytes] | None:
        """(mask, data) of one ``nodes`` row, or None; TreeError for a cell SQLite cannot decode."""
        try:
            return self.conn.execute("SELECT mask, data FROM nodes WHERE height = ? AND chunk = ?", (height, chunk)).fetchone()
        except sqlite3.DatabaseError as exc:
            raise TreeError(f"{self.path}: nodes row ({height}, {chunk}) cannot be read ({exc})") from None

    def count_rows(self) -> int:
        """Number of rows in ``nodes``."""
        return self.conn.execute("SELECT COUNT(*) FROM nodes").fetchone()[0]

    def count_nodes(self) -> int:
        """Number of materialised nodes (2^(depth + 1) - 1 in a complete tree). Reads every row's mask."""
        return sum(bin(mask).count("1") for (mask,) in self.conn.execute("SELECT mask FROM nodes"))
