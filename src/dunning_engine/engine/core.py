"""The engine: one policy over a portfolio of cases (SPEC §1, §5). The public face and the scheduler.

Pure: no I/O. Feed it invoices, customers and events, advance the clock with
``run(until)``, and it yields action records (dicts in the SPEC §4 shape) in
order of time, then case, then emission.

How time moves: every case knows the next instant at which something can
happen to it (its start, its next event, its earliest armed timer, the next
instant a clock-dependent guard can change). One heap holds those instants;
the engine pops the earliest, processes that case at that instant, and pushes
its next wake-up. Nothing is polled day by day, so the cost of a run grows with
events and fired timers, not with the days it spans.

The parts (docs/engine.md, "Design"): ``case`` holds each case's state; ``machine`` runs states,
timers and rules on a case; ``events`` applies events and raises derived ones; ``output`` builds,
defers and hands out action records and keeps the explanation trace; ``runtime`` is what they share
(the compiled policy, the clock, the rate tables, the journal of postings).
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from ..errors import DunningError, EngineError, RecordError
from ..policy import ir
from ..records.rules import check_customer, check_event, check_invoice
from ..values import check_amount
from .case import Case, OneLedger, QueuedEvent, own_ledgers, target_ledger
from .clock import FIRST_DAY, LAST_DAY, NEVER, DateOutOfRange
from .compiled import CompiledPolicy
from .events import EventHandler
from .ledger import Ledger
from .machine import ChainTooLong, Machine
from .output import Deferred, Output
from ..records import Customer, Event, Invoice
from .runtime import Runtime

if TYPE_CHECKING:
    from .contact import ContactRules

__all__ = ["Engine", "Case", "CHAIN_LIMIT"]

CHAIN_LIMIT = 64
# Actions one case may emit at one instant: past it the policy is surely wrong (hundreds of rules
# firing together), and the case stops with an error rather than write them (SPEC §12, docs/decisions.md).
ACTION_LIMIT = 1_000
ZERO = Decimal(0)
_new_tuple = tuple.__new__
_RANGE_HELP = ("dates are limited to years 1900-2200 (SPEC §5): check this case's dates and the durations "
               "the policy adds to them")


class Engine:
    """Runs one policy over a portfolio. ``explain=True`` keeps a trace per case and adds ``explain`` to actions."""

    def __init__(self, policy: ir.Policy | CompiledPolicy, *, explain: bool = False, chain_limit: int = CHAIN_LIMIT) -> None:
        self.cp = policy if isinstance(policy, CompiledPolicy) else CompiledPolicy(policy)
        self.clock = self.cp.clock
        self.explain = explain
        self.chain_limit = chain_limit
        self.cases: dict[str, Case] = {}
        self.invoice_case: dict[str, Case] = {}
        self.customer_cases: dict[str, list[Case]] = {}
        self.customers: dict[str, Customer] = {}
        self.errors: list[EngineError] = []
        self.duplicates = 0
        self._event_ids: set[str] = set()
        # Wake-ups: a heap of distinct instants and, per instant, the cases to wake (by creation order).
        # Most wake-ups share a few instants (send_at of each day), so this is far cheaper than a heap
        # entry per case.
        self._instants: list[int] = []
        self._buckets: dict[int, list[str]] = {}  # instant -> ids of the cases to wake
        self._now: int | None = None
        self.late_events = False  # True in a store run: events at or before the clock are applied at it
        self._instant: int | None = None
        self._seq = 0
        self._waiting: dict[str, list[Event]] = {}  # customer events that came before the customer's first case
        self._rt = rt = Runtime(self.cp)
        self.warnings: list[EngineError] = rt.warnings
        self._output = output = Output(rt, explain)
        self._machine = machine = Machine(rt, output, chain_limit)
        self._events = EventHandler(machine, output, rt.warnings)
        # the policy's contact rules (windows, limits, packs); None without: see contact.py
        self.contact: ContactRules | None = output.contact

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
        self._rt.rates.set(name, rows)

    def has_rate(self, name: str) -> bool:
        """Whether a table ``name`` was given (``rates:`` of the policy, or ``set_rate``)."""
        return name in self._rt.rates

    def rate_dates(self, name: str) -> list[_dt.date]:
        """The dates of table ``name`` in order (empty when there is no such table)."""
        return self._rt.rates.dates(name)

    def rate(self, name: str, day: _dt.date):
        """The value of table ``name`` in force on ``day`` (the latest on or before it), or None."""
        return self._rt.rates.value(name, day)

    def target_ledger(self, case: Case, event: Event | None = None) -> Ledger | None:
        """The invoice a money action applies to: the case's, or (customer scope) the invoice of the
        event being handled, else the oldest open one (earliest due date, then id; docs/decisions.md)."""
        return target_ledger(case, event)

    def _customer(self, cid: str) -> Customer:
        c = self.customers.get(cid)
        if c is None:
            c = self.customers[cid] = Customer(cid)
        return c

    def add_invoice(self, invoice: Invoice, start: int | None = None, origin: tuple | None = None) -> None:
        """Add an invoice; its case starts at ``issued`` 00:00 local (or at ``start``, an instant)."""
        invoice = check_invoice(invoice, self.cp.currency)  # as it is when a reader built it; else RecordError
        file, line = origin or invoice.origin or (None, None)  # (file, line) for messages
        if invoice.id in self.invoice_case:
            raise RecordError(f"duplicate invoice id '{invoice.id}'", file=file, line=line, field="id",
                              code="duplicate-id")
        t = self.clock.day_start(invoice.issued) if start is None else start
        if self._now is not None and t < self._now:
            t = self._now  # added after the clock passed its start: it starts now and catches up
        ledger = Ledger(invoice, invoice.currency, invoice.amount, track=self.cp.has_interest)
        if self.cp.scope == "invoice":
            case = self._new_case(invoice.id, invoice.customer, invoice.currency)
            case.ledger = ledger
            case.ledgers = OneLedger(ledger)
            case.focus = ledger
            case.start = t
            self.invoice_case[invoice.id] = case
            self._wake_at(case, t)
            return
        known = self.cases.get(invoice.customer)
        if known is None:
            case = self._new_case(invoice.customer, invoice.customer, invoice.currency)
            own_ledgers(case)[invoice.id] = ledger
            case.focus = ledger
            case.start = t
            self.invoice_case[invoice.id] = case
            self._wake_at(case, t)
            return
        case = known
        if invoice.currency != case.currency:
            raise RecordError(f"invoice currency {invoice.currency} differs from the customer's case currency {case.currency}",
                              file=file, line=line, field="currency",
                              help="a customer-scope case keeps one currency; run one policy per currency",
                              code="currency-mismatch")
        self.invoice_case[invoice.id] = case
        if not case.started and t < case.start:
            # An earlier invoice than the one the case was opened with: it starts the case, whatever the
            # order of the input, and the other invoice joins at its own start.
            first = case.focus
            assert first is not None  # the invoice the case was opened with
            case.ledgers = {invoice.id: ledger}
            case.focus = ledger
            later, case.start = case.start, t
            self._join_later(case, first, later)
            self._wake_at(case, t)
            return
        self._join_later(case, ledger, t)

    def _join_later(self, case: Case, ledger: Ledger, t: int) -> None:
        """Invoice ``ledger`` joins customer-scope ``case`` at ``t`` (its '_join' event)."""
        if case.joining is None:
            case.joining = {}
        invoice = ledger.invoice
        case.joining[invoice.id] = ledger
        self._push_event(case, t, Event(type="_join", at=self.clock.datetime(t), invoice=invoice.id,
                                        customer=invoice.customer))

    def _new_case(self, case_id: str, customer_id: str, currency: str) -> Case:
        case = Case(case_id, self.cp.scope == "invoice", self._customer(customer_id), currency)
        if self.explain:
            case.trace = []
        self.cases[case_id] = case
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
        if self.late_events and self._now is not None and t <= self._now:
            # a store run: what the store's clock has passed is applied at that clock (SPEC §8)
            event.late = True
            t = self._now
        elif self._now is not None and t < self._now:
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
        contact = self._output.contact
        if contact is not None and event.type == "contact_outcome":
            contact.queued(case, t, event)
        if case.events is None:
            case.events = []
        # (tuple.__new__: a NamedTuple without its Python-level constructor, one per event)
        heappush(case.events, _new_tuple(QueuedEvent, (t, event.seq, self._seq, event)))
        self._wake_at(case, t)

    def _wake_at(self, case: Case, t: int) -> None:
        if case.next_wake is None or t < case.next_wake:
            case.next_wake = t
            bucket = self._buckets.get(t)
            if bucket is None:
                self._buckets[t] = [case.id]
                heappush(self._instants, t)
            else:
                bucket.append(case.id)

    # ------------------------------------------------------------------ running
    def run(self, until: _dt.datetime | _dt.date | int) -> Iterator[dict]:
        """Process every case up to and including ``until``; yield actions in order."""
        u = until if isinstance(until, int) else (
            self.clock.day_start(until) if not isinstance(until, _dt.datetime) else self.clock.instant(until))
        instants = self._instants
        buckets = self._buckets
        cases = self.cases
        output = self._output
        deferred = output.deferred
        wake, schedule = self._wake, self._schedule
        while True:
            t = instants[0] if instants else NEVER
            if deferred and deferred[0].at <= t:
                t = deferred[0].at
            if t > u:
                break
            if t != self._instant:
                if output.out:
                    yield from output.flush()
                self._instant = t
            if deferred and deferred[0].at == t:
                # Actions deferred to this instant (contact windows and limits) join its output.
                while deferred and deferred[0].at == t:
                    d = heappop(deferred)
                    if output.still_wanted(self.cases[d.case], d.record, t):
                        output.out.append((d.case, d.seq, d.record))
                continue
            # Wake every case due at t, in case id order (the order their actions are written in, so
            # that it does not depend on the order records came in: a run split in several gives
            # the same contact bookings, SPEC §8). Waking one case never schedules another
            # case at t (cases are independent), but may re-add itself: loop until the bucket is empty.
            while True:
                bucket = buckets.pop(t, None)
                if not bucket:
                    break
                bucket.sort()
                for cid in bucket:
                    case = cases[cid]
                    if case.next_wake != t:
                        continue  # a stale entry: the case was rescheduled
                    case.next_wake = None
                    wake(case, t)
                    schedule(case)
            heappop(instants)
        if output.out:
            yield from output.flush()
        if self._now is None or u > self._now:
            self._now = u

    def advance(self, until) -> list[dict]:
        return list(self.run(until))

    def _schedule(self, case: Case) -> None:
        if case.failed or case.closed:
            return
        # The earliest of: the start, the next event, and (once started) the next timer and clock
        # condition (not while held) and the next derived-event check. Plain comparisons: hot path.
        events = case.events
        if not case.started:
            nxt = case.start  # earlier events are applied right after the start
        else:
            nxt = events[0].t if events else NEVER
            if not (case.held_invoice or case.held_customer):
                timers = case.timers
                if timers and timers[0].fire_at < nxt:
                    nxt = timers[0].fire_at
                if case.cond_wake < nxt:
                    nxt = case.cond_wake
            promise = case.promise
            if promise is not None and promise.check < nxt:
                nxt = promise.check
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
        self._machine.chain = 0
        output = self._output
        mark, seq = len(output.out), output.emitted
        try:
            self._advance(case, t)
            if output.emitted - seq > ACTION_LIMIT:
                raise EngineError(f"more than {ACTION_LIMIT} actions at {self.clock.iso(t)}; the case stopped in "
                                  f"state '{self.cp.states[case.state].name}'", case=case.id,
                                  help="look for rules that fire together at one instant (many 'every' rules of "
                                       "one state, say): a case sends a few actions at a time", code="action-limit")
            if output.pending:
                output.place_pending(case)
        except ChainTooLong:
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
            self._rt.undo = None  # the postings of this instant stand
            return
        self._fail(case, t, err, mark, seq)

    def _advance(self, case: Case, t: int) -> None:
        """Everything that happens to ``case`` at ``t``: its start, its events, derived events, timers
        and condition rules."""
        if not case.started:
            case.started = True
            self._machine.enter(case, self.cp.initial, t)
        events = case.events
        if events:
            apply = self._events.apply
            while events and events[0].t <= t and not case.closed:
                apply(case, heappop(events).event, t)
        if case.closed or not case.started:
            return
        promise = case.promise
        if (promise is not None and promise.check <= t) or (case.plan is not None and case.plan.next_check <= t):
            self._events.derived(case, t)
        timers = case.timers
        if timers and timers[0].fire_at <= t:
            self._machine.fire_timers(case, t)
        if case.cond_wake <= t and not (case.held_invoice or case.held_customer):
            self._machine.eval_conds(case, t)

    def _fail(self, case: Case, t: int, err: EngineError, mark: int, seq: int) -> None:
        """A case error at ``t``: the case stops, reported, and what it did at ``t`` is undone (docs/decisions.md).

        Its actions of ``t`` are dropped: not written and no contact booked (``mark`` and ``seq``: the
        output's length and the emission count when the case woke), and the money its actions posted at
        ``t`` is taken back off its ledgers. Events applied at ``t`` stay applied: they happened.
        """
        case.failed = err.message
        self.errors.append(err)
        self._output.drop_since(mark, seq)
        self._rt.undo_postings()
        self._output.trace(case, t, "failed", why=err.message)

    # ------------------------------------------------------------------ snapshots (a store run)
    @property
    def now(self) -> int | None:
        """The engine's clock: the last instant it ran through (None before the first run)."""
        return self._now

    def resume_at(self, now: int | None) -> None:
        """Start this engine's clock at ``now`` (a store's clock), before adopting cases and adding records."""
        self._now = now

    def adopt(self, case: Case, deferred: Iterable[tuple[int, dict]] = ()) -> None:
        """Take over ``case`` rebuilt from a snapshot (``engine.snapshot.decode_case``), with the
        records the contact rules deferred (``(at, record)``, in emission order), and schedule it."""
        self.cases[case.id] = case
        if self.explain and case.trace is None:
            case.trace = []  # explanations start again in each run (a snapshot keeps none)
        self.customers.setdefault(case.customer.id, case.customer)
        for invoice_id in case.ledgers:
            self.invoice_case[invoice_id] = case
        for invoice_id in case.joining or ():
            self.invoice_case[invoice_id] = case
        self.customer_cases.setdefault(case.customer.id, []).append(case)
        rows = list(deferred)
        for i, (at, record) in enumerate(rows):
            # emission numbers below any this engine gives: they keep their order and come first
            heappush(self._output.deferred, Deferred(at, i - len(rows), case.id, record))
        case.next_wake = None
        self._schedule(case)

    def wait_for_customer(self, customer_id: str, events: list[Event]) -> None:
        """Events for a customer without a case yet, kept by a store: they go to its cases when they start."""
        self._waiting.setdefault(customer_id, []).extend(events)

    def waiting(self) -> dict[str, list[Event]]:
        """The events kept for customers' cases to come (a store writes them back)."""
        return self._waiting

    def deferred(self) -> dict[str, list[tuple[int, int, dict]]]:
        """The records the contact rules moved later, by case: ``(at, seq, record)``."""
        out: dict[str, list[tuple[int, int, dict]]] = {}
        for d in self._output.deferred:
            out.setdefault(d.case, []).append((d.at, d.seq, d.record))
        return out

    # ------------------------------------------------------------------ results
    def case_states(self) -> list[dict]:
        """One record per case (SPEC §4 ``--states``), ordered by case id."""
        out = []
        for case_id in sorted(self.cases):
            case = self.cases[case_id]
            leds = list(case.ledgers.values())

            def total(attr: str) -> Decimal:
                return sum((getattr(led, attr) for led in leds), ZERO)

            rec = {
                "case": case.id,
                "invoice": case.ledger.invoice.id if case.ledger is not None else None,
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
