"""Payment plans: an offered schedule becomes the case's plan on ``plan_accepted``.

``offer_plan`` computes a schedule (``actions.plan_schedule``) and keeps it as
the case's open offer (``PlanOffer``); a later ``offer_plan`` replaces it.
``plan_accepted`` turns the open offer into the case's plan (``Plan``).

What counts toward the installments: payments and credit notes made since the
offer (including those between the offer and its acceptance), allocated to
the installments in order; a partly covered installment stays the next one,
with what is left of it as ``plan.next_amount``. At 00:00 local of the day
after an installment's date, if it is not covered and something is still
owed, the engine raises ``plan_installment_missed``. Once every installment is
covered, or nothing is owed any more (e.g. the rest was settled with a
discount), it raises ``plan_completed`` and the plan ends (``plan`` is null).
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal

from ..errors import EngineError
from ..values import Money
from .clock import NEVER

__all__ = ["Plan", "PlanOffer", "accept_plan", "after_payment", "check_missed", "defer_checks", "resume_checks"]

ZERO = Decimal(0)


class PlanOffer:
    """An offered schedule, waiting for ``plan_accepted``; ``paid`` counts what was paid since the offer."""

    __slots__ = ("schedule", "paid")

    def __init__(self, schedule: list[tuple[_dt.date, Decimal]]) -> None:
        self.schedule = schedule
        self.paid = ZERO

    def pay(self, amount: Decimal) -> None:
        self.paid += amount


class Plan:
    __slots__ = ("schedule", "paid", "missed_count", "checked", "next_check", "clock")

    def __init__(self, schedule: list[tuple[_dt.date, Decimal]], clock, paid: Decimal = ZERO) -> None:
        self.schedule = schedule
        self.paid = paid
        self.missed_count = 0
        self.checked = 0          # installments whose date has been checked for a miss
        self.clock = clock
        self.next_check = NEVER
        self._plan_next_check()

    def pay(self, amount: Decimal) -> None:
        self.paid += amount

    @property
    def paid_count(self) -> int:
        """Installments fully covered by what was paid since the offer, in order."""
        rest = self.paid
        count = 0
        for _, amount in self.schedule:
            if rest < amount:
                break
            rest -= amount
            count += 1
        return count

    def next_due(self) -> tuple[int, _dt.date, Decimal] | None:
        """(index, date, amount still to pay) of the first installment not fully covered, or None."""
        rest = self.paid
        for i, (day, amount) in enumerate(self.schedule):
            if rest < amount:
                return i, day, amount - rest
            rest -= amount
        return None

    @property
    def total(self) -> Decimal:
        return sum((a for _, a in self.schedule), ZERO)

    @property
    def complete(self) -> bool:
        return self.paid >= self.total

    def _plan_next_check(self) -> None:
        if self.checked < len(self.schedule):
            day = self.schedule[self.checked][0]
            self.next_check = self.clock.day_after(day, f"the day after installment {self.checked + 1}")
        else:
            self.next_check = NEVER

    def record(self, ctx) -> dict:
        """The ``plan`` variable: next installment (what is left of it), counts."""
        nxt = self.next_due()
        currency = ctx.case.currency
        return {
            "next_date": nxt[1] if nxt else None,
            "next_amount": Money(nxt[2], currency) if nxt else None,
            "paid_count": self.paid_count,
            "missed_count": self.missed_count,
            "installments": len(self.schedule),
        }


def accept_plan(engine, case, t: int) -> None:
    offer = case.plan_offer
    if offer is None:
        engine.warnings.append(EngineError("plan_accepted, but no plan was offered: ignored", case=case.id,
                                           help="offer a plan with offer_plan before accepting it",
                                           code="plan-not-offered", severity="warning"))
        engine._trace(case, t, "ignored", why="plan_accepted without an offered plan")
        return
    # Payments made between the offer and its acceptance count toward the installments (docs/decisions.md).
    case.plan = Plan(offer.schedule, engine.clock, offer.paid)
    case.plan_offer = None
    engine._trace(case, t, "plan accepted", installments=len(offer.schedule), paid_since_offer=offer.paid)


def after_payment(engine, case, t: int) -> None:
    """After a payment, a credit note or the acceptance: end the plan when it is covered or nothing is owed."""
    plan = case.plan
    if plan is not None and (plan.complete or engine._balance(case) <= 0):
        case.plan = None
        engine._derived_event(case, t, "plan_completed", installments=len(plan.schedule),
                              paid_count=plan.paid_count, missed_count=plan.missed_count)


def check_missed(engine, case, t: int) -> None:
    plan = case.plan
    while plan is not None and plan.next_check <= t:
        index = plan.checked
        plan.checked += 1
        plan._plan_next_check()
        if plan.paid_count <= index and engine._balance(case) > 0:
            plan.missed_count += 1
            day, amount = plan.schedule[index]
            engine._derived_event(case, t, "plan_installment_missed", installment=index + 1, date=day, amount=amount)
            plan = case.plan


def defer_checks(case) -> None:
    """While the case is held: pending installment checks wait (see ``resume_checks``)."""
    if case.plan is not None:
        case.plan.next_check = NEVER


def resume_checks(case) -> None:
    """At release: checks that came due during the hold run at once (catch-up)."""
    if case.plan is not None:
        case.plan._plan_next_check()
