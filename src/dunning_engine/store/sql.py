"""What the SQLite and PostgreSQL stores share: the tables, the writes of a transaction and the
reads (SPEC §8; docs/store.md). A backend gives its connection, its transactions, its run lock and
its column types; statements are written once, with ``?`` placeholders."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any, Iterable, Iterator

from .base import SCHEMA_VERSION, CaseRow, Meta, StoreError

__all__ = ["SQLStore"]

# The tables, with {int} (a 64-bit integer), {real}, {serial} (an increasing key) from the dialect.
TABLES = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (
    policy_id TEXT NOT NULL, policy_version INTEGER NOT NULL, policy_hash TEXT NOT NULL,
    clock {int}, snapshot_version INTEGER NOT NULL, updated_at {real} NOT NULL, policy_text TEXT);
CREATE TABLE IF NOT EXISTS cases (
    id TEXT PRIMARY KEY, customer TEXT NOT NULL, state TEXT, final INTEGER NOT NULL,
    next_wake {int}, snapshot TEXT NOT NULL, updated_at {real} NOT NULL);
CREATE INDEX IF NOT EXISTS cases_customer ON cases (customer);
CREATE INDEX IF NOT EXISTS cases_due ON cases (next_wake) WHERE final = 0;
CREATE TABLE IF NOT EXISTS state_counts (state TEXT PRIMARY KEY, n {int} NOT NULL);
CREATE TABLE IF NOT EXISTS invoices (id TEXT PRIMARY KEY, case_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS customers (id TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS record_ids (kind TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS contact (customer TEXT PRIMARY KEY, bookings TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending_events (customer TEXT PRIMARY KEY, events TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id {serial}, key TEXT NOT NULL UNIQUE, at TEXT NOT NULL, at_instant {int} NOT NULL,
    case_id TEXT NOT NULL, type TEXT NOT NULL, record TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at {int}, last_error TEXT, provider_id TEXT,
    created_at {real} NOT NULL, updated_at {real} NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (status, at_instant, case_id, id);
CREATE TABLE IF NOT EXISTS outbox_attempts (
    key TEXT NOT NULL, attempt INTEGER NOT NULL, started_at {real} NOT NULL, finished_at {real}, outcome TEXT,
    error TEXT, provider_id TEXT, PRIMARY KEY (key, attempt))
"""

# Upgrades of the store's own tables: version N -> N + 1. Version 0 is an empty database.
UPGRADES: dict[int, str] = {0: TABLES}

_CASE_COLUMNS = "id, customer, state, final, next_wake, snapshot"


