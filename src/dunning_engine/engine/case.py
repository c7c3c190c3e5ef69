"""The state of one case, as named fields: what a run keeps per case between two instants.

This is the shape a store will serialise (SPEC §8 "Snapshots"; docs/engine.md, "Case state").
Every value here is plain data (numbers, dates, ``Decimal``, strings, small slotted objects) or a
reference to the compiled policy (a timer's rule), which a snapshot writes as the rule's position.
Nothing here runs rules: the engine (``core``, ``machine``, ``events``, ``output``) changes these
objects; ``context`` reads them for expressions.

Instants are whole seconds since the epoch (``int``, ``clock.NEVER`` for "not armed").
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from operator import attrgetter
from types import MappingProxyType
from typing import TYPE_CHECKING, Iterable, Iterator, NamedTuple, Protocol, cast

from .clock import NEVER

if TYPE_CHECKING:
    from .compiled import CRule
    from .ledger import Ledger
    from .plans import Plan, PlanOffer
    from ..records import Customer, Event
    from .returns import Frame

__all__ = ["Case", "Timer", "TIMER_ORDER", "Promise", "DiscountOffer", "QueuedEvent", "LedgerMap", "OneLedger",
           "own_ledgers", "count_firing", "target_ledger"]

ZERO = Decimal(0)


class Timer:
    """A timer rule armed in the current state entry (or in a paused one: ``returns.Frame``).

    ``fire_at`` is when it fires: its own ``time``, or the instant it was armed when that time was
    already past (catch-up). ``time`` is the time the rule gives (moved later by a ``goto: return``);
    expiry and catch-up are measured from it. ``occurrence`` counts the ticks of an ``every`` rule
    (1 for every other timer): it is the action key's occurrence. ``base`` is, for the first
    occurrence, the time the rule's data gave when it was last computed (a return moves ``time``
    but not ``base``, so that a change of the data is told from the move: ``Machine.rearm``); for
    later ticks of an ``every`` rule, the instant of the series' first tick (ticks count from it,
    so calendar durations do not drift).
    """

    __slots__ = ("fire_at", "time", "rule", "occurrence", "base")

    def __init__(self, fire_at: int, time: int, rule: CRule, occurrence: int, base: int) -> None:
        self.fire_at = fire_at
        self.time = time
        self.rule = rule
        self.occurrence = occurrence
        self.base = base

    def __repr__(self) -> str:
        return f"Timer({self.rule.name!r}, fire_at={self.fire_at}, time={self.time}, occurrence={self.occurrence})"


TIMER_ORDER = attrgetter("fire_at", "time", "rule.order")
"""The order of a case's timers: by firing instant, then own time, then rule order (``list.sort(key=...)``)."""


class Promise:
    """A promise to pay: ``amount`` by ``date`` (a local date), and the payments made since.

    ``check`` is when the engine raises ``promise_broken`` if the promise is not kept (00:00 local of
    the day after ``date``; ``NEVER`` once kept, broken, or while the case is held). A broken promise
    stays readable (``promise.date``) until another replaces it."""

    __slots__ = ("date", "amount", "broken", "paid", "check")

    def __init__(self, date: _dt.date, amount: Decimal, check: int) -> None:
        self.date = date
        self.amount = amount
        self.broken = False
        self.paid = ZERO
        self.check = check

    def __repr__(self) -> str:
        return f"Promise({self.date}, {self.amount}, broken={self.broken}, paid={self.paid})"


class DiscountOffer:
    """An open ``discount``: a payment on ``invoice`` by ``until`` (a local date, inclusive) covering
    its balance minus ``amount`` settles it with the discount applied."""

    __slots__ = ("amount", "until", "invoice")

    def __init__(self, amount: Decimal, until: _dt.date, invoice: str) -> None:
        self.amount = amount
        self.until = until
        self.invoice = invoice

    def __repr__(self) -> str:
        return f"DiscountOffer({self.amount}, until={self.until}, invoice={self.invoice!r})"


class LedgerMap(Protocol):
    """The case's invoices, by id, as the engine reads them (a dict, or ``OneLedger``)."""

    def get(self, key: str, /) -> Ledger | None: ...
    def __getitem__(self, key: str, /) -> Ledger: ...
    def __contains__(self, key: object, /) -> bool: ...
    def __iter__(self) -> Iterator[str]: ...
    def __len__(self) -> int: ...
    def values(self) -> Iterable[Ledger]: ...
    def items(self) -> Iterable[tuple[str, Ledger]]: ...


class QueuedEvent(NamedTuple):
    """An event waiting in its case's heap: ordered by instant, then input order, then arrival."""

    t: int
    seq: int       # the event's position in its input (Event.seq)
    arrival: int   # the engine's count of queued events (ties of equal seq keep the order they came in)
    event: Event


