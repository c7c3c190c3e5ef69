"""A case's state as plain JSON values, and back: what a store keeps between runs (SPEC §8).

``encode_case`` turns a :class:`~dunning_engine.engine.case.Case` (with its ledgers, timers, queued
events, promise, plan, paused entries and the actions the contact rules deferred) into a dict of JSON
values; ``decode_case`` rebuilds it inside another engine running the same policy, so that the case
goes on exactly as it would have in one run. docs/snapshot.md describes every field (schema version
:data:`SNAPSHOT_VERSION`); the native kernel reads and writes the same documents.

Pure: no I/O. States and rules are written by name and position, instants as whole seconds since the
epoch, dates as ISO text, money as decimal text (never a float). Values of records' extra attributes
keep their types with small tags (``{"$d": "1.50"}`` for a Decimal, ``{"$date": ...}``,
``{"$dt": ..., "tz": ...}``).
"""

from __future__ import annotations

import datetime as _dt
import json
from decimal import Decimal
from heapq import heapify
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..records.fields import NO_ATTRS
from ..records.types import Checked, Customer, Event, Invoice
from .case import Case, DiscountOffer, OneLedger, Promise, QueuedEvent, Timer, ZERO
from .ledger import BaseAt, Ledger
from .plans import Installment, Plan, PlanOffer
from .returns import Frame

if TYPE_CHECKING:
    from .core import Engine

__all__ = ["SNAPSHOT_VERSION", "encode_case", "decode_case", "encode_customer", "decode_customer",
           "encode_event", "decode_event", "encode_invoice", "decode_invoice", "encode_value", "decode_value",
           "SnapshotError"]

SNAPSHOT_VERSION = 1
_RESTORED = Checked((None, None))  # records rebuilt from a snapshot were checked when first read


class SnapshotError(ValueError):
    """A snapshot that does not fit the policy it is read with (a state or rule it does not have)."""


# --------------------------------------------------------------------------- values

def encode_value(v: Any) -> Any:
    """A record attribute's value as JSON: Decimal, date and datetime tagged, the rest as is."""
    if isinstance(v, bool) or v is None or isinstance(v, (int, str)):
        return v
    if isinstance(v, Decimal):
        return {"$d": str(v)}
    if isinstance(v, _dt.datetime):
        tz = v.tzinfo
        out = {"$dt": v.isoformat()}
        if isinstance(tz, ZoneInfo):
            out["tz"] = tz.key
        return out
    if isinstance(v, _dt.date):
        return {"$date": v.isoformat()}
    if isinstance(v, (list, tuple)):
        return [encode_value(x) for x in v]
    if isinstance(v, dict) or hasattr(v, "items"):
        d = {k: encode_value(x) for k, x in v.items()}
        return {"$o": d} if len(d) == 1 and next(iter(d)).startswith("$") else d
    raise TypeError(f"cannot keep a value of type {type(v).__name__} in a snapshot")


def decode_value(v: Any) -> Any:
    if isinstance(v, list):
        return [decode_value(x) for x in v]
    if isinstance(v, dict):
        if len(v) <= 2:
            if "$d" in v:
                return _dec(v["$d"])
            if "$date" in v:
                return _dt.date.fromisoformat(v["$date"])
            if "$dt" in v:
                t = _dt.datetime.fromisoformat(v["$dt"])
                return t.astimezone(ZoneInfo(v["tz"])) if "tz" in v else t
            if "$o" in v:
                return {k: decode_value(x) for k, x in v["$o"].items()}
        return {k: decode_value(x) for k, x in v.items()}
    return v


def _dec(text: str) -> Decimal:
    return ZERO if text == "0" else Decimal(text)


def _money(d: Decimal) -> str:
    return str(d)


def _date(d: _dt.date | None) -> str | None:
    return None if d is None else d.isoformat()


def _undate(s: str | None) -> _dt.date | None:
    return None if s is None else _dt.date.fromisoformat(s)


def _attrs(d: dict) -> dict:
    return {k: encode_value(v) for k, v in d.items()}


def _unattrs(d: dict | None) -> Any:
    return {k: decode_value(v) for k, v in d.items()} if d else NO_ATTRS


# --------------------------------------------------------------------------- records

def encode_invoice(inv: Invoice) -> dict:
    out: dict[str, Any] = {"id": inv.id, "customer": inv.customer, "amount": _money(inv.amount),
                           "currency": inv.currency, "issued": inv.issued.isoformat(), "due": inv.due.isoformat()}
    if inv.attrs:
        out["attrs"] = _attrs(inv.attrs)
    return out


