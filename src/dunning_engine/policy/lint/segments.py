"""Lint check of segments: a segment no expression uses (DL007)."""

from __future__ import annotations

from typing import Any, Iterable

from .. import ir
from .base import Lint
from .guards import expr_loc, segment_loc


def unused_segments(lint: Lint) -> None:
    """DL007."""
    p = lint.p
    if not p.segments:
        return
    used: set[str] = set()

    def take(e: Any) -> None:
        if e is not None and hasattr(e, "variables"):
            used.update(v.split(".")[0] for v in e.variables)

    def take_actions(actions: Iterable[ir.Action]) -> None:
        for a in actions:
            for _, v in a.params:
                if isinstance(v, tuple):
                    for item in v:
                        if isinstance(item, tuple) and len(item) == 2:
                            take(item[1])
                else:
                    take(v)

    rules = [r for s in p.states for r in s.rules] + list(p.any_state)
    for r in rules:
        take(r.when)
        take(r.unless)
        if isinstance(r.trigger, ir.At):
            take(r.trigger.expr)
        if isinstance(r.trigger, ir.Every):
            take(r.trigger.starting)
        take_actions(r.do)
    for s in p.states:
        take_actions(s.on_enter)
        take_actions(s.on_exit)
    for name, e in p.segments:
        vs = {v.split(".")[0] for v in e.variables}
        used.update(vs - {name})
    for _, e in getattr(p, "invariants", ()):
        take(e)
    for name, e in p.segments:
        if name not in used:
            lint.add(f"segment '{name}' is never used", segment_loc(p, name) or expr_loc(e),
                     "use it in a guard (when: " + name + "), or remove it", code="DL007")
