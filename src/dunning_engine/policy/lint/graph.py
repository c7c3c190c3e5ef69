"""Lint checks of the state graph: unreachable states (DL001), states with no way out (DL002) and
condition rules that loop at one instant (DL005)."""

from __future__ import annotations

from .. import ir
from .base import Lint
from .guards import GOTO_WORDS, guard_atoms, unsatisfiable


def reachability(lint: Lint) -> None:
    """DL001 and DL002."""
    p = lint.p
    first = p.initial_state.name
    seen = {first}
    todo = [first]
    while todo:
        s = p.state(todo.pop())
        for r in p.rules_of(s.name):
            for target in lint.targets(s.name, r):
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
    for s in p.states:
        if s.name not in seen:
            lint.add(f"state '{s.name}' is unreachable: no goto leads to it from '{first}'",
                     s.location, "add a rule with 'goto: " + s.name + "', or remove the state", code="DL001")
    for s in lint.live:
        if s.name in seen and not any(r.goto for r in lint.rules_of(s)):
            lint.add(f"state '{s.name}' is not final and has no way out: a case that enters it stays forever",
                     s.location, "mark it 'final: true', or add a rule with a goto (e.g. on payment when balance <= 0)",
                     code="DL002")


def condition_loops(lint: Lint) -> None:
    """DL005: condition rules whose gotos form a cycle, unless their guards provably exclude each other."""
    edges: dict[str, list[ir.Rule]] = {}
    for s in lint.live:
        for r in lint.rules_of(s):
            if r.trigger is None and r.goto and r.goto not in GOTO_WORDS:
                edges.setdefault(s.name, []).append(r)
    cycles: list[list[tuple[str, ir.Rule]]] = []
    names = [s.name for s in lint.live]

    def dfs(start: str, node: str, path: list[tuple[str, ir.Rule]], on_path: set[str]) -> None:
        if len(cycles) > 200:
            return
        for r in edges.get(node, ()):
            nxt = r.goto
            assert nxt is not None
            if nxt == start:
                cycles.append(path + [(node, r)])
            elif nxt not in on_path and nxt in names and names.index(nxt) > names.index(start):
                dfs(start, nxt, path + [(node, r)], on_path | {nxt})

    for n in names:
        dfs(n, n, [], {n})
    reported: set[frozenset[str]] = set()
    for cyc in cycles:
        atoms = [a for _, r in cyc for a in guard_atoms(r)]
        if unsatisfiable(atoms):
            continue
        key = frozenset(r.name for _, r in cyc)
        if key in reported:
            continue
        reported.add(key)
        states = " -> ".join([s for s, _ in cyc] + [cyc[0][0]])
        rules = ", ".join(f"'{r.name}'" for _, r in cyc)
        first = min((r for _, r in cyc),
                    key=lambda r: (r.location.line, r.location.column) if r.location else (1 << 30, 0))
        lint.add(f"condition rules loop at one instant: {states} (rules {rules}); when their guards "
                 "hold together, a case goes round until the chain limit and fails",
                 first.location,
                 "make the guards exclude each other (e.g. 'balance > 0' / 'balance <= 0'), or wait for "
                 "an event or a timer on the way", code="DL005")