class _Writer:
    """The writes of one transaction (all or nothing)."""

    def __init__(self, store: SQLStore) -> None:
        self.s = store
        self.now = time.time()

    def put_cases(self, rows: Iterable[tuple]) -> None:
        self.s._many(
            f"INSERT INTO cases ({_CASE_COLUMNS}, updated_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET "
            "customer = excluded.customer, state = excluded.state, final = excluded.final, "
            "next_wake = excluded.next_wake, snapshot = excluded.snapshot, updated_at = excluded.updated_at",
            [(*r, self.now) for r in rows])

    def put_invoices(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.s._many("INSERT INTO invoices (id, case_id) VALUES (?, ?) "
                     "ON CONFLICT (id) DO UPDATE SET case_id = excluded.case_id", list(pairs))

    def put_customers(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.s._many("INSERT INTO customers (id, record) VALUES (?, ?) "
                     "ON CONFLICT (id) DO UPDATE SET record = excluded.record", list(pairs))

    def add_record_ids(self, kind: str, ids: Iterable[str]) -> None:
        self.s._many("INSERT INTO record_ids (kind, id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                     [(kind, i) for i in ids])

    def put_contact(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.s._many("INSERT INTO contact (customer, bookings) VALUES (?, ?) "
                     "ON CONFLICT (customer) DO UPDATE SET bookings = excluded.bookings", list(pairs))

    def put_pending_events(self, rows: Iterable[tuple[str, list[str]]]) -> None:
        self.s._many("INSERT INTO pending_events (customer, events) VALUES (?, ?) "
                     "ON CONFLICT (customer) DO UPDATE SET events = excluded.events",
                     [(c, json.dumps(evs)) for c, evs in rows])

    def add_outbox(self, rows: Iterable[tuple]) -> None:
        """Rows ``(key, at, at_instant, case_id, type, record)``; a key already there is left as it is
        (a run started again after a crash never writes a key twice)."""
        self.s._many("INSERT INTO outbox (key, at, at_instant, case_id, type, record, created_at, updated_at) "
                     "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (key) DO NOTHING", [(*r, self.now, self.now) for r in rows])

    def count_states(self, delta: dict[str, int]) -> None:
        """Cases moved between states (``(not started)`` for none): the counts a summary prints,
        kept in the same transaction as the cases, so that no run counts the whole store."""
        rows = [(state, n) for state, n in sorted(delta.items()) if n]
        self.s._many("INSERT INTO state_counts (state, n) VALUES (?, ?) "
                     "ON CONFLICT (state) DO UPDATE SET n = state_counts.n + excluded.n", rows)

    def set_meta(self, *, clock: int | None, policy: tuple[str, int, str, str] | None = None) -> None:
        """The store's clock; with ``policy`` (id, version, hash, canonical text), the version it is
        bound to (a migration)."""
        self.s._run("UPDATE meta SET clock = ?, updated_at = ?", (clock, self.now))
        if policy is not None:
            self.s._run("UPDATE meta SET policy_id = ?, policy_version = ?, policy_hash = ?, policy_text = ?", policy)


class SQLStore:
    """A store in an SQL database. Subclasses connect, and give ``_begin``, ``lock`` and the dialect."""

    name = "store"
    types = {"int": "BIGINT", "real": "DOUBLE PRECISION", "serial": "BIGSERIAL PRIMARY KEY"}

    # ------------------------------------------------------------------ the dialect
    def _run(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        raise NotImplementedError

    def _many(self, sql: str, rows: list) -> None:
        raise NotImplementedError

    def _begin(self) -> None:
        self._run("BEGIN")

    def _tables(self) -> set[str]:
        raise NotImplementedError

    def _schema_lock(self) -> None:
        """Within the upgrade's transaction: one process changes the schema at a time (SQLite's
        ``BEGIN IMMEDIATE`` already does)."""

    def lock(self, timeout: float) -> contextlib.AbstractContextManager[None]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ schema
    def _check_foreign(self) -> None:
        """Refuse a database that holds tables of something else, before changing anything in it."""
        names = self._tables()
        if names and "schema_version" not in names:
            raise StoreError(f"{self.name} holds tables but is not a dunning store",
                             help="give a store made by 'dunning run --store', or a new one")

    def _version(self) -> int:
        if "schema_version" not in self._tables():
            return 0
        row = self._run("SELECT version FROM schema_version")
        return row[0][0] if row else 0

    def _upgrade(self) -> None:
        self._check_foreign()
        while True:
            with self._tx():  # the version is read inside: two processes opening a new store upgrade it once
                self._schema_lock()
                version = self._version()
                if version > SCHEMA_VERSION:
                    raise StoreError(f"the store {self.name} has schema version {version}; this dunning-engine "
                                     f"knows version {SCHEMA_VERSION} at most",
                                     help="upgrade dunning-engine to read this store")
                if version == SCHEMA_VERSION:
                    return
                for statement in UPGRADES[version].format(**self.types).split(";"):
                    if statement.strip():
                        self._run(statement)
                self._run("DELETE FROM schema_version")
                self._run("INSERT INTO schema_version (version) VALUES (?)", (version + 1,))

    # ------------------------------------------------------------------ transactions
    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        self._begin()
        try:
            yield
        except BaseException:
            self._run("ROLLBACK")
            raise
        self._run("COMMIT")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[_Writer]:
        """A transaction: every write made through the writer lands, or none does."""
        with self._tx():
            yield _Writer(self)

    # ------------------------------------------------------------------ meta
    def meta(self) -> Meta | None:
        rows = self._run("SELECT policy_id, policy_version, policy_hash, clock, snapshot_version FROM meta")
        return Meta(*rows[0]) if rows else None

    def bind(self, policy_id: str, version: int, digest: str, snapshot_version: int, text: str | None = None) -> None:
        """Bind a new store to a policy: its id, version, hash and canonical text (``dunning migrate``
        reads the text to tell which states a new version left unchanged)."""
        with self._tx():
            self._run("DELETE FROM meta")
            self._run("INSERT INTO meta (policy_id, policy_version, policy_hash, clock, snapshot_version, updated_at, "
                      "policy_text) VALUES (?, ?, ?, NULL, ?, ?, ?)",
                      (policy_id, version, digest, snapshot_version, time.time(), text))

    def policy_text(self) -> str | None:
        """The canonical YAML text of the policy version the store runs (None for a store made without)."""
        rows = self._run("SELECT policy_text FROM meta")
        return rows[0][0] if rows else None

    # ------------------------------------------------------------------ reads
    def due_cases(self, until: int, batch: int = 1000) -> Iterator[list[CaseRow]]:
        """Cases not final whose next wake is at or before ``until`` (the due index), ``batch`` at a
        time, in no particular order."""
        rows = self._run(f"SELECT {_CASE_COLUMNS} FROM cases WHERE final = 0 AND next_wake <= ?", (until,))
        for i in range(0, len(rows), batch):
            yield [CaseRow(*r) for r in rows[i:i + batch]]

    def _in(self, sql: str, ids: Iterable[str], *before: Any) -> list[tuple]:
        out: list[tuple] = []
        ids = sorted(set(ids))
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            out += self._run(sql.format(",".join("?" * len(chunk))), [*before, *chunk])
        return out

    def cases(self, ids: Iterable[str]) -> list[CaseRow]:
        return [CaseRow(*r) for r in self._in(f"SELECT {_CASE_COLUMNS} FROM cases WHERE id IN ({{}})", ids)]

    def cases_of_customers(self, ids: Iterable[str]) -> list[CaseRow]:
        return [CaseRow(*r) for r in self._in(f"SELECT {_CASE_COLUMNS} FROM cases WHERE customer IN ({{}})", ids)]

    def all_cases(self) -> Iterator[CaseRow]:
        last = ""
        while True:
            rows = self._run(f"SELECT {_CASE_COLUMNS} FROM cases WHERE id > ? ORDER BY id LIMIT 1000", (last,))
            if not rows:
                return
            yield from (CaseRow(*r) for r in rows)
            last = rows[-1][0]

    def case_ids_of_invoices(self, ids: Iterable[str]) -> dict[str, str]:
        return dict(self._in("SELECT id, case_id FROM invoices WHERE id IN ({})", ids))

    def known_record_ids(self, kind: str, ids: Iterable[str]) -> set[str]:
        return {r[0] for r in self._in("SELECT id FROM record_ids WHERE kind = ? AND id IN ({})", ids, kind)}

    def customers(self, ids: Iterable[str]) -> dict[str, str]:
        return dict(self._in("SELECT id, record FROM customers WHERE id IN ({})", ids))

    def contact(self, ids: Iterable[str]) -> dict[str, str]:
        return dict(self._in("SELECT customer, bookings FROM contact WHERE customer IN ({})", ids))

    def pending_events(self, ids: Iterable[str]) -> dict[str, list[str]]:
        return {c: json.loads(e) for c, e in self._in(
            "SELECT customer, events FROM pending_events WHERE customer IN ({})", ids)}

    def outbox(self, status: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Outbox rows in order (instant, case, the order they were written), optionally of one status."""
        sql = ("SELECT key, at, case_id, type, record, status, attempts, last_error, provider_id FROM outbox"
               + (" WHERE status = ?" if status else "") + " ORDER BY at_instant, case_id, id"
               + (f" LIMIT {int(limit)}" if limit else ""))
        cols = ("key", "at", "case", "type", "record", "status", "attempts", "last_error", "provider_id")
        return [dict(zip(cols, r)) for r in self._run(sql, (status,) if status else ())]

    def mark(self, key: str, status: str, *, error: str | None = None, provider_id: str | None = None) -> bool:
        """Set an outbox row's delivery status (``delivered``, ``failed``...); False when no such key."""
        with self._tx():
            found = self._run("SELECT 1 FROM outbox WHERE key = ?", (key,))
            self._run("UPDATE outbox SET status = ?, last_error = COALESCE(?, last_error), "
                      "provider_id = COALESCE(?, provider_id), updated_at = ? WHERE key = ?",
                      (status, error, provider_id, time.time(), key))
        return bool(found)

    def counts(self) -> dict[str, dict[str, int]]:
        """Cases by state and outbox rows by status."""
        states = dict(self._run("SELECT state, n FROM state_counts WHERE n <> 0 ORDER BY state"))
        outbox = dict(self._run("SELECT status, COUNT(*) FROM outbox GROUP BY 1 ORDER BY 1"))
        return {"cases_by_state": states, "outbox_by_status": outbox}

    def __enter__(self) -> SQLStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
