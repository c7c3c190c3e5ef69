"""Readers for invoices, customers and events (SPEC §4), with per-record validation.

Each reader is lazy: it returns a generator that reads one line at a time, so a
file of a million lines streams in constant memory (apart from the set of ids
seen, needed to reject duplicates). A record that is not valid is not raised:
a :class:`~dunning_engine.errors.RecordError` naming the file, the line, the
field and the reason is appended to a :class:`Rejects` and the reader goes on
with the next line. Only a file that cannot be opened at all raises.

Input may be a path (``.csv``, ``.jsonl`` or ``.ndjson``; ``"-"`` is standard
input), an open file, or any iterable of already-read lines (``str`` or
``bytes``) or of ``dict`` records, as embedding code and tests have them.

Money never passes through a float: amounts are JSON strings (``"19.90"``) or
JSON integers, and a JSON number with a fraction in a money field is rejected.
"""

from __future__ import annotations

import csv
import datetime as _dt
import difflib
import os
import re
import sys
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType
from itertools import chain
from typing import Any, Callable, Iterable, Iterator
from zoneinfo import ZoneInfo, available_timezones

import orjson

from ..engine.records import EVENT_FIELDS, Customer, Event, Invoice
from ..errors import RecordError, did_you_mean
from ..values import is_currency, minor_units, parse_decimal, quantize

__all__ = [
    "Rejects",
    "read_invoices",
    "read_customers",
    "read_events",
    "parse_instant",
    "parse_date",
    "CHANNELS",
    "RECORD_TEXT_LIMIT",
]

CHANNELS = ("email", "sms", "whatsapp", "letter", "call", "portal")
DERIVED_EVENTS = ("promise_kept", "promise_broken", "plan_installment_missed", "plan_completed")
RECORD_TEXT_LIMIT = 500  # characters of a rejected record kept in its RecordError

_JSONL_SUFFIXES = (".jsonl", ".ndjson")
_CSV_SUFFIXES = (".csv",)
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_BIG_FLOAT = float(2**63)
_FLOAT_MONEY = 'amount must be a decimal string such as "19.90", not a JSON number with a fraction'

# Input sources yield (line number, item): item is a str (one line of text), a dict
# (an already-parsed record) or an _Undecodable (a line of bytes that is not UTF-8).


class _Undecodable:
    __slots__ = ("text", "reason")

    def __init__(self, raw: bytes) -> None:
        try:
            raw.decode("utf-8")
            reason = "invalid UTF-8"  # pragma: no cover - only built for undecodable bytes
        except UnicodeDecodeError as e:
            reason = (f"invalid UTF-8 (byte 0x{raw[e.start]:02x} at byte {e.start + 1} of the line); "
                      "save the file as UTF-8")
        self.reason = reason
        self.text = raw.decode("utf-8", errors="replace").rstrip("\r\n")


