"""Explanations: a case's timeline with why each action fired, and why other rules did not.

The engine keeps a trace per case when built with ``explain=True`` (its entries are made with
:func:`rule_explanation` and :func:`why_not`, which read the values a rule's expressions read);
this module turns it into text for people (``dunning explain``) or JSON for machines.
"""

from __future__ import annotations

import datetime as _dt
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterable

from ..values import Duration, Money, Percent

if TYPE_CHECKING:
    from ..expr import Expression
    from .compiled import CRule
    from .context import Ctx
    from .core import Engine

__all__ = ["case_timeline", "render_timeline", "rule_explanation", "why_not", "values", "show"]


def values(exprs: Iterable[Expression | None], ctx: Ctx) -> dict[str, str]:
    """The values the expressions read (by variable path, in order of path), as text."""
    out: dict[str, str] = {}
    for e in exprs:
        if e is None:
            continue
        for path in sorted(e.variables):
            if path not in out:
                try:
                    out[path] = show(ctx.read(path))
                except Exception as exc:  # an explanation never breaks a run
                    out[path] = f"<{exc}>"
    return out


def rule_explanation(cr: CRule, ctx: Ctx) -> dict[str, Any]:
    """Why ``cr`` fires: its trigger, its guard and the values they read (``--explain`` and the trace)."""
    from ..policy.describe import format_trigger

    trig = format_trigger(cr.rule.trigger) if cr.rule.trigger is not None else "condition"
    guard = " and ".join(filter(None, [
        cr.when.canonical if cr.when is not None else None,
        f"not ({cr.unless.canonical})" if cr.unless is not None else None,
    ])) or None
    exprs = [cr.when, cr.unless, cr.expr, cr.starting]
    out: dict[str, Any] = {"trigger": trig, "guard": guard, "values": values(exprs, ctx)}
    if ctx.event is not None and ctx.event.late:
        out["late"] = True  # a store run applied the event at its clock, after its own time (SPEC §8)
    return out


def why_not(cr: CRule, ctx: Ctx) -> dict[str, Any]:
    """Why ``cr`` did not fire: its explanation and the part of its guard that stopped it."""
    info = rule_explanation(cr, ctx)
    if cr.when is not None and cr.when.evaluate(ctx) is not True:
        info["why"] = f"when {cr.when.canonical} is false"
    elif cr.unless is not None:
        info["why"] = f"unless {cr.unless.canonical} is true"
    return info


def show(value: Any) -> str:
    """A value as the trace keeps it: text (``null``, ``true``, ``50000 CLP``, ISO times)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (Money, Percent, Duration)):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items() if k != "fields") + "}"
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    return str(value)


def case_timeline(engine: Engine, case_id: str, key: str | None = None) -> list[dict]:
    """The trace entries of one case of ``engine`` (an ``Engine`` built with ``explain=True``); with
    ``key``, only what led to that action (the rule firing and the action)."""
    case = engine.cases.get(case_id)
    if case is None:
        raise KeyError(case_id)
    entries = list(case.trace or [])
    if key is None:
        return entries
    for i, entry in enumerate(entries):
        if entry["what"] == "action" and entry.get("key") == key:
            start = i
            while start > 0 and entries[start - 1]["what"] in ("action", "fired", "enter", "return", "event") \
                    and entries[start - 1]["at"] == entry["at"]:
                start -= 1
            return entries[start:i + 1]
    return []


_ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[+-]\d{2}:\d{2}|Z)")


def _when(at: str, tz=None) -> str:
    """A time as the timeline prints every time: local date, hour and minute (seconds when not
    zero) and the UTC offset, e.g. ``2026-04-28 15:00-04:00``."""
    t = _dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    if tz is not None and t.tzinfo is not None:
        t = t.astimezone(tz)
    text = t.strftime("%Y-%m-%d %H:%M" + (":%S" if t.second else ""))
    offset = t.strftime("%z")
    return text + (f"{offset[:3]}:{offset[3:]}" if offset else "")


def _text(value: Any, tz=None) -> str:
    """A value as a policy author writes it: ``480000``, ``2%``, ``email, whatsapp``, ``true``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, _dt.datetime):
        return _when(value.isoformat(), tz)
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ", ".join(f"({_text(v, tz)})" if isinstance(v, dict) else _text(v, tz) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v, tz)}" for k, v in value.items())
    return _ISO.sub(lambda m: _when(m.group(0), tz), str(value))


