"""Build the record of one action and apply its effect on the case (SPEC §1 Actions).

``build_action`` returns ``{"params": ..., "amount": Decimal | None, "invoice": id | None}``
or None when the action has nothing to do (a fee or interest of zero, a
write-off of a settled invoice). Money is rounded half-up to the currency's
minor unit; a money expression in another currency than the case's is an
``EngineError`` reported for that case, never a silent mix.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from typing import Any

from ..errors import EngineError
from ..policy import ir
from ..values import Duration, Money, Percent, quantize

__all__ = ["build_action", "plan_schedule"]

ZERO = Decimal(0)
DEFAULT_PLAN_EVERY = Duration(30, "days")


def _money(engine, case, value: Any, what: str) -> Decimal:
    if isinstance(value, Money):
        if value.currency != case.currency:
            raise EngineError(f"{what} is in {value.currency} but the case is in {case.currency}", case=case.id,
                              help=f"write the amount in {case.currency}, or run a policy per currency")
        return value.amount
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return Decimal(value)
    raise EngineError(f"{what} is not an amount of money: {value!r}", case=case.id)


def _eval(expr, ctx):
    try:
        return expr.evaluate(ctx)
    except Exception as e:  # EvalError and friends: reported for the case
        raise EngineError(f"cannot evaluate '{expr.canonical}': {e}", case=ctx.case.id) from None


def _base(engine, case, led, of: str) -> Decimal:
    if of == "principal":
        return max(led.principal, ZERO)
    if of == "amount":
        return led.amount
    return max(led.balance, ZERO)


def build_action(engine, case, action: ir.Action, ctx, t: int) -> dict | None:
    kind = action.kind
    p = action.param_dict
    cur = case.currency
    if kind == "remind":
        params: dict[str, Any] = {"template": p["template"], "via": list(p.get("via") or ("email",))}
        if "to" in p:
            params["to"] = _eval(p["to"], ctx)
        case.reminders += 1
        return {"params": params}
    if kind == "fee":
        led = engine.target_ledger(case)
        if led is None:
            return None
        if "amount" in p:
            amount = _money(engine, case, _eval(p["amount"], ctx), "the fee amount")
            params = {}
        else:
            pct = _eval(p["percent"], ctx)
            of = p.get("of", "balance")
            amount = _base(engine, case, led, of) * pct.fraction
            params = {"percent": str(pct), "of": of}
        if "min" in p:
            amount = max(amount, _money(engine, case, _eval(p["min"], ctx), "the fee minimum"))
        if "max" in p:
            amount = min(amount, _money(engine, case, _eval(p["max"], ctx), "the fee maximum"))
        amount = quantize(amount, cur)
        if amount <= 0:
            return None
        led.charge_fee(amount)
        return {"params": params, "amount": amount, "invoice": led.invoice.id}
    if kind == "interest":
        rate = _eval(p["annual_rate"], ctx)
        basis = p.get("basis", 365)
        on = p.get("on", "principal")
        today = ctx.today
        total = ZERO
        days_used = 0
        ledgers = [case.ledger] if case.scope_invoice else [
            led for led in case.ledgers.values() if led.balance > 0 and not led.closed and today > led.invoice.due]
        for led in ledgers:
            start = led.interest_from or led.invoice.due
            days = (today - start).days
            if days <= 0:
                continue
            base = max(led.principal if on == "principal" else led.balance, ZERO)
            amount = quantize(base * rate.fraction * days / basis, cur)
            led.interest_from = today
            if amount > 0:
                led.charge_interest(amount)
                total += amount
                days_used = max(days_used, days)
        if total <= 0:
            return None
        return {"params": {"annual_rate": str(rate), "basis": basis, "on": on, "days": days_used},
                "amount": total, "invoice": ledgers[0].invoice.id if len(ledgers) == 1 else None}
    if kind == "discount":
        until = _eval(p["until"], ctx)
        if isinstance(until, _dt.datetime):
            until = until.astimezone(engine.clock.tz).date()
        balance = engine._balance(case)
        if balance <= 0 or until is None:
            return None
        if "percent" in p:
            pct = _eval(p["percent"], ctx)
            amount = quantize(balance * pct.fraction, cur)
            params = {"percent": str(pct), "until": until}
        else:
            amount = quantize(min(_money(engine, case, _eval(p["amount"], ctx), "the discount"), balance), cur)
            params = {"until": until}
        if amount <= 0:
            return None
        case.offer = (amount, until)
        return {"params": params, "amount": amount}
    if kind == "offer_plan":
        balance = engine._balance(case)
        if balance <= 0:
            return None
        n = p["installments"]
        every = p.get("every", DEFAULT_PLAN_EVERY)
        first = _eval(p["first"], ctx) if "first" in p else ctx.today + _dt.timedelta(days=7)
        if isinstance(first, _dt.datetime):
            first = first.astimezone(engine.clock.tz).date()
        down = ZERO
        if "down_payment" in p:
            value = _eval(p["down_payment"], ctx)
            down = quantize(balance * value.fraction, cur) if isinstance(value, Percent) else quantize(
                _money(engine, case, value, "the down payment"), cur)
        schedule = plan_schedule(balance, n, every, first, down, cur, engine.cp.calendar)
        case.plan_offer = schedule
        params = {"installments": n, "every": str(every), "first": first,
                  "schedule": [{"date": d, "amount": a} for d, a in schedule]}
        if down:
            params["down_payment"] = down
        return {"params": params, "amount": quantize(balance, cur)}
    if kind == "escalate":
        return {"params": {k: p[k] for k in ("to", "note") if k in p}}
    if kind == "task":
        return {"params": {k: p[k] for k in ("kind", "assign", "note") if k in p}}
    if kind in ("suspend", "resume"):
        return {"params": {}}
    if kind == "write_off":
        ledgers = [case.ledger] if case.scope_invoice else [led for led in case.ledgers.values() if not led.closed]
        total = sum((led.write_off() for led in ledgers), ZERO)
        if total <= 0:
            return None
        return {"params": {}, "amount": quantize(total, cur)}
    if kind == "custom":
        params = {"name": p["name"], "params": {name: _eval(e, ctx) for name, e in p.get("params", ())}}
        return {"params": params}
    raise AssertionError(kind)  # pragma: no cover


def plan_schedule(total: Decimal, n: int, every: Duration, first: _dt.date, down: Decimal, currency: str,
                  calendar=None) -> list[tuple[_dt.date, Decimal]]:
    """Installments of a plan: an optional down payment on ``first``, then ``n`` equal installments
    (rounded to the minor unit, the last taking the remainder), ``every`` apart.

    The first installment falls on ``first`` when there is no down payment, else one period after it.
    """
    rows: list[tuple[_dt.date, Decimal]] = []
    rest = total
    day = first
    if down > 0:
        down = min(down, total)
        rows.append((first, down))
        rest = total - down
        day = every.add_to(first, calendar)
    each = quantize(rest / n, currency)
    for i in range(n):
        amount = each if i < n - 1 else rest - each * (n - 1)
        rows.append((day, amount))
        day = every.add_to(day, calendar)
    return rows
