"""The varied portfolio of benchmarks/parity.py for the snapshot and store tests, and the records
of runs split by day (split equivalence, SPEC §8)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("parity", ROOT / "benchmarks" / "parity.py")
parity = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(parity)

__all__ = ["Portfolio", "parity"]


class Portfolio:
    """``parity.portfolio(n, seed)``: customers, invoices and events (JSON-ready dicts)."""

    def __init__(self, n: int, seed: int) -> None:
        self.customers, self.invoices, self.events = parity.portfolio(n=n, seed=seed)
        # The portfolio has events dated before their invoice is issued (they wait for the case to
        # start): an invoice is given with the first record about it.
        self._first: dict[str, str] = {}
        for e in self.events:
            if "invoice" in e:
                self._first[e["invoice"]] = min(self._first.get(e["invoice"], e["at"]), e["at"])

    def known_at(self, rec: dict, kind: str) -> str:
        """When a record becomes known (ISO text): an invoice's issue date or its first event's time,
        an event's own time."""
        return min(rec["issued"], self._first.get(rec["id"], rec["issued"])) if kind == "invoice" else rec["at"]

    def windows(self, cuts: list[str]) -> list[tuple[str, list, list, list]]:
        """The records of each run to ``cuts[i]`` (dates): those of its days not given before; the
        customers go with the first run."""
        out, prev = [], ""
        for cut in cuts:
            def pick(rows: list, kind: str) -> list:
                return [r for r in rows if prev < self.known_at(r, kind)[:10] <= cut]
            out.append((cut, pick(self.invoices, "invoice"), self.customers if not prev else [],
                        pick(self.events, "event")))
            prev = cut
        return out
