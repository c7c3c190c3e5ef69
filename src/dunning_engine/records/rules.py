"""The rules a record must follow (SPEC §4, §5, §12), for records read from files and built in code.

:class:`InvoiceRules`, :class:`EventRules` and :func:`build_customer` build a record from a
``dict`` (a parsed JSON line, a CSV row, or a record given by embedding code), or raise
:class:`~dunning_engine.records.fields.Reject` saying which field is wrong and why. Invoices and
payments have a *quick path* for the well-formed common case, built from caches; it gives the
same record as the full checks (the property tests compare both) and declines anything else.

:func:`check_invoice`, :func:`check_event` and :func:`check_customer` apply the same rules to
records built in code (``Invoice(...)``, ``Event(...)``, ``Customer(...)``, or dicts), raising a
:class:`~dunning_engine.errors.RecordError` with the same message as the readers would.

A record read from a JSON line also must not repeat a key (JSON parsers silently keep the last
value, so ``{"amount": "1", "amount": "100"}`` would be read as 100): the quick paths prove it
at almost no cost from the number of quotes in the line, the full path checks it exactly.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from ..errors import RecordError, did_you_mean
from ..values import is_currency
from ..vocabulary import CHANNELS, DERIVED_EVENTS, EVENTS
from .fields import (DATES, NO_ATTRS, Reject, remember, currency_code, date_field, exact, exact_in, instant,
                     json_type, misspelt, money, parse_date, parse_instant, text_field, timezone_name)
from .types import EVENT_FIELDS, INVOICE_FIELDS, Checked, Customer, Event, Invoice

__all__ = ["InvoiceRules", "EventRules", "build_customer", "check_invoice", "check_event", "check_customer",
           "no_duplicate_keys", "record_of", "CHANNELS", "DERIVED_EVENTS"]


# (amount text, currency text) -> (amount, currency code): validated once per distinct pair.
_AMOUNTS: dict[tuple[str, str], tuple[Decimal, str]] = {}
# amount text -> amount, for events of kinds in _QUICK_EVENTS
_EVENT_AMOUNTS: dict[str, Decimal] = {}
_QUICK_EVENTS = frozenset({"payment", "credit_note"})
_QUICK_EVENT_KEYS = frozenset({"type", "at", "id", "invoice", "amount"})
_INVOICE_KNOWN = frozenset(INVOICE_FIELDS)
_CUSTOMER_TEXT = ("name", "email", "phone", "language", "country", "segment")
_EVENT_BASE = frozenset({"type", "at", "id", "invoice", "customer"})
_MONEY_EVENTS = frozenset(e.name for e in EVENTS.values() if "amount" in e.fields and not e.derived)
_WHAT = {k: f"{'an' if k[0] in 'aeiou' else 'a'} {k} event" for k in EVENT_FIELDS}
# The fields an event type turns into Event attributes; the others go to Event.fields as given.
_CONSUMED = {k: _EVENT_BASE
             | ({"amount", "currency"} if k in _MONEY_EVENTS else set())
             | ({"date"} if k == "promise_to_pay" else set())
             | ({"channel", "outcome"} if k == "contact_outcome" else set())
             | ({"fields"} if k == "customer_updated" else set())
             for k in EVENT_FIELDS}


# --------------------------------------------------------------------------- duplicate keys


# _QUOTES: a JSON line holds 2 quotes per string it writes (keys and string values), plus one per
# escaped quote (\"). The parsed record holds at most as many strings: one less per repeated key at
# least (the key is lost). So when the line has exactly twice as many quotes as the record has
# strings, no key repeats; otherwise (a repeated key, or an escaped quote) the exact check decides.


class _Pairs(list):
    """A JSON object as the list of its (key, value) pairs, in the order written."""

    __slots__ = ()


def no_duplicate_keys(rec: dict, text: bytes | None) -> None:
    """Reject ``rec`` if ``text``, the JSON it was parsed from, repeats a key at any depth.

    A repeated key loses at least one string (the key) from the parsed record, so the record
    written back holds fewer quotes than the line; when there are as many, no key repeats.
    Lines that escape characters, or that differ, are parsed again keeping every pair.
    """
    if text is None:
        return
    if b"\\" not in text:
        try:
            if orjson.dumps(rec).count(b'"') == text.count(b'"'):
                return
        except orjson.JSONEncodeError:  # nested deeper than orjson writes: look at the pairs
            pass
    try:
        tree = json.loads(text, object_pairs_hook=_Pairs)
    except (ValueError, RecursionError):
        raise Reject("the record is nested too deeply", code="record-too-deep") from None
    path = _first_duplicate(tree)
    if path is not None:
        where = f" in '{path.rpartition('.')[0]}'" if "." in path else ""
        key = path.rpartition(".")[2]
        raise Reject(f"the key '{key}' appears twice{where}", path,
                     "a JSON object names each field once: keep the value you mean", code="duplicate-key")


def _first_duplicate(tree: Any) -> str | None:
    """The dotted path of the first key repeated in an object of ``tree`` (depth first), or None."""
    stack: list[tuple[Any, str]] = [(tree, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, _Pairs):
            seen: set[str] = set()
            kids = []
            for key, value in node:
                sub = f"{path}.{key}" if path else key
                if key in seen:
                    return sub
                seen.add(key)
                kids.append((value, sub))
            stack.extend(reversed(kids))
        elif isinstance(node, list):
            stack.extend(reversed([(v, f"{path}[{i}]") for i, v in enumerate(node)]))
    return None


# --------------------------------------------------------------------------- invoices


class InvoiceRules:
    """Validation of an invoice record (from the invoices file or an invoice_issued event)."""

    __slots__ = ("default_currency",)

    def __init__(self, default_currency: str | None) -> None:
        if default_currency is not None and not is_currency(default_currency):
            raise ValueError(f"default_currency '{default_currency}' is not an ISO 4217 currency code")
        self.default_currency = default_currency

    def build(self, rec: dict, text: bytes | None = None, prefix: str = "") -> Invoice:
        """The invoice of record ``rec`` (parsed from the JSON ``text``, if any); raises ``Reject``
        saying why not."""
        inv = None if prefix else self.quick(rec, text)
        if inv is None:
            no_duplicate_keys(rec, text)
            inv = self.full(rec, prefix)
        return inv

    def full(self, rec: dict, prefix: str = "") -> Invoice:
        id_ = text_field(rec, "id", required=True, prefix=prefix)
        customer = sys.intern(text_field(rec, "customer", required=True, prefix=prefix))  # shared by its invoices
        raw_amount = rec.get("amount")
        if raw_amount is None:
            raise Reject("missing required field 'amount'", prefix + "amount", misspelt("amount", rec),
                         code="missing-field")
        if isinstance(raw_amount, str) and not raw_amount.strip():
            raise Reject("'amount' is empty", prefix + "amount", code="empty-field")
        amount = money(raw_amount, prefix + "amount", positive_message="amount must be greater than zero")
        raw_currency = rec.get("currency")
        if raw_currency is None or (isinstance(raw_currency, str) and not raw_currency.strip()):
            if self.default_currency is None:
                raise Reject("missing required field 'currency' (and no default currency is set)",
                             prefix + "currency", misspelt("currency", rec), code="missing-field")
            currency = self.default_currency
        else:
            currency = currency_code(raw_currency, prefix + "currency")
        amount = exact_in(amount, currency, prefix + "amount")
        issued = date_field(rec, "issued", prefix + "issued")
        due = date_field(rec, "due", prefix + "due")
        if due < issued:
            raise Reject(f"due date {due} is before the issue date {issued}", prefix + "due", code="date-order")
        attrs = {k: exact(v) for k, v in rec.items() if k not in _INVOICE_KNOWN} or NO_ATTRS
        return Invoice(id_, customer, amount, currency, issued, due, attrs)

    def quick(self, rec: dict, text: bytes | None = None) -> Invoice | None:
        """The common, well-formed invoice, built from caches; None sends it through ``build``'s checks.

        Only a record that ``build`` accepts as it is takes this path (text fields without blanks
        around them, no extra attributes, no repeated key in ``text``), and it gives the same
        invoice: amounts and dates are validated once per distinct text by the same functions,
        and the objects are shared.
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
        # Every value is a string: the line has 4 quotes a field exactly when no key repeats (_QUOTES).
        if text is not None and text.count(b'"') != 4 * len(rec):
            return None
        hit = _AMOUNTS.get((raw, cur))
        if hit is None:
            try:
                code = currency_code(cur, "currency")
                if not raw.strip():
                    return None
                hit = (exact_in(money(raw, "amount", positive_message=""), code, "amount"), code)
            except Reject:
                return None
            remember(_AMOUNTS, (raw, cur), hit)
        day_issued, day_due = DATES.get(issued), DATES.get(due)
        if day_issued is None or day_due is None:
            try:
                day_issued, day_due = parse_date(issued), parse_date(due)
            except ValueError:
                return None
        if day_due < day_issued:
            return None
        return Invoice(id_, sys.intern(customer), hit[0], hit[1], day_issued, day_due, NO_ATTRS)


