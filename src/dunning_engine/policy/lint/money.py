"""Lint check of money actions: a fee that can be charged before any reminder was sent (DL006)."""

from __future__ import annotations

from decimal import Decimal
from typing import Iterable

from .. import ir
from .base import Lint
from .guards import GOTO_WORDS, atom, guard_atoms


def _needs_a_reminder(rule: ir.Rule) -> bool:
    """True when the rule's guard says a reminder was sent (``reminders > 0`` or the like)."""
    for pos, node in guard_atoms(rule):
        a = atom(pos, node)
        if a is not None and a[0] == "reminders" and a[1] in (">", ">=", "==") and isinstance(a[2], Decimal) \
                and (a[2] > 0 or (a[1] == ">" and a[2] >= 0)):
            return True
    return False


def fees_before_reminders(lint: Lint) -> None:
    """DL006: walk the gotos from the initial state while no reminder was certainly sent."""
    p = lint.p
    # unreminded[s]: the path by which s can be entered with no reminder sent so far
    unreminded: dict[str, list[str]] = {p.initial_state.name: [p.initial_state.name]}
    todo = [p.initial_state.name]
    flagged: set[int] = set()

    def scan(actions: Iterable[ir.Action], path: list[str], where: str) -> bool:
        """Flag fees before the first reminder; True if a reminder was certainly sent."""
        for a in actions:
            if a.kind == "remind":
                return True
            if a.kind == "fee" and id(a) not in flagged:
                flagged.add(id(a))
                lint.add(f"fee {where} can be charged before any reminder was sent "
                         f"(path: {' -> '.join(path)})", a.location,
                         "send a reminder first (e.g. in on_enter), or guard the rule with 'reminders > 0'",
                         code="DL006")
        return False

    while todo:
        name = todo.pop(0)
        s = p.state(name)
        path = unreminded[name]
        if scan(s.on_enter, path, f"in on_enter of '{name}'"):
            continue
        if s.final:
            continue
        for r in lint.rules_of(s):
            if _needs_a_reminder(r):
                continue
            sent = scan(r.do, path, f"in rule '{r.name}'")
            if sent or not r.goto or r.goto in GOTO_WORDS:
                continue
            if any(a.kind == "remind" for a in s.on_exit):
                continue
            if r.goto not in unreminded:
                unreminded[r.goto] = path + [r.goto]
                todo.append(r.goto)
