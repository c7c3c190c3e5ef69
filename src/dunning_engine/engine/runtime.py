"""What the parts of an engine share while they run a case: the narrow interface that rule
evaluation (``context.Ctx``), action building (``actions``), wake-up analysis (``wake``), contact
rules and compliance caps receive, instead of the engine itself.

It reads the compiled policy, its clock and the rate tables, and writes two things besides the
case: warnings, and the journal of the money postings of the case being woken (``posting``),
which ``Engine`` takes back when the case fails at that instant (docs/decisions.md, "Case errors").
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

from .case import target_ledger
from .rates import RateTables

if TYPE_CHECKING:
    from ..errors import EngineError
    from .compiled import CompiledPolicy
    from .ledger import Ledger

__all__ = ["Runtime"]


class Runtime:
    """The compiled policy, its clock and rate tables, the run's warnings, and the journal of postings."""

    __slots__ = ("cp", "clock", "rates", "warnings", "atom_cache", "undo")

    def __init__(self, cp: CompiledPolicy) -> None:
        self.cp = cp
        self.clock = cp.clock
        self.rates = RateTables()
        self.warnings: list[EngineError] = []
        self.atom_cache: dict[Any, list] = {}  # CRule -> the clock atoms of its guard (wake.py)
        # ledgers' state before the postings of the case being woken (id(ledger) -> (ledger, saved));
        # None while nothing was posted. The engine clears it when the case is done with the instant.
        self.undo: dict[int, tuple[Ledger, tuple]] | None = None

    def rate(self, name: str, day: _dt.date) -> Any:
        """The value of table ``name`` in force on ``day`` (the latest on or before it), or None."""
        return self.rates.value(name, day)

    def has_rate(self, name: str) -> bool:
        return name in self.rates

    def rate_dates(self, name: str) -> list[_dt.date]:
        return self.rates.dates(name)

    target_ledger = staticmethod(target_ledger)

    def posting(self, led: Ledger) -> None:
        """Called before an action posts money on ``led``: keep what to restore if the case fails at
        this instant."""
        undo = self.undo
        if undo is None:
            undo = self.undo = {}
        if id(led) not in undo:
            undo[id(led)] = (led, led.snapshot())

    def undo_postings(self) -> None:
        """Restore every ledger posted on since the case woke (it failed)."""
        if self.undo:
            for led, saved in self.undo.values():
                led.restore(saved)
        self.undo = None