# --------------------------------------------------------------------------- customers


def build_customer(rec: dict, text: bytes | None = None) -> Customer:
    no_duplicate_keys(rec, text)
    id_ = text_field(rec, "id", required=True)
    attrs: dict[str, Any] = {}
    for k, v in rec.items():
        if k == "id":
            continue
        if v is not None:
            if k == "timezone":
                v = timezone_name(v, k)
            elif k in _CUSTOMER_TEXT and not isinstance(v, str):
                raise Reject(f"'{k}' must be text, not {json_type(v)}", k, code="wrong-type")
        attrs[k] = exact(v)
    return Customer(id_, attrs)


# --------------------------------------------------------------------------- events


class EventRules:
    __slots__ = ("tz", "invoices")

    def __init__(self, tz: ZoneInfo, default_currency: str | None) -> None:
        self.tz = tz
        self.invoices = InvoiceRules(default_currency)

    def build(self, rec: dict, text: bytes | None = None) -> Event:
        """The event of record ``rec`` (parsed from the JSON ``text``, if any); raises ``Reject``
        saying why not."""
        kind = rec.get("type")
        ev = self.quick(rec, kind, text) if type(kind) is str and kind in _QUICK_EVENTS else None
        if ev is None:
            no_duplicate_keys(rec, text)
            ev = self.full(rec)
        return ev

    def full(self, rec: dict) -> Event:
        kind = rec.get("type")
        if kind is None:
            raise Reject("missing required field 'type'", "type", misspelt("type", rec), code="missing-field")
        if not isinstance(kind, str):
            raise Reject(f"'type' must be text, not {json_type(kind)}", "type", code="wrong-type")
        kind = kind.strip()
        spec = EVENT_FIELDS.get(kind)
        if spec is None:
            if not kind:
                raise Reject("'type' is empty", "type", code="empty-field")
            if kind in DERIVED_EVENTS:
                raise Reject(f"'{kind}' events are raised by the engine itself and cannot be given as input", "type",
                             code="derived-event")
            raise Reject(f"unknown event type '{kind}'", "type", did_you_mean(kind, EVENT_FIELDS), code="unknown-event")
        required = spec[0]
        what = _WHAT[kind]

        at_raw = rec.get("at")
        if at_raw is None:
            raise Reject(f"missing required field 'at' for {what}", "at", misspelt("at", rec), code="missing-field")
        try:
            at = instant(at_raw, self.tz)
        except ValueError as e:
            raise Reject(str(e), "at", code="invalid-date") from None

        for name in required:
            if rec.get(name) is None:
                raise Reject(f"missing required field '{name}' for {what}", name, misspelt(name, rec),
                             code="missing-field")

        ev = Event(kind, at)
        ev.id = text_field(rec, "id", required=False)
        ev.customer = text_field(rec, "customer", required=False)
        fields: dict[str, Any] = {}
        consumed = _CONSUMED[kind]

        if kind == "invoice_issued":
            obj = rec["invoice"]
            if not isinstance(obj, dict):
                raise Reject(f"'invoice' must be an invoice object, not {json_type(obj)}", "invoice", code="wrong-type")
            inv = self.invoices.build(obj, prefix="invoice.")
            if ev.customer is not None and ev.customer != inv.customer:
                raise Reject(f"the event's customer '{ev.customer}' differs from the invoice's customer "
                             f"'{inv.customer}'", "customer", code="customer-mismatch")
            ev.new_invoice = inv
            ev.invoice = inv.id
            ev.customer = inv.customer
        else:
            ev.invoice = text_field(rec, "invoice", required=False)

        if kind in _MONEY_EVENTS:
            label = kind.replace("_", " ")
            raw = rec.get("amount")
            if raw is not None:
                if isinstance(raw, str) and not raw.strip():
                    raise Reject("'amount' is empty", "amount", code="empty-field")
                ev.amount = money(raw, "amount", positive_message=f"a {label} amount must be positive")
            cur = rec.get("currency")
            if cur is not None:
                ev.currency = currency_code(cur, "currency")
                if ev.amount is not None:
                    ev.amount = exact_in(ev.amount, ev.currency, "amount")
        if kind == "promise_to_pay":
            ev.date = date_field(rec, "date", "date")
        elif kind == "contact_outcome":
            channel = rec["channel"]
            if not isinstance(channel, str) or channel.strip() not in CHANNELS:
                shown = channel if isinstance(channel, str) else json_type(channel)
                raise Reject(f"unknown channel '{shown}' (one of {', '.join(CHANNELS)})", "channel",
                             did_you_mean(channel, CHANNELS) if isinstance(channel, str) else None,
                             code="unknown-channel")
            outcome = text_field(rec, "outcome", required=True)
            fields["channel"] = channel.strip()
            fields["outcome"] = outcome
            if ev.invoice is None and ev.customer is None:
                raise Reject(f"{what} needs 'invoice' or 'customer'", "invoice", code="missing-field")
        elif kind == "customer_updated":
            changes = rec["fields"]
            if not isinstance(changes, dict):
                raise Reject(f"'fields' must be an object of customer fields, not {json_type(changes)}", "fields",
                             code="wrong-type")
            if changes.get("timezone") is not None:
                timezone_name(changes["timezone"], "fields.timezone")
            if "id" in changes:
                raise Reject("'fields' cannot change the customer id", "fields.id", code="invalid-value")
            fields["fields"] = exact(changes)
        elif kind in ("hold", "release"):
            if ev.invoice is None and ev.customer is None:
                raise Reject(f"{what} needs 'invoice' or 'customer'", "invoice", code="missing-field")

        for k, v in rec.items():
            if k not in consumed:
                fields[k] = exact(v)
        ev.fields = fields or NO_ATTRS  # most events carry no other fields: share one read-only mapping
        return ev

    def quick(self, rec: dict, kind: str, text: bytes | None = None) -> Event | None:
        """A well-formed payment or credit note without extra fields, built from caches; None sends
        it through ``build``'s checks (which give the same event for every record taken here)."""
        if not rec.keys() <= _QUICK_EVENT_KEYS:
            return None
        id_, invoice, raw, at_raw = rec.get("id"), rec.get("invoice"), rec.get("amount"), rec.get("at")
        if not (type(invoice) is str and type(raw) is str and type(at_raw) is str and invoice
                and invoice == invoice.strip() and (id_ is None or (type(id_) is str and id_ and id_ == id_.strip()))):
            return None
        # Every value is a string, but a null id: 4 quotes a field (2 for the id) unless a key repeats.
        if text is not None and text.count(b'"') != 4 * len(rec) - 2 * (id_ is None and "id" in rec):
            return None
        amount = _EVENT_AMOUNTS.get(raw)
        if amount is None:
            try:
                if not raw.strip():
                    return None
                amount = money(raw, "amount", positive_message="")
            except Reject:
                return None
            remember(_EVENT_AMOUNTS, raw, amount)
        try:
            at = parse_instant(at_raw, self.tz)
        except ValueError:
            return None
        ev = Event(kind, at, id_, invoice, None, amount)
        ev.fields = NO_ATTRS
        return ev


