"""The variables an expression reads, for one case at one instant (SPEC §2).

``Ctx`` is what compiled expressions receive: ``ctx[name]`` gives a root
variable. Only the names of the schema exist; records are plain dicts, so no
expression can reach a Python attribute.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Protocol

from ..values import Money

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from ..calendars import WeekendCalendar
    from .case import Case
    from .ledger import Ledger
    from .clock import Clock
    from .compiled import CompiledPolicy
    from ..records import Event

__all__ = ["Ctx", "Env"]


class Env(Protocol):
    """What a context reads besides the case: the compiled policy, its clock and the rate tables
    (``runtime.Runtime`` inside the engine; an ``Engine`` has the same attributes)."""

    @property
    def cp(self) -> CompiledPolicy: ...

    @property
    def clock(self) -> Clock: ...

    def rate(self, name: str, day: _dt.date) -> Any: ...

ZERO = Decimal(0)


def _inv(ctx: Ctx) -> Ledger | None:
    """The invoice in focus: the case's (invoice scope) or the current event's (customer scope)."""
    return ctx.invoice_ledger()


def _money(ctx: Ctx, value: Decimal) -> Money:
    return Money(value, ctx.case.currency)


def _sum(ctx: Ctx, attr: str) -> Money:
    case = ctx.case
    if case.ledger is not None:  # invoice scope
        return Money(getattr(case.ledger, attr), case.currency)
    return Money(sum((getattr(led, attr) for led in case.ledgers.values()), ZERO), case.currency)


def _balance(ctx: Ctx) -> Money:
    case = ctx.case
    return Money(case.balance(), case.currency)


def _days_overdue(ctx: Ctx) -> int | None:
    led = _inv(ctx)
    return None if led is None else (ctx.today - led.invoice.due).days


def _days_until_due(ctx: Ctx) -> int | None:
    led = _inv(ctx)
    return None if led is None else (led.invoice.due - ctx.today).days


def _open(ctx: Ctx) -> list[Ledger]:
    return [led for led in ctx.case.ledgers.values() if led.balance > 0 and not led.closed]


def _overdue(ctx: Ctx) -> list[Ledger]:
    today = ctx.today
    return [led for led in _open(ctx) if today > led.invoice.due]


def _oldest_due(ctx: Ctx) -> _dt.date | None:
    od = _overdue(ctx)
    return min(led.invoice.due for led in od) if od else None


def _oldest_days_overdue(ctx: Ctx) -> int:
    d = _oldest_due(ctx)
    return 0 if d is None else (ctx.today - d).days


def _promise(ctx: Ctx) -> dict[str, Any] | None:
    p = ctx.case.promise
    if p is None:
        return None
    return {"date": p.date, "amount": Money(p.amount, ctx.case.currency)}


def _plan(ctx: Ctx) -> dict[str, Any] | None:
    plan = ctx.case.plan
    return None if plan is None else plan.record(ctx.case.currency)


GETTERS: dict[str, Callable[[Ctx], Any]] = {
    "now": lambda c: c.rt.clock.datetime(c.t),
    "today": lambda c: c.today,
    "state": lambda c: c.rt.cp.states[c.case.state].name,
    "entered": lambda c: c.rt.clock.datetime(c.case.entered),
    "days_in_state": lambda c: (c.today - c.rt.clock.date(c.case.entered)).days,
    "invoice": lambda c: (lambda led: None if led is None else led.invoice.as_record())(_inv(c)),
    "due": lambda c: (lambda led: None if led is None else led.invoice.due)(_inv(c)),
    "issued": lambda c: (lambda led: None if led is None else led.invoice.issued)(_inv(c)),
    "balance": _balance,
    "principal": lambda c: _sum(c, "principal"),
    "paid": lambda c: _sum(c, "paid"),
    "fees": lambda c: _sum(c, "fees"),
    "interest": lambda c: _sum(c, "interest"),
    "days_overdue": _days_overdue,
    "days_until_due": _days_until_due,
    "customer": lambda c: c.case.customer.as_record(),
    "event": lambda c: None if c.event is None else c.event.as_record(),
    "promise": _promise,
    "plan": _plan,
    "reminders": lambda c: c.case.reminders,
    "open_balance": lambda c: Money(sum((led.balance for led in _open(c)), ZERO), c.case.currency),
    "open_count": lambda c: len(_open(c)),
    "overdue_balance": lambda c: Money(sum((led.balance for led in _overdue(c)), ZERO), c.case.currency),
    "overdue_count": lambda c: len(_overdue(c)),
    "oldest_due": _oldest_due,
    "oldest_days_overdue": _oldest_days_overdue,
}


class Ctx:
    """Variables of ``case`` at instant ``t`` (epoch seconds), with ``event`` inside ``on:`` rules;
    ``rt`` gives the policy, its clock and the rate tables (``Env``)."""

    __slots__ = ("rt", "case", "t", "today", "event", "_segments")
    rt: Env
    case: Case
    t: int
    today: _dt.date
    event: Event | None

    def __init__(self, rt: Env, case: Case, t: int, event: Event | None = None) -> None:
        self.rt = rt
        self.case = case
        self.t = t
        self.today = rt.clock.date(t)
        self.event = event
        self._segments: dict[str, Any] | None = None

    @property
    def calendar(self) -> WeekendCalendar:
        return self.rt.cp.calendar

    @property
    def tz(self) -> ZoneInfo:
        return self.rt.clock.tz

    def rate(self, name: str) -> Any:
        return self.rt.rate(name, self.today)

    def invoice_ledger(self) -> Ledger | None:
        case = self.case
        if case.scope_invoice:
            return case.ledger
        ev = self.event
        if ev is not None and ev.invoice is not None:
            return case.ledgers.get(ev.invoice)
        return case.focus

    def __getitem__(self, name: str) -> Any:
        getter = GETTERS.get(name)
        if getter is not None:
            return getter(self)
        segments = self.rt.cp.segments
        if name in segments:
            if self._segments is None:
                self._segments = {}
            value = self._segments.get(name)
            if value is None and name not in self._segments:
                value = self._segments[name] = segments[name].evaluate(self) is True
            return value
        raise KeyError(name)

    def read(self, path: str) -> Any:
        """The value of a dotted path such as ``customer.segment`` (for explanations)."""
        root, _, rest = path.partition(".")
        value = self[root]
        for part in rest.split(".") if rest else ():
            value = value.get(part) if isinstance(value, dict) else None
        return value
