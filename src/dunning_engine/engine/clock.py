"""Time inside the engine.

Instants are whole seconds since the Unix epoch (``int``): cheap to compare and
to keep in a heap. Dates are local to the policy's timezone. Conversions are
cached because a portfolio has many cases but few distinct days.
"""

from __future__ import annotations

import datetime as _dt
from zoneinfo import ZoneInfo

__all__ = ["Clock", "NEVER", "FIRST_DAY", "LAST_DAY", "DateOutOfRange", "check_day"]

NEVER = 1 << 62  # an instant later than any real one

# Dates are limited to years 1900-2200 in records, policies and arithmetic (SPEC §5, §12).
FIRST_DAY = _dt.date(1900, 1, 1)
LAST_DAY = _dt.date(2200, 12, 31)


class DateOutOfRange(Exception):
    """A date the engine computed for a case leaves years 1900-2200: an error for that case only
    (the engine reports it as an ``EngineError`` and the other cases go on)."""


def check_day(day: _dt.date, what: str) -> _dt.date:
    """``day``, or ``DateOutOfRange`` naming ``what`` when it is outside years 1900-2200."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise DateOutOfRange(f"{what} is {day.isoformat()}, outside years {FIRST_DAY.year}-{LAST_DAY.year}")
    return day


class Clock:
    """Conversions between instants (epoch seconds) and local dates/datetimes in one timezone."""

    __slots__ = ("tz", "send_at", "_day_start", "_send", "_date_of", "_iso", "low", "high")

    def __init__(self, tz: str | ZoneInfo, send_at: _dt.time = _dt.time(9, 0)) -> None:
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self.send_at = send_at
        self._day_start: dict[_dt.date, int] = {}
        self._send: dict[_dt.date, int] = {}
        self._date_of: dict[int, _dt.date] = {}
        self._iso: dict[int, str] = {}
        # The instants of years 1900-2200 in this timezone: computed times must stay inside (see check).
        self.low = self.at(FIRST_DAY, _dt.time(0, 0))
        self.high = self.at(LAST_DAY + _dt.timedelta(days=1), _dt.time(0, 0)) - 1

    def check(self, t: int, what: str) -> int:
        """``t``, or ``DateOutOfRange`` when its local date is outside years 1900-2200 (NEVER passes:
        a dormant timer)."""
        if (t < self.low or t > self.high) and t != NEVER:
            try:
                shown = self.date(t).isoformat()
            except (OverflowError, ValueError, OSError):
                shown = f"instant {t}"
            raise DateOutOfRange(f"{what} is {shown}, outside years {FIRST_DAY.year}-{LAST_DAY.year}")
        return t

    def at(self, day: _dt.date, time: _dt.time) -> int:
        """The instant of a local date and wall-clock time (DST gaps resolve as Python's zoneinfo does)."""
        return int(_dt.datetime.combine(day, time, tzinfo=self.tz).timestamp())

    def day_start(self, day: _dt.date) -> int:
        """00:00 local of ``day``."""
        t = self._day_start.get(day)
        if t is None:
            t = self._day_start[day] = self.at(day, _dt.time(0, 0))
        return t

    def day_after(self, day: _dt.date, what: str) -> int:
        """00:00 local of the day after ``day`` (when derived events check a promised or installment date),
        or ``DateOutOfRange`` naming ``what`` when that day is outside years 1900-2200."""
        try:
            nxt = day + _dt.timedelta(days=1)
        except OverflowError:
            raise DateOutOfRange(f"{what} is after 9999-12-31, outside years {FIRST_DAY.year}-{LAST_DAY.year}") from None
        return self.day_start(check_day(nxt, what))

    def send_time(self, day: _dt.date) -> int:
        """``send_at`` local time of ``day``: when date-based timers fire."""
        t = self._send.get(day)
        if t is None:
            t = self._send[day] = self.at(day, self.send_at)
        return t

    def instant(self, value: _dt.date | _dt.datetime) -> int:
        """A date (fires at send_at) or an aware datetime as an instant."""
        if isinstance(value, _dt.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=self.tz)
            return int(value.timestamp())
        return self.send_time(value)

    def date(self, t: int) -> _dt.date:
        """The local date of instant ``t``."""
        # Every UTC offset is a multiple of 15 minutes, so local dates change only on 900 s boundaries.
        q = t - t % 900
        d = self._date_of.get(q)
        if d is None:
            d = self._date_of[q] = _dt.datetime.fromtimestamp(q, self.tz).date()
            if len(self._date_of) > 200_000:
                self._date_of.clear()
        return d

    def datetime(self, t: int) -> _dt.datetime:
        return _dt.datetime.fromtimestamp(t, self.tz)

    def iso(self, t: int) -> str:
        """ISO 8601 with the local offset, e.g. ``2026-02-08T09:00:00-03:00``."""
        s = self._iso.get(t)
        if s is None:
            s = _dt.datetime.fromtimestamp(t, self.tz).isoformat()
            if len(self._iso) > 100_000:
                self._iso.clear()
            self._iso[t] = s
        return s
