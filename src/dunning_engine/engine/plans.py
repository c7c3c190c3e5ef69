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

The functions here change a case's plan and say which events to raise; the engine
(``events.EventHandler``) raises them and traces what happened.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterator, NamedTuple

from ..values import Money
from .clock import NEVER, Clock

if TYPE_CHECKING:
    from .case import Case

__all__ = ["Installment", "Plan", "PlanOffer", "accept_plan", "completed", "missed_installments", "defer_checks",
           "resume_checks"]

ZERO = Decimal(0)


class Installment(NamedTuple):
    date: _dt.date
    amount: Decimal


class PlanOffer:
    """An offered schedule, waiting for ``plan_accepted``; ``paid`` counts what was paid since the offer."""

    __slots__ = ("schedule", "paid")

    def __init__(self, schedule: list[Installment]) -> None:
        self.schedule = schedule
        self.paid = ZERO

    def pay(self, amount: Decimal) -> None:
        self.paid += amount


class Plan:
    """An accepted plan. ``paid`` counts what was paid since the offer; ``checked`` the installments
    whose date has been checked for a miss; ``next_check`` is when the next one is (00:00 local of
    the day after its date; ``NEVER`` when none is left, or while the case is held)."""

    __slots__ = ("schedule", "paid", "missed_count", "checked", "next_check")

    def __init__(self, schedule: list[Installment], clock: Clock, paid: Decimal = ZERO) -> None:
        self.schedule = schedule
        self.paid = paid
        self.missed_count = 0
        self.checked = 0
        self.next_check = NEVER
        self.plan_next_check(clock)

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

    def plan_next_check(self, clock: Clock) -> None:
        """Set ``next_check`` from the first installment not checked yet."""
        if self.checked < len(self.schedule):
            day = self.schedule[self.checked].date
            self.next_check = clock.day_after(day, f"the day after installment {self.checked + 1}")
        else:
            self.next_check = NEVER

    def record(self, currency: str) -> dict[str, Any]:
        """The ``plan`` variable: next installment (what is left of it), counts."""
        nxt = self.next_due()
        return {
            "next_date": nxt[1] if nxt else None,
            "next_amount": Money(nxt[2], currency) if nxt else None,
            "paid_count": self.paid_count,
            "missed_count": self.missed_count,
            "installments": len(self.schedule),
        }


def accept_plan(case: Case, clock: Clock) -> Plan | None:
    """``plan_accepted``: the open offer becomes the case's plan (None, and nothing changes, without an offer).

    Payments made between the offer and its acceptance count toward the installments (docs/decisions.md)."""
    offer = case.plan_offer
    if offer is None:
        return None
    case.plan = Plan(offer.schedule, clock, offer.paid)
    case.plan_offer = None
    return case.plan


def completed(case: Case) -> dict[str, Any] | None:
    """After a payment, a credit note or the acceptance: when the plan is covered or nothing is owed,
    end it and return the fields of its ``plan_completed`` event."""
    plan = case.plan
    if plan is not None and (plan.complete or case.balance() <= 0):
        case.plan = None
        return {"installments": len(plan.schedule), "paid_count": plan.paid_count, "missed_count": plan.missed_count}
    return None


def missed_installments(case: Case, t: int, clock: Clock) -> Iterator[dict[str, Any]]:
    """The installments whose check comes due by ``t`` and that are not covered while something is
    owed: the fields of one ``plan_installment_missed`` each, in order. Lazy: the caller raises each
    event before the next is looked at (its rules may end or replace the plan)."""
    plan = case.plan
    while plan is not None and plan.next_check <= t:
        index = plan.checked
        plan.checked += 1
        plan.plan_next_check(clock)
        if plan.paid_count <= index and case.balance() > 0:
            plan.missed_count += 1
            day, amount = plan.schedule[index]
            yield {"installment": index + 1, "date": day, "amount": amount}
            plan = case.plan


def defer_checks(case: Case) -> None:
    """While the case is held: pending installment checks wait (see ``resume_checks``)."""
    if case.plan is not None:
        case.plan.next_check = NEVER


def resume_checks(case: Case, clock: Clock) -> None:
    """At release: checks that came due during the hold run at once (catch-up)."""
    if case.plan is not None:
        case.plan.plan_next_check(clock)
