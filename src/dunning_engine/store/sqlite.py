"""The SQLite store: one file, WAL, ``synchronous=FULL`` (SPEC §8; docs/store.md).

The run lock is an exclusive ``fcntl`` lock on ``PATH.lock`` beside the database, held for a whole
run: a second run waits for it up to its timeout, then fails with :class:`StoreLocked`. Writes go in
short transactions (``BEGIN IMMEDIATE``), each all or nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from pathlib import Path
from typing import Iterator

from .base import StoreError, StoreLocked
from .sql import SQLStore

__all__ = ["SQLiteStore"]


class SQLiteStore(SQLStore):
    """A store in one SQLite file (created on first use)."""

    types = {"int": "INTEGER", "real": "REAL", "serial": "INTEGER PRIMARY KEY AUTOINCREMENT"}

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.name = str(path)
        self.url = f"sqlite:///{path}"
        if self.path.is_dir():
            raise StoreError(f"{path} is a folder, not a store", help="give the path of a store file (created on first use)")
        try:
            self.db = sqlite3.connect(str(self.path), isolation_level=None, timeout=60)
        except sqlite3.Error as e:
            raise StoreError(f"cannot open the store {path} ({e})", help="check the path and its permissions") from None
        try:
            self._check_foreign()  # before anything changes the file (WAL would)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self._upgrade()
        except sqlite3.DatabaseError as e:
            self.db.close()
            raise StoreError(f"{path} is not a dunning store ({e})",
                             help="give the path of a store made by 'dunning run --store', or a new path") from None

    def _run(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        return self.db.execute(sql, params).fetchall()

    def _many(self, sql: str, rows: list) -> None:
        self.db.executemany(sql, rows)

    def _begin(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def _tables(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}

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
                        raise StoreLocked(f"another run holds the store {self.path} (waited {timeout:g} s)",
                                          help="wait for it to end, or raise --lock-timeout") from None
                    time.sleep(0.05)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def close(self) -> None:
        self.db.close()
