"""The dedup store: one row per notification id, in SQLite (WAL), shared by all workers.

A row is *claimed* (with the landing key chosen for it) before anything is landed and becomes
*landed* only after the landing write is durable. The order is what makes a crash harmless:

- crash before the claim commits: nothing happened; the retry starts afresh;
- crash after the claim, before/while landing: the row is ``claimed``; once its lease has
  expired, a retry re-checks the landing area: no object -> claim again with a new key;
- crash after landing, before ``landed`` commits: the retry finds the object at the claimed key
  and only marks it landed (no second object: landing is idempotent by id);
- crash after ``landed`` commits, before answering: the retry is a duplicate (200, not landed).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS notifications (
    environment TEXT NOT NULL,
    id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('claimed', 'landed')),
    landing_key TEXT NOT NULL,
    claimed_at REAL NOT NULL,
    landed_at REAL,
    attempts INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (environment, id)
) WITHOUT ROWID
"""


@dataclass(frozen=True)
class Claim:
    # new: land at `key`; duplicate: already landed; in_progress: another delivery holds a live
    # claim; recovered: a crashed delivery had landed at `key`, now marked landed.
    kind: str
    key: str | None


class DedupStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._connect_new() as conn:
            conn.execute(SCHEMA)

    def _connect_new(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed row survives power loss. NORMAL could lose the last claim, and a
        # lost claim for an object already landed would let a retry land a second object.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect_new()
        return conn

    def claim(
        self,
        environment: str,
        notification_id: str,
        new_key: str,
        *,
        lease_seconds: float,
        landed: Callable[[str], bool],
        now: float | None = None,
    ) -> Claim:
        now = time.time() if now is None else now
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(
                "SELECT state, landing_key, claimed_at FROM notifications"
                " WHERE environment = ? AND id = ?",
                (environment, notification_id),
            ).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO notifications (environment, id, state, landing_key, claimed_at)"
                    " VALUES (?, ?, 'claimed', ?, ?)",
                    (environment, notification_id, new_key, now),
                )
                result = Claim("new", new_key)
            elif row[0] == "landed":
                result = Claim("duplicate", row[1])
            elif now - row[2] < lease_seconds:
                result = Claim("in_progress", None)
            elif landed(row[1]):
                self._set_landed(conn, environment, notification_id, row[1], now)
                result = Claim("recovered", row[1])
            else:
                conn.execute(
                    "UPDATE notifications SET landing_key = ?, claimed_at = ?,"
                    " attempts = attempts + 1 WHERE environment = ? AND id = ?",
                    (new_key, now, environment, notification_id),
                )
                result = Claim("new", new_key)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return result

    @staticmethod
    def _set_landed(
        conn: sqlite3.Connection, environment: str, notification_id: str, key: str, now: float
    ) -> int:
        return conn.execute(
            "UPDATE notifications SET state = 'landed', landed_at = COALESCE(landed_at, ?)"
            " WHERE environment = ? AND id = ? AND landing_key = ?",
            (now, environment, notification_id, key),
        ).rowcount

    def mark_landed(self, environment: str, notification_id: str, key: str) -> bool:
        """False when the claim was taken over (lease expired): the caller's object is orphan."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            changed = self._set_landed(conn, environment, notification_id, key, time.time())
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return changed == 1

    def release(self, environment: str, notification_id: str, key: str) -> None:
        """Drop our claim after a failed landing so the vendor's retry need not wait a lease."""
        self._conn().execute(
            "DELETE FROM notifications WHERE environment = ? AND id = ? AND landing_key = ?"
            " AND state = 'claimed'",
            (environment, notification_id, key),
        )

    def prune(self, older_than_seconds: float) -> int:
        """Forget landed ids older than the vendor's retry horizon (3 days; keep a margin)."""
        cutoff = time.time() - older_than_seconds
        return (
            self._conn()
            .execute(
                "DELETE FROM notifications WHERE state = 'landed' AND landed_at < ?", (cutoff,)
            )
            .rowcount
        )

    def check(self) -> None:
        self._conn().execute("SELECT 1").fetchone()

    def counts(self) -> dict[str, int]:
        rows = self._conn().execute("SELECT state, count(*) FROM notifications GROUP BY state")
        return {state: n for state, n in rows}
