"""The SQLite store: one file, WAL, ``synchronous=FULL`` (SPEC §8; docs/store.md).

The run lock is an exclusive ``fcntl`` lock on ``PATH.lock`` beside the database, held for a whole
run: a second run waits for it up to its timeout, then fails with :class:`StoreLocked`. Writes go in
short transactions (``BEGIN IMMEDIATE``), each all or nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

from .base import SCHEMA_VERSION, CaseRow, Meta, StoreError, StoreLocked

__all__ = ["SQLiteStore"]

_TABLES = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (
    policy_id TEXT NOT NULL, policy_version INTEGER NOT NULL, policy_hash TEXT NOT NULL,
    clock INTEGER, snapshot_version INTEGER NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS cases (
    id TEXT PRIMARY KEY, customer TEXT NOT NULL, state TEXT, final INTEGER NOT NULL,
    next_wake INTEGER, snapshot TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS cases_customer ON cases (customer);
CREATE INDEX IF NOT EXISTS cases_due ON cases (next_wake) WHERE final = 0;
CREATE TABLE IF NOT EXISTS invoices (id TEXT PRIMARY KEY, case_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS customers (id TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS record_ids (kind TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS contact (customer TEXT PRIMARY KEY, bookings TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending_events (customer TEXT PRIMARY KEY, events TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, at TEXT NOT NULL, at_instant INTEGER NOT NULL,
    case_id TEXT NOT NULL, type TEXT NOT NULL, record TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER, last_error TEXT, provider_id TEXT,
    created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (status, at_instant, case_id, id);
CREATE TABLE IF NOT EXISTS outbox_attempts (
    key TEXT NOT NULL, attempt INTEGER NOT NULL, started_at REAL NOT NULL, finished_at REAL, outcome TEXT,
    error TEXT, provider_id TEXT, PRIMARY KEY (key, attempt));
"""

# Upgrades of the store's own schema: version N -> N + 1. A store of version 0 is a file made before
# versions were recorded (there is none in the wild; the step is kept real and tested).
_UPGRADES: dict[int, str] = {0: _TABLES}