def _money(amount: Any, currency: str | None) -> str:
    return _text(amount) + (f" {currency}" if currency else "")


def _values(values: dict[str, Any] | None, tz=None) -> str:
    if not values:
        return ""
    return "  [" + ", ".join(f"{k} = {_text(v, tz)}" for k, v in values.items()) + "]"


def _allocated(e: dict, currency: str | None) -> str:
    parts = [f"{name} {_money(e[name], currency)}" for name in ("interest", "fees", "principal", "credit")
             if e.get(name)]
    return (f"payment {_money(e.get('amount'), currency)} on {e.get('invoice')} applied to "
            + (", ".join(parts) or "nothing"))


def render_timeline(entries: list[dict], tz=None, currency: str | None = None) -> str:
    """The entries as text, one line each. Times are local to ``tz`` (the policy's timezone; by
    default the offset each entry carries) with their offset; amounts carry ``currency`` if given."""
    lines = []
    for e in entries:
        when = _when(e["at"], tz)
        what = e["what"]
        if what == "enter":
            text = f"enter state {e['state']}"
        elif what == "return":
            text = f"return to state {e['state']}, its timers moved {e['away']} later (the time away)"
        elif what == "ended":
            text = f"the paused entry of state {e['state']} ends: {e['why']}"
        elif what == "failed":
            text = f"case stopped: {e['why']}; its actions of this instant are dropped"
        elif what == "event":
            text = f"event {e['event']}" + (f" on {e['invoice']}" if e.get("invoice") else "")
        elif what == "invoice joined":
            text = f"invoice {e['invoice']} joins the case"
        elif what == "fired":
            guard = f" when {e['guard']}" if e.get("guard") else ""
            text = f"rule {e['rule']} fired: {e['trigger']}{guard}{_values(e.get('values'), tz)}"
        elif what == "skipped":
            text = (f"rule {e['rule']} did not fire: {_text(e.get('why', 'its guard is false'), tz)} "
                    f"({e['trigger']}){_values(e.get('values'), tz)}")
        elif what == "action":
            amount = f" {_money(e['amount'], currency)}" if e.get("amount") is not None else ""
            params = "; ".join(f"{k}: {_text(v, tz)}" for k, v in (e.get("params") or {}).items() if k != "schedule")
            text = f"  -> {e['type']}{amount}" + (f"  {params}" if params else "") + f"  key {e['key']}"
        elif what == "dropped":
            text = f"  -> {e['type']} not sent: {_text(e['why'], tz)}  key {e['key']}"
        elif what == "allocated":
            text = _allocated(e, currency)
        elif what == "discount applied":
            text = f"discount of {_money(e.get('amount'), currency)} applied to {e.get('invoice')}"
        elif what == "plan accepted":
            paid = e.get("paid_since_offer")
            text = (f"plan accepted: {e.get('installments')} installments"
                    + (f", {_money(paid, currency)} paid since the offer counts toward them" if paid else ""))
        elif what in ("expired", "not armed", "ignored", "catch-up", "promise ended"):
            text = f"rule {e.get('rule', '')} {what}: {_text(e.get('why', ''), tz)}".replace("rule  ", "")
        else:  # any other entry: its fields, written as values
            fields = {k: v for k, v in e.items() if k not in ("at", "what")}
            text = what + (f": {_text(fields, tz)}" if fields else "")
        lines.append(f"{when}  {text}")
    return "\n".join(lines)
