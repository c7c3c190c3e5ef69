"""The checks of single fields of a record: text, money, currency, dates, instants, time zones.

Shared by the readers (values from JSON or CSV) and by the checks of records built in code
(values that are Python objects: ``Decimal``, ``datetime.date``, aware ``datetime``), so that
both give the same errors. A field that is not valid raises :class:`Reject` (the message and the
field's name); the caller turns it into a :class:`~dunning_engine.errors.RecordError`.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import re
import sys
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Literal, overload
from zoneinfo import ZoneInfo, available_timezones

from ..errors import did_you_mean
from ..values import FIRST_YEAR, LAST_YEAR, check_amount, check_date, is_currency, parse_decimal

__all__ = ["Reject", "parse_instant", "parse_date", "instant", "text_field", "money", "currency_code",
           "exact_in", "date_field", "exact", "timezone_name", "json_type", "misspelt", "remember", "DATES", "NO_ATTRS"]

_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_BIG_FLOAT = float(2**63)
_FLOAT_MONEY = 'amount must be a decimal string such as "19.90", not a number with a fraction (a float)'
_FLOAT_HELP = 'write it as text in JSON ("19.90"), or as a Decimal in Python (Decimal("19.90"))'
NO_ATTRS: Any = MappingProxyType({})  # shared by every record without extra attributes (read-only)


class Reject(Exception):
    """One record is invalid: why, the field (dotted for a nested one), an optional help line and the
    diagnostic code (:mod:`dunning_engine.codes`)."""

    def __init__(self, message: str, field: str | None = None, help: str | None = None, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.help = help
        self.code = code


def json_type(value: Any) -> str:
    """What kind of value ``value`` is, in the words of JSON (and of Python for Python objects)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, _dt.datetime):
        return "a datetime"
    if isinstance(value, _dt.date):
        return "a date"
    return type(value).__name__


# --------------------------------------------------------------------------- dates and instants


def remember(cache: dict, key: Any, value: Any) -> None:
    """Keep ``value`` in a cache of parsed text, emptied when it grows past 100,000 entries."""
    if len(cache) > 100_000:
        cache.clear()
    cache[key] = value


def parse_instant(text: str, tz: ZoneInfo) -> _dt.datetime:
    """An aware datetime from ISO 8601 text, in years 1900 to 2200.

    A date alone (``2026-02-08``) is 00:00 local time in ``tz``; a date-time
    without an offset is local time in ``tz``; one with an offset (or ``Z``) is
    that instant. The result is expressed in ``tz``. A local time that does not
    exist (skipped by a daylight-saving change) moves forward to the first
    instant that does; an ambiguous one is the first occurrence.
    """
    if not isinstance(text, str):
        raise ValueError(f"expected an ISO 8601 date or date-time as text, got {json_type(text)}")
    t = text.strip()
    try:
        if _DATE_RE.fullmatch(t):
            value = _dt.datetime.combine(_dt.date.fromisoformat(t), _dt.time())
        elif len(t) > 10 and _DATE_RE.match(t) and t[10] in "Tt ":
            value = _dt.datetime.fromisoformat(t)
        else:
            raise ValueError
    except ValueError:
        raise ValueError(f"'{text}' is not an ISO 8601 date or date-time "
                         "(such as 2026-02-08 or 2026-02-08T09:00:00-03:00)") from None
    if value.tzinfo is None and FIRST_YEAR <= value.year <= LAST_YEAR and _steady_day(tz, value.date()):
        return value.replace(tzinfo=tz)  # the common case, quickly: no clock change that day
    return _in_zone(value, tz, text)


