"""The run-time core: cases, the wake-up heap, rule evaluation and actions (SPEC §1, §5).

Pure: no I/O. Feed it invoices, customers and events, advance the clock with
``run(until)``, and it yields action records (dicts in the SPEC §4 shape) in
order of time, then case, then emission.

How time moves: every case knows the next instant at which something can
happen to it (its start, its next event, its earliest armed timer, the next
instant a clock-dependent guard can change). One heap holds those instants;
the engine pops the earliest, processes that case at that instant, and pushes
its next wake-up. Nothing is polled day by day, so the cost of a run grows with
events and fired timers, not with the days it spans.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from bisect import bisect_right
from heapq import heapify, heappop, heappush
from types import MappingProxyType
from typing import Any, Iterable, Iterator

from ..errors import DunningError, EngineError, RecordError
from ..policy import ir
from ..records.rules import check_customer, check_event, check_invoice
from ..values import Duration, Money, Percent, check_amount, quantize
from .actions import build_action
from .clock import FIRST_DAY, LAST_DAY, NEVER, DateOutOfRange
from .compiled import PREVIOUS, RETURN, CompiledPolicy, CRule
from .context import Ctx
from .ledger import Ledger
from .records import Customer, Event, Invoice
from .returns import Frame, come_back, end_paused, leave

__all__ = ["Engine", "Case", "CHAIN_LIMIT"]

CHAIN_LIMIT = 64
ZERO = Decimal(0)
_RANGE_HELP = ("dates are limited to years 1900-2200 (SPEC §5): check this case's dates and the durations "
               "the policy adds to them")


class _ChainTooLong(Exception):
    pass


class Case:
    """One case: a single invoice (scope invoice) or all invoices of a customer (scope customer)."""

    __slots__ = (
        "id", "ord", "scope_invoice", "customer", "ledger", "ledgers", "focus", "currency",
        "state", "previous", "back", "entered", "entry_no", "entries", "gen", "timers", "conds", "cond_wake",
        "fired", "events", "held_invoice", "held_customer", "started", "start", "closed", "failed",
        "next_wake", "reminders", "promise", "promise_paid", "promise_check", "offer", "plan", "plan_offer", "trace",
    )

    def __init__(self, case_id: str, ord_: int, scope_invoice: bool, customer: Customer, currency: str) -> None:
        self.id = case_id
        self.ord = ord_
        self.scope_invoice = scope_invoice
        self.customer = customer
        self.ledger: Ledger | None = None
        # invoice id -> ledger: a dict in customer scope; in invoice scope a one-entry view (see _OneLedger)
        self.ledgers: dict[str, Ledger] = {} if not scope_invoice else _NO_LEDGERS
        self.focus: Ledger | None = None
        self.currency = currency
        self.state = -1
        self.previous: int | None = None
        self.back: Frame | None = None  # the entry to resume on 'goto: return' (a returns.Frame), in returning states
        self.entered = 0
        self.entry_no = 0
        self.entries: int | list[int] = 0  # entries into each state: a bit per state, or counts (see _enter)
        self.gen = 0
        self.timers: list[list] | tuple = ()  # [fire_t, orig_t, order, crule, occurrence]; () until armed
        self.conds: list[bool] | tuple = ()
        self.cond_wake = NEVER
        self.fired: dict[int, int] | None = None
        self.events: list | None = None    # heap of (t, input seq, arrival seq, Event), created on first event
        self.held_invoice = False
        self.held_customer = False
        self.started = False
        self.start = NEVER
        self.closed = False
        self.failed: str | None = None
        self.next_wake: int | None = None
        self.reminders = 0
        self.promise: tuple[_dt.date, Decimal, bool] | None = None  # (date, amount, broken)
        self.promise_paid = ZERO
        self.promise_check = NEVER
        self.offer: tuple | None = None   # discount offer: (amount, until, invoice)
        self.plan = None
        self.plan_offer: list | None = None
        self.trace: list[dict] | None = None

    @property
    def held(self) -> bool:
        return self.held_invoice or self.held_customer


class _OneLedger:
    """The ``ledgers`` of an invoice-scope case: a read-only mapping of its one invoice id to its
    ledger, in 40 bytes where a dict takes 184 (a portfolio holds millions of cases)."""

    __slots__ = ("_led",)

    def __init__(self, led: Ledger) -> None:
        self._led = led

    def get(self, key: str, default: Any = None) -> Any:
        return self._led if key == self._led.invoice.id else default

    def __getitem__(self, key: str) -> Ledger:
        if key == self._led.invoice.id:
            return self._led
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
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


_NO_LEDGERS: Any = MappingProxyType({})  # empty and read-only, until the case's invoice is added


class Engine:
    """Runs one policy over a portfolio. ``explain=True`` keeps a trace per case and adds ``explain`` to actions."""

    def __init__(self, policy: ir.Policy | CompiledPolicy, *, explain: bool = False, chain_limit: int = CHAIN_LIMIT) -> None:
        self.cp = policy if isinstance(policy, CompiledPolicy) else CompiledPolicy(policy)
        self.clock = self.cp.clock
        self.explain = explain
        self.chain_limit = chain_limit
        self.cases: dict[str, Case] = {}
        self._by_ord: list[Case] = []
        self.invoice_case: dict[str, Case] = {}
        self.customer_cases: dict[str, list[Case]] = {}
        self.customers: dict[str, Customer] = {}
        self.errors: list[EngineError] = []
        self.warnings: list[EngineError] = []
        self.duplicates = 0
        self._event_ids: set[str] = set()
        # Wake-ups: a heap of distinct instants and, per instant, the cases to wake (by creation order).
        # Most wake-ups share a few instants (send_at of each day), so this is far cheaper than a heap
        # entry per case.
        self._instants: list[int] = []
        self._buckets: dict[int, list[int]] = {}
        self._now: int | None = None
        self._instant: int | None = None
        self._out: list[tuple[str, int, dict]] = []
        self._deferred: list[tuple[int, int, str, dict]] = []  # (instant, emission seq, case id, record)
        self._pending: list[tuple[int, ir.Action, dict, int]] = []  # contact actions of the case being woken
        self._undo: dict[int, tuple[Ledger, tuple]] | None = None  # ledgers' state before this instant's postings
        from .contact import build_contact

        self.contact = build_contact(self)  # contact rules (windows, limits, packs), None without: see contact.py
        self._emitted = 0
        self._seq = 0
        self._chain = 0
        self._rates: dict[str, tuple[list[_dt.date], list[Any]]] = {}
        self._waiting: dict[str, list[Event]] = {}  # customer events that came before the customer's first case
        self.atom_cache: dict = {}  # CRule -> clock atoms of its guard (see wake.py)
        # States with a 'goto: return' rule: entering one keeps the entry left (returns.py)
        self._returning = self.cp.returning

    # ------------------------------------------------------------------ input
    def add_customer(self, customer: Customer) -> None:
        customer = check_customer(customer)  # as it is when a reader built it; RecordError naming the field
        known = self.customers.get(customer.id)
        if known is not None:
            known.attrs.update(customer.attrs)
        else:
            self.customers[customer.id] = customer

    def set_rate(self, name: str, rows: Iterable[tuple[_dt.date, Any]]) -> None:
        """A dated reference table (date, value): the latest value on or before a day is in force."""
        rows = sorted(rows)
        self._rates[name] = ([d for d, _ in rows], [v for _, v in rows])

    def has_rate(self, name: str) -> bool:
        """Whether a table ``name`` was given (``rates:`` of the policy, or ``set_rate``)."""
        return name in self._rates

    def rate_dates(self, name: str) -> list[_dt.date]:
        """The dates of table ``name`` in order (empty when there is no such table)."""
        table = self._rates.get(name)
        return list(table[0]) if table else []

    def rate(self, name: str, day: _dt.date):
        """The value of table ``name`` in force on ``day`` (the latest on or before it), or None."""
        table = self._rates.get(name)
        if not table:
            return None
        i = bisect_right(table[0], day)
        return table[1][i - 1] if i else None

    def _customer(self, cid: str) -> Customer:
        c = self.customers.get(cid)
        if c is None:
            c = self.customers[cid] = Customer(cid)
        return c

    def add_invoice(self, invoice: Invoice, start: int | None = None, origin: tuple | None = None) -> None:
        """Add an invoice; its case starts at ``issued`` 00:00 local (or at ``start``, an instant)."""
        invoice = check_invoice(invoice, self.cp.currency)  # as it is when a reader built it; else RecordError
        if origin is None:
            origin = invoice.origin
        if invoice.id in self.invoice_case:
            raise RecordError(f"duplicate invoice id '{invoice.id}'", file=origin and origin[0], line=origin and origin[1], field="id",
                              code="duplicate-id")
        t = self.clock.day_start(invoice.issued) if start is None else start
        if self._now is not None and t < self._now:
            t = self._now  # added after the clock passed its start: it starts now and catches up
        ledger = Ledger(invoice, invoice.currency, invoice.amount, track=self.cp.has_interest)
        if self.cp.scope == "invoice":
            case = self._new_case(invoice.id, invoice.customer, invoice.currency)
            case.ledger = ledger
            case.ledgers = _OneLedger(ledger)
            case.focus = ledger
            case.start = t
            self.invoice_case[invoice.id] = case
            self._wake_at(case, t)
            return
        case = self.cases.get(invoice.customer)
        if case is None:
            case = self._new_case(invoice.customer, invoice.customer, invoice.currency)
            case.ledgers[invoice.id] = ledger
            case.focus = ledger
            case.start = t
            self.invoice_case[invoice.id] = case
            self._wake_at(case, t)
            return
        if invoice.currency != case.currency:
            raise RecordError(f"invoice currency {invoice.currency} differs from the customer's case currency {case.currency}",
                              file=origin and origin[0], line=origin and origin[1], field="currency",
                              help="a customer-scope case keeps one currency; run one policy per currency",
                              code="currency-mismatch")
        self.invoice_case[invoice.id] = case
        if not case.started and t < case.start:
            # An earlier invoice than the one the case was opened with: it starts the case, whatever the
            # order of the input, and the other invoice joins at its own start.
            first = case.focus
            case.ledgers = {invoice.id: ledger}
            case.focus = ledger
            later, case.start = case.start, t
            self._push_event(case, later, Event(type="_join", at=self.clock.datetime(later), invoice=first.invoice.id,
                                                customer=invoice.customer, fields={"ledger": first}))
            self._wake_at(case, t)
            return
        self._push_event(case, t, Event(type="_join", at=self.clock.datetime(t), invoice=invoice.id,
                                        customer=invoice.customer, fields={"ledger": ledger}))

    def _new_case(self, case_id: str, customer_id: str, currency: str) -> Case:
        case = Case(case_id, len(self._by_ord), self.cp.scope == "invoice", self._customer(customer_id), currency)
        if self.explain:
            case.trace = []
        self.cases[case_id] = case
        self._by_ord.append(case)
        siblings = self.customer_cases.get(customer_id)
        if siblings is None:
            self.customer_cases[customer_id] = [case]
        else:
            siblings.append(case)
        if self._waiting:
            for event in self._waiting.get(customer_id, ()):
                self._push_event(case, int(event.at.timestamp()), event)
        return case

    def add_event(self, event: Event) -> None:
        """Queue an event for its case. Raises ``RecordError`` for an event the engine cannot place."""
        def reject(msg: str, field: str | None = None, help: str | None = None, *, code: str):
            return RecordError(msg, file=event.origin[0], line=event.origin[1], field=field, help=help, code=code)

        event = check_event(event, self.clock.tz, self.cp.currency)  # as it is when a reader built it

        if event.id is not None:
            if event.id in self._event_ids:
                self.duplicates += 1
                return
        t = int(event.at.timestamp())
        if self._now is not None and t < self._now:
            raise reject(f"event at {event.at.isoformat()} is before the engine's clock ({self.clock.iso(self._now)})", "at",
                         "feed events before advancing the clock past them", code="event-before-clock")
        if event.type == "invoice_issued":
            if event.new_invoice is None:
                raise reject("invoice_issued needs an 'invoice' object", "invoice", code="missing-field")
            self.add_invoice(event.new_invoice, start=t, origin=event.origin)
        elif event.invoice is not None:
            case = self.invoice_case.get(event.invoice)
            if case is None:
                raise reject(f"unknown invoice '{event.invoice}'", "invoice",
                             "the invoice must be in --invoices or issued by an earlier invoice_issued event",
                             code="unknown-invoice")
            if event.currency is not None and event.currency != case.currency:  # one currency a case
                raise reject(f"currency {event.currency} does not match invoice {event.invoice} in "
                             f"{case.currency}", "currency", code="currency-mismatch")
            if event.amount is not None and event.currency is None:  # decimals of the invoice's currency
                try:
                    check_amount(event.amount, case.currency)
                except ValueError as e:
                    raise reject(str(e), "amount", code="invalid-amount") from None
            if case.scope_invoice:
                event.invoice = case.id  # the equal string the case already holds: one copy per invoice
            self._push_event(case, t, event)
        elif event.customer is not None:
            cases = self.customer_cases.get(event.customer)
            if not cases:
                if event.type == "customer_updated":
                    # No case yet: delivered, at its own time, to the customer's cases when they start.
                    self._waiting.setdefault(event.customer, []).append(event)
                    self._record_id(event)
                    return
                raise reject(f"unknown customer '{event.customer}'", "customer", code="unknown-customer")
            for case in cases:
                self._push_event(case, t, event)
        else:
            raise reject(f"a {event.type} event needs 'invoice' or 'customer'", "invoice", code="missing-field")
        self._record_id(event)

    def _record_id(self, event: Event) -> None:
        if event.id is not None:
            self._event_ids.add(event.id)

    def _push_event(self, case: Case, t: int, event: Event) -> None:
        self._seq += 1
        if self.contact is not None and event.type == "contact_outcome":
            self.contact.queued(case, t, event)
        if case.events is None:
            case.events = []
        heappush(case.events, (t, event.seq, self._seq, event))
        self._wake_at(case, t)

    def _wake_at(self, case: Case, t: int) -> None:
        if case.next_wake is None or t < case.next_wake:
            case.next_wake = t
            bucket = self._buckets.get(t)
            if bucket is None:
                self._buckets[t] = [case.ord]
                heappush(self._instants, t)
            else:
                bucket.append(case.ord)

    # ------------------------------------------------------------------ running
    def run(self, until: _dt.datetime | _dt.date | int) -> Iterator[dict]:
        """Process every case up to and including ``until``; yield actions in order."""
        u = until if isinstance(until, int) else (
            self.clock.day_start(until) if not isinstance(until, _dt.datetime) else self.clock.instant(until))
        instants = self._instants
        buckets = self._buckets
        by_ord = self._by_ord
        deferred = self._deferred
        wake, schedule = self._wake, self._schedule
        while True:
            t = instants[0] if instants else NEVER
            if deferred and deferred[0][0] <= t:
                t = deferred[0][0]
            if t > u:
                break
            if t != self._instant:
                if self._out:
                    yield from self._flush()
                self._instant = t
            if deferred and deferred[0][0] == t:
                # Actions deferred to this instant (contact windows and limits) join its output.
                while deferred and deferred[0][0] == t:
                    _, seq, case_id, rec = heappop(deferred)
                    if self._still_wanted(self.cases[case_id], rec, t):
                        self._out.append((case_id, seq, rec))
                continue
            # Wake every case due at t, in creation order. Waking one case never schedules another
            # case at t (cases are independent), but may re-add itself: loop until the bucket is empty.
            while True:
                bucket = buckets.pop(t, None)
                if not bucket:
                    break
                bucket.sort()
                for o in bucket:
                    case = by_ord[o]
                    if case.next_wake != t:
                        continue  # a stale entry: the case was rescheduled
                    case.next_wake = None
                    wake(case, t)
                    schedule(case)
            heappop(instants)
        if self._out:
            yield from self._flush()
        if self._now is None or u > self._now:
            self._now = u

    def advance(self, until) -> list[dict]:
        return list(self.run(until))

    def _flush(self) -> list[dict]:
        out = self._out
        self._out = []
        return _sorted_records(out)

    def _schedule(self, case: Case) -> None:
        if case.failed or case.closed:
            return
        # The earliest of: the start, the next event, and (once started) the next timer and clock
        # condition (not while held) and the next derived-event check. Plain comparisons: hot path.
        events = case.events
        if not case.started:
            nxt = case.start  # earlier events are applied right after the start
        else:
            nxt = events[0][0] if events else NEVER
            if not (case.held_invoice or case.held_customer):
                timers = case.timers
                if timers and timers[0][0] < nxt:
                    nxt = timers[0][0]
                if case.cond_wake < nxt:
                    nxt = case.cond_wake
            if case.promise_check < nxt:
                nxt = case.promise_check
            plan = case.plan
            if plan is not None and plan.next_check < nxt:
                nxt = plan.next_check
        if nxt < NEVER:
            self._wake_at(case, nxt)

    def _wake(self, case: Case, t: int) -> None:
        if case.failed or case.closed:
            return
        if not case.started and case.start > t:
            return  # events dated before the case starts wait for it (docs/decisions.md)
        self._chain = 0
        mark, seq = len(self._out), self._emitted
        try:
            self._advance(case, t)
            if self._pending:
                self._place_pending(case)
        except _ChainTooLong:
            err = EngineError(f"more than {self.chain_limit} transitions at {self.clock.iso(t)}; "
                              f"the case stopped in state '{self.cp.states[case.state].name}'", case=case.id,
                              help="look for rules whose goto leads back without a condition turning false",
                              code="chain-limit")
        except DateOutOfRange as e:
            err = EngineError(f"at {self.clock.iso(t)}: {e}", case=case.id, help=_RANGE_HELP, code="date-out-of-range")
        except EngineError as e:
            err = e
        except DunningError as e:  # an expression failed at run time (e.g. money of two currencies)
            err = EngineError(f"at {self.clock.iso(t)}: {e}", case=case.id, code="evaluation-failed")
        except (OverflowError, ValueError) as e:  # date arithmetic past what Python holds (year 9999)
            if "range" not in str(e):
                raise
            err = EngineError(f"at {self.clock.iso(t)}: a computed date is outside years "
                              f"{FIRST_DAY.year}-{LAST_DAY.year} ({e})", case=case.id, help=_RANGE_HELP,
                              code="date-out-of-range")
        else:
            self._undo = None
            return
        self._fail(case, t, err, mark, seq)

    def _advance(self, case: Case, t: int) -> None:
        """Everything that happens to ``case`` at ``t``: its start, its events, derived events, timers
        and condition rules."""
        if not case.started:
            case.started = True
            self._enter(case, self.cp.initial, t)
        events = case.events
        while events and events[0][0] <= t and not case.closed:
            ev = heappop(events)[3]
            self._apply_event(case, ev, t)
        if case.closed or not case.started:
            return
        if case.promise_check <= t or (case.plan is not None and case.plan.next_check <= t):
            self._derived(case, t)
        timers = case.timers
        if timers and timers[0][0] <= t:
            self._fire_timers(case, t)
        if case.cond_wake <= t and not (case.held_invoice or case.held_customer):
            self._eval_conds(case, t)

    def _fail(self, case: Case, t: int, err: EngineError, mark: int, seq: int) -> None:
        """A case error at ``t``: the case stops, reported, and what it did at ``t`` is undone (docs/decisions.md).

        Its actions of ``t`` are dropped: not written and no contact booked (``mark`` and ``seq``: the
        output's length and the emission count when the case woke), and the money its actions posted at
        ``t`` is taken back off its ledgers. Events applied at ``t`` stay applied: they happened.
        """
        case.failed = err.message
        self.errors.append(err)
        del self._out[mark:]  # one case is processed at a time: what follows mark is this case's
        self._pending.clear()
        if any(d[1] > seq for d in self._deferred):  # placed before the error (contact rules)
            self._deferred[:] = [d for d in self._deferred if d[1] <= seq]
            heapify(self._deferred)
        if self._undo:
            for led, saved in self._undo.values():
                led.restore(saved)
        self._undo = None
        self._trace(case, t, "failed", why=err.message)

    def posting(self, led: Ledger) -> None:
        """Called before an action posts money on ``led``: keep what to restore if the case fails at
        this instant (see ``_fail``)."""
        undo = self._undo
        if undo is None:
            undo = self._undo = {}
        if id(led) not in undo:
            undo[id(led)] = (led, led.snapshot())

    # ------------------------------------------------------------------ states
    def _chain_step(self) -> None:
        """One more transition in the chain of this instant; an error past the bound (``chain_limit``)."""
        self._chain += 1
        if self._chain > self.chain_limit:
            raise _ChainTooLong()

    def _enter(self, case: Case, index: int, t: int) -> None:
        self._chain += 1  # _chain_step, inline: the hot path
        if self._chain > self.chain_limit:
            raise _ChainTooLong()
        cs = self.cp.states[index]
        case.state = index
        case.entered = t
        # Entries into each state (the key's '#n'): a bit per state while none was entered twice
        # (no list per case for the common path through the states), then a count per state.
        entries = case.entries
        if type(entries) is list:
            n = entries[index] = entries[index] + 1
        elif not (entries >> index) & 1:
            n, case.entries = 1, entries | (1 << index)
        else:
            counts = case.entries = [(entries >> i) & 1 for i in range(len(self.cp.states))]
            n = counts[index] = 2
        case.entry_no = n
        case.gen += 1
        case.fired = None
        case.timers = [] if cs.timers else ()  # (): shared, for the many states without timers
        case.conds = ()
        case.cond_wake = NEVER
        if case.trace is not None:
            self._trace(case, t, "enter", state=cs.name)
        gen = case.gen
        if cs.on_enter:
            self._run_actions(case, cs.on_enter, t, "on_enter", 1, None)
        if cs.final or case.gen != gen:
            return
        if cs.timers:
            if cs.sorted_shift is not None and case.scope_invoice:
                # 'at: due ± N days' timers only: armed straight from the invoice, already in order.
                inv = case.ledger.invoice
                day = inv.due if cs.sorted_shift == "due" else inv.issued
                send_time = self.clock.send_time
                low, high = self.clock.low, self.clock.high
                timers = case.timers
                for cr in cs.timers_in_order:
                    when = send_time(_day_plus(day, cr))
                    if when < low or when > high:
                        self._check_time(cr, when)
                    timers.append([when if when > t else t, when, cr.order, cr, 1, when])
            else:
                ctx = None
                for cr in cs.timers:
                    if cr.at_field is None and ctx is None:
                        ctx = Ctx(self, case, t)
                    self._arm(case, cr, t, ctx, occurrence=1)
                if len(case.timers) > 1:
                    case.timers.sort(key=_timer_key)
        if cs.conds:
            case.conds = [False] * len(cs.conds)
            self._eval_conds(case, t)

    def _transition(self, case: Case, goto: int, t: int) -> None:
        old = self.cp.states[case.state]
        if goto == RETURN:
            come_back(self, case, t)
            return
        target = case.previous if goto == PREVIOUS else goto
        if target is None:
            raise EngineError(f"goto previous from '{old.name}', but the case has no previous state", case=case.id,
                              help="use goto: previous only in states that are entered from another state",
                              code="no-previous-state")
        returning = self._returning
        pause = returning and target in returning
        if old.on_exit and not pause:
            self._run_actions(case, old.on_exit, t, "on_exit", 1, None)
        if pause:  # the entry is paused, not ended: kept to be resumed by 'goto: return' (returns.py)
            case.back, forgotten = leave(case, t)
            if forgotten is not None:
                end_paused(self, case, forgotten, t)
        elif case.back is not None:
            end_paused(self, case, case.back, t)
            case.back = None
        case.previous = case.state
        self._enter(case, target, t)

    # ------------------------------------------------------------------ timers
    def _arm(self, case: Case, cr: CRule, t: int, ctx: Ctx | None, occurrence: int, base: int | None = None) -> None:
        """Arm timer rule ``cr``: its first occurrence or, for ``every`` with ``base`` (the first
        occurrence's instant), occurrence number ``occurrence``, counted from the first so that
        calendar durations do not drift (every 1 month from Jan 31: Feb 28, Mar 31, Apr 30)."""
        clock = self.clock
        if cr.at_field is not None and case.scope_invoice:
            inv = case.ledger.invoice
            when = self._check_time(cr, clock.send_time(_day_plus(inv.due if cr.at_field == "due" else inv.issued, cr)))
            case.timers.append([when if when > t else t, when, cr.order, cr, occurrence, when])
            return
        if ctx is None:
            ctx = Ctx(self, case, t)
        if cr.kind == "at":
            value = cr.expr.evaluate(ctx)
            if value is None:
                # Dormant: kept (at NEVER) so that a later change that gives it a time arms it.
                if case.trace is not None:
                    self._trace(case, t, "not armed", rule=cr.name, why=f"'{cr.expr.canonical}' is null")
                case.timers.append([NEVER, NEVER, cr.order, cr, occurrence, NEVER])
                return
            when = clock.instant(value)
        elif cr.kind == "after":
            when = self._plus(case.entered, cr.duration, cr)
        else:
            if cr.max is not None and occurrence > cr.max:
                return
            if base is not None:
                when = self._plus(base, cr.duration * (occurrence - 1), cr)
            elif cr.starting is not None:
                value = cr.starting.evaluate(ctx)
                if value is None:  # dormant until 'starting' has a value (see _rearm_at_timers)
                    case.timers.append([NEVER, NEVER, cr.order, cr, occurrence, NEVER])
                    return
                when = clock.instant(value)
            else:
                when = self._plus(case.entered, cr.duration, cr)
        self._check_time(cr, when)
        case.timers.append([max(when, t), when, cr.order, cr, occurrence, when if base is None else base])

    def _check_time(self, cr: CRule, when: int) -> int:
        """``when``, the time of timer ``cr``, or ``DateOutOfRange`` when it leaves years 1900-2200."""
        return self.clock.check(when, f"the time of rule '{cr.name}'")

    def _plus(self, t: int, d: Duration, cr: CRule | None = None) -> int:
        """``t`` + ``d`` on the local wall clock (calendar durations move the date, keeping the time)."""
        try:
            days = d.fixed_days
            local = self.clock.datetime(t)
            if days is not None:
                return int((local.replace(tzinfo=None) + _dt.timedelta(days=days)).replace(tzinfo=self.clock.tz).timestamp())
            day = d.add_to(local.date(), self.cp.calendar)
            return self.clock.at(day, local.time())
        except (OverflowError, ValueError):  # past Python's year 9999
            what = f"the time of rule '{cr.name}'" if cr is not None else "a computed date"
            raise DateOutOfRange(f"{what} ({self.clock.iso(t)} + {d}) is outside years "
                                 f"{FIRST_DAY.year}-{LAST_DAY.year}") from None

    def _expiry(self, orig: int, expires: Duration) -> int:
        """The last instant a timer due at ``orig`` may still fire (beyond the years the engine holds: never)."""
        try:
            return self._plus(orig, expires)
        except DateOutOfRange:
            return NEVER

    def _fire_timers(self, case: Case, t: int) -> None:
        timers = case.timers
        while timers and timers[0][0] <= t and not (case.held_invoice or case.held_customer or case.closed):
            fire_t, orig, order, cr, occurrence, base = timers.pop(0)
            if cr.kind == "every":
                # The next occurrence is armed before this one runs, so that it stays with the entry
                # if this very rule leaves for a state that may return (returns.py). The series counts
                # from its first tick (its own time, 'orig', for the first occurrence).
                self._arm(case, cr, t, None, occurrence + 1, base=orig if occurrence == 1 else base)
                if len(timers) > 1:
                    timers.sort(key=_timer_key)
            gen = case.gen
            if cr.expires is not None and t > self._expiry(orig, cr.expires):
                if case.trace is not None:
                    self._trace(case, t, "expired", rule=cr.name, why=f"was due {self.clock.iso(orig)}, expires {cr.expires}")
            else:
                if orig < t and case.trace is not None:
                    self._trace(case, t, "catch-up", rule=cr.name, why=f"was due {self.clock.iso(orig)}")
                self._fire_rule(case, cr, t, None, occurrence)
            if case.gen == gen and case.conds:
                self._eval_conds(case, t)
            timers = case.timers  # a transition arms a new list

    def _rearm_at_timers(self, case: Case, t: int) -> None:
        """After a change, move pending timers whose time comes from data an event can change: ``at``
        timers, and ``every`` timers not yet started whose ``starting`` is such data. A timer whose
        expression became null stays dormant (at NEVER) and is armed again when it has a value.

        ``timer[5]`` of such a timer is the time its data gave when it was last computed: a timer moved
        by a return (returns.py) keeps its move until its data changes."""
        changed = False
        ctx = None
        for timer in case.timers:
            cr = timer[3]
            if not cr.movable or (cr.kind == "every" and timer[4] > 1):
                continue
            ctx = ctx or Ctx(self, case, t)
            value = (cr.expr if cr.kind == "at" else cr.starting).evaluate(ctx)
            when = NEVER if value is None else self._check_time(cr, self.clock.instant(value))
            if when != timer[5]:
                timer[1] = timer[5] = when
                timer[0] = max(when, t)
                changed = True
        if changed:
            case.timers.sort(key=_timer_key)

    # ------------------------------------------------------------------ rules
    def _fire_rule(self, case: Case, cr: CRule, t: int, event: Event | None, occurrence: int | None = None) -> bool:
        """Run one rule if its guard holds; True when it moved the case to another state."""
        ctx = Ctx(self, case, t, event) if (cr.needs_ctx or event is not None or case.trace is not None) else None
        if ctx is not None and not cr.guard(ctx):
            if case.trace is not None:
                self._trace(case, t, "skipped", rule=cr.name, **self._why_not(cr, ctx))
            return False
        if occurrence is None:
            # The key's occurrence of an event rule: its firings in this state entry. (A timer
            # knows its own occurrence, so timers need no count: no dict for most cases.)
            occurrence = _count_firing(case, cr)
        why = self._fired(case, cr, ctx, t)
        if cr.actions:
            self._run_actions(case, cr.actions, t, cr.name, occurrence, ctx, why)
        if cr.goto is not None:
            self._transition(case, cr.goto, t)
            return True
        return False

    def _eval_conds(self, case: Case, t: int) -> None:
        """Edge-triggered condition rules: fire those whose guard turned true."""
        cs = self.cp.states[case.state]
        if not cs.conds or case.held:
            return
        gen = case.gen
        ctx = Ctx(self, case, t)
        for i, cr in enumerate(cs.conds):
            value = cr.guard(ctx)
            before = case.conds[i]
            case.conds[i] = value
            if value and not before:
                n = _count_firing(case, cr)
                why = self._fired(case, cr, ctx, t)
                if cr.actions:
                    self._run_actions(case, cr.actions, t, cr.name, n, ctx, why)
                if cr.goto is not None:
                    self._transition(case, cr.goto, t)
                    return
                if case.gen != gen:
                    return
                ctx = Ctx(self, case, t)
        self._next_cond_wake(case, t)

    def _next_cond_wake(self, case: Case, t: int) -> None:
        from .wake import next_change

        cs = self.cp.states[case.state]
        clocked = [(i, cr) for i, cr in enumerate(cs.conds) if cr.clock]
        case.cond_wake = next_change(self, case, t, clocked) if clocked else NEVER

    # ------------------------------------------------------------------ events
    def _apply_event(self, case: Case, ev: Event, t: int) -> None:
        typ = ev.type
        led = case.ledgers.get(ev.invoice) if ev.invoice is not None else None
        if led is not None and not case.scope_invoice:
            case.focus = led
        if typ == "_join":
            new = ev.fields["ledger"]
            case.ledgers[ev.invoice] = new
            case.focus = new
            if case.trace is not None:
                self._trace(case, t, "invoice joined", invoice=ev.invoice)
            self._after_change(case, t)
            return
        if case.trace is not None:
            self._trace(case, t, "event", event=typ, invoice=ev.invoice)
        if led is None and ev.invoice is not None and typ in ("payment", "credit_note", "invoice_cancelled"):
            # customer scope: an invoice that joins the case later (at its issue date) still gets its money
            led = next((e[-1].fields["ledger"] for e in case.events
                        if e[-1].type == "_join" and e[-1].invoice == ev.invoice), None)
            if led is None:  # pragma: no cover - add_event only queues events of known invoices
                return
        if typ == "payment" or typ == "credit_note":
            day = self.clock.date(t)
            if typ == "payment":
                if self._discount_applies(case, led, ev.amount, t):
                    self._apply_discount(case, led, t)
                split = led.pay(ev.amount, self.cp.allocation, day)
                if case.trace is not None:
                    self._trace(case, t, "allocated", invoice=led.invoice.id, amount=ev.amount, **split)
                if case.promise is not None and not case.promise[2]:
                    case.promise_paid += ev.amount
            else:
                led.credit(ev.amount, self.cp.allocation, day)
            # payments and credit notes count toward an offered or accepted plan (docs/decisions.md)
            if case.plan is not None:
                case.plan.pay(ev.amount)
            if case.plan_offer is not None:
                case.plan_offer.pay(ev.amount)
        elif typ == "invoice_cancelled":
            led.cancel(self.clock.date(t))
            led.closed = True
        elif typ == "promise_to_pay":
            amount = ev.amount if ev.amount is not None else max(self._balance(case), ZERO)
            case.promise = (ev.date, amount, False)  # (date, amount, broken)
            case.promise_paid = ZERO
            case.promise_check = self.clock.day_after(ev.date, "the day after the promised date")
        elif typ == "hold":
            if ev.invoice is not None:
                case.held_invoice = True
            else:
                case.held_customer = True
        elif typ == "release":
            if ev.invoice is not None:
                case.held_invoice = False
            else:
                case.held_customer = False
            if not case.held:  # derived events deferred by the hold come due now (see _derived)
                from .plans import resume_checks

                p = case.promise
                if p is not None and not p[2]:
                    case.promise_check = self.clock.day_after(p[0], "the day after the promised date")
                resume_checks(case)
        elif typ == "customer_updated":
            case.customer.attrs.update(ev.fields.get("fields") or {})
        elif typ == "plan_accepted":
            from .plans import accept_plan

            accept_plan(self, case, t)
        if case.state < 0 or self.cp.states[case.state].final:
            self._close_cancelled(case)
            return
        if not case.held:
            rules = self.cp.states[case.state].on_rules.get(typ)
            if rules:
                for cr in rules:
                    if self._fire_rule(case, cr, t, ev):
                        break
        if typ == "payment":
            p = case.promise
            if p is not None and not p[2] and (case.promise_paid >= p[1] or self._balance(case) <= 0):
                self._derived_event(case, t, "promise_kept")
        if typ in ("payment", "credit_note", "plan_accepted") and case.plan is not None:
            # after a payment, or an acceptance of a plan the payments since the offer already cover
            from .plans import after_payment

            after_payment(self, case, t)
        self._after_change(case, t)
        self._close_cancelled(case)

    def _close_cancelled(self, case: Case) -> None:
        if case.scope_invoice and case.ledger is not None and case.ledger.closed:
            case.closed = True
            case.timers = ()

    def _after_change(self, case: Case, t: int) -> None:
        if case.held or case.state < 0 or self.cp.states[case.state].final:
            return
        if case.timers:
            self._rearm_at_timers(case, t)
        if case.conds:
            self._eval_conds(case, t)

    def _derived(self, case: Case, t: int) -> None:
        """Raise the engine's own events that are due (promise_broken, plan_installment_missed).

        While the case is held they wait, like timers: the release re-arms them and they are
        raised at once (catch-up). A promise whose case owes nothing when it comes due ends
        without an event.
        """
        if case.held:
            from .plans import defer_checks

            if case.promise_check <= t:
                case.promise_check = NEVER
            if case.plan is not None and case.plan.next_check <= t:
                defer_checks(case)
            return
        if case.promise_check <= t:
            case.promise_check = NEVER
            p = case.promise
            if p is not None and not p[2]:
                if self._balance(case) <= 0:
                    case.promise = None
                    self._trace(case, t, "promise ended", why="nothing owed at the promised date")
                else:
                    self._derived_event(case, t, "promise_broken")
        if case.plan is not None and case.plan.next_check <= t:
            from .plans import check_missed

            check_missed(self, case, t)

    def _derived_event(self, case: Case, t: int, typ: str, **fields) -> None:
        inv = case.focus.invoice.id if case.focus is not None else None
        p = case.promise
        if typ in ("promise_kept", "promise_broken") and p is not None:
            fields.setdefault("date", p[0])
            fields.setdefault("amount", p[1])
            case.promise_check = NEVER
            if typ == "promise_kept":
                case.promise = None
            else:  # a broken promise stays readable (promise.date) until replaced
                case.promise = (p[0], p[1], True)
        ev = Event(type=typ, at=self.clock.datetime(t), invoice=inv, customer=case.customer.id,
                   amount=fields.pop("amount", None), currency=case.currency, date=fields.pop("date", None), fields=fields)
        if case.trace is not None:
            self._trace(case, t, "event", event=typ, invoice=inv)
        if case.held or self.cp.states[case.state].final:
            return
        rules = self.cp.states[case.state].on_rules.get(typ)
        if rules:
            for cr in rules:
                if self._fire_rule(case, cr, t, ev):
                    break
        self._after_change(case, t)

    # ------------------------------------------------------------------ money helpers
    def _balance(self, case: Case) -> Decimal:
        if case.scope_invoice:
            return case.ledger.balance
        return sum((led.balance for led in case.ledgers.values()), ZERO)

    def target_ledger(self, case: Case, event: Event | None = None) -> Ledger | None:
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

    def _discount_applies(self, case: Case, led: Ledger, amount: Decimal, t: int) -> bool:
        """A payment on the offer's invoice, by its deadline (a local date, inclusive), covering balance − discount."""
        offer = case.offer
        if offer is None or led is None:
            return False
        disc, until, invoice = offer
        if invoice != led.invoice.id or self.clock.date(t) > until:
            return False
        return amount >= led.balance - disc

    def _apply_discount(self, case: Case, led: Ledger, t: int | None = None) -> None:
        disc = min(case.offer[0], max(led.balance, ZERO))  # a discount never turns into a credit
        case.offer = None
        led.discount(disc, self.cp.allocation, None if t is None else self.clock.date(t))
        if t is not None:
            self._trace(case, t, "discount applied", invoice=led.invoice.id, amount=disc)

    # ------------------------------------------------------------------ actions
    def _run_actions(self, case: Case, actions: tuple[ir.Action, ...], t: int, rule: str, occurrence: int,
                     ctx: Ctx | None, why: dict | None = None, entry: tuple[int, int] | None = None) -> None:
        """Build, record and emit ``actions``; ``ctx`` is built here only if an action reads variables.

        ``why`` is the firing rule's explanation (``_explain``), read before its actions ran: with
        ``--explain`` every action of the rule carries it, as the trace's 'fired' entry does. ``entry``
        (state index, entry number) names another entry than the current one (a paused entry's on_exit)."""
        if case.held_invoice or case.held_customer:
            return
        index, entry_no = entry if entry is not None else (case.state, case.entry_no)
        state = self.cp.states[index].name
        event = ctx.event if ctx is not None else None
        ctx_actions = self.cp.ctx_actions
        at = self.clock.iso(t)
        prefix = f"{self.cp.key}/{case.id}/{state}#{entry_no}/{rule}/{occurrence}/"
        for i, action in enumerate(actions):
            if ctx is None and (self.explain or id(action) in ctx_actions):
                ctx = Ctx(self, case, t)
            rec = build_action(self, case, action, ctx, t)
            if rec is None:
                continue
            if case.scope_invoice:
                inv = case.ledger.invoice.id
            elif event is not None:
                inv = event.invoice
            else:
                inv = rec.get("invoice")
            params = rec["params"]
            out = {
                "key": prefix + str(i),
                "at": at,
                "type": action.kind,
                "case": case.id,
                "invoice": inv,
                "customer": case.customer.id,
                "state": state,
                "rule": rule,
                "params": params,
                "amount": rec.get("amount"),
                "currency": case.currency,
            }
            capped = params.get("capped_from")
            if capped is not None:
                out["capped_from"] = capped  # SPEC §1: a capped amount carries capped_from
            if self.explain:
                out["explain"] = why if why is not None else {"trigger": rule.replace("_", " ")}
            self._emit(case, action, out, t)
            if case.trace is not None:
                self._trace(case, t, "action", type=action.kind, key=out["key"], params=params, amount=out["amount"])

    def _still_wanted(self, case: Case, rec: dict, t: int) -> bool:
        """A deferred contact goes out at its slot only if its case is still being collected:
        not settled into a final state, closed, failed or on hold by then."""
        final = case.state >= 0 and self.cp.states[case.state].final
        if not (final or case.closed or case.failed or case.held):
            return True
        if case.trace is not None:
            why = "final state" if final else "closed" if case.closed else "failed" if case.failed else "on hold"
            self._trace(case, t, "dropped", type=rec["type"], key=rec["key"],
                        why=f"deferred from {rec.get('deferred_from')}; the case is {why} by now")
        return False

    def _emit(self, case: Case, action: ir.Action, out: dict, t: int) -> None:
        """Queue an action record for output at ``t``, or later when the contact rules defer it.

        ``self.contact`` (None when the policy has no contact rules) decides: its
        ``place(engine, case, action, out, t)`` returns the instant the action may
        go out (``t`` or later) and records the contact; a later instant moves the
        record to the deferred heap with ``deferred_from``.
        """
        self._emitted += 1
        if self.contact is not None:
            # Placed once the case is done with this instant (_place_pending): a case that fails at
            # this instant books no contact.
            self._pending.append((self._emitted, action, out, t))
            return
        self._out.append((case.id, self._emitted, out))

    def _place_pending(self, case: Case) -> None:
        """Place the contact-ruled actions ``case`` emitted at this instant, in emission order."""
        pending, self._pending = self._pending, []
        for seq, action, out, t in pending:
            when = self.contact.place(self, case, action, out, t)
            if when is None:  # no contact window ever opens: not sent (engine.warnings says so)
                continue
            if when != t:
                out["at"] = self.clock.iso(when)
                out["deferred_from"] = self.clock.iso(t)
                heappush(self._deferred, (when, seq, case.id, out))
                continue
            self._out.append((case.id, seq, out))

    # ------------------------------------------------------------------ explanations
    def _trace(self, case: Case, t: int, what: str, **info) -> None:
        if case.trace is not None:
            case.trace.append({"at": self.clock.iso(t), "what": what, **info})

    def _values(self, exprs, ctx: Ctx) -> dict[str, str]:
        values: dict[str, str] = {}
        for e in exprs:
            if e is None:
                continue
            for path in sorted(e.variables):
                if path not in values:
                    try:
                        values[path] = _show(ctx.read(path))
                    except Exception as exc:  # an explanation never breaks a run
                        values[path] = f"<{exc}>"
        return values

    def _explain(self, cr: CRule, ctx: Ctx) -> dict:
        from ..policy.describe import format_trigger

        trig = format_trigger(cr.rule.trigger) if cr.rule.trigger is not None else "condition"
        guard = " and ".join(filter(None, [
            cr.when.canonical if cr.when is not None else None,
            f"not ({cr.unless.canonical})" if cr.unless is not None else None,
        ])) or None
        exprs = [cr.when, cr.unless, cr.expr, cr.starting]
        return {"trigger": trig, "guard": guard, "values": self._values(exprs, ctx)}

    def _fired(self, case: Case, cr: CRule, ctx: Ctx | None, t: int) -> dict | None:
        """Trace a rule that fires and return its explanation, read once, before its actions change
        anything (a fee must not show in the balance its own guard read): the trace and ``--explain``
        both show this one. None when nobody asked for explanations."""
        if case.trace is None:
            return None
        why = self._explain(cr, ctx)
        self._trace(case, t, "fired", rule=cr.name, **why)
        return why

    def _why_not(self, cr: CRule, ctx: Ctx) -> dict:
        info = self._explain(cr, ctx)
        if cr.when is not None and cr.when.evaluate(ctx) is not True:
            info["why"] = f"when {cr.when.canonical} is false"
        elif cr.unless is not None:
            info["why"] = f"unless {cr.unless.canonical} is true"
        return info

    # ------------------------------------------------------------------ results
    def case_states(self) -> list[dict]:
        """One record per case (SPEC §4 ``--states``), ordered by case id."""
        out = []
        for case_id in sorted(self.cases):
            case = self.cases[case_id]
            leds = list(case.ledgers.values())
            total = lambda attr: sum((getattr(led, attr) for led in leds), ZERO)
            rec = {
                "case": case.id,
                "invoice": case.ledger.invoice.id if case.scope_invoice else None,
                "customer": case.customer.id,
                "state": self.cp.states[case.state].name if case.state >= 0 else None,
                "balance": sum((led.balance for led in leds), ZERO),
                "principal": total("principal"),
                "fees": total("fees"),
                "interest": total("interest"),
                "currency": case.currency,
            }
            extra = {k: v for k, v in (("discounts", total("discounts")), ("written_off", total("written_off")),
                                       ("paid", total("paid"))) if v}
            rec.update(extra)
            if case.failed:
                rec["error"] = case.failed
            out.append(rec)
        return out


def _sorted_records(bucket: list) -> list[dict]:
    bucket.sort()  # (case id, emission seq, record): seqs are unique, so records are never compared
    return [rec for _, _, rec in bucket]


def _count_firing(case: Case, cr: CRule) -> int:
    """Count one more firing of ``cr`` in the current state entry; return the count (the key's occurrence)."""
    fired = case.fired
    if fired is None:
        fired = case.fired = {}
    n = fired.get(cr.order, 0) + 1
    fired[cr.order] = n
    return n


def _day_plus(day: _dt.date, cr: CRule) -> _dt.date:
    """``day`` + the fixed shift of an 'at: due/issued ± N days' timer, kept inside the years Python holds."""
    try:
        return day + cr.at_delta
    except OverflowError:
        raise DateOutOfRange(f"the time of rule '{cr.name}' ({cr.expr.canonical}) is outside years "
                             f"{FIRST_DAY.year}-{LAST_DAY.year}") from None


def _timer_key(timer: list) -> tuple:
    return (timer[0], timer[1], timer[2])


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (Money, Percent, Duration)):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items() if k != "fields") + "}"
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    return str(value)
