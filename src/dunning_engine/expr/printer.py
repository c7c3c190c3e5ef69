"""Canonical text of an expression: ``unparse(node)``.

One space around binary operators, none inside parentheses, ``, `` between
arguments, double-quoted strings, and only the parentheses that precedence
requires. ``parse(unparse(n)) == n`` for every tree the parser can produce.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal

from . import ast as A

__all__ = ["unparse", "precedence", "format_decimal", "format_text"]

# Binding strength, lowest first (SPEC §2).
_OR, _AND, _NOT, _CMP, _SUM, _PRODUCT, _UNARY, _POSTFIX, _ATOM = range(1, 10)
_BINARY_PREC = {"or": _OR, "and": _AND, "+": _SUM, "-": _SUM, "*": _PRODUCT, "/": _PRODUCT}
_BINARY_PREC.update({op: _CMP for op in A.COMPARISONS})

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t"}


def precedence(node: A.Node) -> int:
    """How tightly a node binds (higher binds tighter)."""
    if isinstance(node, A.Binary):
        return _BINARY_PREC[node.op]
    if isinstance(node, A.Unary):
        return _NOT if node.op == "not" else _UNARY
    if isinstance(node, A.Member):
        return _POSTFIX
    if isinstance(node, A.Number) and node.value.is_signed():
        return _UNARY  # a negative literal prints as '-5'
    if isinstance(node, (A.DurationLit,)) and node.value.amount < 0:
        return _UNARY
    if isinstance(node, A.PercentLit) and node.value.value.is_signed():
        return _UNARY
    if isinstance(node, A.MoneyLit) and node.amount.is_signed():
        return _UNARY
    return _ATOM


def format_decimal(value: Decimal) -> str:
    """A Decimal as plain digits, keeping the digits written (``19.90``), never an exponent."""
    return format(value, "f")


def format_text(value: str) -> str:
    """A string literal in double quotes with ``\\" \\\\ \\n \\t`` escaped."""
    return '"' + "".join(_ESCAPES.get(c, c) for c in value) + '"'


def _format_datetime(value: _dt.datetime) -> str:
    text = f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}"
    if value.second:
        text += f":{value.second:02d}"
    offset = value.utcoffset()
    if offset is None:
        return text
    if not offset:
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


def _literal(node: A.Node) -> str | None:
    if isinstance(node, A.Number):
        return format_decimal(node.value)
    if isinstance(node, A.Text):
        return format_text(node.value)
    if isinstance(node, A.Bool):
        return "true" if node.value else "false"
    if isinstance(node, A.Null):
        return "null"
    if isinstance(node, A.DateLit):
        d = node.value
        return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"
    if isinstance(node, A.DateTimeLit):
        return _format_datetime(node.value)
    if isinstance(node, A.DurationLit):
        return str(node.value)
    if isinstance(node, A.PercentLit):
        return format_decimal(node.value.value) + "%"
    if isinstance(node, A.MoneyLit):
        return f"{format_decimal(node.amount)} {node.currency}"
    return None


def _wrap(node: A.Node, parens: bool) -> str:
    text = unparse(node)
    return f"({text})" if parens else text


def unparse(node: A.Node) -> str:
    """The canonical text of an expression tree, with minimal parentheses."""
    literal = _literal(node)
    if literal is not None:
        return literal
    if isinstance(node, A.Var):
        return node.name
    if isinstance(node, A.Member):
        return f"{_wrap(node.obj, precedence(node.obj) < _POSTFIX)}.{node.name}"
    if isinstance(node, A.Call):
        return f"{node.name}({', '.join(unparse(a) for a in node.args)})"
    if isinstance(node, A.ListExpr):
        return f"[{', '.join(unparse(a) for a in node.items)}]"
    if isinstance(node, A.Unary):
        if node.op == "not":
            return f"not {_wrap(node.operand, precedence(node.operand) < _NOT)}"
        return f"-{_wrap(node.operand, precedence(node.operand) < _UNARY)}"
    if isinstance(node, A.Binary):
        prec = _BINARY_PREC[node.op]
        if prec == _CMP:  # non-associative
            left_parens = precedence(node.left) <= prec
        else:  # left-associative
            left_parens = precedence(node.left) < prec
        right_parens = precedence(node.right) <= prec
        return f"{_wrap(node.left, left_parens)} {node.op} {_wrap(node.right, right_parens)}"
    raise TypeError(f"not an expression node: {node!r}")
