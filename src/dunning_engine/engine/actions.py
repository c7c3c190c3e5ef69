"""Build the record of one action and apply its effect on the case (SPEC §1 Actions).

``build_action`` returns ``{"params": ..., "amount": Decimal | None, "invoice": id | None}``
(plus ``capped_from`` when a compliance pack reduced a fee or an interest posting)
or None when the action has nothing to do (a fee or interest of zero, a
write-off of a settled invoice). Money is rounded half-up to the currency's
minor unit; a money expression in another currency than the case's is an
``EngineError`` reported for that case, never a silent mix. The ``params`` of
money actions carry what their amount was computed from (docs/money.md,
"Tracing an amount").
"""

from __future__ import annotations

import datetime as _dt
from decimal import ROUND_DOWN, Decimal
from typing import Any

from ..errors import EngineError
from ..policy import ir
from ..values import Duration, Money, Percent, minor_units, quantize
from ..vocabulary import ACTIONS, DEFAULT_CHANNELS, MONEY_ACTIONS
from .clock import LAST_DAY, DateOutOfRange, check_day

__all__ = ["build_action", "plan_schedule"]

ZERO = Decimal(0)
# The defaults of parameters the author did not write (the vocabulary's).
DEFAULT_PLAN_EVERY: Duration = ACTIONS["offer_plan"].param_default("every")
_FEE_OF: str = ACTIONS["fee"].param_default("of")
_INTEREST_BASIS: int = ACTIONS["interest"].param_default("basis")
_INTEREST_ON: str = ACTIONS["interest"].param_default("on")
# Kinds whose output parameters are the ones the policy wrote, in canonical order.
_AS_WRITTEN = {kind: ACTIONS[kind].param_names for kind in ("escalate", "task")}


def _money(engine, case, value: Any, what: str) -> Decimal:
    if isinstance(value, Money):
        if value.currency != case.currency:
            raise EngineError(f"{what} is in {value.currency} but the case is in {case.currency}", case=case.id,
                              help=f"write the amount in {case.currency}, or run a policy per currency",
                              code="currency-mismatch")
        return value.amount
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return Decimal(value)
    raise EngineError(f"{what} is not an amount of money: {value!r}", case=case.id, code="not-money")


def _eval(expr, ctx):
    try:
        return expr.evaluate(ctx)
    except Exception as e:  # EvalError and friends: reported for the case
        raise EngineError(f"cannot evaluate '{expr.canonical}': {e}", case=ctx.case.id,
                          code="evaluation-failed") from None


def _base(engine, case, led, of: str) -> Decimal:
    if of == "principal":
        return max(led.principal, ZERO)
    if of == "amount":
        return led.amount
    return max(led.balance, ZERO)


def build_action(engine, case, action: ir.Action, ctx, t: int) -> dict | None:
    kind = action.kind
    p = action.param_dict
    if kind == "remind":
        params: dict[str, Any] = {"template": p["template"], "via": list(p.get("via") or DEFAULT_CHANNELS)}
        if "to" in p:
            params["to"] = _eval(p["to"], ctx)
        case.reminders += 1
        return {"params": params}
    if ctx is None and kind in MONEY_ACTIONS:  # the engine builds a ctx for these; stay safe if it did not
        from .context import Ctx

        ctx = Ctx(engine, case, t)
    if kind == "fee":
        return _fee(engine, case, p, ctx)
    if kind == "interest":
        return _interest(engine, case, p, ctx)
    if kind == "discount":
        return _discount(engine, case, p, ctx)
    if kind == "offer_plan":
        return _offer_plan(engine, case, p, ctx)
    if kind in _AS_WRITTEN:  # escalate, task: their parameters as written
        return {"params": {k: p[k] for k in _AS_WRITTEN[kind] if k in p}}
    if kind in ("suspend", "resume"):
        return {"params": {}}
    if kind == "write_off":
        return _write_off(engine, case, ctx)
    if kind == "custom":
        params = {"name": p["name"], "params": {name: _eval(e, ctx) for name, e in p.get("params", ())}}
        return {"params": params}
    raise AssertionError(kind)  # pragma: no cover


# ---------------------------------------------------------------------- money actions
# Each money action's ``params`` carries what is needed to trace its amount
# (``dunning explain``); values are Decimal, date, str, int, or lists/dicts of those.


def _date(engine, value) -> _dt.date | None:
    if isinstance(value, _dt.datetime):
        return value.astimezone(engine.clock.tz).date()
    return value