class Case:
    """One case: a single invoice (scope invoice) or all invoices of a customer (scope customer).

    docs/engine.md ("Case state") describes each field; the groups below follow it."""

    __slots__ = (
        # identity
        "id", "scope_invoice", "customer", "currency",
        # money
        "ledger", "ledgers", "focus", "joining",
        # where it is in the policy
        "state", "previous", "back", "entered", "entry_no", "entries", "gen", "timers", "conds", "cond_wake",
        "fired",
        # inputs and life
        "events", "held_invoice", "held_customer", "started", "start", "closed", "failed", "next_wake",
        # what the policy did
        "reminders", "promise", "offer", "plan", "plan_offer", "trace",
    )

    def __init__(self, case_id: str, scope_invoice: bool, customer: Customer, currency: str) -> None:
        self.id = case_id
        self.scope_invoice = scope_invoice
        self.customer = customer
        self.currency = currency
        self.ledger: Ledger | None = None  # the invoice's ledger (invoice scope)
        # invoice id -> ledger: a dict in customer scope; in invoice scope a one-entry view (OneLedger)
        self.ledgers: LedgerMap = {} if not scope_invoice else _NO_LEDGERS
        self.focus: Ledger | None = None  # the invoice of the latest event (customer scope: 'invoice', 'due')
        # customer scope: invoices that join at a later instant (their '_join' event), id -> ledger
        self.joining: dict[str, Ledger] | None = None
        self.state = -1                  # index of the current state (-1: not started)
        self.previous: int | None = None  # the state before ('goto: previous')
        self.back: Frame | None = None   # the paused entry 'goto: return' resumes (returns.Frame), stacked
        self.entered = 0                 # instant of the current entry
        self.entry_no = 0                # entries into the current state so far (the key's '#n')
        # entries into each state: a bit per state while none was entered twice, then a count per state
        self.entries: int | list[int] = 0
        self.gen = 0                     # counts entries and returns: rule evaluation stops when it changes
        self.timers: list[Timer] | tuple[()] = ()  # armed timers in TIMER_ORDER; () until armed
        self.conds: list[bool] | tuple[()] = ()    # last value of each condition rule of the state
        self.cond_wake = NEVER           # next instant a clock-dependent guard can change
        self.fired: dict[int, int] | None = None  # rule order -> firings in this entry (event and condition rules)
        self.events: list[QueuedEvent] | None = None  # heap of events not applied yet, created on the first
        self.held_invoice = False
        self.held_customer = False
        self.started = False
        self.start = NEVER               # instant the case starts (enters the initial state)
        self.closed = False              # its invoice was cancelled (invoice scope)
        self.failed: str | None = None   # the error that stopped it
        self.next_wake: int | None = None  # the instant the engine will wake it (scheduling, not state)
        self.reminders = 0
        self.promise: Promise | None = None
        self.offer: DiscountOffer | None = None
        self.plan: Plan | None = None
        self.plan_offer: PlanOffer | None = None
        self.trace: list[dict] | None = None  # explanation entries (explain=True)

    @property
    def held(self) -> bool:
        return self.held_invoice or self.held_customer

    def balance(self) -> Decimal:
        """What is still owed over the case's invoices."""
        led = self.ledger
        if led is not None:  # invoice scope
            return led.balance
        return sum((led.balance for led in self.ledgers.values()), ZERO)


class OneLedger:
    """The ``ledgers`` of an invoice-scope case: a read-only mapping of its one invoice id to its
    ledger, in 40 bytes where a dict takes 184 (a portfolio holds millions of cases)."""

    __slots__ = ("_led",)

    def __init__(self, led: Ledger) -> None:
        self._led = led

    def get(self, key: str, default: None = None, /) -> Ledger | None:
        return self._led if key == self._led.invoice.id else default

    def __getitem__(self, key: str, /) -> Ledger:
        if key == self._led.invoice.id:
            return self._led
        raise KeyError(key)

    def __contains__(self, key: object, /) -> bool:
        return key == self._led.invoice.id

    def __iter__(self) -> Iterator[str]:
        return iter((self._led.invoice.id,))

    def __len__(self) -> int:
        return 1

    def keys(self) -> tuple[str]:
        return (self._led.invoice.id,)

    def values(self) -> tuple[Ledger]:
        return (self._led,)

    def items(self) -> tuple[tuple[str, Ledger]]:
        return ((self._led.invoice.id, self._led),)


_EMPTY: dict[str, Ledger] = {}
_NO_LEDGERS: LedgerMap = MappingProxyType(_EMPTY)  # empty and read-only, until the invoice is added


def own_ledgers(case: Case) -> dict[str, Ledger]:
    """The ``ledgers`` dict of a customer-scope case, to add an invoice to."""
    return cast("dict[str, Ledger]", case.ledgers)


def count_firing(case: Case, cr: CRule) -> int:
    """Count one more firing of ``cr`` in the current state entry; return the count (the key's occurrence)."""
    fired = case.fired
    if fired is None:
        fired = case.fired = {}
    n = fired.get(cr.order, 0) + 1
    fired[cr.order] = n
    return n


def target_ledger(case: Case, event: Event | None = None) -> Ledger | None:
    """The invoice a money action applies to: the case's, or (customer scope) the invoice of the
    event being handled, else the oldest open one (earliest due date, then id; docs/decisions.md)."""
    if case.scope_invoice:
        return case.ledger
    if event is not None and event.invoice is not None:
        led = case.ledgers.get(event.invoice)
        if led is not None and not led.closed:
            return led
    open_ = [led for led in case.ledgers.values() if led.balance > 0 and not led.closed]
    return min(open_, key=lambda led: (led.invoice.due, led.invoice.id)) if open_ else None
