"""When can a clock-dependent guard change? (SPEC §5: "woken exactly when it can turn true")

A condition rule such as ``when: days_overdue >= 30`` changes value only
because time passes. Rather than re-evaluating it every day, the engine finds
the instants at which it *can* change and evaluates it only there:

1. Every comparison in the guard (and in the segments it reads) that involves
   a clock variable is an *atom* ``L op R``. Between *breakpoints* — the days
   on which one of the case's invoices becomes overdue, which bend the
   customer-scope aggregates — ``L - R`` is a linear function of time
   (``today``, ``days_overdue`` and friends move one day per day; ``now`` one
   second per second). Two probes give its slope, and its root is where the
   atom can flip.
2. The candidate instants are those roots (the day of the root and the day
   after, at ``send_at``; for ``now``-based atoms the exact second), and the
   breakpoints themselves.
3. The guard is evaluated at each candidate in time order; the first one at
   which any rule's guard differs from its current value is the wake-up.

So the cost is a handful of evaluations per change of the case, whatever the
horizon. Atoms that are not linear in time between breakpoints (for example
``round(days_overdue / 7) == 2``) are handled by the same secant estimate and
may be caught late; ``dunning lint`` is the place to flag them.
"""

from __future__ import annotations

import datetime as _dt
import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterator

from ..expr import ast as A
from ..values import Money
from .clock import LAST_DAY, NEVER
from .compiled import CLOCK_VARIABLES
from .context import Ctx

if TYPE_CHECKING:
    from .case import Case
    from .compiled import CRule
    from .runtime import Runtime

__all__ = ["next_change", "clock_atoms"]

_MAX_CANDIDATES = 512


def _reads_clock(expr, node: A.Node, segments: dict) -> bool:
    for sub in A.walk(node):
        if isinstance(sub, A.Var):
            if sub.name in CLOCK_VARIABLES:
                return True
            seg = segments.get(sub.name)
            if seg is not None and _reads_clock(seg, seg.node, segments):
                return True
    return False


def clock_atoms(expr, segments: dict, seen: set | None = None) -> Iterator[tuple[Any, Any]]:
    """Pairs of closures (left, right) of the clock-dependent comparisons in ``expr`` and its segments."""
    seen = set() if seen is None else seen
    for node in A.walk(expr.node):
        if isinstance(node, A.Var) and node.name in segments and node.name not in seen:
            seen.add(node.name)
            yield from clock_atoms(segments[node.name], segments, seen)
        if isinstance(node, A.Binary) and node.op in A.COMPARISONS and _reads_clock(expr, node, segments):
            if node.op in ("in", "not in") and isinstance(node.right, A.ListExpr):
                left = expr.part(node.left)
                for item in node.right.items:
                    yield left, expr.part(item)
            elif node.op not in ("in", "not in"):
                yield expr.part(node.left), expr.part(node.right)


def _diff(lv: Any, rv: Any) -> tuple[Decimal | None, bool]:
    """(L - R as a number of days or plain number, whether it moves by the second)."""
    if lv is None or rv is None:
        return None, False
    if isinstance(lv, _dt.datetime) and isinstance(rv, _dt.datetime):
        return Decimal((lv - rv).total_seconds()) / 86400, True
    if isinstance(lv, _dt.date) and isinstance(rv, _dt.date) and not isinstance(lv, _dt.datetime):
        return Decimal((lv - rv).days), False
    if isinstance(lv, Money) and isinstance(rv, Money):
        return lv.amount - rv.amount, False
    if isinstance(lv, (int, Decimal)) and isinstance(rv, (int, Decimal)) and not isinstance(lv, bool):
        return Decimal(lv) - Decimal(rv), False
    return None, False


def _atoms(rt: Runtime, rules: list[tuple[int, CRule]]) -> list:
    cache = rt.atom_cache
    out = []
    for _, cr in rules:
        atoms = cache.get(cr)
        if atoms is None:
            atoms = []
            for e in (cr.when, cr.unless):
                if e is not None:
                    atoms.extend(clock_atoms(e, rt.cp.segments))
            cache[cr] = atoms
        out.extend(atoms)
    return out


def _value(fn, ctx):
    try:
        return fn(ctx)
    except Exception:
        return None


def next_change(rt: Runtime, case: Case, t: int, rules: list[tuple[int, CRule]]) -> int:
    """The earliest instant after ``t`` at which one of ``rules`` (index, CRule) may change value, or NEVER."""
    clock = rt.clock
    today = clock.date(t)
    first = today + _dt.timedelta(days=1)
    breaks = sorted({led.invoice.due + _dt.timedelta(days=1) for led in case.ledgers.values()
                     if led.invoice.due + _dt.timedelta(days=1) > first})
    starts = [first] + breaks
    candidates: set[int] = {clock.send_time(d) for d in starts}
    atoms = _atoms(rt, rules)
    horizon = lambda d0: (LAST_DAY - d0).days + 1  # noqa: E731
    for d0 in starts:
        p0, p1 = clock.send_time(d0), clock.send_time(d0 + _dt.timedelta(days=1))
        c0, c1 = Ctx(rt, case, p0), Ctx(rt, case, p1)
        for left, right in atoms:
            f0, by_second = _diff(_value(left, c0), _value(right, c0))
            f1, _ = _diff(_value(left, c1), _value(right, c1))
            if f0 is None or f1 is None:
                continue
            slope = f1 - f0
            if slope == 0:
                continue
            if by_second:
                # 'now'-based: the difference moves with real elapsed seconds, and the two probes are
                # send_at on consecutive days, 23 or 25 hours apart across a DST change.
                per_second = slope / (p1 - p0)
                at = p0 + int(math.ceil(-f0 / per_second))
                if t < at <= clock.high:
                    candidates.update((at, at + 1))
                continue
            root = -f0 / slope  # in days after d0
            k = math.floor(root)
            for j in (k, k + 1):
                if 0 <= j <= horizon(d0):  # beyond the years the engine holds a guard cannot change
                    candidates.add(clock.send_time(d0 + _dt.timedelta(days=j)))
    current = case.conds
    for c in sorted(x for x in candidates if x > t)[:_MAX_CANDIDATES]:
        ctx = Ctx(rt, case, c)
        for i, cr in rules:
            if cr.guard(ctx) != current[i]:
                return c
    return NEVER