def _cap(engine, case, kind: str, amount: Decimal, t: int, **kw) -> tuple[Decimal, Decimal | None]:
    """The policy's compliance packs' caps on a fee or an interest posting: (amount, amount before the cap).

    The amount before the cap is None when no cap applied; a capped action carries it as ``capped_from``.
    """
    contact = engine.cp.policy.contact
    if contact is None or not contact.compliance or amount <= 0:
        return amount, None
    from ..compliance import cap

    return cap(engine, case, kind, amount, t, **kw)


def _fee(engine, case, p: dict, ctx) -> dict | None:
    cur = case.currency
    led = engine.target_ledger(case, ctx.event)
    if led is None:
        return None
    if "amount" in p:
        amount = _money(engine, case, _eval(p["amount"], ctx), "the fee amount")
        params: dict[str, Any] = {"amount": amount}
    else:
        pct = _eval(p["percent"], ctx)
        of = p.get("of", _FEE_OF)
        base = _base(engine, case, led, of)
        amount = base * pct.fraction
        params = {"percent": str(pct), "of": of, "base": base, "computed": amount}
    if "min" in p:
        low = _money(engine, case, _eval(p["min"], ctx), "the fee minimum")
        params["min"] = low
        if amount < low:
            amount = low
            params["capped"] = "min"
    if "max" in p:
        high = _money(engine, case, _eval(p["max"], ctx), "the fee maximum")
        params["max"] = high
        if amount > high:
            amount = high
            params["capped"] = "max"
    amount = quantize(amount, cur)
    amount, before = _cap(engine, case, "fee", amount, ctx.t, ledger=led)
    if before is not None:
        params["capped_from"] = before
    if amount <= 0:
        return None
    engine.posting(led)
    led.charge_fee(amount, engine.cp.allocation, ctx.today)
    rec = {"params": params, "amount": amount, "invoice": led.invoice.id}
    if before is not None:
        rec["capped_from"] = before
    return rec


def _interest(engine, case, p: dict, ctx) -> dict | None:
    """Simple interest accrued since the last posting (first: since due), on whole local days.

    Each invoice's accrual is split in periods of constant base (``Ledger.accrual``);
    the amount is ``sum(base * days) * rate / basis``, rounded once, half-up.
    """
    cur = case.currency
    rate = _eval(p["annual_rate"], ctx)
    basis = p.get("basis", _INTEREST_BASIS)
    on = p.get("on", _INTEREST_ON)
    today = ctx.today
    if case.scope_invoice:
        ledgers = [case.ledger]
    else:  # customer scope: the invoices still owing (docs/money.md)
        ledgers = [led for led in case.ledgers.values() if led.balance > 0 and not led.closed]
    total = capped_from = ZERO
    capped = False
    parts: list[dict[str, Any]] = []
    for led in ledgers:
        periods = led.accrual(on, today)
        base_days = sum((base * days for _, _, days, base in periods), ZERO)
        if base_days <= 0:
            continue
        amount = quantize(base_days * rate.fraction / basis, cur)
        amount, before = _cap(engine, case, "interest", amount, ctx.t, ledger=led, periods=periods,
                              rate=rate, basis=basis)
        if amount <= 0:
            continue  # nothing to post yet: the accrual goes on from the same start
        start = periods[0][0]
        engine.posting(led)
        led.charge_interest(amount, engine.cp.allocation, today)
        led.posted(today)
        total += amount
        capped_from += amount if before is None else before
        capped = capped or before is not None
        part = {
            "invoice": led.invoice.id, "from": start, "to": today, "days": (today - start).days,
            "base": periods[-1][3], "base_days": base_days, "amount": amount,
            "periods": [{"from": f, "to": t, "days": d, "base": b} for f, t, d, b in periods],
        }
        if before is not None:
            part["capped_from"] = before
        parts.append(part)
    if total <= 0:
        return None
    params: dict[str, Any] = {"annual_rate": str(rate), "basis": basis, "on": on}
    if len(parts) == 1:
        part = parts[0]
        params.update({k: v for k, v in part.items() if k not in ("invoice", "amount")})
        rec = {"params": params, "amount": total, "invoice": part["invoice"]}
    else:
        params["days"] = max(part["days"] for part in parts)
        params["to"] = today
        params["invoices"] = parts
        if capped:
            params["capped_from"] = capped_from
        rec = {"params": params, "amount": total, "invoice": None}
    if capped:
        rec["capped_from"] = capped_from
    return rec


