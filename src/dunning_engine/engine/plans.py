"""Payment plans: an offered schedule becomes the case's plan on ``plan_accepted``.

Payments made after acceptance are allocated to installments in order. At
00:00 local of the day after an installment's date, if it is not covered,
the engine raises ``plan_installment_missed``; once every installment is
covered it raises ``plan_completed`` and the plan ends.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal

from ..errors import EngineError
from ..values import Money
from .clock import NEVER

__all__ = ["Plan", "accept_plan", "after_payment", "check_missed"]

ZERO = Decimal(0)


class Plan:
    __slots__ = ("schedule", "paid", "missed_count", "checked", "next_check", "clock")

    def __init__(self, schedule: list[tuple[_dt.date, Decimal]], clock) -> None:
        self.schedule = schedule
        self.paid = ZERO
        self.missed_count = 0
        self.checked = 0          # installments whose date has been checked for a miss
        self.clock = clock
        self.next_check = NEVER
        self._plan_next_check()

    def pay(self, amount: Decimal) -> None:
        self.paid += amount

    @property
    def paid_count(self) -> int:
        """Installments fully covered by payments since acceptance, in order."""
        rest = self.paid
        count = 0
        for _, amount in self.schedule:
            if rest < amount:
                break
            rest -= amount
            count += 1
        return count

    @property
    def total(self) -> Decimal:
        return sum((a for _, a in self.schedule), ZERO)

    def _plan_next_check(self) -> None:
        if self.checked < len(self.schedule):
            day = self.schedule[self.checked][0]
            self.next_check = self.clock.day_start(day + _dt.timedelta(days=1))
        else:
            self.next_check = NEVER

    def record(self, ctx) -> dict:
        i = self.paid_count
        nxt = self.schedule[i] if i < len(self.schedule) else None
        currency = ctx.case.currency
        return {
            "next_date": nxt[0] if nxt else None,
            "next_amount": Money(nxt[1], currency) if nxt else None,
            "paid_count": i,
            "missed_count": self.missed_count,
            "installments": len(self.schedule),
        }


def accept_plan(engine, case, t: int) -> None:
    if case.plan_offer is None:
        engine.warnings.append(EngineError("plan_accepted, but no plan was offered: ignored", case=case.id,
                                           help="offer a plan with offer_plan before accepting it"))
        engine._trace(case, t, "ignored", why="plan_accepted without an offered plan")
        return
    case.plan = Plan(case.plan_offer, engine.clock)
    case.plan_offer = None


def after_payment(engine, case, t: int) -> None:
    plan = case.plan
    if plan is not None and plan.paid_count >= len(plan.schedule):
        case.plan = None
        engine._derived_event(case, t, "plan_completed", installments=len(plan.schedule))


def check_missed(engine, case, t: int) -> None:
    plan = case.plan
    while plan is not None and plan.next_check <= t:
        index = plan.checked
        plan.checked += 1
        plan._plan_next_check()
        if plan.paid_count <= index:
            plan.missed_count += 1
            day, amount = plan.schedule[index]
            engine._derived_event(case, t, "plan_installment_missed", installment=index + 1, date=day, amount=amount)
            plan = case.plan