# --------------------------------------------------------------------------- records built in code


def _invoice_record(invoice: Invoice) -> dict:
    """The fields of an ``Invoice`` as a record for the rules (its attributes, then its fields)."""
    attrs = invoice.attrs
    if not isinstance(attrs, Mapping):
        raise Reject(f"'attrs' must be a mapping of extra fields, not {json_type(attrs)}", "attrs", code="wrong-type")
    rec = {k: v for k, v in attrs.items() if k not in _INVOICE_KNOWN}
    rec.update(id=invoice.id, customer=invoice.customer, amount=invoice.amount, issued=invoice.issued,
               due=invoice.due)
    if invoice.currency is not None:
        rec["currency"] = invoice.currency
    return rec


def _event_record(event: Event) -> dict:
    """The fields of an ``Event`` as a record for the rules."""
    fields = event.fields
    if not isinstance(fields, Mapping):
        raise Reject(f"'fields' must be a mapping of the event's other fields, not {json_type(fields)}", "fields",
                     code="wrong-type")
    rec = dict(fields)
    rec["type"] = event.type
    rec["at"] = event.at
    for name in ("id", "customer", "amount", "currency", "date"):
        value = getattr(event, name)
        if value is not None:
            rec[name] = value
    new = event.new_invoice if event.new_invoice is not None else event.invoice
    if new is not None:  # an invoice_issued event's Invoice may come as new_invoice or as invoice
        rec["invoice"] = _invoice_record(new) if isinstance(new, Invoice) else new
    return rec


