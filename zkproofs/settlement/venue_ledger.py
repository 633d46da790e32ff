"""The escrow venue's ledger: notes, nullifiers, anchors, transfers, withdrawals and settlements in SQLite.

Tables (every one append-only: triggers refuse UPDATE and DELETE):

* ``transfers``: incoming transfers the operator registered from custody (reference, asset, amount);
* ``epochs``: every price epoch the venue accepted (sequence, timestamp, the epoch file with its signed
  quotes, so anyone holding the oracle keys can re-check it), numbered from 1 without gaps;
* ``transitions``: every accepted state change, with what an auditor needs to
  re-verify it offline: kind, market, reference, the price epoch it proved at, expiry, counterparty nullifier,
  destination, the owner's receipt hash, nullifier (NULL for a first deposit), anchor, the new note
  commitment and its tree position, the proof file (JSON, public inputs
  included) and the unix time. A partial unique index makes each nullifier
  appear once (the nullifier set) and each deposit or withdrawal reference once;
* ``tree_nodes``: the complete nodes of the 4-ary note commitment tree (level, index -> 32-byte hash);
  ``meta`` names the tree's format (TREE_FORMAT) and depth, and a ledger of another format is refused;
* ``roots``: every root the tree reached (an anchor), numbered; the genesis root is seq 0;
* ``settlements``: settlement id -> its two legs (transition seqs) and both nullifiers;
* ``debt_notes``: every note that carries debt, as the venue learnt it from the trader's sealed
  liquidation material (:mod:`zkproofs.settlement.material`): its position, commitment, the
  nullifier its spend will reveal, the epoch it was last proven at and the sealed material.

Writers take the write lock first (``BEGIN IMMEDIATE``), so concurrent threads
and processes serialise and the uniqueness checks and inserts of one change
happen in one transaction: either all of a settlement is stored or none of it.
WAL journal with ``synchronous = FULL``: a committed change survives ``kill -9``
and power loss (SQLite, "Write-Ahead Logging", https://sqlite.org/wal.html).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from zkproofs.settlement.note_tree import NoteTree

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS transfers (
    reference     TEXT PRIMARY KEY,
    asset         TEXT NOT NULL,
    amount        INTEGER NOT NULL CHECK (amount > 0),
    registered_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS epochs (
    sequence     INTEGER PRIMARY KEY CHECK (sequence >= 1),
    timestamp    INTEGER NOT NULL,
    epoch        TEXT NOT NULL,
    published_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS transitions (
    seq                    INTEGER PRIMARY KEY AUTOINCREMENT,
    kind                   TEXT NOT NULL CHECK (kind IN ('deposit', 'withdraw', 'trade', 'borrow', 'repay', 'health', 'liquidate')),
    market                 TEXT NOT NULL,
    reference              TEXT NOT NULL,
    epoch                  INTEGER NOT NULL REFERENCES epochs (sequence),
    expiry                 INTEGER NOT NULL,
    counterparty_nullifier TEXT NOT NULL,
    destination            TEXT NOT NULL,
    receipt_hash           TEXT NOT NULL,
    nullifier              TEXT,
    anchor                 TEXT NOT NULL,
    new_commitment         TEXT NOT NULL,
    position               INTEGER NOT NULL UNIQUE,
    proof                  TEXT NOT NULL,
    received_at            REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS nullifier_set ON transitions (nullifier) WHERE nullifier IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS one_use_per_reference ON transitions (kind, reference) WHERE kind IN ('deposit', 'withdraw');
CREATE TABLE IF NOT EXISTS tree_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS roots (
    seq        INTEGER PRIMARY KEY,
    root       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS roots_by_value ON roots (root);
CREATE TABLE IF NOT EXISTS debt_notes (
    position     INTEGER PRIMARY KEY REFERENCES transitions (position),
    commitment   TEXT NOT NULL,
    nullifier    TEXT NOT NULL UNIQUE,
    proven_epoch INTEGER NOT NULL REFERENCES epochs (sequence),
    material     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settlements (
    settlement_id TEXT PRIMARY KEY,
    market        TEXT NOT NULL,
    leg_a         INTEGER NOT NULL REFERENCES transitions (seq),
    leg_b         INTEGER NOT NULL REFERENCES transitions (seq),
    nullifier_a   TEXT NOT NULL,
    nullifier_b   TEXT NOT NULL,
    settled_at    REAL NOT NULL
);
"""
TREE_FORMAT = "poseidon-t5-4ary"
"""The ``meta`` row naming the note tree's node function and arity (:mod:`zkproofs.settlement.note_tree`)."""
APPEND_ONLY = ("transfers", "epochs", "transitions", "tree_nodes", "roots", "settlements", "debt_notes")