class _Writer:
    """The writes of one transaction."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.now = time.time()

    def put_cases(self, rows: Iterable[tuple]) -> None:
        self.db.executemany(
            "INSERT INTO cases (id, customer, state, final, next_wake, snapshot, updated_at) VALUES (?,?,?,?,?,?,?) "
            "ON CONFLICT (id) DO UPDATE SET customer=excluded.customer, state=excluded.state, final=excluded.final, "
            "next_wake=excluded.next_wake, snapshot=excluded.snapshot, updated_at=excluded.updated_at",
            [(*r, self.now) for r in rows])

    def put_invoices(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO invoices (id, case_id) VALUES (?, ?)", list(pairs))

    def put_customers(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO customers (id, record) VALUES (?, ?)", list(pairs))

    def add_record_ids(self, kind: str, ids: Iterable[str]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO record_ids (kind, id) VALUES (?, ?)", [(kind, i) for i in ids])

    def put_contact(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO contact (customer, bookings) VALUES (?, ?)", list(pairs))

    def put_pending_events(self, rows: Iterable[tuple[str, list[str]]]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO pending_events (customer, events) VALUES (?, ?)",
                            [(c, json.dumps(evs)) for c, evs in rows])

    def add_outbox(self, rows: Iterable[tuple]) -> int:
        """Rows ``(key, at, at_instant, case_id, type, record)``; a key already there is left as it is.
        Returns how many were new."""
        before = self.db.total_changes
        self.db.executemany(
            "INSERT OR IGNORE INTO outbox (key, at, at_instant, case_id, type, record, created_at, updated_at) "
            "VALUES (?,?,?,?,?,?,?,?)", [(*r, self.now, self.now) for r in rows])
        return self.db.total_changes - before

    def set_meta(self, *, clock: int | None) -> None:
        self.db.execute("UPDATE meta SET clock = ?, updated_at = ?", (clock, self.now))


class SQLiteStore:
    """A store in one SQLite file (created on first use)."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{path}"
        if self.path.is_dir():
            raise StoreError(f"{path} is a folder, not a store", help="give the path of a store file (created on first use)")
        try:
            self.db = sqlite3.connect(str(self.path), isolation_level=None, timeout=60)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self._upgrade()
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{path} is not a dunning store ({e})",
                             help="give the path of a store made by 'dunning run --store', or a new path") from None

    # ------------------------------------------------------------------ schema
    def _upgrade(self) -> None:
        names = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if names and "schema_version" not in names:
            raise StoreError(f"{self.path} is an SQLite file but not a dunning store",
                             help="give the path of a store made by 'dunning run --store', or a new path")
        version = 0
        if "schema_version" in names:
            row = self.db.execute("SELECT version FROM schema_version").fetchone()
            version = row[0] if row else 0
        if version > SCHEMA_VERSION:
            raise StoreError(f"the store {self.path} has schema version {version}; this dunning-engine knows "
                             f"version {SCHEMA_VERSION} at most", help="upgrade dunning-engine to read this store")
        while version < SCHEMA_VERSION:
            with self._tx():
                for statement in _UPGRADES[version].split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                version += 1
                self.db.execute("DELETE FROM schema_version")
                self.db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))

    # ------------------------------------------------------------------ transactions and the lock
    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[_Writer]:
        with self._tx():
            yield _Writer(self.db)

    @contextlib.contextmanager
    def lock(self, timeout: float) -> Iterator[None]:
        fd = os.open(str(self.path) + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise StoreLocked(
                            f"another run holds the store {self.path} (waited {timeout:g} s)",
                            help="wait for it to end, or raise --lock-timeout") from None
                    time.sleep(0.05)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    # ------------------------------------------------------------------ meta
    def meta(self) -> Meta | None:
        row = self.db.execute("SELECT policy_id, policy_version, policy_hash, clock, snapshot_version FROM meta").fetchone()
        return None if row is None else Meta(*row)

    def bind(self, policy_id: str, version: int, digest: str, snapshot_version: int) -> None:
        with self._tx():
            self.db.execute("DELETE FROM meta")
            self.db.execute("INSERT INTO meta VALUES (?, ?, ?, NULL, ?, ?)",
                            (policy_id, version, digest, snapshot_version, time.time()))

    def rebind(self, policy_id: str, version: int, digest: str) -> None:
        """A migration moved the cases to another policy version."""
        self.db.execute("UPDATE meta SET policy_id = ?, policy_version = ?, policy_hash = ?", (policy_id, version, digest))

    # ------------------------------------------------------------------ reads
    def due_cases(self, until: int, batch: int = 1000) -> Iterator[list[CaseRow]]:
        last = ""
        while True:
            rows = self.db.execute(
                "SELECT id, customer, state, final, next_wake, snapshot FROM cases WHERE final = 0 AND "
                "next_wake <= ? AND id > ? ORDER BY id LIMIT ?", (until, last, batch)).fetchall()
            if not rows:
                return
            yield [CaseRow(*r) for r in rows]
            last = rows[-1][0]

    def _in(self, sql: str, ids: list[str]) -> list[tuple]:
        out: list[tuple] = []
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            out += self.db.execute(sql.format(",".join("?" * len(chunk))), chunk).fetchall()
        return out

    def cases(self, ids: Iterable[str]) -> list[CaseRow]:
        return [CaseRow(*r) for r in self._in(
            "SELECT id, customer, state, final, next_wake, snapshot FROM cases WHERE id IN ({})", list(ids))]

    def cases_of_customers(self, ids: Iterable[str]) -> list[CaseRow]:
        return [CaseRow(*r) for r in self._in(
            "SELECT id, customer, state, final, next_wake, snapshot FROM cases WHERE customer IN ({})", list(ids))]

    def all_cases(self) -> Iterator[CaseRow]:
        for r in self.db.execute("SELECT id, customer, state, final, next_wake, snapshot FROM cases ORDER BY id"):
            yield CaseRow(*r)

    def case_ids_of_invoices(self, ids: Iterable[str]) -> dict[str, str]:
        return dict(self._in("SELECT id, case_id FROM invoices WHERE id IN ({})", list(ids)))

    def known_record_ids(self, kind: str, ids: Iterable[str]) -> set[str]:
        found: set[str] = set()
        ids = list(ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            found |= {r[0] for r in self.db.execute(
                f"SELECT id FROM record_ids WHERE kind = ? AND id IN ({','.join('?' * len(chunk))})", [kind, *chunk])}
        return found

    def customers(self, ids: Iterable[str]) -> dict[str, str]:
        return dict(self._in("SELECT id, record FROM customers WHERE id IN ({})", list(ids)))

    def contact(self, ids: Iterable[str]) -> dict[str, str]:
        return dict(self._in("SELECT customer, bookings FROM contact WHERE customer IN ({})", list(ids)))

    def pending_events(self, ids: Iterable[str]) -> dict[str, list[str]]:
        return {c: json.loads(e) for c, e in self._in(
            "SELECT customer, events FROM pending_events WHERE customer IN ({})", list(ids))}

    def outbox(self, status: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        sql = ("SELECT key, at, case_id, type, record, status, attempts, last_error, provider_id FROM outbox"
               + (" WHERE status = ?" if status else "") + " ORDER BY at_instant, case_id, id"
               + (f" LIMIT {int(limit)}" if limit else ""))
        cols = ("key", "at", "case", "type", "record", "status", "attempts", "last_error", "provider_id")
        return [dict(zip(cols, r)) for r in self.db.execute(sql, (status,) if status else ())]

    def mark(self, key: str, status: str, *, error: str | None = None, provider_id: str | None = None) -> bool:
        """Set an outbox row's delivery status (``delivered``, ``failed``...); False when no such key."""
        with self._tx():
            cur = self.db.execute(
                "UPDATE outbox SET status = ?, last_error = COALESCE(?, last_error), "
                "provider_id = COALESCE(?, provider_id), updated_at = ? WHERE key = ?",
                (status, error, provider_id, time.time(), key))
        return cur.rowcount > 0

    def counts(self) -> dict[str, dict[str, int]]:
        states = dict(self.db.execute("SELECT COALESCE(state, '(not started)'), COUNT(*) FROM cases GROUP BY 1 ORDER BY 1"))
        outbox = dict(self.db.execute("SELECT status, COUNT(*) FROM outbox GROUP BY 1 ORDER BY 1"))
        return {"cases_by_state": states, "outbox_by_status": outbox}

    # ------------------------------------------------------------------ closing
    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
