"""Events applied to a case, and the events the engine raises itself (SPEC §4 "Events").

An event first changes the case's data (its ledgers, promise, plan, holds, customer), then runs the
current state's rules on its type, then what follows from the change: a kept promise, a completed
plan, timers whose time reads the changed data, condition rules. Derived events
(``promise_broken``, ``plan_installment_missed``) come due at their own instants
(``EventHandler.derived``); ``promise_kept`` and ``plan_completed`` follow a payment at once.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..errors import EngineError
from .case import Promise, own_ledgers
from .clock import NEVER
from .plans import accept_plan, completed, defer_checks, missed_installments, resume_checks
from ..records import Event

if TYPE_CHECKING:
    from .case import Case
    from .ledger import Ledger
    from .machine import Machine
    from .output import Output

__all__ = ["EventHandler"]

ZERO = Decimal(0)


class EventHandler:
    """Applies events to cases and raises derived events; ``machine`` runs the rules they trigger."""

    __slots__ = ("cp", "clock", "machine", "output", "warnings", "_trace")

    def __init__(self, machine: Machine, output: Output, warnings: list[EngineError]) -> None:
        self.cp = machine.cp
        self.clock = machine.clock
        self.machine = machine
        self.output = output
        self.warnings = warnings
        self._trace = output.trace

    def apply(self, case: Case, ev: Event, t: int) -> None:
        typ = ev.type
        led = case.ledgers.get(ev.invoice) if ev.invoice is not None else None
        if led is not None and not case.scope_invoice:
            case.focus = led
        if typ == "_join":
            self._join(case, ev, t)
            return
        if case.trace is not None:
            self._trace(case, t, "event", event=typ, invoice=ev.invoice)
        if led is None and ev.invoice is not None and typ in ("payment", "credit_note", "invoice_cancelled"):
            # customer scope: an invoice that joins the case later (at its issue date) still gets its money
            led = case.joining.get(ev.invoice) if case.joining is not None else None
            if led is None:  # pragma: no cover - add_event only queues events of known invoices
                return
        if typ == "payment" or typ == "credit_note":
            assert led is not None and ev.amount is not None  # the readers require both
            self._money_in(case, led, ev, ev.amount, t)
        elif typ == "invoice_cancelled":
            assert led is not None
            led.cancel(self.clock.date(t))
            led.closed = True
        elif typ == "promise_to_pay":
            assert ev.date is not None  # the readers require it
            amount = ev.amount if ev.amount is not None else max(case.balance(), ZERO)
            case.promise = Promise(ev.date, amount, self.clock.day_after(ev.date, "the day after the promised date"))
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
            if not case.held:  # derived events deferred by the hold come due now (see derived)
                p = case.promise
                if p is not None and not p.broken:
                    p.check = self.clock.day_after(p.date, "the day after the promised date")
                resume_checks(case, self.clock)
        elif typ == "customer_updated":
            case.customer.attrs.update(ev.fields.get("fields") or {})
        elif typ == "plan_accepted":
            self._accept_plan(case, t)
        if case.state < 0 or self.cp.states[case.state].final:
            self.close_cancelled(case)
            return
        if not case.held:
            self.machine.fire_on(case, typ, t, ev)
        if typ == "payment":
            p = case.promise
            if p is not None and not p.broken and (p.paid >= p.amount or case.balance() <= 0):
                self.derived_event(case, t, "promise_kept")
        if typ in ("payment", "credit_note", "plan_accepted") and case.plan is not None:
            # after a payment, or an acceptance of a plan the payments since the offer already cover
            fields = completed(case)
            if fields is not None:
                self.derived_event(case, t, "plan_completed", **fields)
        self.machine.after_change(case, t)
        if case.ledger is not None and case.ledger.closed:
            self.close_cancelled(case)

    def _join(self, case: Case, ev: Event, t: int) -> None:
        """An invoice joins its customer's case at its start (customer scope)."""
        assert case.joining is not None and ev.invoice is not None
        new = case.joining.pop(ev.invoice)
        if not case.joining:
            case.joining = None
        own_ledgers(case)[ev.invoice] = new
        case.focus = new
        if case.trace is not None:
            self._trace(case, t, "invoice joined", invoice=ev.invoice)
        self.machine.after_change(case, t)

    def _money_in(self, case: Case, led: Ledger, ev: Event, amount: Decimal, t: int) -> None:
        """A payment or a credit note on ``led``."""
        day = self.clock.date(t)
        before = (led.principal, led.balance) if ev.late else None
        if ev.type == "payment":
            if self._discount_applies(case, led, amount, t):
                self._apply_discount(case, led, t)
            split = led.pay(amount, self.cp.allocation, day)
            if case.trace is not None:
                self._trace(case, t, "allocated", invoice=led.invoice.id, amount=amount, **split)
            p = case.promise
            if p is not None and not p.broken:
                p.paid += amount
        else:
            led.credit(amount, self.cp.allocation, day)
        if before is not None:
            # a late record (a store run): applied at the clock, but interest counts from its own day
            led.backdate(self.clock.date(int(ev.at.timestamp())), day, *before)
        # payments and credit notes count toward an offered or accepted plan (docs/decisions.md)
        if case.plan is not None:
            case.plan.pay(amount)
        if case.plan_offer is not None:
            case.plan_offer.pay(amount)

    def _accept_plan(self, case: Case, t: int) -> None:
        plan = accept_plan(case, self.clock)
        if plan is None:
            self.warnings.append(EngineError("plan_accepted, but no plan was offered: ignored", case=case.id,
                                             help="offer a plan with offer_plan before accepting it",
                                             code="plan-not-offered", severity="warning"))
            self._trace(case, t, "ignored", why="plan_accepted without an offered plan")
            return
        self._trace(case, t, "plan accepted", installments=len(plan.schedule), paid_since_offer=plan.paid)

    def close_cancelled(self, case: Case) -> None:
        if case.ledger is not None and case.ledger.closed:  # invoice scope: its invoice was cancelled
            case.closed = True
            case.timers = ()

    # ------------------------------------------------------------------ derived events
    def derived(self, case: Case, t: int) -> None:
        """Raise the engine's own events that are due (promise_broken, plan_installment_missed).

        While the case is held they wait, like timers: the release re-arms them and they are
        raised at once (catch-up). A promise whose case owes nothing when it comes due ends
        without an event.
        """
        p = case.promise
        if case.held:
            if p is not None and p.check <= t:
                p.check = NEVER
            if case.plan is not None and case.plan.next_check <= t:
                defer_checks(case)
            return
        if p is not None and p.check <= t:
            p.check = NEVER
            if not p.broken:
                if case.balance() <= 0:
                    case.promise = None
                    self._trace(case, t, "promise ended", why="nothing owed at the promised date")
                else:
                    self.derived_event(case, t, "promise_broken")
        if case.plan is not None and case.plan.next_check <= t:
            for fields in missed_installments(case, t, self.clock):
                self.derived_event(case, t, "plan_installment_missed", **fields)

    def derived_event(self, case: Case, t: int, typ: str, **fields: Any) -> None:
        inv = case.focus.invoice.id if case.focus is not None else None
        p = case.promise
        if typ in ("promise_kept", "promise_broken") and p is not None:
            fields.setdefault("date", p.date)
            fields.setdefault("amount", p.amount)
            p.check = NEVER
            if typ == "promise_kept":
                case.promise = None
            else:  # a broken promise stays readable (promise.date) until replaced
                p.broken = True
        ev = Event(type=typ, at=self.clock.datetime(t), invoice=inv, customer=case.customer.id,
                   amount=fields.pop("amount", None), currency=case.currency, date=fields.pop("date", None), fields=fields)
        if case.trace is not None:
            self._trace(case, t, "event", event=typ, invoice=inv)
        if case.held or self.cp.states[case.state].final:
            return
        self.machine.fire_on(case, typ, t, ev)
        self.machine.after_change(case, t)

    # ------------------------------------------------------------------ discounts
    def _discount_applies(self, case: Case, led: Ledger, amount: Decimal, t: int) -> bool:
        """A payment on the offer's invoice, by its deadline (a local date, inclusive), covering balance − discount."""
        offer = case.offer
        if offer is None or led is None:
            return False
        if offer.invoice != led.invoice.id or self.clock.date(t) > offer.until:
            return False
        return amount >= led.balance - offer.amount

    def _apply_discount(self, case: Case, led: Ledger, t: int) -> None:
        offer = case.offer
        assert offer is not None
        disc = min(offer.amount, max(led.balance, ZERO))  # a discount never turns into a credit
        case.offer = None
        led.discount(disc, self.cp.allocation, self.clock.date(t))
        self._trace(case, t, "discount applied", invoice=led.invoice.id, amount=disc)

