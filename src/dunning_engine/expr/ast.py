"""The syntax tree of expressions.

Nodes are frozen dataclasses. Every node keeps ``start`` (0-based offset in
the expression text) and ``length``; both are excluded from ``==`` and
``hash``, so two trees compare equal when their structure is the same,
wherever they were written.

Literal nodes hold the runtime value of the literal (``Decimal``, ``date``,
``values.Duration``...). The parser only produces non-negative numeric
literals: ``-5`` is ``Unary("-", Number(5))``.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterator

from ..values import Duration, Percent

__all__ = [
    "Node",
    "Number",
    "Text",
    "Bool",
    "Null",
    "DateLit",
    "DateTimeLit",
    "DurationLit",
    "PercentLit",
    "MoneyLit",
    "Var",
    "Member",
    "Call",
    "ListExpr",
    "Unary",
    "Binary",
    "LITERALS",
    "UNARY_OPS",
    "BINARY_OPS",
    "COMPARISONS",
    "children",
    "walk",
    "depth",
]

UNARY_OPS = ("-", "not")
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in")
BINARY_OPS = ("or", "and") + COMPARISONS + ("+", "-", "*", "/")


# Offsets (``start``, ``length``, ``name_start``) are keyword-only and left out of ==, hash and repr.


@dataclass(frozen=True)
class Node:
    """Base class of expression nodes: ``start`` and ``length`` locate it in its text."""

    start: int = field(default=0, compare=False, hash=False, repr=False, kw_only=True)
    length: int = field(default=0, compare=False, hash=False, repr=False, kw_only=True)

    @property
    def end(self) -> int:
        return self.start + self.length


@dataclass(frozen=True)
class Number(Node):
    """A number literal: ``12``, ``12.5``."""

    value: Decimal


@dataclass(frozen=True)
class Text(Node):
    """A string literal."""

    value: str


@dataclass(frozen=True)
class Bool(Node):
    """``true`` or ``false``."""

    value: bool


@dataclass(frozen=True)
class Null(Node):
    """``null``."""


@dataclass(frozen=True)
class DateLit(Node):
    """A date literal: ``2026-03-01``."""

    value: _dt.date


@dataclass(frozen=True)
class DateTimeLit(Node):
    """A datetime literal. Naive when written without an offset (local to the policy
    timezone, resolved at run time); otherwise aware with a fixed offset."""

    value: _dt.datetime


@dataclass(frozen=True)
class DurationLit(Node):
    """A duration literal: ``3 days``, ``2 weeks``, ``5 business days``."""

    value: Duration


@dataclass(frozen=True)
class PercentLit(Node):
    """A percent literal: ``2.5%``."""

    value: Percent


@dataclass(frozen=True)
class MoneyLit(Node):
    """A money literal: ``19.90 USD``."""

    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Var(Node):
    """A variable (or segment) name."""

    name: str


@dataclass(frozen=True)
class Member(Node):
    """``obj.name``; ``name_start`` is the offset of ``name``."""

    obj: Node
    name: str
    name_start: int = field(default=0, compare=False, hash=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class Call(Node):
    """``name(arg, ...)``."""

    name: str
    args: tuple[Node, ...] = ()


@dataclass(frozen=True)
class ListExpr(Node):
    """``[item, ...]``."""

    items: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Unary(Node):
    """``-operand`` or ``not operand``."""

    op: str
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    """``left op right`` for op in BINARY_OPS (``not in`` is one operator)."""

    op: str
    left: Node
    right: Node


LITERALS = (Number, Text, Bool, Null, DateLit, DateTimeLit, DurationLit, PercentLit, MoneyLit)


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of a node, in source order."""
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Member):
        return (node.obj,)
    if isinstance(node, Call):
        return node.args
    if isinstance(node, ListExpr):
        return node.items
    return ()


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, parents before children (iterative)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(children(n)))


def depth(node: Node) -> int:
    """The nesting depth of a tree (a literal is 1), computed without recursion."""
    best = 0
    stack = [(node, 1)]
    while stack:
        n, d = stack.pop()
        best = max(best, d)
        stack.extend((c, d + 1) for c in children(n))
    return best
