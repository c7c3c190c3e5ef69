"""Lint check of rules that never run because an earlier rule of their state always wins (DL003)."""

from __future__ import annotations

from .. import ir
from .base import Lint
from .guards import describe_trigger, guard_keys


def same_trigger(r1: ir.Rule, r2: ir.Rule) -> bool:
    """True when ``r1`` fires whenever ``r2`` does (``on`` rules: ``r2``'s events are among ``r1``'s)."""
    t1, t2 = r1.trigger, r2.trigger
    if t1 is None or t2 is None:
        return t1 is None and t2 is None
    if isinstance(t1, ir.On) and isinstance(t2, ir.On):
        return set(t2.events) <= set(t1.events)
    if type(t1) is not type(t2):
        return False
    if isinstance(t1, ir.At) and isinstance(t2, ir.At):
        return t1.expr == t2.expr
    return t1 == t2


def shadowed(lint: Lint) -> None:
    """DL003: a rule after one with the same trigger, a weaker (or no) guard and a goto."""
    done: set[tuple[str, str]] = set()
    for s in lint.live:
        rules = lint.rules_of(s)
        for j, r2 in enumerate(rules):
            for r1 in rules[:j]:
                if r1.goto is None or r1.expires is not None or (r1.name, r2.name) in done:
                    continue
                if not same_trigger(r1, r2):
                    continue
                if not guard_keys(r1) <= guard_keys(r2):
                    continue
                done.add((r1.name, r2.name))
                where = "" if r1 in lint.p.any_state and r2 in lint.p.any_state else f" in state '{s.name}'"
                guard = "no guard" if not guard_keys(r1) else "a guard that holds whenever its own does"
                lint.add(f"rule '{r2.name}' never runs{where}: rule '{r1.name}' before it has the same trigger "
                         f"({describe_trigger(r2)}), {guard}, and goes to '{r1.goto}'",
                         r2.location, f"put the more specific rule first, or give '{r1.name}' a stricter guard",
                         code="DL003")
                break