class _Reject(Exception):
    """Internal: one record is invalid (turned into a RecordError by the reader loop)."""

    def __init__(self, message: str, field: str | None = None, help: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.help = help


# --------------------------------------------------------------------------- rejects


class Rejects:
    """The records a reader rejected, in the order met: a list of :class:`RecordError`.

    ``on_reject``, if given, is called with each error as it is added (to
    report it while a long file is still being read).
    """

    __slots__ = ("errors", "on_reject")

    def __init__(self, on_reject: Callable[[RecordError], Any] | None = None) -> None:
        self.errors: list[RecordError] = []
        self.on_reject = on_reject

    def append(self, error: RecordError) -> None:
        self.errors.append(error)
        if self.on_reject is not None:
            self.on_reject(error)

    add = append

    def extend(self, errors: Iterable[RecordError]) -> None:
        for e in errors:
            self.append(e)

    def __len__(self) -> int:
        return len(self.errors)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def __iter__(self) -> Iterator[RecordError]:
        return iter(self.errors)

    def __getitem__(self, index):
        return self.errors[index]

    def __repr__(self) -> str:
        return f"Rejects({len(self.errors)} rejected)"

    def to_dicts(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.errors]

    def write_jsonl(self, path) -> int:
        """Write one JSON object per reject (file, line, field, reason, record); returns the count.

        ``path`` is a path, ``"-"`` for standard output, or a binary stream.
        """
        from .writers import JsonlWriter

        with JsonlWriter(path) as w:
            w.write_many(e.to_dict() for e in self.errors)
        return len(self.errors)


# --------------------------------------------------------------------------- scalars


def parse_instant(text: str, tz: ZoneInfo) -> _dt.datetime:
    """An aware datetime from ISO 8601 text.

    A date alone (``2026-02-08``) is 00:00 local time in ``tz``; a date-time
    without an offset is local time in ``tz``; one with an offset (or ``Z``) is
    that instant. The result is expressed in ``tz``. A local time that does not
    exist (skipped by a daylight-saving change) moves forward to the first
    instant that does; an ambiguous one is the first occurrence.
    """
    if not isinstance(text, str):
        raise ValueError(f"expected an ISO 8601 date or date-time as text, got {_json_type(text)}")
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
    try:
        if value.tzinfo is None:
            if _steady_day(tz, value.date()):
                return value.replace(tzinfo=tz)  # no clock change that day: every local time exists once
            # Round trip through UTC so that a non-existent local time becomes a real instant.
            return value.replace(tzinfo=tz).astimezone(_dt.timezone.utc).astimezone(tz)
        return value.astimezone(tz)
    except (OverflowError, ValueError):
        raise ValueError(f"'{text}' is out of the supported range of dates") from None


def _remember(cache: dict, key: Any, value: Any) -> None:
    """Keep ``value`` in a cache of parsed text, emptied when it grows past 100,000 entries."""
    if len(cache) > 100_000:
        cache.clear()
    cache[key] = value


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
        _remember(_STEADY, key, steady)
    return steady


_DATES: dict[str, _dt.date] = {}
_NO_ATTRS: Any = MappingProxyType({})  # shared by every invoice without extra attributes (read-only)


def parse_date(text: Any) -> _dt.date:
    """A date from ``YYYY-MM-DD`` text; ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"expected a date as text YYYY-MM-DD, got {_json_type(text)}")
    t = text.strip()
    if not _DATE_RE.fullmatch(t):
        raise ValueError(f"'{text}' is not a date in the form YYYY-MM-DD")
    day = _DATES.get(t)
    if day is not None:
        return day
    try:
        day = _dt.date.fromisoformat(t)
    except ValueError:
        raise ValueError(f"'{text}' is not a valid date") from None
    if len(_DATES) < 100_000:
        _DATES[t] = day  # a portfolio has many records but few distinct dates: share the objects
    return day


def _json_type(value: Any) -> str:
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
    return type(value).__name__


def _text(rec: dict, name: str, *, required: bool, prefix: str = "") -> str | None:
    """A non-empty text field (an id, a reference); JSON integers are accepted as text."""
    value = rec.get(name)
    if value is None:
        if required:
            raise _Reject(f"missing required field '{name}'", prefix + name, _misspelt(name, rec))
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value:
            raise _Reject(f"'{name}' is empty", prefix + name)
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _Reject(f"'{name}' must be text, not {_json_type(value)}", prefix + name)


def _misspelt(name: str, rec: dict) -> str | None:
    others = [k for k in rec if isinstance(k, str) and k != name]
    matches = difflib.get_close_matches(name, others, n=1, cutoff=0.75)
    return f"the record has a field '{matches[0]}': did you mean '{name}'?" if matches else None


def _money(value: Any, field: str, *, positive_message: str) -> Decimal:
    """A money amount from a decimal string or a JSON integer; never from a float."""
    if isinstance(value, str):
        try:
            amount = parse_decimal(value)
        except ValueError:
            help = "use a point as the decimal separator, without thousands separators" if "," in value else None
            raise _Reject(f"'{value}' is not a decimal number", field, help) from None
    elif isinstance(value, bool):
        raise _Reject(f"amount must be a decimal string such as \"19.90\", not {_json_type(value)}", field)
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        if value.is_integer() and abs(value) >= _BIG_FLOAT:
            raise _Reject('amount is too large for a JSON number; write it as a decimal string such as "19.90"', field)
        raise _Reject(_FLOAT_MONEY, field)
    elif isinstance(value, Decimal):  # records built in code
        amount = value
    else:
        raise _Reject(f"amount must be a decimal string such as \"19.90\", not {_json_type(value)}", field)
    if not amount.is_finite():
        raise _Reject(f"'{value}' is not a decimal number", field)
    if amount <= 0:
        raise _Reject(positive_message, field)
    return amount


def _currency(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise _Reject(f"currency must be an ISO 4217 code such as \"USD\", not {_json_type(value)}", field)
    code = value.strip()
    if is_currency(code):
        return sys.intern(code)  # one string object per currency, not one per record
    if is_currency(code.upper()):
        raise _Reject(f"'{value}' is not a currency code", field, f"currency codes are upper case: '{code.upper()}'")
    raise _Reject(f"'{value}' is not an ISO 4217 currency code", field)


def _exact_in(amount: Decimal, currency: str, field: str) -> Decimal:
    """``amount`` at the currency's minor unit; rejected if it has digits beyond it."""
    exact = quantize(amount, currency)
    if exact != amount:
        raise _Reject(f"{amount} has more decimal places than {currency} allows ({minor_units(currency)})", field)
    return exact


def _date_field(rec: dict, name: str, field: str, *, required: bool = True) -> _dt.date | None:
    value = rec.get(name)
    if value is None:
        if required:
            raise _Reject(f"missing required field '{name}'", field, _misspelt(name, rec))
        return None
    if isinstance(value, str) and not value.strip():
        raise _Reject(f"'{name}' is empty", field)
    try:
        return parse_date(value)
    except ValueError as e:
        raise _Reject(str(e), field) from None


def _exact(value: Any) -> Any:
    """JSON values for attributes: floats become Decimal (by their shortest repr); the rest unchanged."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact(v) for v in value]
    return value


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


def _timezone(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise _Reject(f"timezone must be an IANA name such as \"America/Santiago\", not {_json_type(value)}", field)
    name = value.strip()
    if not name or not _valid_zone(name):
        raise _Reject(f"'{value}' is not an IANA time zone name (such as America/Santiago)", field,
                      did_you_mean(name, _zone_names()) if name else None)
    return name


# --------------------------------------------------------------------------- record validation


class _InvoiceRules:
    """Validation of an invoice record (from the invoices file or an invoice_issued event)."""

    __slots__ = ("default_currency",)

    def __init__(self, default_currency: str | None) -> None:
        if default_currency is not None and not is_currency(default_currency):
            raise ValueError(f"default_currency '{default_currency}' is not an ISO 4217 currency code")
        self.default_currency = default_currency

    def build(self, rec: dict, prefix: str = "") -> Invoice:
        """The invoice of record ``rec``; raises ``_Reject`` saying why not."""
        return (None if prefix else self.quick(rec)) or self.full(rec, prefix)

    def full(self, rec: dict, prefix: str = "") -> Invoice:
        id_ = _text(rec, "id", required=True, prefix=prefix)
        customer = sys.intern(_text(rec, "customer", required=True, prefix=prefix))  # shared by its invoices
        raw_amount = rec.get("amount")
        if raw_amount is None:
            raise _Reject("missing required field 'amount'", prefix + "amount", _misspelt("amount", rec))
        if isinstance(raw_amount, str) and not raw_amount.strip():
            raise _Reject("'amount' is empty", prefix + "amount")
        amount = _money(raw_amount, prefix + "amount", positive_message="amount must be greater than zero")
        raw_currency = rec.get("currency")
        if raw_currency is None or (isinstance(raw_currency, str) and not raw_currency.strip()):
            if self.default_currency is None:
                raise _Reject("missing required field 'currency' (and no default currency is set)",
                              prefix + "currency", _misspelt("currency", rec))
            currency = self.default_currency
        else:
            currency = _currency(raw_currency, prefix + "currency")
        amount = _exact_in(amount, currency, prefix + "amount")
        issued = _date_field(rec, "issued", prefix + "issued")
        due = _date_field(rec, "due", prefix + "due")
        if due < issued:
            raise _Reject(f"due date {due} is before the issue date {issued}", prefix + "due")
        attrs = {k: _exact(v) for k, v in rec.items() if k not in _INVOICE_KNOWN} or _NO_ATTRS
        return Invoice(id_, customer, amount, currency, issued, due, attrs)


    def quick(self, rec: dict) -> Invoice | None:
        """The common, well-formed invoice, built from caches; None sends it through ``build``'s checks.

        Only a record that ``build`` accepts as it is takes this path (text fields without blanks
        around them, no extra attributes), and it gives the same invoice: amounts and dates are
        validated once per distinct text by the same functions, and the objects are shared.
        """
        has_currency = "currency" in rec
        if len(rec) != 5 + has_currency:
            return None
        id_, customer, raw, issued, due = rec.get("id"), rec.get("customer"), rec.get("amount"), rec.get("issued"), rec.get("due")
        if not (type(id_) is str and type(customer) is str and type(raw) is str and type(issued) is str
                and type(due) is str and id_ and customer and id_ == id_.strip() and customer == customer.strip()):
            return None
        cur = rec["currency"] if has_currency else self.default_currency
        if type(cur) is not str:
            return None
        hit = _AMOUNTS.get((raw, cur))
        if hit is None:
            try:
                code = _currency(cur, "currency")
                if not raw.strip():
                    return None
                hit = (_exact_in(_money(raw, "amount", positive_message=""), code, "amount"), code)
            except _Reject:
                return None
            _remember(_AMOUNTS, (raw, cur), hit)
        day_issued, day_due = _DATES.get(issued), _DATES.get(due)
        if day_issued is None or day_due is None:
            try:
                day_issued, day_due = parse_date(issued), parse_date(due)
            except ValueError:
                return None
        if day_due < day_issued:
            return None
        return Invoice(id_, sys.intern(customer), hit[0], hit[1], day_issued, day_due, _NO_ATTRS)


# (amount text, currency text) -> (amount, currency code): validated once per distinct pair.
_AMOUNTS: dict[tuple[str, str], tuple[Decimal, str]] = {}
# amount text -> amount, for events of kinds in _QUICK_EVENTS
_EVENT_AMOUNTS: dict[str, Decimal] = {}
_QUICK_EVENTS = frozenset({"payment", "credit_note"})
_QUICK_EVENT_KEYS = frozenset({"type", "at", "id", "invoice", "amount"})
_INVOICE_KNOWN = frozenset({"id", "customer", "amount", "currency", "issued", "due"})
_CUSTOMER_TEXT = ("name", "email", "phone", "language", "country", "segment")
_EVENT_BASE = frozenset({"type", "at", "id", "invoice", "customer"})
_MONEY_EVENTS = frozenset({"payment", "credit_note", "promise_to_pay"})
_WHAT = {k: f"{'an' if k[0] in 'aeiou' else 'a'} {k} event" for k in EVENT_FIELDS}
# The fields an event type turns into Event attributes; the others go to Event.fields as given.
_CONSUMED = {k: _EVENT_BASE
             | ({"amount", "currency"} if k in _MONEY_EVENTS else set())
             | ({"date"} if k == "promise_to_pay" else set())
             | ({"channel", "outcome"} if k == "contact_outcome" else set())
             | ({"fields"} if k == "customer_updated" else set())
             for k in EVENT_FIELDS}


def _build_customer(rec: dict) -> Customer:
    id_ = _text(rec, "id", required=True)
    attrs: dict[str, Any] = {}
    for k, v in rec.items():
        if k == "id":
            continue
        if v is not None:
            if k == "timezone":
                v = _timezone(v, k)
            elif k in _CUSTOMER_TEXT and not isinstance(v, str):
                raise _Reject(f"'{k}' must be text, not {_json_type(v)}", k)
        attrs[k] = _exact(v)
    return Customer(id_, attrs)


class _EventRules:
    __slots__ = ("tz", "invoices")

    def __init__(self, tz: ZoneInfo, default_currency: str | None) -> None:
        self.tz = tz
        self.invoices = _InvoiceRules(default_currency)

    def build(self, rec: dict) -> Event:
        """The event of record ``rec``; raises ``_Reject`` saying why not."""
        kind = rec.get("type")
        return (self.quick(rec, kind) if kind in _QUICK_EVENTS else None) or self.full(rec)

    def full(self, rec: dict) -> Event:
        kind = rec.get("type")
        if kind is None:
            raise _Reject("missing required field 'type'", "type", _misspelt("type", rec))
        if not isinstance(kind, str):
            raise _Reject(f"'type' must be text, not {_json_type(kind)}", "type")
        kind = kind.strip()
        spec = EVENT_FIELDS.get(kind)
        if spec is None:
            if not kind:
                raise _Reject("'type' is empty", "type")
            if kind in DERIVED_EVENTS:
                raise _Reject(f"'{kind}' events are raised by the engine itself and cannot be given as input", "type")
            raise _Reject(f"unknown event type '{kind}'", "type", did_you_mean(kind, EVENT_FIELDS))
        required = spec[0]
        what = _WHAT[kind]

        at_raw = rec.get("at")
        if at_raw is None:
            raise _Reject(f"missing required field 'at' for {what}", "at", _misspelt("at", rec))
        try:
            at = parse_instant(at_raw, self.tz)
        except ValueError as e:
            raise _Reject(str(e), "at") from None

        for name in required:
            if rec.get(name) is None:
                raise _Reject(f"missing required field '{name}' for {what}", name, _misspelt(name, rec))

        ev = Event(kind, at)
        ev.id = _text(rec, "id", required=False)
        ev.customer = _text(rec, "customer", required=False)
        fields: dict[str, Any] = {}
        consumed = _CONSUMED[kind]

        if kind == "invoice_issued":
            obj = rec["invoice"]
            if not isinstance(obj, dict):
                raise _Reject(f"'invoice' must be an invoice object, not {_json_type(obj)}", "invoice")
            inv = self.invoices.build(obj, prefix="invoice.")
            if ev.customer is not None and ev.customer != inv.customer:
                raise _Reject(f"the event's customer '{ev.customer}' differs from the invoice's customer "
                              f"'{inv.customer}'", "customer")
            ev.new_invoice = inv
            ev.invoice = inv.id
            ev.customer = inv.customer
        else:
            ev.invoice = _text(rec, "invoice", required=False)

        if kind in _MONEY_EVENTS:
            label = kind.replace("_", " ")
            raw = rec.get("amount")
            if raw is not None:
                if isinstance(raw, str) and not raw.strip():
                    raise _Reject("'amount' is empty", "amount")
                ev.amount = _money(raw, "amount", positive_message=f"a {label} amount must be positive")
            cur = rec.get("currency")
            if cur is not None:
                ev.currency = _currency(cur, "currency")
                if ev.amount is not None:
                    ev.amount = _exact_in(ev.amount, ev.currency, "amount")
        if kind == "promise_to_pay":
            ev.date = _date_field(rec, "date", "date")
        elif kind == "contact_outcome":
            channel = rec["channel"]
            if not isinstance(channel, str) or channel.strip() not in CHANNELS:
                shown = channel if isinstance(channel, str) else _json_type(channel)
                raise _Reject(f"unknown channel '{shown}' (one of {', '.join(CHANNELS)})", "channel",
                              did_you_mean(channel, CHANNELS) if isinstance(channel, str) else None)
            outcome = _text(rec, "outcome", required=True)
            fields["channel"] = channel.strip()
            fields["outcome"] = outcome
            if ev.invoice is None and ev.customer is None:
                raise _Reject(f"{what} needs 'invoice' or 'customer'", "invoice")
        elif kind == "customer_updated":
            changes = rec["fields"]
            if not isinstance(changes, dict):
                raise _Reject(f"'fields' must be an object of customer fields, not {_json_type(changes)}", "fields")
            if changes.get("timezone") is not None:
                _timezone(changes["timezone"], "fields.timezone")
            if "id" in changes:
                raise _Reject("'fields' cannot change the customer id", "fields.id")
            fields["fields"] = _exact(changes)
        elif kind in ("hold", "release"):
            if ev.invoice is None and ev.customer is None:
                raise _Reject(f"{what} needs 'invoice' or 'customer'", "invoice")

        for k, v in rec.items():
            if k not in consumed:
                fields[k] = _exact(v)
        ev.fields = fields or _NO_ATTRS  # most events carry no other fields: share one read-only mapping
        return ev

    def quick(self, rec: dict, kind: str) -> Event | None:
        """A well-formed payment or credit note without extra fields, built from caches; None sends
        it through ``build``'s checks (which give the same event for every record taken here)."""
        if not rec.keys() <= _QUICK_EVENT_KEYS:
            return None
        id_, invoice, raw, at_raw = rec.get("id"), rec.get("invoice"), rec.get("amount"), rec.get("at")
        if not (type(invoice) is str and type(raw) is str and type(at_raw) is str and invoice
                and invoice == invoice.strip() and (id_ is None or (type(id_) is str and id_ and id_ == id_.strip()))):
            return None
        amount = _EVENT_AMOUNTS.get(raw)
        if amount is None:
            try:
                if not raw.strip():
                    return None
                amount = _money(raw, "amount", positive_message="")
            except _Reject:
                return None
            _remember(_EVENT_AMOUNTS, raw, amount)
        try:
            at = parse_instant(at_raw, self.tz)
        except ValueError:
            return None
        ev = Event(kind, at, id_, invoice, None, amount)
        ev.fields = _NO_ATTRS
        return ev


# --------------------------------------------------------------------------- sources


def _display_name(path_or_lines: Any, name: str | None) -> str | None:
    if name is not None:
        return name
    if isinstance(path_or_lines, (str, bytes, os.PathLike)):
        p = os.fsdecode(path_or_lines)
        return "<stdin>" if p == "-" else p
    n = getattr(path_or_lines, "name", None)
    return n if isinstance(n, str) else None


def _suffix_format(name: str | None) -> str | None:
    if not name:
        return None
    low = name.lower()
    if low.endswith(_JSONL_SUFFIXES):
        return "jsonl"
    if low.endswith(_CSV_SUFFIXES):
        return "csv"
    return None


def _check_openable(path: str, shown: str | None) -> None:
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        raise RecordError(f"cannot open the file: {e.strerror or e}", file=shown) from None


def _iter_path(path: str, shown: str | None) -> Iterator[tuple[int, Any]]:
    try:
        f = sys.stdin.buffer if path == "-" else open(path, "rb")
    except OSError as e:
        raise RecordError(f"cannot open the file: {e.strerror or e}", file=shown) from None
    try:
        yield from _iter_items(f)
    except OSError as e:
        raise RecordError(f"cannot read the file: {e.strerror or e}", file=shown) from None
    finally:
        if f is not sys.stdin.buffer:
            f.close()


def _iter_items(items: Iterable[Any]) -> Iterator[tuple[int, Any]]:
    """(line number, str | dict | _Undecodable) for each item; the first line may carry a BOM."""
    first = True
    for lineno, item in enumerate(items, 1):
        if isinstance(item, (bytes, bytearray, memoryview)):
            raw = bytes(item)
            try:
                item = raw.decode("utf-8")
            except UnicodeDecodeError:
                if first and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                yield lineno, _Undecodable(raw)
                first = False
                continue
        if first and isinstance(item, str) and item.startswith("\ufeff"):
            item = item[1:]
        first = False
        yield lineno, item


def _open_source(path_or_lines: Any, shown: str | None) -> tuple[str | None, Iterator[tuple[int, Any]]]:
    """The format told by the file name (or None) and the numbered items; raises RecordError if unopenable."""
    fmt = _suffix_format(shown)
    if isinstance(path_or_lines, (str, bytes, os.PathLike)):
        path = os.fsdecode(path_or_lines)
        fmt = fmt or _suffix_format(path)
        if path != "-":
            if fmt is None:
                raise RecordError("cannot tell the format of the file from its name: use a .csv, .jsonl or "
                                  ".ndjson file", file=shown)
            _check_openable(path, shown)
        return fmt, _iter_path(path, shown)
    if isinstance(path_or_lines, dict):
        raise TypeError("expected a path or an iterable of lines or records, not a single dict")
    try:
        items = iter(path_or_lines)
    except TypeError:
        raise TypeError(f"expected a path or an iterable of lines or records, not {type(path_or_lines).__name__}") from None
    return fmt, _iter_items(items)


def _sniff(items: Iterator[tuple[int, Any]]) -> tuple[str, Iterator[tuple[int, Any]]]:
    """Guess JSONL or CSV from the first non-blank item (for stdin and iterables without a file name)."""
    seen: list[tuple[int, Any]] = []
    fmt = "jsonl"
    for pair in items:
        seen.append(pair)
        item = pair[1]
        if isinstance(item, dict):
            break
        text = item.text if isinstance(item, _Undecodable) else item
        if isinstance(text, str) and text.strip():
            fmt = "jsonl" if text.lstrip().startswith("{") else "csv"
            break
    return fmt, chain(seen, items)


def _clip(text: str) -> str:
    return text if len(text) <= RECORD_TEXT_LIMIT else text[: RECORD_TEXT_LIMIT - 1] + "…"


def _raw_record(item: Any) -> Any:
    """The record kept with a reject: line text (clipped), or the dict given (as text if long)."""
    if isinstance(item, dict):
        try:
            text = orjson.dumps(item, default=str).decode()
        except Exception:
            text = repr(item)
        return item if len(text) <= RECORD_TEXT_LIMIT else _clip(text)
    if isinstance(item, _Undecodable):
        return _clip(item.text)
    if isinstance(item, str):
        return _clip(item.rstrip("\r\n"))
    return _clip(repr(item))


# --------------------------------------------------------------------------- JSONL and CSV record streams
#
# A record stream yields (line, raw, record-or-_Reject): the parsed dict, or why the
# line is not a record at all.


def _jsonl_records(items: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Any, Any]]:
    loads = orjson.loads
    for lineno, item in items:
        if isinstance(item, dict):
            yield lineno, item, item
            continue
        if isinstance(item, _Undecodable):
            yield lineno, item, _Reject(item.reason)
            continue
        if not isinstance(item, str):
            yield lineno, item, _Reject(f"expected a line of text or a record, not {type(item).__name__}")
            continue
        if not item.strip():
            continue
        try:
            value = loads(item)
        except orjson.JSONDecodeError as e:
            reason = str(e)
            if "surrogates not allowed" in reason:
                reason = "the line contains characters that are not valid UTF-8"
            yield lineno, item, _Reject(f"not valid JSON: {reason}")
            continue
        if not isinstance(value, dict):
            yield lineno, item, _Reject(f"expected a JSON object {{...}}, got {_json_type(value)}")
            continue
        yield lineno, item, value