def _discount(engine, case, p: dict, ctx) -> dict | None:
    """An offer: paying ``pay`` (balance minus the discount) by ``until`` settles the invoice."""
    cur = case.currency
    until = _date(engine, _eval(p["until"], ctx))
    led = engine.target_ledger(case, ctx.event)
    if led is None or until is None:
        return None
    check_day(until, "the discount's 'until'")
    balance = led.balance
    if balance <= 0:
        return None
    if "percent" in p:
        pct = _eval(p["percent"], ctx)
        amount = quantize(balance * pct.fraction, cur)
        params: dict[str, Any] = {"percent": str(pct), "balance": balance}
    else:
        written = _money(engine, case, _eval(p["amount"], ctx), "the discount")
        amount = quantize(min(written, balance), cur)
        params = {"amount": written, "balance": balance}
    if amount <= 0:
        return None
    params.update(until=until, pay=balance - amount)
    case.offer = (amount, until, led.invoice.id)
    return {"params": params, "amount": amount, "invoice": led.invoice.id}


def _offer_plan(engine, case, p: dict, ctx) -> dict | None:
    from .plans import PlanOffer

    cur = case.currency
    balance = engine._balance(case)
    if balance <= 0:
        return None
    n = p["installments"]
    every = p.get("every", DEFAULT_PLAN_EVERY)
    first = _date(engine, _eval(p["first"], ctx)) if "first" in p else ctx.today + _dt.timedelta(days=7)
    if first is None:
        return None
    total = quantize(balance, cur)
    down = ZERO
    params: dict[str, Any] = {"installments": n, "every": str(every), "first": first, "total": total}
    if "down_payment" in p:
        value = _eval(p["down_payment"], ctx)
        if isinstance(value, Percent):
            down = quantize(total * value.fraction, cur)
            params["down_payment_percent"] = str(value)
        else:
            down = quantize(_money(engine, case, value, "the down payment"), cur)
    try:
        schedule = plan_schedule(total, n, every, first, down, cur, engine.cp.calendar)
    except (OverflowError, ValueError):  # past Python's year 9999
        raise DateOutOfRange(f"the plan's installments ({n}, every {every} from {first.isoformat()}) go past "
                             f"year {LAST_DAY.year}") from None
    for i, (day, _) in enumerate(schedule):
        check_day(day, f"the date of installment {i + 1} of the plan")
    case.plan_offer = PlanOffer(schedule)
    if down > 0:
        params["down_payment"] = schedule[0][1]
    params["schedule"] = [{"date": d, "amount": a} for d, a in schedule]
    return {"params": params, "amount": total}


def _write_off(engine, case, ctx) -> dict | None:
    cur = case.currency
    ledgers = [case.ledger] if case.scope_invoice else [led for led in case.ledgers.values() if not led.closed]
    parts = {"principal": ZERO, "fees": ZERO, "interest": ZERO}
    written: list[str] = []
    total = ZERO
    for led in ledgers:
        owed = led.owed()
        if led.balance > 0:
            engine.posting(led)
        amount = led.write_off(ctx.today)
        if amount > 0:
            for k in parts:
                parts[k] += owed[k]
            written.append(led.invoice.id)
            total += amount
    if total <= 0:
        return None
    params: dict[str, Any] = dict(parts)
    if not case.scope_invoice:
        params["invoices"] = written
    return {"params": params, "amount": quantize(total, cur), "invoice": written[0] if len(written) == 1 else None}


def plan_schedule(total: Decimal, n: int, every: Duration, first: _dt.date, down: Decimal, currency: str,
                  calendar=None) -> list[tuple[_dt.date, Decimal]]:
    """Installments of a plan: an optional down payment on ``first``, then ``n`` equal installments
    (rounded half-up to the minor unit, the last taking the remainder), ``every`` apart.

    The first installment falls on ``first`` when there is no down payment, else one period after it.
    Dates are counted from that start (``start + i * every``), so monthly plans keep their day of the
    month (Jan 31, Feb 28, Mar 31). Every installment is positive: when half-up rounding would leave the
    last one at zero or below, the installments are rounded down instead (the last takes a larger
    remainder), and a total too small to split gives fewer installments of one minor unit or more.
    A down payment of the whole total leaves just the down payment.
    """
    rows: list[tuple[_dt.date, Decimal]] = []
    rest = total
    start = first
    if down > 0:
        down = min(down, total)
        rows.append((first, down))
        rest = total - down
        start = every.add_to(first, calendar)
        if rest <= 0:
            return rows
    unit = Decimal(1).scaleb(-minor_units(currency))
    n = max(1, min(n, int(rest / unit)))
    each = quantize(rest / n, currency)
    if each * (n - 1) >= rest:
        each = (rest / n).quantize(unit, rounding=ROUND_DOWN)
    for i in range(n):
        amount = each if i < n - 1 else rest - each * (n - 1)
        day = start if i == 0 else Duration(every.amount * i, every.unit).add_to(start, calendar)
        rows.append((day, amount))
    return rows
