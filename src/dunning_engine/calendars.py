"""Holiday calendars for business-day arithmetic and contact rules.

A policy's ``calendar`` is a country code (``CL``) or a country and subdivision
(``US-CA``, ``CL-RM``), resolved with the ``holidays`` package. Saturdays and
Sundays are never business days.
"""

from __future__ import annotations

import datetime as _dt
from functools import lru_cache

__all__ = ["HolidayCalendar", "WeekendCalendar", "get_calendar", "supported_calendar"]


def _split(code: str) -> tuple[str, str | None]:
    country, _, subdiv = code.partition("-")
    return country, (subdiv or None)


def supported_calendar(code: str) -> tuple[str, str] | None:
    """None when ``code`` names a calendar the holidays package knows; else (message, help)."""
    import holidays
    from .errors import did_you_mean

    supported = holidays.list_supported_countries()
    country, subdiv = _split(code)
    if country not in supported:
        return (f"unknown calendar '{code}'",
                did_you_mean(country, supported) or "use an ISO 3166 country code such as CL, MX, PE, CO or US")
    if subdiv is not None and subdiv not in supported[country]:
        return (f"unknown subdivision '{subdiv}' of {country}",
                did_you_mean(subdiv, supported[country]) or f"subdivisions of {country}: {', '.join(supported[country][:20])}")
    return None


class WeekendCalendar:
    """Business days are Monday to Friday; there are no holidays."""

    code: str | None = None

    def is_holiday(self, day: _dt.date) -> bool:
        return False

    def is_business_day(self, day: _dt.date) -> bool:
        return day.weekday() < 5

    def holiday_name(self, day: _dt.date) -> str | None:
        return None


class HolidayCalendar(WeekendCalendar):
    """Monday to Friday, less the public holidays of a country (and subdivision)."""

    def __init__(self, code: str) -> None:
        import holidays

        country, subdiv = _split(code)
        self.code = code
        self._holidays = holidays.country_holidays(country, subdiv=subdiv)

    def is_holiday(self, day: _dt.date) -> bool:
        return day in self._holidays

    def is_business_day(self, day: _dt.date) -> bool:
        return day.weekday() < 5 and day not in self._holidays

    def holiday_name(self, day: _dt.date) -> str | None:
        return self._holidays.get(day)


@lru_cache(maxsize=64)
def get_calendar(code: str | None) -> WeekendCalendar:
    return HolidayCalendar(code) if code else WeekendCalendar()
