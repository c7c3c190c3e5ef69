"""Helpers shared by the packs' caps: reference values in force, and interest capped at a dated rate."""

from __future__ import annotations

import datetime as _dt
from bisect import bisect_right
from decimal import Decimal
from typing import Any, Callable, Iterable

from ..errors import EngineError

__all__ = ["rate_on", "half_year_start", "interest_at_most"]

ZERO = Decimal(0)


def rate_on(engine: Any, case: Any, name: str, day: _dt.date, pack: str, what: str) -> Decimal:
    """The value of rate table ``name`` in force on ``day`` (the latest on or before it).

    A missing table or a day before its first row is an ``EngineError`` for the case: a pack that
    cannot compute its cap must not let an uncapped amount through.
    """
    value = engine.rate(name, day)
    if value is None:
        known = engine.has_rate(name)
        why = f"it has no value on or before {day.isoformat()}" if known else "the policy declares no such table"
        raise EngineError(
            f"compliance {pack} caps {what} with rate(\"{name}\"), but {why}", case=case.id,
            help=f"add a dated table under 'rates:' (rates: {{{name}: rates/{name.lower()}.csv}}) covering {day.year}",
            code="missing-rate")
    return Decimal(value)


def half_year_start(day: _dt.date) -> _dt.date:
    return _dt.date(day.year, 1 if day.month <= 6 else 7, 1)


def _pieces(start: _dt.date, end: _dt.date, breaks: Iterable[_dt.date]) -> list[tuple[_dt.date, _dt.date]]:
    cuts = sorted({b for b in breaks if start < b < end})
    out = []
    a = start
    for b in cuts + [end]:
        if b > a:
            out.append((a, b))
        a = b
    return out


def interest_at_most(engine: Any, rate: Any, basis: int, periods: list | None, amount: Decimal,
                     today: _dt.date, table: str, cap_rate: Callable[[_dt.date], Decimal]) -> Decimal | None:
    """The interest the posting may charge when the annual rate is capped at ``cap_rate(day)`` (percent).

    ``periods`` are the ledger's accrual periods ``(from, to, days, base)``; each is split where the cap
    can change (half-years, dates of ``table``) and accrues ``base * days * min(rate, cap) / basis``.
    Without periods, the amount is scaled by ``cap / rate`` on ``today``. The result is not rounded;
    None when the cap is above the policy's rate on every day (nothing to cap).
    """
    r = rate.value if hasattr(rate, "value") else Decimal(rate)
    if r <= 0:
        return None
    if not periods:
        c = cap_rate(today)
        return None if c >= r else amount * c / r
    dates = engine.rate_dates(table)
    total = ZERO
    capped = False
    for row in periods:
        start, end, days, base = row[0], row[1], row[2], row[3]
        if base <= 0 or end <= start:
            continue
        scale = Decimal(days) / (end - start).days  # 1 when the period counts its calendar days
        years = range(start.year, end.year + 1)
        breaks = [_dt.date(y, m, 1) for y in years for m in (1, 7)]
        lo = bisect_right(dates, start)
        hi = bisect_right(dates, end)
        breaks += dates[lo:hi]
        for a, b in _pieces(start, end, breaks):
            c = cap_rate(a)
            if c < r:
                capped = True
            total += base * (b - a).days * scale * min(r, c) / 100 / basis
    return total if capped else None