def record_of(record: Any, kind: type[Invoice] | type[Event] | type[Customer]) -> dict:
    """The record to check for ``record``, a ``kind`` object built in code or a dict; Reject otherwise."""
    if isinstance(record, Mapping):
        return dict(record)
    if isinstance(record, kind):
        if isinstance(record, Invoice):
            return _invoice_record(record)
        if isinstance(record, Event):
            return _event_record(record)
        attrs = getattr(record, "attrs", None)
        if not isinstance(attrs, Mapping):
            raise Reject(f"'attrs' must be a mapping of customer fields, not {json_type(attrs)}", "attrs",
                         code="wrong-type")
        return {**attrs, "id": getattr(record, "id", None)}
    article = "an" if kind.__name__[0] in "AEIOU" else "a"
    raise Reject(f"expected {article} {kind.__name__} or a dict, not {type(record).__name__}", code="wrong-type")


def _checked(record: Any, kind: type[Invoice] | type[Event] | type[Customer], build) -> Any:
    """``build`` applied to ``record`` (unless already checked), with a Checked origin; RecordError if invalid."""
    origin = getattr(record, "origin", None)
    if type(origin) is Checked:
        return record
    if not (isinstance(origin, tuple) and len(origin) == 2):
        origin = (None, None)
    try:
        checked = build(record_of(record, kind))
    except Reject as r:
        raise RecordError(r.message, file=origin[0], line=origin[1], field=r.field, help=r.help, code=r.code) from None
    checked.origin = Checked(origin)
    return checked


