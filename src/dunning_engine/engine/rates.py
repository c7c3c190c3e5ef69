"""Reference rate tables in memory (``rates:`` of a policy, ``Engine.set_rate``).

A table maps dates to values; the value in force on a day is the latest on or before it
(``rate("UF")`` in expressions, and the compliance packs' caps). Reading tables from files is
the edge's work (``dunning_engine.io.rates``): the engine only holds them.
"""

from __future__ import annotations

import datetime as _dt
from bisect import bisect_right
from typing import Any, Iterable

__all__ = ["RateTables"]


class RateTables:
    """Dated tables by name."""

    __slots__ = ("_tables",)

    def __init__(self) -> None:
        self._tables: dict[str, tuple[list[_dt.date], list[Any]]] = {}  # name -> (dates, values), by date

    def set(self, name: str, rows: Iterable[tuple[_dt.date, Any]]) -> None:
        """Table ``name`` is ``rows`` (date, value), in any order; it replaces a table of that name."""
        ordered = sorted(rows)
        self._tables[name] = ([d for d, _ in ordered], [v for _, v in ordered])

    def __contains__(self, name: object) -> bool:
        return name in self._tables

    def dates(self, name: str) -> list[_dt.date]:
        """The dates of table ``name`` in order (empty when there is no such table)."""
        table = self._tables.get(name)
        return list(table[0]) if table else []

    def value(self, name: str, day: _dt.date) -> Any:
        """The value of table ``name`` in force on ``day`` (the latest on or before it), or None."""
        table = self._tables.get(name)
        if not table:
            return None
        i = bisect_right(table[0], day)
        return table[1][i - 1] if i else None
