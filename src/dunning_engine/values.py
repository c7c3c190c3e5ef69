"""Value types shared by expressions, the engine and the records: money, percent, duration.

Money is always a ``Decimal`` with an ISO 4217 currency code, never a float.
Currency minor units come from CLDR (through Babel), which follows ISO 4217
(CLP and JPY 0 digits, USD and MXN 2, BHD 3, CLF 4).
"""

from __future__ import annotations

import calendar as _calendar
import re
import datetime as _dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Protocol

from .errors import DunningError

__all__ = [
    "Money",
    "Percent",
    "Duration",
    "DURATION_UNITS",
    "BusinessCalendar",
    "is_currency",
    "minor_units",
    "quantize",
    "parse_decimal",
    "check_amount",
    "AmountTooLarge",
    "check_date",
    "MAX_INTEGER_DIGITS",
    "FIRST_YEAR",
    "LAST_YEAR",
    "add_months",
]

# Codes that are not currencies one invoices in (precious metals, testing, "no currency").
_NOT_INVOICE_CURRENCIES = frozenset({"XAU", "XAG", "XPT", "XPD", "XTS", "XXX", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XUA"})


@lru_cache(maxsize=None)
def is_currency(code: str) -> bool:
    """True for a known ISO 4217 currency code (upper case, three letters)."""
    if len(code) != 3 or not code.isalpha() or not code.isupper() or code in _NOT_INVOICE_CURRENCIES:
        return False
    from babel.numbers import is_currency as _is_currency

    return bool(_is_currency(code))


@lru_cache(maxsize=None)
def minor_units(code: str) -> int:
    """Digits after the decimal point of a currency (CLP 0, USD 2, BHD 3)."""
    from babel.numbers import get_currency_precision

    return int(get_currency_precision(code))


@lru_cache(maxsize=None)
def _exponent(code: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(code))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit.

    An amount computed beyond what a Decimal holds exactly (some 28 digits) raises
    :class:`AmountTooLarge` (the engine fails that case with it) rather than ``decimal.InvalidOperation``.
    """
    try:
        return amount.quantize(_exponent(currency), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise AmountTooLarge(f"the amount {amount:f} {currency} is too large to compute exactly") from None


class AmountTooLarge(DunningError, ArithmeticError):
    """A computed amount is beyond what a Decimal holds exactly."""


# Limits on untrusted input (SPEC §12): amounts, numbers and percents have at most 18 digits
# before the decimal point (far beyond any real amount, and well inside the 28 digits that a
# Decimal computes exactly); dates are within years 1900 to 2200.
MAX_INTEGER_DIGITS = 18
FIRST_YEAR, LAST_YEAR = 1900, 2200


def check_amount(amount: Decimal, currency: str | None = None) -> Decimal:
    """``amount`` if it is within the limits on money, else ValueError saying why.

    At most 18 digits before the decimal point and, given a ``currency``, no more decimal
    places than its minor unit (``19.90`` USD; ``19.905`` USD is refused, never rounded;
    trailing zeros such as ``19.900`` are fine and the result is ``19.90``). The one check
    of every amount of a record and every number, amount and percent of a policy.
    """
    if not amount.is_finite():
        raise ValueError(f"'{amount}' is not a decimal number")
    if amount and amount.adjusted() >= MAX_INTEGER_DIGITS:
        raise ValueError(f"{amount:f} has more than {MAX_INTEGER_DIGITS} digits before the decimal point")
    if currency is None:
        return amount
    exact = amount.quantize(_exponent(currency), rounding=ROUND_HALF_UP)
    if exact != amount:
        raise ValueError(f"{amount:f} has more decimal places than {currency} allows ({minor_units(currency)})")
    return exact


def check_date(day: _dt.date) -> _dt.date:
    """``day`` (a date or datetime) if its year is within 1900 to 2200, else ValueError."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(f"'{day.isoformat()}' is out of the supported range of dates "
                         f"(years {FIRST_YEAR} to {LAST_YEAR})")
    return day


# An optional sign, then digits with at most one decimal point: no exponent, nan, inf or '_'.
_PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)").fullmatch


