"""Lint check of rules that never run because an earlier rule of their state always wins (DL003)."""

from __future__ import annotations

from .. import ir
from .base import Lint
from .guards import describe_trigger


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
    """DL003: a rule after one with the same trigger, a weaker (or no) guard and a goto.

    Each rule is reported once, naming the first rule that shadows it: an ``any_state`` rule once
    for the policy (for each distinct set of ``any_state`` rules that ``except`` leaves), a state's
    own rule once. The cost grows with the number of rules times the ``any_state`` rules that share
    their trigger, not with states times rules squared (a 200 x 200 policy took minutes)."""
    shadows = _Shadows(lint)
    shared_done: set[int] = set()
    for s in lint.live:
        shared, own = lint.p.shared_rules(s.name), s.rules
        if id(shared) not in shared_done:
            shared_done.add(id(shared))
            index = _Index()
            for r2 in shared:
                r1 = shadows.first(r2, index, ())
                if r1 is not None and shadows.report(r1, r2):
                    _add(lint, r1, r2, "")
                index.add(r2, shadows)
            shadows.indexes[id(shared)] = index
        index = shadows.indexes[id(shared)]
        for j, r2 in enumerate(own):
            r1 = shadows.first(r2, index, own[:j])
            if r1 is not None and shadows.report(r1, r2):
                _add(lint, r1, r2, f" in state '{s.name}'")


def _add(lint: Lint, r1: ir.Rule, r2: ir.Rule, where: str) -> None:
    guard = "no guard" if not lint.guard_keys(r1) else "a guard that holds whenever its own does"
    lint.add(f"rule '{r2.name}' never runs{where}: rule '{r1.name}' before it has the same trigger "
             f"({describe_trigger(r2)}), {guard}, and goes to '{r1.goto}'",
             r2.location, f"put the more specific rule first, or give '{r1.name}' a stricter guard",
             code="DL003")


def _bucket(trigger: object) -> object:
    """Rules that can shadow one another share a bucket (an ``on`` rule is in one per event)."""
    return None if trigger is None else type(trigger).__name__


class _Index:
    """The rules that can shadow a later rule (a goto, no ``expires``), by bucket, in order."""

    def __init__(self) -> None:
        self.buckets: dict[object, list[tuple[int, ir.Rule]]] = {}
        self.count = 0

    def add(self, rule: ir.Rule, shadows: _Shadows) -> None:
        self.count += 1
        if rule.goto is None or rule.expires is not None:
            return
        t = rule.trigger
        keys = [("on", e) for e in dict.fromkeys(t.events)] if isinstance(t, ir.On) else [_bucket(t)]
        for key in keys:
            self.buckets.setdefault(key, []).append((self.count, rule))

    def candidates(self, rule: ir.Rule) -> list[tuple[int, ir.Rule]]:
        t = rule.trigger
        if isinstance(t, ir.On):
            return self.buckets.get(("on", t.events[0]), []) if t.events else []
        return self.buckets.get(_bucket(t), [])


class _Shadows:
    """The rules already reported, and the index of each set of ``any_state`` rules."""

    def __init__(self, lint: Lint) -> None:
        self.guard = lint.guard_keys
        self.indexes: dict[int, _Index] = {}
        self.reported: set[int] = set()

    def shadows(self, r1: ir.Rule, r2: ir.Rule) -> bool:
        return (r1.goto is not None and r1.expires is None and same_trigger(r1, r2)
                and self.guard(r1) <= self.guard(r2))

    def first(self, r2: ir.Rule, index: _Index, before: tuple[ir.Rule, ...]) -> ir.Rule | None:
        """The first rule before ``r2`` that shadows it: among the indexed rules, then ``before``."""
        for _, r1 in index.candidates(r2):
            if self.shadows(r1, r2):
                return r1
        for r1 in before:
            if self.shadows(r1, r2):
                return r1
        return None

    def report(self, r1: ir.Rule, r2: ir.Rule) -> bool:
        """True the first time ``r2`` is found shadowed (an ``any_state`` rule is in many states)."""
        if id(r2) in self.reported:
            return False
        self.reported.add(id(r2))
        return True
