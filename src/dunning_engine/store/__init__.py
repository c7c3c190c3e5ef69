"""Persistent runs (SPEC §8): a store keeps cases, customers, ingested record ids, contact bookings
and the outbox between runs. ``open_store(url)`` opens one; ``StoreRun`` runs on it."""

from __future__ import annotations

from .base import SCHEMA_VERSION, CaseRow, Meta, StoreError, StoreLocked

__all__ = ["open_store", "StoreError", "StoreLocked", "Meta", "CaseRow", "SCHEMA_VERSION"]


def open_store(url: str):
    """The store a URL names: a path or ``sqlite:///PATH`` (``sqlite:////abs/path``), created on first
    use, or ``postgresql://USER@HOST:PORT/DATABASE``. Raises :class:`StoreError` for what cannot be a
    store."""
    from .sqlite import SQLiteStore

    text = str(url)
    if text.startswith("sqlite:///"):
        return SQLiteStore(text[len("sqlite:///"):])
    if text.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        return PostgresStore(text)
    if "://" in text:
        raise StoreError(f"unknown store URL '{text}'", help="give a path, sqlite:///PATH or postgresql://...")
    return SQLiteStore(text)
