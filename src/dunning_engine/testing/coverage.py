"""Rule coverage of a scenario suite (like ``opa test --coverage``).

For every policy the suite ran: which states were entered, which rules fired
and which actions were emitted, and which never were. Rules are counted by
name (an ``any_state`` rule counts once, whichever state it fired in);
actions are identified as ``<rule>.do[i]``, ``<state>.on_enter[i]`` and
``<state>.on_exit[i]``. An action that was reached but computed nothing (a
zero fee, say) is not emitted and counts as not covered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

__all__ = ["Coverage", "policy_inventory"]


def _where(loc) -> str | None:
    return str(loc) if loc is not None else None


def policy_inventory(policy) -> dict[str, list[dict]]:
    """The states, rules and actions of a policy, each with its position."""
    from ..policy.describe import format_action

    states = [{"name": s.name, "location": _where(s.location), "final": s.final} for s in policy.states]
    rules = []
    actions = []

    def add_actions(prefix: str, items, where: str) -> None:
        for i, a in enumerate(items):
            actions.append({"id": f"{prefix}[{i}]", "kind": a.kind, "text": format_action(a),
                            "location": _where(a.location), "in": where})

    for s in policy.states:
        add_actions(f"{s.name}.on_enter", s.on_enter, s.name)
        for r in s.rules:
            rules.append({"name": r.name, "state": s.name, "location": _where(r.location)})
            add_actions(f"{r.name}.do", r.do, s.name)
        add_actions(f"{s.name}.on_exit", s.on_exit, s.name)
    for r in policy.any_state:
        rules.append({"name": r.name, "state": "any_state", "location": _where(r.location)})
        add_actions(f"{r.name}.do", r.do, "any_state")
    return {"states": states, "rules": rules, "actions": actions}


@dataclass
class _PolicyCoverage:
    policy: Any
    path: str
    cases: int = 0
    fired: set[str] = field(default_factory=set)
    entered: set[str] = field(default_factory=set)
    emitted: set[str] = field(default_factory=set)


class Coverage:
    """Accumulates case results (``CaseResult``) and reports per policy."""

    def __init__(self) -> None:
        self._by_policy: dict[str, _PolicyCoverage] = {}

    def add(self, result) -> None:
        if result.policy is None or result.status == "error":
            return
        pc = self._by_policy.get(result.policy_path)
        if pc is None:
            pc = self._by_policy[result.policy_path] = _PolicyCoverage(result.policy, result.policy_path)
        pc.cases += 1
        pc.fired |= result.fired
        pc.entered |= result.entered
        pc.emitted |= result.emitted

    def extend(self, results: Iterable) -> "Coverage":
        for r in results:
            self.add(r)
        return self

    def report(self) -> list[dict]:
        """One entry per policy: totals, and every state, rule and action with ``covered``."""
        out = []
        for path in sorted(self._by_policy):
            pc = self._by_policy[path]
            inv = policy_inventory(pc.policy)
            for s in inv["states"]:
                s["covered"] = s["name"] in pc.entered
            for r in inv["rules"]:
                r["covered"] = r["name"] in pc.fired
            for a in inv["actions"]:
                a["covered"] = a["id"] in pc.emitted

            def total(items):
                n = len(items)
                c = sum(1 for x in items if x["covered"])
                return {"covered": c, "total": n, "percent": round(100.0 * c / n, 1) if n else 100.0}

            out.append({
                "policy": pc.policy.key, "path": path, "cases": pc.cases,
                "states": total(inv["states"]), "rules": total(inv["rules"]), "actions": total(inv["actions"]),
                "details": inv,
            })
        return out

    def render(self) -> str:
        lines = []
        for p in self.report():
            lines.append(f"coverage of {p['policy']} ({p['path']}), {p['cases']} case(s):")
            for key, label in (("states", "states entered"), ("rules", "rules fired"), ("actions", "actions emitted")):
                t = p[key]
                lines.append(f"  {label + ':':17} {t['covered']}/{t['total']} ({t['percent']:.0f}%)")
            d = p["details"]
            never = [s for s in d["states"] if not s["covered"]]
            if never:
                lines.append("  states never entered:")
                lines.extend(f"    {s['name']:<28} {s['location'] or ''}" for s in never)
            never = [r for r in d["rules"] if not r["covered"]]
            if never:
                lines.append("  rules that never fired:")
                lines.extend(f"    {r['name']:<28} {r['location'] or ''}" for r in never)
            never = [a for a in d["actions"] if not a["covered"]]
            if never:
                lines.append("  actions never emitted:")
                lines.extend(f"    {a['id']:<28} {a['text']:<40} {a['location'] or ''}" for a in never)
        return "\n".join(lines)