def _csv_reason(e: csv.Error) -> str:
    text = str(e)
    if "unexpected end of data" in text:
        return "not valid CSV: a quoted cell that starts on this line is never closed"
    if "expected after" in text:
        return f"not valid CSV: a quoted cell must end at a delimiter ({text})"
    return f"not valid CSV: {text}"


def _pick_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


class _LineTap:
    """Feeds text lines to csv.reader and keeps the physical lines of the current row."""

    __slots__ = ("items", "lines", "lineno", "bad", "dicts")

    def __init__(self, items: Iterator[tuple[int, Any]]) -> None:
        self.items = items
        self.lines: list[str] = []
        self.lineno = 0
        self.bad: str | None = None
        self.dicts: list[tuple[int, dict]] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        lineno, item = next(self.items)
        self.lineno = lineno
        if isinstance(item, _Undecodable):
            self.bad = self.bad or item.reason
            text = item.text
        elif isinstance(item, str):
            text = item
        elif isinstance(item, dict):
            # An already-parsed record among CSV lines: passed through as an empty line.
            self.dicts.append((lineno, item))
            text = ""
        else:
            text = str(item)
        self.lines.append(text)
        return text

    def take(self) -> tuple[str, str | None]:
        raw = "\n".join(t.rstrip("\r\n") for t in self.lines)
        bad = self.bad
        self.lines = []
        self.bad = None
        return raw, bad


