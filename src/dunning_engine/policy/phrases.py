"""The DSL's phrases for one trigger, one action, one rule head (SPEC §3), and DSL literals.

The DSL printer writes policies with them, and everything that shows a rule or an action to a person
(``describe``, graphs, explanations, coverage) uses the same words. Actions are written along their
kind's layout in :mod:`dunning_engine.vocabulary`: the head (``offer plan 3 installments``), then
the options given, in canonical order.
"""

from __future__ import annotations

import re
from typing import Any

from ..vocabulary import ACTIONS, CHANNEL_LIST, EXPRESSION_MAP, NAME, TEXT, Param
from . import ir

__all__ = ["format_trigger", "format_action", "format_rule_head", "dsl_string", "dsl_word", "expression_text"]

_DSL_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")
_DSL_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t"}


def expression_text(expr: Any) -> str:
    """An expression in its canonical form."""
    return expr.canonical


_e = expression_text


def dsl_string(text: str) -> str:
    """A DSL text literal: double quotes, ``\\" \\\\ \\n \\t`` and ``\\uXXXX`` for the rest that is not printable."""
    out = []
    for c in text:
        if c in _DSL_ESCAPES:
            out.append(_DSL_ESCAPES[c])
        elif not c.isprintable() or c in "\u2028\u2029\ufeff":
            code = ord(c)
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def dsl_word(text: str) -> str:
    """A name as a bare word when the DSL reads it back as one, else a quoted text."""
    return text if _DSL_WORD.match(text) else dsl_string(text)


def format_trigger(trigger: ir.Trigger | None) -> str:
    """A trigger in DSL words: ``at due + 1 day``, ``every 7 days max 4``, ``on payment``."""
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


def _value(param: Param | None, value: Any) -> str:
    """A parameter's value in DSL words."""
    if param is None:  # pragma: no cover - the IR holds only the vocabulary's parameters
        return str(value)
    if param.is_expression:
        return _e(value)
    if param.type == CHANNEL_LIST:
        return ", ".join(value)
    if param.type == NAME:
        return dsl_string(value) if param.dsl_quoted else dsl_word(value)
    if param.type == TEXT:
        return dsl_string(value)
    if param.type == EXPRESSION_MAP:
        return ", ".join(f"{name} = {_e(e)}" for name, e in value)
    return str(value)  # enum, int, duration


def format_action(action: ir.Action) -> str:
    """An action as one DSL line (without indentation)."""
    spec = ACTIONS.get(action.kind)
    if spec is None:  # pragma: no cover - the IR holds only the vocabulary's kinds
        return action.kind
    p = action.param_dict
    parts: list[str] = []
    for is_value, names in spec.layout:
        if not is_value:
            parts.append(names[0])
            continue
        name = next((n for n in names if n in p), None)
        if name is not None:
            parts.append(_value(spec.param(name), p[name]))
    for word, param in spec.options.items():
        value = p.get(param.name)
        if value is not None and (param.type != EXPRESSION_MAP or value):
            parts.append(f"{word} {_value(param, value)}")
    return " ".join(parts)


def format_rule_head(rule: ir.Rule) -> str:
    """A rule's first line in DSL words, without the ':' that opens its actions."""
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