def check_invoice(invoice: Invoice | Mapping, default_currency: str | None) -> Invoice:
    """``invoice`` checked like a record of an invoices file: the invoice to use, or RecordError.

    An invoice already checked (by a reader: its ``origin`` is :class:`Checked`) is returned as
    it is. A dict is read like a JSON record; a ``currency`` of None takes ``default_currency``.
    """
    return _checked(invoice, Invoice, InvoiceRules(default_currency).full)


def check_event(event: Event | Mapping, tz: ZoneInfo, default_currency: str | None) -> Event:
    """``event`` checked like a record of an events file: the event to use, or RecordError.

    An event already checked (its ``origin`` is :class:`Checked`) is returned as it is. ``at``
    is an aware ``datetime`` (a naive one is refused: its instant is unknown), a ``date``
    (00:00 in ``tz``) or ISO 8601 text. The result keeps ``seq``.
    """
    checked = _checked(event, Event, EventRules(tz, default_currency).full)
    if checked is not event:
        seq = getattr(event, "seq", 0)
        checked.seq = seq if type(seq) is int else 0
        if checked.new_invoice is not None:
            checked.new_invoice.origin = checked.origin
    return checked


def check_customer(customer: Customer | Mapping) -> Customer:
    """``customer`` checked like a record of a customers file: the customer to use, or RecordError."""
    return _checked(customer, Customer, build_customer)