def _csv_records(items: Iterator[tuple[int, Any]], required_columns: tuple[str, ...]
                 ) -> Iterator[tuple[int, Any, Any]]:
    tap = _LineTap(items)
    # The header: the first non-blank line.
    header_line = None
    for lineno, item in tap.items:
        if isinstance(item, dict):
            yield lineno, item, item
            continue
        text = item.text if isinstance(item, _Undecodable) else item
        if isinstance(text, str) and text.strip():
            header_line = (lineno, item)
            break
    if header_line is None:
        return
    h_lineno, h_item = header_line
    if isinstance(h_item, _Undecodable):
        yield h_lineno, h_item, _Reject(f"header: {h_item.reason}; nothing in this file was read")
        return
    delimiter = _pick_delimiter(h_item)
    try:
        header = next(csv.reader([h_item], delimiter=delimiter, strict=True))
    except csv.Error as e:
        yield h_lineno, h_item, _Reject(f"the header row: {_csv_reason(e)}; nothing in this file was read")
        return
    columns = [c.strip() for c in header]
    problem = None
    for i, c in enumerate(columns, 1):
        if not c:
            problem = _Reject(f"column {i} of the header has no name; nothing in this file was read")
            break
        if columns.index(c) != i - 1:
            problem = _Reject(f"the header names column '{c}' twice; nothing in this file was read", c)
            break
    if problem is None:
        for c in required_columns:
            if c not in columns:
                close = difflib.get_close_matches(c, columns, n=1, cutoff=0.6)
                help = f"the header has '{close[0]}': did you mean '{c}'?" if close else None
                problem = _Reject(f"the header has no '{c}' column; nothing in this file was read", c, help)
                break
    if problem is not None:
        yield h_lineno, h_item, problem
        return

    width = len(columns)
    reader = csv.reader(tap, delimiter=delimiter, strict=True)
    last = h_lineno
    while True:
        tap.lines = []
        tap.bad = None
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raw, _ = tap.take()
            yield last + 1, raw, _Reject(_csv_reason(e))
            if tap.lineno == last:
                break
            last = tap.lineno
            continue
        start = last + 1
        last = tap.lineno
        raw, bad = tap.take()
        while tap.dicts:
            d_lineno, d = tap.dicts.pop(0)
            yield d_lineno, d, d
        if not row or (len(row) == 1 and not row[0].strip()):
            if bad:
                yield start, raw, _Reject(bad)
            continue
        if bad:
            yield start, raw, _Reject(bad)
            continue
        if len(row) != width:
            yield start, raw, _Reject(f"the row has {len(row)} cells but the header has {width} columns")
            continue
        # An empty cell is an absent value.
        yield start, raw, {c: (v if v != "" else None) for c, v in zip(columns, row)}


