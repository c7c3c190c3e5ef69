"""``dunning lint``: find likely mistakes in a valid policy.

The checks read only the IR (``ir.Policy``), so they work the same on both
policy forms, and each finding is a :class:`~dunning_engine.errors.Diagnostic`
that points at the place in the file.

====== ===================== ======== ==============================================================
code   name                  severity finds (module)
====== ===================== ======== ==============================================================
DL001  unreachable-state     warning  a state no chain of gotos leads to from the initial state (graph)
DL002  dead-end-state        warning  a non-final state with no rule that leaves it (graph)
DL003  shadowed-rule         warning  a rule that never runs: an earlier rule of its state has the
                                      same trigger, a weaker (or no) guard and a goto (shadowing)
DL004  late-timer            warning  an ``at`` timer that is always past when its state is entered
                                      (it fires late, at entry, or never with ``expires``), or a timer
                                      that an earlier unguarded timer with a goto always pre-empts
                                      (timers)
DL005  condition-loop        error    condition rules whose gotos form a cycle with no clock or event
                                      in between, and whose guards can all hold at once (graph)
DL006  fee-before-reminder   warning  a fee that can be charged before any reminder was sent (money)
DL007  unused-segment        warning  a segment no expression uses (segments)
====== ===================== ======== ==============================================================

The codes, names and severities are those of the registry (:mod:`dunning_engine.codes`).
"Templates never used" needs a list of the templates that exist, which
policies do not have; it is not checked.

The analyses are conservative about what they claim: a finding is made only
when the policy text shows it (for example, a guard counts as weaker only
when its conditions are a subset of the other's, and a loop is reported
unless the guards on it provably exclude each other).
"""

from __future__ import annotations

from typing import Callable, Iterable

from ...codes import CODES as _REGISTRY
from ...errors import Diagnostic
from .. import ir
from .base import Lint
from .graph import condition_loops, reachability
from .money import fees_before_reminders
from .segments import unused_segments
from .shadowing import shadowed
from .timers import timers

__all__ = ["Finding", "CODES", "lint_policy"]

# A lint finding is a Diagnostic (code DL001...).
Finding = Diagnostic

# code -> (name, severity, meaning), read from the registry
CODES: dict[str, tuple[str, str, str]] = {
    code: (entry.name or code, entry.severity, entry.meaning)
    for code, entry in _REGISTRY.items() if code.startswith("DL")
}

# In the order they run (findings are sorted afterwards; ties keep this order).
CHECKS: tuple[Callable[[Lint], None], ...] = (
    reachability, shadowed, timers, condition_loops, fees_before_reminders, unused_segments,
)


def lint_policy(policy: ir.Policy, *, ignore: Iterable[str] = ()) -> list[Diagnostic]:
    """Every finding for ``policy``, in file order (findings without a position last); ``ignore``
    leaves out findings by code (``DL003``) or name (``shadowed-rule``)."""
    if not policy.states or not any(s.initial for s in policy.states):
        return []
    lint = Lint(policy)
    for check in CHECKS:
        check(lint)
    skip = {c.lower() for c in ignore}
    findings = [f for f in lint.findings if f.code.lower() not in skip and CODES[f.code][0] not in skip]
    return sorted(findings, key=lambda f: ((f.location.line, f.location.column) if f.location else (1 << 30, 0),
                                           f.code))
