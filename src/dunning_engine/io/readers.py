"""Readers for invoices, customers and events (SPEC §4), with per-record validation.

Each reader is lazy: it returns a generator that reads one line at a time, so a
file of a million lines streams in constant memory (apart from the set of ids
seen, needed to reject duplicates). A record that is not valid is not raised:
a :class:`~dunning_engine.errors.RecordError` naming the file, the line, the
field and the reason is appended to a :class:`Rejects` and the reader goes on
with the next line. Only a file that cannot be opened at all raises.

Input may be a path (``.csv``, ``.jsonl`` or ``.ndjson``; ``"-"`` is standard
input), an open file, or any iterable of already-read lines (``str`` or
``bytes``), of ``dict`` records, or of records built in code (``Invoice``,
``Customer``, ``Event``: checked by the same rules), as embedding code and tests
have them.

A line is at most 1 MB (:data:`LINE_LIMIT`): a longer one is rejected without
being held in memory. A JSON record must not repeat a key. Money never passes
through a float: amounts are JSON strings (``"19.90"``) or JSON integers, and a
JSON number with a fraction in a money field is rejected. Amounts have at most
18 digits before the decimal point, dates are within years 1900 to 2200 (SPEC §12).

The sources and their streams are in :mod:`.sources`; the rules a record follows
in :mod:`dunning_engine.records`.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator
from zoneinfo import ZoneInfo

from ..errors import RecordError
from ..records.fields import Reject, parse_date, parse_instant
from ..records.rules import EventRules, InvoiceRules, build_customer, record_of
from ..records.types import Checked, Customer, Event, Invoice
from ..vocabulary import CHANNELS
from .sources import LINE_LIMIT, RECORD_TEXT_LIMIT, display_name, open_source, raw_record, record_stream

# The rules under their former names (tests compare the quick paths with the full checks).
_InvoiceRules, _EventRules = InvoiceRules, EventRules

__all__ = [
    "Rejects",
    "read_invoices",
    "read_customers",
    "read_events",
    "parse_instant",
    "parse_date",
    "CHANNELS",
    "RECORD_TEXT_LIMIT",
    "LINE_LIMIT",
]


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


# --------------------------------------------------------------------------- public readers


def _records(path_or_lines: Any, name: str | None, kind: str, required_columns: tuple[str, ...]):
    """Opens the source (raising RecordError now if it cannot be opened) and returns its name and a
    lazy record stream."""
    shown = display_name(path_or_lines, name)
    fmt, items = open_source(path_or_lines, shown)
    return shown, record_stream(fmt, items, kind, required_columns)


def _reject(rejects: Rejects, shown: str | None, line: int | None, raw: Any, r: Reject) -> None:
    rejects.append(RecordError(r.message, file=shown, line=line, field=r.field,
                               record=None if raw is None else raw_record(raw), help=r.help, code=r.code))


def read_invoices(path_or_lines: Any, *, tz: ZoneInfo | None = None, default_currency: str | None,
                  rejects: Rejects, name: str | None = None) -> Iterator[Invoice]:
    """Invoices from a CSV (with a header row) or JSONL file, or from lines, dicts or ``Invoice`` objects.

    Invalid records go to ``rejects``; so does a second invoice with an id
    already seen. ``tz`` is accepted for symmetry with :func:`read_events`
    (invoice dates are plain dates and need no time zone).
    """
    rules = InvoiceRules(default_currency)
    required = ("id", "customer", "amount", "issued", "due") + (("currency",) if default_currency is None else ())
    shown, stream = _records(path_or_lines, name, "invoices", required)
    return _unique_records(stream, rejects, shown, rules.build, Invoice)


def _unique_records(stream, rejects: Rejects, shown: str | None, build, kind: type) -> Iterator[Any]:
    """Build each record of ``stream``; reject bad ones and any whose ``id`` was already seen.

    ``build(record, text)`` takes a dict; a record built in code is checked as the dict of its fields.
    """
    seen: dict[str, int] = {}
    what = kind.__name__.lower()
    for line, raw, rec, text in stream:
        if isinstance(rec, Reject):
            _reject(rejects, shown, line, raw, rec)
            continue
        try:
            obj = build(rec, text) if type(rec) is dict else build(record_of(rec, kind), None)
            first = seen.get(obj.id)
            if first is not None:
                raise Reject(f"duplicate {what} id '{obj.id}' (first at line {first})", "id", code="duplicate-id")
        except Reject as r:
            _reject(rejects, shown, line, raw, r)
            continue
        seen[obj.id] = line
        obj.origin = Checked((shown, line))  # so that the engine's own rejects name the line too
        yield obj


def read_customers(path_or_lines: Any, *, rejects: Rejects, name: str | None = None) -> Iterator[Customer]:
    """Customers from a CSV or JSONL file, or from lines, dicts or ``Customer`` objects; a repeated id is rejected."""
    shown, stream = _records(path_or_lines, name, "customers", ("id",))
    return _unique_records(stream, rejects, shown, build_customer, Customer)


def read_events(path_or_lines: Any, *, tz: ZoneInfo, default_currency: str | None, rejects: Rejects,
                name: str | None = None) -> Iterator[Event]:
    """Events from a JSONL file, or from lines, dicts or ``Event`` objects, in input order.

    ``seq`` numbers the accepted events 0, 1, 2...; ``origin`` is (file, line).
    ``default_currency`` applies to the invoice of an ``invoice_issued`` event;
    an event's own ``currency`` stays None when not given.
    """
    build = EventRules(tz, default_currency).build
    shown, stream = _records(path_or_lines, name, "events", ())

    def gen() -> Iterator[Event]:
        seq = 0
        for line, raw, rec, text in stream:
            if isinstance(rec, Reject):
                _reject(rejects, shown, line, raw, rec)
                continue
            try:
                ev = build(rec, text) if type(rec) is dict else build(record_of(rec, Event), None)
            except Reject as r:
                _reject(rejects, shown, line, raw, r)
                continue
            ev.seq = seq
            ev.origin = Checked((shown, line))
            if ev.new_invoice is not None:
                ev.new_invoice.origin = ev.origin
            seq += 1
            yield ev

    return gen()