# --------------------------------------------------------------------------- public readers


def _records(path_or_lines: Any, name: str | None, kind: str,
             required_columns: tuple[str, ...]) -> tuple[str | None, Iterator[tuple[int | None, Any, Any]]]:
    """Opens the source (raising RecordError now if it cannot be opened) and returns a lazy record stream."""
    shown = _display_name(path_or_lines, name)
    fmt, items = _open_source(path_or_lines, shown)

    def stream() -> Iterator[tuple[int, Any, Any]]:
        f, it = fmt, items
        if f is None:
            # Events are JSONL whatever they look like; invoices and customers may be either.
            f, it = ("jsonl", it) if kind == "events" else _sniff(it)
        if kind == "events" and f == "csv":
            yield None, None, _Reject("events must be JSONL (one JSON object per line), not CSV; "
                                      "nothing in this file was read")
            return
        if f == "csv":
            yield from _csv_records(it, required_columns)
        else:
            yield from _jsonl_records(it)

    return shown, stream()


def _reject(rejects: Rejects, shown: str | None, line: int | None, raw: Any, r: _Reject) -> None:
    rejects.append(RecordError(r.message, file=shown, line=line, field=r.field,
                               record=None if raw is None else _raw_record(raw), help=r.help))


def read_invoices(path_or_lines: Any, *, tz: ZoneInfo | None = None, default_currency: str | None,
                  rejects: Rejects, name: str | None = None) -> Iterator[Invoice]:
    """Invoices from a CSV (with a header row) or JSONL file, or from lines or dicts.

    Invalid records go to ``rejects``; so does a second invoice with an id
    already seen. ``tz`` is accepted for symmetry with :func:`read_events`
    (invoice dates are plain dates and need no time zone).
    """
    rules = _InvoiceRules(default_currency)
    required = ("id", "customer", "amount", "issued", "due") + (("currency",) if default_currency is None else ())
    shown, stream = _records(path_or_lines, name, "invoices", required)

    return _unique_records(stream, rejects, shown, rules.build, "invoice")