def _in_zone(value: _dt.datetime, tz: ZoneInfo, shown: Any) -> _dt.datetime:
    placed: _dt.datetime | None
    try:
        if value.tzinfo is None:
            if _steady_day(tz, value.date()):
                placed = value.replace(tzinfo=tz)  # no clock change that day: every local time exists once
            else:
                # Round trip through UTC so that a non-existent local time becomes a real instant.
                placed = value.replace(tzinfo=tz).astimezone(_dt.timezone.utc).astimezone(tz)
        else:
            placed = value.astimezone(tz)
    except (OverflowError, ValueError):
        placed = None
    if placed is None or not FIRST_YEAR <= placed.year <= LAST_YEAR:
        raise ValueError(f"'{shown}' is out of the supported range of dates (years {FIRST_YEAR} to {LAST_YEAR})")
    return placed


def instant(value: Any, tz: ZoneInfo) -> _dt.datetime:
    """An instant from ISO 8601 text (see :func:`parse_instant`), an aware ``datetime`` or a ``date``
    (00:00 local); a ``datetime`` without a time zone is refused, as its instant is unknown."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{value.isoformat()} is a datetime without a time zone (naive): give it a tzinfo, "
                             "e.g. datetime(2026, 2, 8, 9, 0, tzinfo=ZoneInfo('America/Santiago'))")
        return _in_zone(value, tz, value.isoformat())
    if isinstance(value, _dt.date):
        return _in_zone(_dt.datetime.combine(value, _dt.time()), tz, value.isoformat())
    return parse_instant(value, tz)


_STEADY: dict[tuple[ZoneInfo, _dt.date], bool] = {}


def _steady_day(tz: ZoneInfo, day: _dt.date) -> bool:
    """True when ``tz`` keeps one UTC offset all through ``day`` (no daylight-saving change)."""
    key = (tz, day)
    steady = _STEADY.get(key)
    if steady is None:
        try:
            start = _dt.datetime.combine(day, _dt.time(), tzinfo=tz)
            end = _dt.datetime.combine(day + _dt.timedelta(days=1), _dt.time(), tzinfo=tz)
            steady = start.utcoffset() == end.utcoffset() == start.replace(hour=12).utcoffset()
        except OverflowError:
            steady = False
        remember(_STEADY, key, steady)
    return steady


DATES: dict[str, _dt.date] = {}  # date text -> date, for the dates in range only


def parse_date(text: Any) -> _dt.date:
    """A date in years 1900 to 2200 from ``YYYY-MM-DD`` text (or a ``datetime.date``); ValueError otherwise."""
    if not isinstance(text, str):
        if type(text) is _dt.date:  # records built in code; a datetime is not a date here
            return check_date(text)
        raise ValueError(f"expected a date as text YYYY-MM-DD, got {json_type(text)}")
    t = text.strip()
    if not _DATE_RE.fullmatch(t):
        raise ValueError(f"'{text}' is not a date in the form YYYY-MM-DD")
    day = DATES.get(t)
    if day is not None:
        return day
    try:
        day = _dt.date.fromisoformat(t)
    except ValueError:
        raise ValueError(f"'{text}' is not a valid date") from None
    check_date(day)
    if len(DATES) < 100_000:
        DATES[t] = day  # a portfolio has many records but few distinct dates: share the objects
    return day


@overload
def date_field(rec: dict, name: str, field: str, *, required: Literal[True] = ...) -> _dt.date: ...
@overload
def date_field(rec: dict, name: str, field: str, *, required: bool) -> _dt.date | None: ...


def date_field(rec: dict, name: str, field: str, *, required: bool = True) -> _dt.date | None:
    value = rec.get(name)
    if value is None:
        if required:
            raise Reject(f"missing required field '{name}'", field, misspelt(name, rec), code="missing-field")
        return None
    if isinstance(value, str) and not value.strip():
        raise Reject(f"'{name}' is empty", field, code="empty-field")
    try:
        return parse_date(value)
    except ValueError as e:
        raise Reject(str(e), field, code="invalid-date") from None


# --------------------------------------------------------------------------- text, money, currency


@overload
def text_field(rec: dict, name: str, *, required: Literal[True], prefix: str = "") -> str: ...
@overload
def text_field(rec: dict, name: str, *, required: bool, prefix: str = "") -> str | None: ...


def text_field(rec: dict, name: str, *, required: bool, prefix: str = "") -> str | None:
    """A non-empty text field (an id, a reference); JSON integers are accepted as text."""
    value = rec.get(name)
    if value is None:
        if required:
            raise Reject(f"missing required field '{name}'", prefix + name, misspelt(name, rec), code="missing-field")
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value:
            raise Reject(f"'{name}' is empty", prefix + name, code="empty-field")
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise Reject(f"'{name}' must be text, not {json_type(value)}", prefix + name, code="wrong-type")


def misspelt(name: str, rec: dict) -> str | None:
    others = [k for k in rec if isinstance(k, str) and k != name]
    matches = difflib.get_close_matches(name, others, n=1, cutoff=0.75)
    return f"the record has a field '{matches[0]}': did you mean '{name}'?" if matches else None


def money(value: Any, field: str, *, positive_message: str) -> Decimal:
    """A positive amount of at most 18 integer digits from a decimal string, a JSON integer or a
    Decimal; never from a float."""
    if isinstance(value, str):
        try:
            amount = parse_decimal(value)
        except ValueError:
            help = "use a point as the decimal separator, without thousands separators" if "," in value else None
            raise Reject(f"'{value}' is not a decimal number", field, help, code="invalid-amount") from None
    elif isinstance(value, bool):
        raise Reject(f"amount must be a decimal string such as \"19.90\", not {json_type(value)}", field,
                     code="wrong-type")
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        if value.is_integer() and abs(value) >= _BIG_FLOAT:
            raise Reject('amount is too large for a JSON number; write it as a decimal string such as "19.90"', field,
                         code="invalid-amount")
        raise Reject(_FLOAT_MONEY, field, _FLOAT_HELP, code="wrong-type")
    elif isinstance(value, Decimal):  # records built in code
        amount = value
    else:
        raise Reject(f"amount must be a decimal string such as \"19.90\", not {json_type(value)}", field,
                     code="wrong-type")
    try:
        check_amount(amount)
    except ValueError as e:
        raise Reject(str(e), field, code="invalid-amount") from None
    if amount <= 0:
        raise Reject(positive_message, field, code="invalid-amount")
    return amount


def currency_code(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise Reject(f"currency must be an ISO 4217 code such as \"USD\", not {json_type(value)}", field,
                     code="wrong-type")
    code = value.strip()
    if is_currency(code):
        return sys.intern(code)  # one string object per currency, not one per record
    if is_currency(code.upper()):
        raise Reject(f"'{value}' is not a currency code", field, f"currency codes are upper case: '{code.upper()}'",
                     code="unknown-currency")
    raise Reject(f"'{value}' is not an ISO 4217 currency code", field, code="unknown-currency")


def exact_in(amount: Decimal, currency: str, field: str) -> Decimal:
    """``amount`` at the currency's minor unit; rejected if it has digits beyond it."""
    try:
        return check_amount(amount, currency)
    except ValueError as e:
        raise Reject(str(e), field, code="invalid-amount") from None


def exact(value: Any) -> Any:
    """JSON values for attributes: floats become Decimal (by their shortest repr); the rest unchanged."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [exact(v) for v in value]
    return value


# --------------------------------------------------------------------------- time zones


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


@lru_cache(maxsize=1024)
def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except Exception:  # ZoneInfoNotFoundError (a KeyError), ValueError, OSError for odd keys
        return False
    return True


def timezone_name(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise Reject(f"timezone must be an IANA name such as \"America/Santiago\", not {json_type(value)}", field,
                     code="wrong-type")
    name = value.strip()
    if not name or not _valid_zone(name):
        raise Reject(f"'{value}' is not an IANA time zone name (such as America/Santiago)", field,
                     did_you_mean(name, _zone_names()) if name else None, code="unknown-timezone")
    return name
