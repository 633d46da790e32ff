"""The settlement ledger: an append-only SQLite log of every decision.

One table, ``decisions`` (append-only: triggers refuse UPDATE and DELETE), and a
partial unique index ``one_acceptance_per_settlement`` on settlement_id WHERE
accepted = 1: SQLite itself guarantees that a settlement id is accepted at most
once, whatever process writes. :meth:`Ledger.append` runs the replay check and
the insert in one ``BEGIN IMMEDIATE`` transaction (the write lock is taken
before the read), so concurrent submissions from threads or processes serialise
and exactly one acceptance per id commits; the losers are recorded as replays.
WAL journal with ``synchronous = FULL``: a committed decision survives a crash
or power loss (SQLite, "Write-Ahead Logging", https://sqlite.org/wal.html).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass, replace
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    settlement_id TEXT    NOT NULL,
    market        TEXT,
    accepted      INTEGER NOT NULL CHECK (accepted IN (0, 1)),
    reason        TEXT    NOT NULL,
    message       TEXT    NOT NULL,
    proof_digest  TEXT,
    received_at   REAL    NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS one_acceptance_per_settlement ON decisions (settlement_id) WHERE accepted = 1;
CREATE INDEX IF NOT EXISTS decisions_by_settlement ON decisions (settlement_id);
CREATE TRIGGER IF NOT EXISTS decisions_no_update BEFORE UPDATE ON decisions
    BEGIN SELECT RAISE(ABORT, 'decisions is append-only'); END;
CREATE TRIGGER IF NOT EXISTS decisions_no_delete BEFORE DELETE ON decisions
    BEGIN SELECT RAISE(ABORT, 'decisions is append-only'); END;
"""


@dataclass(frozen=True)
class LedgerEntry:
    """One row of ``decisions``; ``seq`` is 0 until stored. ``received_at``: unix seconds."""

    settlement_id: str
    market: str | None
    accepted: bool
    reason: str
    message: str
    proof_digest: str | None
    received_at: float
    seq: int = 0

    def to_dict(self) -> dict:
        return {
            "seq": self.seq,
            "settlement_id": self.settlement_id,
            "market": self.market,
            "accepted": self.accepted,
            "reason": self.reason,
            "message": self.message,
            "proof_digest": self.proof_digest,
            "received_at": self.received_at,
        }


class Ledger:
    """The decisions database at ``path`` (created if missing). Thread-safe; one connection per thread.

    ``busy_timeout_seconds`` bounds how long a writer waits for another process's
    transaction before sqlite3.OperationalError.
    """

    def __init__(self, path: str | os.PathLike, *, busy_timeout_seconds: float = 30.0):
        self.path = Path(path)
        self._timeout = busy_timeout_seconds
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        conn = self._conn()
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA synchronous = FULL")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    def append(self, entry: LedgerEntry, *, replay_reason: str, replay_message: str) -> LedgerEntry:
        """Append ``entry`` in one transaction and return what was stored.

        If ``entry`` is an acceptance and the settlement id is already accepted,
        the stored (and returned) entry is a rejection with ``replay_reason`` and
        ``replay_message`` instead. Cost: one indexed lookup and one insert.
        """
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            if entry.accepted and self._accepted(conn, entry.settlement_id):
                entry = replace(entry, accepted=False, reason=replay_reason, message=replay_message)
            cur = conn.execute(
                "INSERT INTO decisions (settlement_id, market, accepted, reason, message, proof_digest, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (entry.settlement_id, entry.market, int(entry.accepted), entry.reason, entry.message,
                 entry.proof_digest, entry.received_at),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return replace(entry, seq=cur.lastrowid)

    @staticmethod
    def _accepted(conn: sqlite3.Connection, settlement_id: str) -> bool:
        row = conn.execute("SELECT 1 FROM decisions WHERE settlement_id = ? AND accepted = 1", (settlement_id,)).fetchone()
        return row is not None

    def is_accepted(self, settlement_id: str) -> bool:
        """True iff an acceptance of ``settlement_id`` is committed."""
        return self._accepted(self._conn(), settlement_id)

    def decisions_for(self, settlement_id: str) -> list[LedgerEntry]:
        """Every decision recorded for ``settlement_id``, oldest first."""
        rows = self._conn().execute(
            "SELECT settlement_id, market, accepted, reason, message, proof_digest, received_at, seq"
            " FROM decisions WHERE settlement_id = ? ORDER BY seq",
            (settlement_id,),
        ).fetchall()
        return [LedgerEntry(r[0], r[1], bool(r[2]), r[3], r[4], r[5], r[6], r[7]) for r in rows]

    def count(self, *, accepted: bool | None = None) -> int:
        """Number of decisions (all, or only accepted / rejected ones)."""
        if accepted is None:
            return self._conn().execute("SELECT COUNT(*) FROM decisions").fetchone()[0]
        return self._conn().execute("SELECT COUNT(*) FROM decisions WHERE accepted = ?", (int(accepted),)).fetchone()[0]

    def close(self) -> None:
        """Close every connection this ledger opened."""
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