def _unique_records(stream, rejects: Rejects, shown: str | None, build, kind: str) -> Iterator[Any]:
    """Build each record of ``stream``; reject bad ones and any whose ``id`` was already seen."""
    seen: dict[str, int] = {}
    for line, raw, rec in stream:
        if isinstance(rec, _Reject):
            _reject(rejects, shown, line, raw, rec)
            continue
        try:
            obj = build(rec)
            first = seen.get(obj.id)
            if first is not None:
                raise _Reject(f"duplicate {kind} id '{obj.id}' (first at line {first})", "id")
        except _Reject as r:
            _reject(rejects, shown, line, raw, r)
            continue
        seen[obj.id] = line
        if kind == "invoice":
            obj.origin = (shown, line)  # so that the engine's own rejects name the line too
        yield obj


def read_customers(path_or_lines: Any, *, rejects: Rejects, name: str | None = None) -> Iterator[Customer]:
    """Customers from a CSV or JSONL file, or from lines or dicts; a repeated id is rejected."""
    shown, stream = _records(path_or_lines, name, "customers", ("id",))

    return _unique_records(stream, rejects, shown, _build_customer, "customer")


def read_events(path_or_lines: Any, *, tz: ZoneInfo, default_currency: str | None, rejects: Rejects,
                name: str | None = None) -> Iterator[Event]:
    """Events from a JSONL file, or from lines or dicts, in input order.

    ``seq`` numbers the accepted events 0, 1, 2...; ``origin`` is (file, line).
    ``default_currency`` applies to the invoice of an ``invoice_issued`` event;
    an event's own ``currency`` stays None when not given.
    """
    rules = _EventRules(tz, default_currency)
    shown, stream = _records(path_or_lines, name, "events", ())

    def gen() -> Iterator[Event]:
        seq = 0
        for line, raw, rec in stream:
            if isinstance(rec, _Reject):
                _reject(rejects, shown, line, raw, rec)
                continue
            try:
                ev = rules.build(rec)
            except _Reject as r:
                _reject(rejects, shown, line, raw, r)
                continue
            ev.seq = seq
            ev.origin = (shown, line)
            seq += 1
            yield ev

    return gen()
