"""A policy in the DSL form (SPEC §3), in the canonical layout, with its comments put back."""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

from . import ir
from .comments import Comments, Path_, Writer
from .phrases import dsl_string, dsl_word, expression_text, format_action, format_rule_head

__all__ = ["to_dsl", "DSL_INDENT", "time_text", "hours_text", "decimal_text"]

DSL_INDENT = "    "
_DSL_DAYS = re.compile(r"[a-z]+(-[a-z]+)?(,[a-z]+(-[a-z]+)?)*\Z")
_e = expression_text


def time_text(t: _dt.time) -> str:
    """A time of day as written in both forms (``24:00`` for the end of the day)."""
    return "24:00" if t == _dt.time.max else f"{t:%H:%M}"


def hours_text(w: ir.Window) -> str:
    return f"{time_text(w.start)}-{time_text(w.end)}"


def decimal_text(value: Any) -> str:
    return format(value, "f")


def to_dsl(policy: ir.Policy, comments: Comments | None = None) -> str:
    """The policy in the DSL form (SPEC §3), canonical layout, comments put back where they were."""
    w = Writer(comments)
    ind = DSL_INDENT
    w.header()
    w.before(("policy",), "")
    w.before(("version",), "")
    trailing = None
    if comments:
        trailing = comments.take_trailing(("policy",)) or comments.take_trailing(("version",))
    w.lines.append(f"policy {policy.id} version {policy.version}" + (f"  {trailing}" if trailing else ""))
    if policy.description is not None:
        w.before(("description",), "")
        w.line("", f"description {dsl_string(policy.description)}", ("description",))
    w.before(("scope",), "")
    w.line("", f"scope {policy.scope}", ("scope",))
    w.before(("timezone",), "")
    w.line("", f"timezone {dsl_string(policy.timezone)}", ("timezone",))
    if policy.calendar is not None:
        w.before(("calendar",), "")
        w.line("", f"calendar {dsl_word(policy.calendar)}", ("calendar",))
    if policy.currency is not None:
        w.before(("currency",), "")
        w.line("", f"currency {dsl_word(policy.currency)}", ("currency",))
    w.before(("send_at",), "")
    w.line("", f"send at {time_text(policy.send_at)}", ("send_at",))
    w.before(("allocation",), "")
    if policy.allocation != ir.ALLOCATION_PARTS:
        w.line("", "allocation " + ", ".join(policy.allocation), ("allocation",))

    if policy.segments:
        w.blank()
        w.before(("segments",), "")
        for name, expr in policy.segments:
            w.before(("segments", name), "")
            w.line("", f"segment {name}: {_e(expr)}", ("segments", name))

    if policy.invariants:
        w.blank()
        w.before(("invariants",), "")
        for name, expr in policy.invariants:
            w.before(("invariants", name), "")
            w.line("", f"invariant {name}: {_e(expr)}", ("invariants", name))

    for i, state in enumerate(policy.states):
        w.blank()
        if i == 0:
            w.before(("states",), "")
        _dsl_state(w, state)

    if policy.any_state:
        w.blank()
        w.before(("any_state",), "")
        group: tuple[str, ...] | None = None
        for i, rule in enumerate(policy.any_state):
            if rule.except_ != group or i == 0:
                group = rule.except_
                head = "any state" + (f" except {', '.join(group)}" if group else "") + ":"
                w.line("", head)
            _dsl_rule(w, rule, ("any_state", i), ind)

    if policy.contact is not None:
        w.blank()
        _dsl_contact(w, policy.contact)

    if policy.rates:
        w.blank()
        w.before(("rates",), "")
        for table in policy.rates:
            w.before(("rates", table.name), "")
            if table.path is not None:
                w.line("", f"rate {dsl_word(table.name)} {dsl_string(table.path)}", ("rates", table.name))
            elif not table.values:
                w.line("", f"rate {dsl_word(table.name)}", ("rates", table.name))
            else:
                w.line("", f"rate {dsl_word(table.name)}:", ("rates", table.name))
                for day, value in table.values:
                    w.line(ind, f"{day.isoformat()} {decimal_text(value)}")
    return w.finish()


def _dsl_state(w: Writer, state: ir.State) -> None:
    ind = DSL_INDENT
    path = ("states", state.name)
    w.before(path, "")
    flags = "".join(f" {f}" for f, on in (("initial", state.initial), ("final", state.final)) if on)
    body = bool(state.on_enter or state.on_exit or state.rules)
    w.line("", f"state {state.name}{flags}" + (":" if body else ""), path)
    for key, actions in (("on_enter", state.on_enter), ("on_exit", state.on_exit)):
        if not actions:
            continue
        w.before(path + (key,), ind)
        w.line(ind, f"on {key[3:]}:", path + (key,))
        for i, action in enumerate(actions):
            w.before(path + (key, i), ind * 2)
            w.line(ind * 2, format_action(action), path + (key, i))
    for i, rule in enumerate(state.rules):
        _dsl_rule(w, rule, path + ("rules", i), ind)


def _dsl_rule(w: Writer, rule: ir.Rule, path: Path_, ind: str) -> None:
    w.before(path, ind)
    w.line(ind, format_rule_head(rule) + (":" if rule.do else ""), path)
    for j, action in enumerate(rule.do):
        w.before(path + ("do", j), ind + DSL_INDENT)
        w.line(ind + DSL_INDENT, format_action(action), path + ("do", j))


def _dsl_contact(w: Writer, c: ir.Contact) -> None:
    ind = DSL_INDENT
    w.before(("contact",), "")
    body = bool(c.windows or not c.holidays or c.limits or c.compliance)
    w.line("", "contact:" if body else "contact", ("contact",))
    w.before(("contact", "windows"), ind)
    for win in c.windows:
        w.before(("contact", "windows", win.spec), ind)
        spec = win.spec if _DSL_DAYS.match(win.spec) else dsl_string(win.spec)
        w.line(ind, f"window {spec} {hours_text(win)}", ("contact", "windows", win.spec))
    w.before(("contact", "holidays"), ind)
    if not c.holidays:
        w.line(ind, "no contact on holidays", ("contact", "holidays"))
    w.before(("contact", "limits"), ind)
    for i, lim in enumerate(c.limits):
        w.before(("contact", "limits", i), ind)
        via = f" via {', '.join(lim.via)}" if lim.via else ""
        text = f"limit {lim.max} per {lim.per}{via}" if lim.max is not None else f"gap {lim.gap}{via}"
        w.line(ind, text, ("contact", "limits", i))
    w.before(("contact", "compliance"), ind)
    if c.compliance:
        w.line(ind, "compliance " + ", ".join(c.compliance), ("contact", "compliance"))


