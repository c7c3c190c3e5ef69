"""What every lint check shares: the policy, the findings so far, and the states a goto leads to."""

from __future__ import annotations

from ...codes import CODES
from ...errors import Diagnostic, Location
from .. import ir
from .guards import GOTO_WORDS, guard_keys, short


class Lint:
    """One lint run over ``policy``: each check reads it and calls :meth:`add`."""

    def __init__(self, policy: ir.Policy) -> None:
        self.p = policy
        self.findings: list[Diagnostic] = []
        self.live = [s for s in policy.states if not s.final]
        self._before: dict[str, list[str]] | None = None
        self._guards: dict[int, frozenset[tuple[bool, str]]] = {}
        self.shared_ids = frozenset(id(r) for r in policy.any_state)

    def guard_keys(self, rule: ir.Rule) -> frozenset[tuple[bool, str]]:
        """:func:`guards.guard_keys` of ``rule``, computed once per rule (checks ask for it per state)."""
        keys = self._guards.get(id(rule))
        if keys is None:
            keys = self._guards[id(rule)] = frozenset(guard_keys(rule))
        return keys

    def add(self, message: str, location: Location | None, help: str | None = None, *, code: str) -> None:
        """A finding of ``code`` (its severity is the registry's)."""
        self.findings.append(Diagnostic(code, message, CODES[code].severity, short(location), help))

    def rules_of(self, state: ir.State) -> tuple[ir.Rule, ...]:
        return self.p.rules_of(state.name)

    def targets(self, state: str, rule: ir.Rule) -> list[str]:
        """The states ``rule`` of ``state`` can lead to: its goto, or for ``previous``/``return`` (the state
        before) any state that can reach ``state``."""
        if not rule.goto:
            return []
        if rule.goto not in GOTO_WORDS:
            return [rule.goto]
        if self._before is None:
            leads: dict[str, set[str]] = {}
            for s in self.live:
                for r in self.rules_of(s):
                    if r.goto and r.goto not in GOTO_WORDS:
                        leads.setdefault(r.goto, set()).add(s.name)
            self._before = {}
            for name in (s.name for s in self.p.states):
                found: set[str] = set()
                todo = [name]
                while todo:
                    for b in leads.get(todo.pop(), ()):
                        if b not in found:
                            found.add(b)
                            todo.append(b)
                self._before[name] = sorted(found)
        return self._before[state]
