"""A policy in the YAML form (SPEC §1), in the canonical layout, with its comments put back."""

from __future__ import annotations

from typing import Any, Iterable

from ..values import Duration
from ..vocabulary import ACTIONS, CHANNEL_LIST, EXPRESSION_MAP, Param
from . import ir
from .comments import Comments, Path_, Writer
from .nodes import NULLS
from .phrases import expression_text
from .print_dsl import decimal_text, hours_text, time_text

__all__ = ["to_yaml", "yaml_scalar", "YAML_INDENT"]

YAML_INDENT = "  "
_e = expression_text

_YAML_BAD_START = set("-?:,[]{}#&*!|>'\"%@`~ ")
_YAML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\x00": "\\0"}


def _plain_ok(text: str, flow: bool) -> bool:
    if not text or text != text.strip() or text in NULLS:
        return False
    if text[0] in _YAML_BAD_START or text.startswith(("---", "...")):
        return False
    if not text.isprintable() or any(c in text for c in "\u2028\u2029\ufeff\x85"):
        return False
    if ": " in text or " #" in text or text.endswith(":") or "\t" in text:
        return False
    if flow and any(c in text for c in ",[]{}:#"):
        return False
    return True


def _yaml_double(text: str) -> str:
    out = []
    for c in text:
        if c in _YAML_ESCAPES:
            out.append(_YAML_ESCAPES[c])
        elif not c.isprintable() or c in "\u2028\u2029\ufeff\x85":
            code = ord(c)
            if code <= 0xFF:
                out.append(f"\\x{code:02x}")
            elif code <= 0xFFFF:
                out.append(f"\\u{code:04x}")
            else:
                out.append(f"\\U{code:08x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def yaml_scalar(text: str, flow: bool = False, quote: bool = False) -> str:
    """A YAML scalar that the policy reader reads back as ``text``: plain when safe, else quoted."""
    if not quote and _plain_ok(text, flow):
        return text
    if '"' in text and "'" not in text and text.isprintable() and text == text.strip() and text:
        return "'" + text + "'"
    return _yaml_double(text)


def _flow_map(items: Iterable[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in items) + "}"


def _flow_list(items: Iterable[str]) -> str:
    return "[" + ", ".join(items) + "]"


def _yaml_param(param: Param | None, value: Any) -> str:
    """A parameter's value in YAML flow style, as its type in the vocabulary says."""
    if param is not None and param.type == CHANNEL_LIST:
        return _flow_list(yaml_scalar(v, True) for v in value)
    if param is not None and param.type == EXPRESSION_MAP:
        return _flow_map((yaml_scalar(n, True), yaml_scalar(_e(e), True)) for n, e in value)
    if param is not None and param.yaml_quoted:
        return yaml_scalar(value, True, quote=True)
    if isinstance(value, (int, Duration)):
        return str(value)
    if isinstance(value, str):
        return yaml_scalar(value, True)
    if hasattr(value, "canonical"):
        return yaml_scalar(_e(value), True)
    return yaml_scalar(str(value), True)


def _yaml_action(action: ir.Action) -> str:
    if not action.params:
        return action.kind
    spec = ACTIONS.get(action.kind)
    return f"{action.kind}: " + _flow_map((k, _yaml_param(spec.param(k) if spec else None, v)) for k, v in action.params)


def _yaml_rule(w: Writer, rule: ir.Rule, path: Path_, ind: str) -> None:
    """A rule as a list item at indentation ``ind`` ('- ' at ind)."""
    fields: list[tuple[str, str]] = []
    if rule.named:
        fields.append(("name", yaml_scalar(rule.name)))
    t = rule.trigger
    if isinstance(t, ir.At):
        fields.append(("at", yaml_scalar(_e(t.expr))))
    elif isinstance(t, ir.After):
        fields.append(("after", str(t.duration)))
    elif isinstance(t, ir.Every):
        fields.append(("every", str(t.duration)))
        if t.max is not None:
            fields.append(("max", str(t.max)))
        if t.starting is not None:
            fields.append(("starting", yaml_scalar(_e(t.starting))))
    elif isinstance(t, ir.On):
        events = [yaml_scalar(e) for e in t.events]
        fields.append(("on", events[0] if len(events) == 1 else _flow_list(events)))
    if rule.when is not None:
        fields.append(("when", yaml_scalar(_e(rule.when))))
    if rule.unless is not None:
        fields.append(("unless", yaml_scalar(_e(rule.unless))))
    if rule.expires is not None:
        fields.append(("expires", str(rule.expires)))
    do_at = len(fields)
    if rule.goto is not None:
        fields.append(("goto", yaml_scalar(rule.goto)))
    if rule.except_:
        fields.append(("except", _flow_list(yaml_scalar(s, True) for s in rule.except_)))
    w.before(path, ind)
    first = True
    trailing_done = False

    def emit(text: str) -> None:
        nonlocal first, trailing_done
        prefix = ind + ("- " if first else "  ")
        if first:
            w.line(prefix, text, path)
            trailing_done = True
        else:
            w.line(prefix, text)
        first = False

    for i, (k, v) in enumerate(fields):
        if i == do_at and rule.do:
            _yaml_do(w, rule, path, ind, emit)
        emit(f"{k}: {v}")
    if do_at == len(fields) and rule.do:
        _yaml_do(w, rule, path, ind, emit)
    if first:  # pragma: no cover - a rule always has a field
        emit("{}")


def _yaml_do(w: Writer, rule: ir.Rule, path: Path_, ind: str, emit: Any) -> None:
    emit("do:")
    inner = ind + YAML_INDENT + YAML_INDENT
    for j, action in enumerate(rule.do):
        w.before(path + ("do", j), inner)
        w.line(inner, "- " + _yaml_action(action), path + ("do", j))


def to_yaml(policy: ir.Policy, comments: Comments | None = None) -> str:
    """The policy in the YAML form (SPEC §1), canonical layout, comments put back where they were."""
    w = Writer(comments)
    i1, i2, i3 = YAML_INDENT, YAML_INDENT * 2, YAML_INDENT * 3
    w.header()

    def setting(key: str, value: str | None) -> None:
        w.before((key,), "")
        if value is not None:
            w.line("", f"{key}: {value}", (key,))

    setting("policy", yaml_scalar(policy.id))
    setting("version", str(policy.version))
    setting("description", None if policy.description is None else yaml_scalar(policy.description))
    setting("scope", policy.scope)
    setting("timezone", yaml_scalar(policy.timezone))
    setting("calendar", None if policy.calendar is None else yaml_scalar(policy.calendar))
    setting("currency", None if policy.currency is None else yaml_scalar(policy.currency))
    setting("send_at", yaml_scalar(time_text(policy.send_at), quote=True))
    setting("allocation", None if policy.allocation == ir.ALLOCATION_PARTS else _flow_list(policy.allocation))

    if policy.segments:
        setting("segments", "")
        w.lines[-1] = w.lines[-1].rstrip()
        for name, expr in policy.segments:
            w.before(("segments", name), i1)
            w.line(i1, f"{name}: {yaml_scalar(_e(expr))}", ("segments", name))

    if policy.invariants:
        setting("invariants", "")
        w.lines[-1] = w.lines[-1].rstrip()
        for name, expr in policy.invariants:
            w.before(("invariants", name), i1)
            w.line(i1, f"{name}: {yaml_scalar(_e(expr))}", ("invariants", name))

    w.before(("states",), "")
    w.line("", "states:", ("states",))
    for state in policy.states:
        path = ("states", state.name)
        w.before(path, i1)
        if not (state.initial or state.final or state.on_enter or state.on_exit or state.rules):
            w.line(i1, f"{state.name}: {{}}", path)
            continue
        w.line(i1, f"{state.name}:", path)
        if state.initial:
            w.line(i2, "initial: true")
        if state.final:
            w.line(i2, "final: true")
        for key, actions in (("on_enter", state.on_enter), ("on_exit", state.on_exit)):
            if not actions:
                continue
            w.before(path + (key,), i2)
            w.line(i2, f"{key}:", path + (key,))
            for j, action in enumerate(actions):
                w.before(path + (key, j), i3)
                w.line(i3, "- " + _yaml_action(action), path + (key, j))
        if state.rules:
            w.line(i2, "rules:")
            for j, rule in enumerate(state.rules):
                _yaml_rule(w, rule, path + ("rules", j), i3)

    if policy.any_state:
        w.before(("any_state",), "")
        w.line("", "any_state:", ("any_state",))
        for j, rule in enumerate(policy.any_state):
            _yaml_rule(w, rule, ("any_state", j), i1)

    c = policy.contact
    if c is not None:
        w.before(("contact",), "")
        body = bool(c.windows or not c.holidays or c.limits or c.compliance)
        w.line("", "contact:" if body else "contact: {}", ("contact",))
        w.before(("contact", "windows"), i1)
        if c.windows:
            for win in c.windows:
                w.before(("contact", "windows", win.spec), i1)
            text = _flow_map((yaml_scalar(win.spec, True), yaml_scalar(hours_text(win), True, quote=True))
                             for win in c.windows)
            trailing = None
            if comments:
                for win in c.windows:
                    trailing = trailing or comments.take_trailing(("contact", "windows", win.spec))
            w.line(i1, f"windows: {text}" + (f"  {trailing}" if trailing else ""), ("contact", "windows"))
        w.before(("contact", "holidays"), i1)
        if not c.holidays:
            w.line(i1, "holidays: false", ("contact", "holidays"))
        w.before(("contact", "limits"), i1)
        if c.limits:
            w.line(i1, "limits:", ("contact", "limits"))
            for j, lim in enumerate(c.limits):
                items: list[tuple[str, str]] = []
                if lim.max is not None:
                    items += [("max", str(lim.max)), ("per", str(lim.per))]
                if lim.gap is not None:
                    items.append(("gap", str(lim.gap)))
                if lim.via is not None:
                    items.append(("via", _flow_list(yaml_scalar(v, True) for v in lim.via)))
                w.before(("contact", "limits", j), i2)
                w.line(i2, "- " + _flow_map(items), ("contact", "limits", j))
        w.before(("contact", "compliance"), i1)
        if c.compliance:
            w.line(i1, "compliance: " + _flow_list(yaml_scalar(x, True) for x in c.compliance),
                   ("contact", "compliance"))

    if policy.rates:
        w.before(("rates",), "")
        w.line("", "rates:", ("rates",))
        for table in policy.rates:
            path = ("rates", table.name)
            w.before(path, i1)
            if table.path is not None:
                w.line(i1, f"{yaml_scalar(table.name)}: {yaml_scalar(table.path)}", path)
            elif not table.values:
                w.line(i1, f"{yaml_scalar(table.name)}: {{}}", path)
            else:
                w.line(i1, f"{yaml_scalar(table.name)}:", path)
                for day, value in table.values:
                    w.line(i2, f"{day.isoformat()}: {yaml_scalar(decimal_text(value))}")
    return w.finish()

