"""The PostgreSQL store (15 or later; psycopg 3, the ``postgres`` extra): SPEC §8, docs/store.md.

The same tables and statements as SQLite (``sql.py``). The run lock is a session advisory lock on a
key made from the policy store's name, taken by polling ``pg_try_advisory_lock`` until the timeout;
writes go in short transactions.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, Iterator

from .base import StoreError, StoreLocked
from .sql import SQLStore

__all__ = ["PostgresStore"]

_LOCK_KEY = 0x64756E6E  # 'dunn': the advisory lock of a store (one store per database)


class PostgresStore(SQLStore):
    """A store in a PostgreSQL database, named by a ``postgresql://`` URL."""

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError:
            raise StoreError("PostgreSQL stores need psycopg", help="pip install 'dunning-engine[postgres]'") from None
        self.url = url
        self.name = _safe(url)
        try:
            self.db: Any = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise StoreError(f"cannot connect to the store {self.name}: {first}",
                             help="check the URL (postgresql://USER@HOST:PORT/DATABASE) and that the server runs") from None
        self._upgrade()

    def _run(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        cur = self.db.execute(sql.replace("?", "%s"), params)
        return cur.fetchall() if cur.description is not None else []

    def _many(self, sql: str, rows: list) -> None:
        if rows:
            with self.db.cursor() as cur:
                cur.executemany(sql.replace("?", "%s"), rows)

    def _schema_lock(self) -> None:
        # one schema change at a time across processes (released at the end of the transaction)
        self._run("SELECT pg_advisory_xact_lock(?)", (_LOCK_KEY + 1,))

    def _tables(self) -> set[str]:
        return {r[0] for r in self._run("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}

    @contextlib.contextmanager
    def lock(self, timeout: float) -> Iterator[None]:
        deadline = time.monotonic() + timeout
        while not self._run("SELECT pg_try_advisory_lock(?)", (_LOCK_KEY,))[0][0]:
            if time.monotonic() >= deadline:
                raise StoreLocked(f"another run holds the store {self.name} (waited {timeout:g} s)",
                                  help="wait for it to end, or raise --lock-timeout")
            time.sleep(0.05)
        try:
            yield
        finally:
            self._run("SELECT pg_advisory_unlock(?)", (_LOCK_KEY,))

    def close(self) -> None:
        self.db.close()


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    head, sep, tail = url.partition("@")
    if not sep or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, user = head.partition("//")
    return f"{scheme}//{user.split(':', 1)[0]}:***@{tail}"
