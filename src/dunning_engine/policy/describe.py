"""Plain-words rendering of a policy: triggers, guards and actions as one line each.

Used by ``make demo`` and ``dunning validate --summary``. The phrases follow
the DSL of SPEC §3 so that a reader meets one vocabulary everywhere.
"""

from __future__ import annotations

from typing import Any

from . import ir
from . import phrases as _phrases

__all__ = ["format_trigger", "format_action", "format_rule", "summarize"]


def _e(expr: Any) -> str:
    return expr.canonical if expr is not None else "null"


# The phrases are the DSL's own: one implementation, in ``phrases`` (which the DSL printer uses).
format_trigger = _phrases.format_trigger
format_action = _phrases.format_action
format_rule = _phrases.format_rule_head


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
