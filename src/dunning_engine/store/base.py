"""What every store shares: its rows, its errors, and how a URL names one (SPEC §8; docs/store.md)."""

from __future__ import annotations

from typing import NamedTuple

from ..errors import DunningError

__all__ = ["SCHEMA_VERSION", "Meta", "CaseRow", "StoreError", "StoreLocked"]

SCHEMA_VERSION = 1  # the store's own tables (docs/store.md); snapshots have their own version


class Meta(NamedTuple):
    """What a store is bound to, and its clock (the last ``--until``, or None before the first run)."""

    policy_id: str
    policy_version: int
    policy_hash: str
    clock: int | None
    snapshot_version: int


class CaseRow(NamedTuple):
    """A stored case: its snapshot (JSON text, docs/snapshot.md) and the columns runs query."""

    id: str
    customer: str
    state: str | None
    final: int
    next_wake: int | None
    snapshot: str


class StoreError(DunningError, RuntimeError):
    """A store that cannot be opened or used (a bad URL, a file that is not a store, a newer schema)."""

    code = "store"

    def __init__(self, message: str, *, help: str | None = None) -> None:
        self.message = message
        self.help = help
        super().__init__(message)

    def __str__(self) -> str:
        return f"error: {self.message}" + (f"\nhelp: {self.help}" if self.help else "")


class StoreLocked(StoreError):
    """Another run holds the store past ``--lock-timeout``."""

    code = "store-locked"
