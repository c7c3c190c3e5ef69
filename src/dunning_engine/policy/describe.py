"""Plain-words rendering of a policy: triggers, guards and actions as one line each.

Used by ``make demo`` and ``dunning validate --summary``. The phrases follow
the DSL of SPEC §3 so that a reader meets one vocabulary everywhere.
"""

from __future__ import annotations

from typing import Any

from . import ir

__all__ = ["format_trigger", "format_action", "format_rule", "summarize"]


def _e(expr: Any) -> str:
    return expr.canonical if expr is not None else "null"


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_trigger(trigger: ir.Trigger | None) -> str:
    if trigger is None:
        return ""
    if isinstance(trigger, ir.At):
        return f"at {_e(trigger.expr)}"
    if isinstance(trigger, ir.After):
        return f"after {trigger.duration}"
    if isinstance(trigger, ir.Every):
        text = f"every {trigger.duration}"
        if trigger.max is not None:
            text += f" max {trigger.max}"
        if trigger.starting is not None:
            text += f" starting {_e(trigger.starting)}"
        return text
    if isinstance(trigger, ir.On):
        return "on " + ", ".join(trigger.events)
    raise TypeError(trigger)  # pragma: no cover


def format_action(action: ir.Action) -> str:
    p = action.param_dict
    k = action.kind
    if k == "remind":
        text = f"remind {_q(p['template'])}"
        if "via" in p:
            text += " via " + ", ".join(p["via"])
        if "to" in p:
            text += f" to {_e(p['to'])}"
        return text
    if k == "fee":
        if "amount" in p:
            text = f"fee {_e(p['amount'])}"
        else:
            text = f"fee {_e(p['percent'])}" + (f" of {p['of']}" if "of" in p else "")
        for bound in ("min", "max"):
            if bound in p:
                text += f" {bound} {_e(p[bound])}"
        return text
    if k == "interest":
        text = f"interest {_e(p['annual_rate'])} per year"
        if "basis" in p:
            text += f" basis {p['basis']}"
        if "on" in p:
            text += f" on {p['on']}"
        return text
    if k == "discount":
        value = p.get("percent") or p.get("amount")
        return f"discount {_e(value)} until {_e(p['until'])}"
    if k == "offer_plan":
        text = f"offer plan {p['installments']} installments"
        if "every" in p:
            text += f" every {p['every']}"
        if "first" in p:
            text += f" first {_e(p['first'])}"
        if "down_payment" in p:
            text += f" down {_e(p['down_payment'])}"
        return text
    if k == "escalate":
        return f"escalate to {p['to']}" + (f" note {_q(p['note'])}" if "note" in p else "")
    if k == "task":
        text = f"task {p['kind']}"
        if "assign" in p:
            text += f" assign {_q(p['assign'])}"
        if "note" in p:
            text += f" note {_q(p['note'])}"
        return text
    if k == "write_off":
        return "write off"
    if k == "custom":
        text = f"custom {_q(p['name'])}"
        if p.get("params"):
            text += " with " + ", ".join(f"{n} = {_e(v)}" for n, v in p["params"])
        return text
    return k  # suspend, resume


def format_rule(rule: ir.Rule) -> str:
    parts = []
    if rule.named:
        parts.append(f"rule {rule.name}")
    trig = format_trigger(rule.trigger)
    if trig:
        parts.append(trig)
    if rule.when is not None:
        parts.append(f"when {_e(rule.when)}")
    if rule.unless is not None:
        parts.append(f"unless {_e(rule.unless)}")
    if rule.expires is not None:
        parts.append(f"expires {rule.expires}")
    if rule.goto is not None:
        parts.append(f"-> {rule.goto}")
    return " ".join(parts)


def summarize(policy: ir.Policy) -> str:
    """A readable multi-line summary: settings, then each state with its rules and actions."""
    lines = [f"{policy.key}" + (f" — {policy.description}" if policy.description else "")]
    settings = [f"scope {policy.scope}", f"timezone {policy.timezone}"]
    if policy.calendar:
        settings.append(f"calendar {policy.calendar}")
    if policy.currency:
        settings.append(f"currency {policy.currency}")
    settings.append(f"send at {policy.send_at:%H:%M}")
    lines.append("  " + " · ".join(settings))
    if policy.segments:
        lines.append("  segments: " + ", ".join(f"{n} = {_e(e)}" for n, e in policy.segments))
    n_rules = sum(len(s.rules) for s in policy.states) + len(policy.any_state)
    n_actions = sum(len(r.do) for s in policy.states for r in s.rules) + sum(
        len(s.on_enter) + len(s.on_exit) for s in policy.states) + sum(len(r.do) for r in policy.any_state)
    lines.append(f"  {len(policy.states)} states, {n_rules} rules, {n_actions} actions")
    for state in policy.states:
        flags = [f for f, on in (("initial", state.initial), ("final", state.final)) if on]
        lines.append(f"  state {state.name}" + (f" [{', '.join(flags)}]" if flags else ""))
        for label, actions in (("on enter", state.on_enter), ("on exit", state.on_exit)):
            for a in actions:
                lines.append(f"      {label}: {format_action(a)}")
        for rule in state.rules:
            lines.append(f"    {format_rule(rule)}")
            for a in rule.do:
                lines.append(f"        {format_action(a)}")
    if policy.any_state:
        lines.append("  any state")
        for rule in policy.any_state:
            exc = f" (except {', '.join(rule.except_)})" if rule.except_ else ""
            lines.append(f"    {format_rule(rule)}{exc}")
            for a in rule.do:
                lines.append(f"        {format_action(a)}")
    if policy.contact is not None:
        c = policy.contact
        if c.windows:
            lines.append("  contact windows: " + ", ".join(f"{w.spec} {w.start:%H:%M}-{w.end:%H:%M}" for w in c.windows))
        if not c.holidays:
            lines.append("  no contact on holidays")
        for lim in c.limits:
            via = f" via {', '.join(lim.via)}" if lim.via else ""
            lines.append(f"  limit {lim.max} per {lim.per}{via}" if lim.max else f"  gap {lim.gap}{via}")
        if c.compliance:
            lines.append("  compliance: " + ", ".join(c.compliance))
    return "\n".join(lines)