def parse_decimal(text: str) -> Decimal:
    """A Decimal from text such as ``"19.90"`` or ``"-5"``; ValueError for anything else.

    Refuses floats' spellings that are not plain decimals (``nan``, ``inf``,
    exponents) so that no surprising value slips into a ledger.
    """
    if not isinstance(text, str):
        raise ValueError(f"expected a decimal number written as text, got {type(text).__name__}")
    t = text.strip()
    if not _PLAIN_DECIMAL(t):
        raise ValueError(f"'{text}' is not a decimal number")
    try:
        return Decimal(t)
    except InvalidOperation:  # pragma: no cover - the pattern admits only what Decimal reads
        raise ValueError(f"'{text}' is not a decimal number") from None


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in a currency. Arithmetic refuses to mix currencies."""

    amount: Decimal
    currency: str

    def _same(self, other: "Money") -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    def __add__(self, other: "Money") -> "Money":
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> "Money":
        return Money(-self.amount, self.currency)

    def __abs__(self) -> "Money":
        return Money(abs(self.amount), self.currency)

    def __mul__(self, k: Decimal) -> "Money":
        if isinstance(k, Percent):
            return Money(self.amount * k.fraction, self.currency)
        if isinstance(k, (Decimal, int)) and not isinstance(k, bool):
            return Money(self.amount * k, self.currency)
        return NotImplemented

    __rmul__ = __mul__

    def __truediv__(self, k):
        if isinstance(k, Money):
            self._same(k)
            return self.amount / k.amount
        if isinstance(k, (Decimal, int)) and not isinstance(k, bool):
            return Money(self.amount / k, self.currency)
        return NotImplemented

    def _cmp(self, other: "Money") -> Decimal:
        if not isinstance(other, Money):
            raise TypeError(f"cannot compare money with {type(other).__name__}")
        self._same(other)
        return self.amount - other.amount

    def __lt__(self, other: "Money") -> bool:
        return self._cmp(other) < 0

    def __le__(self, other: "Money") -> bool:
        return self._cmp(other) <= 0

    def __gt__(self, other: "Money") -> bool:
        return self._cmp(other) > 0

    def __ge__(self, other: "Money") -> bool:
        return self._cmp(other) >= 0

    def rounded(self) -> "Money":
        return Money(quantize(self.amount, self.currency), self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


@dataclass(frozen=True, slots=True)
class Percent:
    """A percentage: ``Percent(Decimal("2.5"))`` is 2.5%."""

    value: Decimal

    @property
    def fraction(self) -> Decimal:
        return self.value / 100

    def __mul__(self, other):
        if isinstance(other, Money):
            return Money(other.amount * self.fraction, other.currency)
        if isinstance(other, (Decimal, int)) and not isinstance(other, bool):
            return other * self.fraction
        return NotImplemented

    __rmul__ = __mul__

    def __str__(self) -> str:
        return f"{self.value}%"


class BusinessCalendar(Protocol):
    """What business-day arithmetic needs from a calendar."""

    def is_business_day(self, day: _dt.date) -> bool: ...


DURATION_UNITS = ("days", "weeks", "months", "business_days")


def add_months(day: _dt.date, months: int) -> _dt.date:
    """Calendar month arithmetic; the day is clamped to the month's last day (Jan 31 + 1 month = Feb 28/29)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = _calendar.monthrange(year, month + 1)[1]
    return day.replace(year=year, month=month + 1, day=min(day.day, last))


@dataclass(frozen=True, slots=True)
class Duration:
    """A whole number of days, weeks, months or business days (possibly negative)."""

    amount: int
    unit: str = "days"

    def __post_init__(self) -> None:
        if self.unit not in DURATION_UNITS:
            raise ValueError(f"unknown duration unit '{self.unit}'")

    @property
    def fixed_days(self) -> int | None:
        """The length in days, or None when it depends on the calendar (months, business days)."""
        if self.unit == "days":
            return self.amount
        if self.unit == "weeks":
            return 7 * self.amount
        return None

    def __neg__(self) -> "Duration":
        return Duration(-self.amount, self.unit)

    def __add__(self, other: "Duration") -> "Duration":
        if not isinstance(other, Duration):
            return NotImplemented
        if self.unit == other.unit:
            return Duration(self.amount + other.amount, self.unit)
        a, b = self.fixed_days, other.fixed_days
        if a is not None and b is not None:
            return Duration(a + b, "days")
        raise ValueError(f"cannot add {self} and {other}")

    def __sub__(self, other: "Duration") -> "Duration":
        if not isinstance(other, Duration):
            return NotImplemented
        return self + (-other)

    def __mul__(self, k) -> "Duration":
        if isinstance(k, int) and not isinstance(k, bool):
            return Duration(self.amount * k, self.unit)
        if isinstance(k, Decimal) and k == k.to_integral_value():
            return Duration(self.amount * int(k), self.unit)
        return NotImplemented

    __rmul__ = __mul__

    def add_to(self, day: _dt.date, calendar: BusinessCalendar | None = None) -> _dt.date:
        """``day + self``. Business days skip weekends and, given a calendar, its holidays."""
        days = self.fixed_days
        if days is not None:
            return day + _dt.timedelta(days=days)
        if self.unit == "months":
            return add_months(day, self.amount)
        return add_business_days(day, self.amount, calendar)

    def __str__(self) -> str:
        unit = self.unit.replace("_", " ")
        if abs(self.amount) == 1:
            unit = unit.replace("days", "day").replace("weeks", "week").replace("months", "month")
        return f"{self.amount} {unit}"


def add_business_days(day: _dt.date, n: int, calendar: BusinessCalendar | None = None) -> _dt.date:
    """Move ``n`` business days from ``day`` (``n`` may be negative; 0 rolls forward to a business day)."""

    def ok(d: _dt.date) -> bool:
        if calendar is not None:
            return calendar.is_business_day(d)
        return d.weekday() < 5

    step = 1 if n >= 0 else -1
    if n == 0:
        while not ok(day):
            day += _dt.timedelta(days=1)
        return day
    remaining = abs(n)
    while remaining:
        day += _dt.timedelta(days=step)
        if ok(day):
            remaining -= 1
    return day