def decode_invoice(d: dict) -> Invoice:
    return Invoice(d["id"], d["customer"], Decimal(d["amount"]), d["currency"], _dt.date.fromisoformat(d["issued"]),
                   _dt.date.fromisoformat(d["due"]), _unattrs(d.get("attrs")), origin=_RESTORED)


def encode_customer(c: Customer) -> dict:
    out: dict[str, Any] = {"id": c.id}
    if c.attrs:
        out["attrs"] = _attrs(c.attrs)
    return out


def decode_customer(d: dict) -> Customer:
    attrs = d.get("attrs")
    # a customer's attributes change (customer_updated): a dict of its own, never the shared empty one
    return Customer(d["id"], {k: decode_value(v) for k, v in attrs.items()} if attrs else {}, origin=_RESTORED)


def encode_event(e: Event) -> dict:
    out: dict[str, Any] = {"type": e.type, "at": encode_value(e.at), "seq": e.seq}
    for name in ("id", "invoice", "customer", "currency"):
        value = getattr(e, name)
        if value is not None:
            out[name] = value
    if e.amount is not None:
        out["amount"] = _money(e.amount)
    if e.date is not None:
        out["date"] = e.date.isoformat()
    if e.fields:
        out["fields"] = _attrs(e.fields)
    if e.new_invoice is not None:
        out["new_invoice"] = encode_invoice(e.new_invoice)
    if e.late:
        out["late"] = True
    return out


def decode_event(d: dict) -> Event:
    amount = d.get("amount")
    inv = d.get("new_invoice")
    return Event(type=d["type"], at=decode_value(d["at"]), id=d.get("id"), invoice=d.get("invoice"),
                 customer=d.get("customer"), amount=None if amount is None else Decimal(amount),
                 currency=d.get("currency"), date=_undate(d.get("date")), fields=_unattrs(d.get("fields")),
                 new_invoice=None if inv is None else decode_invoice(inv), seq=d["seq"], origin=_RESTORED,
                 late=bool(d.get("late", False)))


# --------------------------------------------------------------------------- ledgers

_LEDGER_MONEY = ("principal", "fees", "fees_unpaid", "interest", "interest_unpaid", "paid", "credits", "discounts",
                 "written_off", "cancelled")


def _encode_ledger(led: Ledger) -> dict:
    out: dict[str, Any] = {"invoice": encode_invoice(led.invoice)}
    if led.currency != led.invoice.currency:
        out["currency"] = led.currency
    if led.amount != led.invoice.amount or str(led.amount) != str(led.invoice.amount):
        out["amount"] = _money(led.amount)
    for name in _LEDGER_MONEY:
        out[name] = _money(getattr(led, name))
    out["interest_from"] = _date(led.interest_from)
    out["closed"] = led.closed
    out["history"] = None if led.history is None else [[b.day.isoformat(), _money(b.principal), _money(b.balance)]
                                                        for b in led.history]
    return out


def _decode_ledger(d: dict) -> Ledger:
    inv = decode_invoice(d["invoice"])
    amount = Decimal(d["amount"]) if "amount" in d else inv.amount
    led = Ledger(inv, d.get("currency", inv.currency), amount, track=d["history"] is not None)
    for name in _LEDGER_MONEY:
        setattr(led, name, _dec(d[name]))
    led.interest_from = _undate(d["interest_from"])
    led.closed = d["closed"]
    if d["history"] is not None:
        led.history = [BaseAt(_dt.date.fromisoformat(day), _dec(p), _dec(b)) for day, p, b in d["history"]]
    return led


# --------------------------------------------------------------------------- timers, entries, plans

def _encode_timers(timers: Any) -> list:
    return [[t.fire_at, t.time, t.rule.order, t.occurrence, t.base] for t in timers]


def _decode_timers(engine: Engine, state: int | None, rows: list) -> list[Timer]:
    if not rows:
        return []
    if state is None or state < 0:
        raise SnapshotError("timers of a case that is in no state")
    rules = engine.cp.states[state].rules
    out = []
    for fire_at, time, order, occurrence, base in rows:
        if not 0 <= order < len(rules):
            raise SnapshotError(f"state '{engine.cp.states[state].name}' has no rule number {order}")
        out.append(Timer(fire_at, time, rules[order], occurrence, base))
    return out


def _fired(fired: dict[int, int] | None) -> list | None:
    return None if fired is None else [[k, v] for k, v in fired.items()]


