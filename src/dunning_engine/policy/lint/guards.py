"""What the lint checks read from rules: guards as conjunctions of simple comparisons, timers
anchored at ``due`` or ``issued``, and positions to point at.

The analyses are conservative: a helper answers only when the policy text shows the answer (a
guard it cannot read is "anything", a timer it cannot anchor is "unknown").
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from ...errors import Location
from .. import ir

# goto words that name no state: the state before the current one, entered anew or resumed
GOTO_WORDS = ("previous", "return")

# A guard conjunct: (positive, expression node); ``unless`` parts are negated.
Atom = tuple[bool, Any]


def expr_loc(e: Any) -> Location | None:
    """Where expression ``e`` is written (its whole text), if known."""
    locate = getattr(e, "_locate", None)
    if locate is None:
        return None
    try:
        loc: Location = locate(0, max(1, len(e.text)))
        return loc
    except Exception:  # pragma: no cover - positions are best effort
        return None


def _conjuncts(node: Any) -> list[Any]:
    from ...expr import ast as A

    if isinstance(node, A.Binary) and node.op == "and":
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def guard_atoms(rule: ir.Rule) -> list[Atom]:
    """The guard as (positive, node) conjuncts: ``when`` parts positive, ``unless`` negated."""
    from ...expr import ast as A

    out: list[Atom] = []
    if rule.when is not None:
        out += [(True, n) for n in _conjuncts(rule.when.node)]
    if rule.unless is not None:
        u = rule.unless.node
        if isinstance(u, A.Unary) and u.op == "not":
            out += [(True, n) for n in _conjuncts(u.operand)]
        else:
            out.append((False, u))
    return out


def guard_keys(rule: ir.Rule) -> set[tuple[bool, str]]:
    """The guard's conjuncts as comparable text."""
    from ...expr.printer import unparse

    return {(pos, unparse(n)) for pos, n in guard_atoms(rule)}


def _path(node: Any) -> str | None:
    from ...expr import ast as A

    names = []
    while isinstance(node, A.Member):
        names.append(node.name)
        node = node.obj
    if isinstance(node, A.Var):
        return ".".join([node.name, *reversed(names)])
    return None


class _Null:
    def __repr__(self) -> str:
        return "null"


_NULL = _Null()


def _const(node: Any) -> Any:
    from ...expr import ast as A

    if isinstance(node, A.Number):
        return node.value
    if isinstance(node, A.MoneyLit):
        return node.amount
    if isinstance(node, A.Unary) and node.op == "-" and isinstance(node.operand, (A.Number, A.MoneyLit)):
        return -_const(node.operand)
    if isinstance(node, (A.Text, A.Bool)):
        return node.value
    if isinstance(node, A.Null):
        return _NULL
    return None


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_NEG = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


def atom(positive: bool, node: Any) -> tuple[str, str, Any] | None:
    """(variable path, operator, constant) for a comparison with a constant, or a bool variable."""
    from ...expr import ast as A

    if isinstance(node, A.Unary) and node.op == "not":
        return atom(not positive, node.operand)
    if isinstance(node, A.Binary) and node.op in _FLIP:
        op = node.op
        var, c = _path(node.left), _const(node.right)
        if var is None or c is None:
            var, c = _path(node.right), _const(node.left)
            op = _FLIP[op]
        if var is None or c is None:
            return None
        return (var, op if positive else _NEG[op], c)
    var = _path(node)
    if var is not None:
        return (var, "==", positive)
    return None


def unsatisfiable(atoms: list[Atom]) -> bool:
    """True when the conjunction of ``atoms`` can never hold (intervals and equalities per variable)."""
    by_var: dict[str, list[tuple[str, Any]]] = {}
    for pos, node in atoms:
        a = atom(pos, node)
        if a is not None:
            by_var.setdefault(a[0], []).append((a[1], a[2]))
    for cons in by_var.values():
        eqs = {repr(c) for op, c in cons if op == "=="}
        if len(eqs) > 1:
            return True
        nes = {repr(c) for op, c in cons if op == "!="}
        if eqs & nes:
            return True
        nums = [(op, Decimal(c)) for op, c in cons if isinstance(c, (Decimal, int)) and not isinstance(c, bool)]
        lo: Decimal | None = None
        hi: Decimal | None = None
        lo_in = hi_in = True
        for op, c in nums:
            if op in (">", ">=", "=="):
                inc = op != ">"
                if lo is None or c > lo or (c == lo and not inc):
                    lo, lo_in = c, inc
            if op in ("<", "<=", "=="):
                inc = op != "<"
                if hi is None or c < hi or (c == hi and not inc):
                    hi, hi_in = c, inc
        if lo is not None and hi is not None and (lo > hi or (lo == hi and not (lo_in and hi_in))):
            return True
    return False


_ANCHORS = {"due": "due", "invoice.due": "due", "issued": "issued", "invoice.issued": "issued"}


def anchored(expr: Any) -> tuple[str, int] | None:
    """``due ± N days`` (or issued) as (anchor, N), for fixed-day durations."""
    from ...expr import ast as A

    node = expr.node if hasattr(expr, "node") else expr
    p = _path(node)
    if p in _ANCHORS:
        return _ANCHORS[p], 0
    if isinstance(node, A.Binary) and node.op in ("+", "-"):
        base = anchored(node.left)
        if base is not None and isinstance(node.right, A.DurationLit):
            days = node.right.value.fixed_days
            if days is None:
                return None
            return base[0], base[1] + (days if node.op == "+" else -days)
    return None


def describe_trigger(rule: ir.Rule) -> str:
    try:
        from ..describe import format_trigger

        return format_trigger(rule.trigger) if rule.trigger is not None else "condition"
    except Exception:  # pragma: no cover
        return type(rule.trigger).__name__


def short(loc: Location | None) -> Location | None:
    """``loc`` underlining at most the rest of its line up to a comment (not a whole mapping)."""
    if loc is None or loc.source is None:
        return loc
    line = loc.source.line(loc.line)
    if line is None:
        return loc
    rest = line[loc.column - 1:]
    cut = rest.find(" #")
    if cut >= 0:
        rest = rest[:cut]
    n = len(rest.rstrip())
    return Location(loc.source, loc.line, loc.column, max(1, min(loc.length, n))) if n else loc


def segment_loc(policy: ir.Policy, name: str) -> Location | None:
    """The position of a segment's name (best effort: YAML 'segments:' block or DSL 'segment NAME:')."""
    src: Any = policy.source
    text = getattr(src, "text", None)
    if not text or not hasattr(src, "location"):
        return None
    block = re.search(r"(?m)^segments\s*:", text)
    if block is not None:
        m = re.compile(r"(?m)^\s+(" + re.escape(name) + r")\s*:").search(text, block.end())
    else:
        m = re.search(r"(?m)^\s*segment\s+(" + re.escape(name) + r")\s*:", text)
    if m is None:
        return None
    loc: Location = src.location(m.start(1), len(name))
    return loc
