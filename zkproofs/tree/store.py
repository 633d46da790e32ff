"""SQLite storage of a liability tree: one file, written atomically, read by primary key.

Tables (``FORMAT_VERSION`` 1):

* ``meta(key PRIMARY KEY, value)``: format_version, tree_secret (hex; the
  exchange's secret, never published), depth, created_at, source, amount_bits
  (the root hash and totals are the root node's row, never copied here);
* ``assets(position PRIMARY KEY, symbol UNIQUE, decimals)``;
* ``accounts(id PRIMARY KEY, leaf_index UNIQUE, salt, equities, debts, collateral)``
  (salt decimal text; amounts JSON int lists in base units);
* ``nodes(height, idx, hash, sums, PRIMARY KEY(height, idx))`` (hash decimal
  text, sums a JSON int list: equity sums then debt sums; height 0 = leaves).

An inclusion proof reads one ``accounts`` row and one ``nodes`` row per level.
Writers build into a temporary file beside the target and ``os.replace`` it
(see :func:`atomic_database`), so a crash leaves the old database or none.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from zkproofs.accounts.model import Asset
from zkproofs.jsontext import loads
from zkproofs.tree.hashing import TreeError

FORMAT_VERSION = 1

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE assets (position INTEGER PRIMARY KEY, symbol TEXT NOT NULL UNIQUE, decimals INTEGER NOT NULL);
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    leaf_index INTEGER NOT NULL UNIQUE,
    salt TEXT NOT NULL,
    equities TEXT NOT NULL,
    debts TEXT NOT NULL,
    collateral TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE nodes (
    height INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash TEXT NOT NULL,
    sums TEXT NOT NULL,
    PRIMARY KEY (height, idx)
) WITHOUT ROWID;
"""


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
    """One stored account: id, leaf index, salt and amounts (base units, per asset)."""

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
            raise TreeError(f"{path}: unsupported tree database format {version!r}")

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
    def secret(self) -> bytes:
        """The tree secret (salts, padding, leaf order). Confidential to the exchange."""
        try:
            return bytes.fromhex(self.meta["tree_secret"])
        except (KeyError, ValueError):
            raise TreeError(f"{self.path}: meta tree_secret missing or not hex") from None

    def account(self, account_id: str) -> AccountRow | None:
        """The stored account ``account_id`` or None. One primary-key read."""
        row = self.conn.execute(
            "SELECT id, leaf_index, salt, equities, debts, collateral FROM accounts WHERE id = ?", (account_id,)
        ).fetchone()
        return None if row is None else self._account(row)

    def accounts(self) -> Iterator[AccountRow]:
        """Every stored account, by id."""
        for row in self.conn.execute("SELECT id, leaf_index, salt, equities, debts, collateral FROM accounts ORDER BY id"):
            yield self._account(row)

    def _account(self, row: tuple) -> AccountRow:
        where = f"{self.path}: account {row[0]!r}"
        return AccountRow(
            id=row[0],
            leaf_index=_int(row[1], f"{where} leaf_index"),
            salt=_int(row[2], f"{where} salt"),
            equities=_int_list(row[3], f"{where} equities"),
            debts=_int_list(row[4], f"{where} debts"),
            collateral=_int_list(row[5], f"{where} collateral"),
        )

    def node(self, height: int, idx: int) -> tuple[int, tuple[int, ...]]:
        """(hash, sums) of node (height, idx); TreeError if missing. One primary-key read."""
        row = self.conn.execute("SELECT hash, sums FROM nodes WHERE height = ? AND idx = ?", (height, idx)).fetchone()
        if row is None:
            raise TreeError(f"{self.path}: node ({height}, {idx}) is missing")
        where = f"{self.path}: node ({height}, {idx})"
        return _int(row[0], f"{where} hash"), _int_list(row[1], f"{where} sums")

    def level(self, height: int) -> Iterator[tuple[int, int, tuple[int, ...]]]:
        """(idx, hash, sums) of every stored node at ``height``, by idx."""
        for idx, hash_text, sums in self.conn.execute("SELECT idx, hash, sums FROM nodes WHERE height = ? ORDER BY idx", (height,)):
            where = f"{self.path}: node ({height}, {idx})"
            yield idx, _int(hash_text, f"{where} hash"), _int_list(sums, f"{where} sums")

    def count_nodes(self) -> int:
        """Number of rows in ``nodes`` (2^(depth + 1) - 1 in a complete tree)."""
        return self.conn.execute("SELECT COUNT(*) FROM nodes").fetchone()[0]