def _unfired(rows: list | None) -> dict[int, int] | None:
    return None if rows is None else {k: v for k, v in rows}


def _state_name(engine: Engine, index: int | None) -> str | None:
    return None if index is None or index < 0 else engine.cp.states[index].name


def _state_index(engine: Engine, name: str | None) -> int | None:
    if name is None:
        return None
    index = engine.cp.index.get(name)
    if index is None:
        raise SnapshotError(f"the policy has no state '{name}'")
    return index


def _encode_frames(engine: Engine, frame: Frame | None) -> list:
    out = []
    while frame is not None:
        out.append({"state": _state_name(engine, frame.state), "previous": _state_name(engine, frame.previous),
                    "entered": frame.entered, "entry_no": frame.entry_no,
                    "timers": None if frame.timers == () else _encode_timers(frame.timers),
                    "conds": None if frame.conds == () else list(frame.conds), "fired": _fired(frame.fired),
                    "left": frame.left, "depth": frame.depth})
        frame = frame.back
    return out


def _decode_frames(engine: Engine, rows: list) -> Frame | None:
    back: Frame | None = None
    for d in reversed(rows):  # outermost first: each frame points to the one it paused
        f = Frame.__new__(Frame)
        state = _state_index(engine, d["state"])
        if state is None:
            raise SnapshotError("a paused entry without a state")
        f.state = state
        f.previous = _state_index(engine, d["previous"])
        f.entered, f.entry_no, f.left, f.depth = d["entered"], d["entry_no"], d["left"], d["depth"]
        f.timers = () if d["timers"] is None else _decode_timers(engine, f.state, d["timers"])
        f.conds = () if d["conds"] is None else list(d["conds"])
        f.fired = _unfired(d["fired"])
        f.back = back
        back = f
    return back


def _schedule(rows: list) -> list[Installment]:
    return [Installment(_dt.date.fromisoformat(day), _dec(amount)) for day, amount in rows]


def _unschedule(schedule: list[Installment]) -> list:
    return [[i.date.isoformat(), _money(i.amount)] for i in schedule]


def _entries(engine: Engine, entries: int | list[int]) -> dict:
    names = [s.name for s in engine.cp.states]
    if isinstance(entries, list):
        return {"counts": {names[i]: n for i, n in enumerate(entries) if n}}
    return {"once": [names[i] for i in range(len(names)) if (entries >> i) & 1]}


def _unentries(engine: Engine, d: dict) -> int | list[int]:
    if "counts" in d:
        counts = [0] * len(engine.cp.states)
        for name, n in d["counts"].items():
            index = _state_index(engine, name)
            assert index is not None
            counts[index] = n
        return counts
    bits = 0
    for name in d["once"]:
        index = _state_index(engine, name)
        assert index is not None
        bits |= 1 << index
    return bits


# --------------------------------------------------------------------------- the case

def encode_case(engine: Engine, case: Case, deferred: list[tuple[int, int, dict]] = ()) -> dict:  # type: ignore[assignment]
    """``case`` as JSON values (docs/snapshot.md). ``deferred``: its records the contact rules moved
    later, as ``(at, seq, record)``, kept in emission order."""
    if case.scope_invoice:
        assert case.ledger is not None
        ledgers = [_encode_ledger(case.ledger)]
    else:
        ledgers = [_encode_ledger(led) for led in case.ledgers.values()]
    events = sorted(case.events or ())
    promise, offer, plan, plan_offer = case.promise, case.offer, case.plan, case.plan_offer
    out: dict[str, Any] = {
        "v": SNAPSHOT_VERSION,
        "id": case.id, "customer": case.customer.id, "currency": case.currency,
        "ledgers": ledgers,
        "focus": case.focus.invoice.id if case.focus is not None else None,
        "joining": None if case.joining is None else [_encode_ledger(led) for led in case.joining.values()],
        "state": _state_name(engine, case.state), "previous": _state_name(engine, case.previous),
        "back": _encode_frames(engine, case.back),
        "entered": case.entered, "entry_no": case.entry_no, "entries": _entries(engine, case.entries),
        "gen": case.gen,
        "timers": None if case.timers == () else _encode_timers(case.timers),
        "conds": None if case.conds == () else list(case.conds),
        "cond_wake": case.cond_wake, "fired": _fired(case.fired),
        "events": None if case.events is None else [[q.t, encode_event(q.event)] for q in events],
        "held_invoice": case.held_invoice, "held_customer": case.held_customer,
        "started": case.started, "start": case.start, "closed": case.closed, "failed": case.failed,
        "reminders": case.reminders,
        "promise": None if promise is None else {
            "date": promise.date.isoformat(), "amount": _money(promise.amount), "broken": promise.broken,
            "paid": _money(promise.paid), "check": promise.check},
        "offer": None if offer is None else {"amount": _money(offer.amount), "until": offer.until.isoformat(),
                                             "invoice": offer.invoice},
        "plan": None if plan is None else {
            "schedule": _unschedule(plan.schedule), "paid": _money(plan.paid), "missed_count": plan.missed_count,
            "checked": plan.checked, "next_check": plan.next_check},
        "plan_offer": None if plan_offer is None else {"schedule": _unschedule(plan_offer.schedule),
                                                       "paid": _money(plan_offer.paid)},
        # a record as JSON text: its keys keep their order (the bytes written when it goes out)
        "deferred": [[at, json.dumps(encode_value(record), ensure_ascii=False)]
                     for at, _, record in sorted(deferred, key=lambda d: d[1])],
    }
    return out