class SqliteNodeStore:
    """The :class:`~zkproofs.settlement.note_tree.NodeStore` of ``tree_nodes`` on one connection."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def get(self, level: int, index: int) -> int | None:
        row = self.conn.execute("SELECT hash FROM tree_nodes WHERE level = ? AND idx = ?", (level, index)).fetchone()
        return None if row is None else int.from_bytes(row[0], "big")

    def put_many(self, nodes: Sequence[tuple[int, int, int]]) -> None:
        self.conn.executemany(
            "INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)",
            [(level, idx, value.to_bytes(32, "big")) for level, idx, value in nodes],
        )


class VenueLedger:
    """The venue database at ``path`` (created if missing) for a tree of ``depth``. Thread-safe; one connection per thread.

    A database made for another tree depth or tree format (the binary tree of
    earlier versions), or before price epochs (transitions without the epoch they proved at), is refused
    (ValueError): its roots would not be this tree's, or its proofs' prices could not be audited. ``clock`` gives unix seconds for the time columns.
    """

    def __init__(self, path: str | os.PathLike, *, depth: int, busy_timeout_seconds: float = 30.0, clock=time.time):
        self.path = Path(path)
        self.depth = depth
        self.clock = clock
        self._timeout = busy_timeout_seconds
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        conn = self._conn()
        conn.execute("PRAGMA journal_mode = WAL")
        with self.write() as c:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    c.execute(statement)
            for table in APPEND_ONLY:
                for op in ("UPDATE", "DELETE"):
                    c.execute(
                        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
                        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                    )
            row = c.execute("SELECT value FROM meta WHERE key = 'tree_depth'").fetchone()
            if row is None:
                c.execute("INSERT INTO meta (key, value) VALUES ('tree_depth', ?)", (str(depth),))
                c.execute("INSERT INTO meta (key, value) VALUES ('note_tree', ?)", (TREE_FORMAT,))
                tree = NoteTree(SqliteNodeStore(c), 0, depth)
                c.execute("INSERT INTO roots (seq, root, size, created_at) VALUES (0, ?, 0, ?)", (str(tree.root()), self.clock()))
            elif int(row[0]) != depth:
                raise ValueError(f"{self.path}: the ledger's note tree has depth {row[0]}, the policy says {depth}")
            else:
                fmt = c.execute("SELECT value FROM meta WHERE key = 'note_tree'").fetchone()
                if fmt is None or fmt[0] != TREE_FORMAT:
                    raise ValueError(f"{self.path}: the ledger's note tree is {'binary (an older format)' if fmt is None else fmt[0]}, "
                                     f"this venue's is {TREE_FORMAT}; its roots and nodes cannot be read as this tree's")
            sql = c.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'transitions'").fetchone()[0]
            if "'liquidate'" not in sql or " epoch " not in sql:
                raise ValueError(f"{self.path}: the ledger was made by a version without price epochs and liquidations "
                                 "(its transitions do not record the epoch they proved at); start a new ledger")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA synchronous = FULL")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``: the write lock before any read); rolled back on any error."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """One consistent read snapshot."""
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    # tree and anchors -------------------------------------------------------------
    def tree(self, conn: sqlite3.Connection) -> NoteTree:
        """The note tree as of ``conn``'s transaction (no hashing: it reads the stored frontier)."""
        return NoteTree(SqliteNodeStore(conn), self.latest_root(conn)[2], self.depth)

    @staticmethod
    def latest_root(conn: sqlite3.Connection) -> tuple[int, int, int]:
        """(seq, root, size) of the newest published root."""
        seq, root, size = conn.execute("SELECT seq, root, size FROM roots ORDER BY seq DESC LIMIT 1").fetchone()
        return seq, int(root), size

    @staticmethod
    def anchor_age(conn: sqlite3.Connection, root: int) -> int | None:
        """How many roots were published after ``root`` (0: the current root), or None if never published."""
        row = conn.execute("SELECT MAX(seq) FROM roots WHERE root = ?", (str(root),)).fetchone()
        if row[0] is None:
            return None
        latest = conn.execute("SELECT MAX(seq) FROM roots").fetchone()[0]
        return latest - row[0]

    def publish_root(self, conn: sqlite3.Connection, tree: NoteTree) -> int:
        """Record the tree's current root as the next anchor; returns the root."""
        seq = self.latest_root(conn)[0] + 1
        root = tree.root()
        conn.execute("INSERT INTO roots (seq, root, size, created_at) VALUES (?, ?, ?, ?)", (seq, str(root), tree.size, self.clock()))
        return root

    def recent_roots(self, limit: int) -> list[dict]:
        """The newest ``limit`` roots, newest first: {"seq", "root", "size", "created_at"}."""
        rows = self._conn().execute("SELECT seq, root, size, created_at FROM roots ORDER BY seq DESC LIMIT ?", (limit,)).fetchall()
        return [{"seq": r[0], "root": r[1], "size": r[2], "created_at": r[3]} for r in rows]

    def membership_path(self, position: int):
        """The membership path of the note at ``position`` against the current root: (path, root)."""
        with self.read() as conn:
            tree = self.tree(conn)
            return tree.path(position), tree.root()

    # price epochs ------------------------------------------------------------------
    @staticmethod
    def latest_epoch(conn: sqlite3.Connection) -> tuple[int, str, float] | None:
        """(sequence, epoch file JSON, published_at) of the newest epoch, or None before the first."""
        return conn.execute("SELECT sequence, epoch, published_at FROM epochs ORDER BY sequence DESC LIMIT 1").fetchone()

    @staticmethod
    def epoch(conn: sqlite3.Connection, sequence: int) -> tuple[int, str, float] | None:
        """(sequence, epoch file JSON, published_at) of epoch ``sequence``, or None."""
        return conn.execute("SELECT sequence, epoch, published_at FROM epochs WHERE sequence = ?", (sequence,)).fetchone()

    @staticmethod
    def insert_epoch(conn: sqlite3.Connection, sequence: int, timestamp: int, epoch_json: str, published_at: float) -> None:
        """Record an accepted epoch (the caller checked it follows the latest) with the venue's clock at acceptance
        (grace periods run from it, and the audit re-checks the epoch at that time)."""
        conn.execute("INSERT INTO epochs (sequence, timestamp, epoch, published_at) VALUES (?, ?, ?, ?)",
                     (sequence, timestamp, epoch_json, published_at))

    # notes that carry debt ------------------------------------------------------------
    @staticmethod
    def debt_note_by_nullifier(conn: sqlite3.Connection, nullifier: int) -> dict | None:
        """The debt-carrying note whose spend reveals ``nullifier``, or None."""
        row = conn.execute("SELECT position, commitment, proven_epoch, material FROM debt_notes WHERE nullifier = ?",
                           (str(nullifier),)).fetchone()
        return None if row is None else {"position": row[0], "commitment": row[1], "proven_epoch": row[2], "material": row[3],
                                         "nullifier": str(nullifier)}

    @staticmethod
    def insert_debt_note(conn: sqlite3.Connection, position: int, commitment: int, nullifier: int, proven_epoch: int,
                         material: str) -> None:
        conn.execute("INSERT INTO debt_notes (position, commitment, nullifier, proven_epoch, material) VALUES (?, ?, ?, ?, ?)",
                     (position, str(commitment), str(nullifier), proven_epoch, material))

    def open_debt_notes(self) -> list[dict]:
        """Debt-carrying notes not spent yet (their nullifier unseen), by position."""
        rows = self.query("SELECT position, commitment, nullifier, proven_epoch, material FROM debt_notes WHERE nullifier NOT IN "
                          "(SELECT nullifier FROM transitions WHERE nullifier IS NOT NULL) ORDER BY position")
        return [{"position": r[0], "commitment": r[1], "nullifier": r[2], "proven_epoch": r[3], "material": r[4]} for r in rows]

    # transfers, transitions, settlements ---------------------------------------
    def transfer(self, conn: sqlite3.Connection, reference: str) -> tuple[str, int] | None:
        row = conn.execute("SELECT asset, amount FROM transfers WHERE reference = ?", (reference,)).fetchone()
        return None if row is None else (row[0], row[1])

    def add_transfer(self, conn: sqlite3.Connection, reference: str, asset: str, amount: int) -> None:
        conn.execute("INSERT INTO transfers (reference, asset, amount, registered_at) VALUES (?, ?, ?, ?)",
                     (reference, asset, amount, self.clock()))

    @staticmethod
    def nullifier_seen(conn: sqlite3.Connection, nullifier: int) -> bool:
        return conn.execute("SELECT 1 FROM transitions WHERE nullifier = ?", (str(nullifier),)).fetchone() is not None

    @staticmethod
    def reference_used(conn: sqlite3.Connection, kind: str, reference: str) -> bool:
        return conn.execute("SELECT 1 FROM transitions WHERE kind = ? AND reference = ?", (kind, reference)).fetchone() is not None

    def insert_transition(self, conn: sqlite3.Connection, *, kind: str, market: str, reference: str, epoch: int, expiry: int,
                          counterparty_nullifier: int, destination: str, receipt_hash: int, nullifier: int | None, anchor: int,
                          new_commitment: int, position: int, proof: dict) -> int:
        cur = conn.execute(
            "INSERT INTO transitions (kind, market, reference, epoch, expiry, counterparty_nullifier, destination, receipt_hash,"
            " nullifier, anchor, new_commitment, position, proof, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (kind, market, reference, epoch, expiry, str(counterparty_nullifier), destination, str(receipt_hash),
             None if nullifier is None else str(nullifier), str(anchor), str(new_commitment), position,
             json.dumps(proof, sort_keys=True, separators=(",", ":")), self.clock()),
        )
        return cur.lastrowid

    def insert_settlement(self, conn: sqlite3.Connection, settlement_id: str, market: str, legs: tuple[int, int], nullifiers: tuple[int, int]) -> None:
        conn.execute(
            "INSERT INTO settlements (settlement_id, market, leg_a, leg_b, nullifier_a, nullifier_b, settled_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (settlement_id, market, legs[0], legs[1], str(nullifiers[0]), str(nullifiers[1]), self.clock()),
        )

    @staticmethod
    def settlement(conn: sqlite3.Connection, settlement_id: str) -> dict | None:
        row = conn.execute(
            "SELECT s.settlement_id, s.market, s.nullifier_a, s.nullifier_b, s.settled_at, a.new_commitment, a.position,"
            " b.new_commitment, b.position FROM settlements s JOIN transitions a ON a.seq = s.leg_a"
            " JOIN transitions b ON b.seq = s.leg_b WHERE s.settlement_id = ?",
            (settlement_id,),
        ).fetchone()
        if row is None:
            return None
        return {
            "settlement_id": row[0], "market": row[1], "status": "SETTLED", "settled_at": row[4],
            "legs": [{"nullifier": row[2], "new_commitment": row[5], "position": row[6]},
                     {"nullifier": row[3], "new_commitment": row[7], "position": row[8]}],
        }

    def transitions(self) -> Iterator[dict]:
        """Every accepted transition, oldest first (for the audit), with the roots table alongside."""
        conn = self._conn()
        cols = ("seq", "kind", "market", "reference", "epoch", "expiry", "counterparty_nullifier", "destination", "receipt_hash", "nullifier",
                "anchor", "new_commitment", "position", "proof", "received_at")
        for row in conn.execute(f"SELECT {', '.join(cols)} FROM transitions ORDER BY seq"):
            yield dict(zip(cols, row))

    def query(self, sql: str, params: Sequence = ()) -> list[tuple]:
        """A read-only query for reports and the audit."""
        return self._conn().execute(sql, params).fetchall()

    def close(self) -> None:
        """Close every connection this ledger opened."""
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