def decode_case(engine: Engine, d: dict, customer: Customer) -> tuple[Case, list[tuple[int, dict]]]:
    """A case rebuilt from :func:`encode_case`'s document, for ``engine`` (the same policy), with its
    ``customer`` (shared by the customer's cases). Returns the case and its deferred records
    ``(at, record)`` in emission order. The engine adopts it (``Engine.adopt``)."""
    version = d.get("v")
    if version != SNAPSHOT_VERSION:
        raise SnapshotError(f"snapshot version {version} is not {SNAPSHOT_VERSION}, the version this engine reads")
    case = Case(d["id"], engine.cp.scope == "invoice", customer, d["currency"])
    ledgers = [_decode_ledger(x) for x in d["ledgers"]]
    by_id = {led.invoice.id: led for led in ledgers}
    if case.scope_invoice:
        case.ledger = ledgers[0]
        case.ledgers = OneLedger(ledgers[0])
    else:
        case.ledgers = by_id
    focus = d["focus"]
    joining = None if d["joining"] is None else {led.invoice.id: led for led in map(_decode_ledger, d["joining"])}
    case.joining = joining
    case.focus = None if focus is None else (by_id.get(focus) or (joining or {}).get(focus))
    state = _state_index(engine, d["state"])
    case.state = -1 if state is None else state
    case.previous = _state_index(engine, d["previous"])
    case.back = _decode_frames(engine, d["back"])
    case.entered, case.entry_no, case.gen = d["entered"], d["entry_no"], d["gen"]
    case.entries = _unentries(engine, d["entries"])
    case.timers = () if d["timers"] is None else _decode_timers(engine, case.state, d["timers"])
    case.conds = () if d["conds"] is None else list(d["conds"])
    case.cond_wake = d["cond_wake"]
    case.fired = _unfired(d["fired"])
    if d["events"] is not None:
        rows = d["events"]
        n = len(rows)
        # arrival numbers below any the engine gives later: the restored events keep their order,
        # and come before events queued after them at the same instant and input position
        queue = [QueuedEvent(t, ev.seq, i - n, ev) for i, (t, ev) in enumerate(
            (t, decode_event(e)) for t, e in rows)]
        heapify(queue)
        case.events = queue
    case.held_invoice, case.held_customer = d["held_invoice"], d["held_customer"]
    case.started, case.start, case.closed, case.failed = d["started"], d["start"], d["closed"], d["failed"]
    case.reminders = d["reminders"]
    p = d["promise"]
    if p is not None:
        case.promise = promise = Promise(_dt.date.fromisoformat(p["date"]), _dec(p["amount"]), p["check"])
        promise.broken, promise.paid = p["broken"], _dec(p["paid"])
    o = d["offer"]
    if o is not None:
        case.offer = DiscountOffer(_dec(o["amount"]), _dt.date.fromisoformat(o["until"]), o["invoice"])
    pl = d["plan"]
    if pl is not None:
        plan = Plan.__new__(Plan)
        plan.schedule, plan.paid = _schedule(pl["schedule"]), _dec(pl["paid"])
        plan.missed_count, plan.checked, plan.next_check = pl["missed_count"], pl["checked"], pl["next_check"]
        case.plan = plan
    po = d["plan_offer"]
    if po is not None:
        case.plan_offer = offer = PlanOffer(_schedule(po["schedule"]))
        offer.paid = _dec(po["paid"])
    return case, [(at, decode_value(json.loads(text))) for at, text in d["deferred"]]
