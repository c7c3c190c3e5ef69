"""A case moved from one version of its policy to another (``dunning migrate``, SPEC §8).

The case keeps its entry time, ledgers, counters, queued events, promise, plan and deferred actions;
it goes to the state of the same name (or the one ``--map`` names), and the new version's timers of
that state are armed at the migration instant: from the entry time (``after``, ``every``) or their
data (``at``). A timer whose time has already passed is dropped, unless ``catch_up`` (it then fires at
the migration instant); an ``every`` series goes on from its next tick. Condition rules are evaluated
afresh at the migration instant. Entries the case left for a ``goto: return`` are forgotten: they
belong to the old version's rules. Pure: no I/O.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from .case import TIMER_ORDER, Case, Timer
from .clock import NEVER
from .context import Ctx
from .snapshot import decode_case

if TYPE_CHECKING:
    from ..records import Customer
    from .core import Engine

__all__ = ["migrated_case"]

_EVERY_TICKS = 100_000  # ticks of an 'every' series walked to reach the migration instant, at most


def migrated_case(engine: Engine, doc: dict, mapping: dict[str, str], t: int, catch_up: bool,
                  customer: Customer, unchanged: frozenset[str] = frozenset()) -> tuple[Case, list[tuple[int, dict]]]:
    """The case of snapshot ``doc`` (written under the old version) in ``engine`` (the new one), moved
    at instant ``t``: states renamed through ``mapping`` (every state of the snapshot must be in it).
    A case whose state, and every state it may return to, is in ``unchanged`` (the same in both
    versions) keeps its timers, conditions, firings and paused entries exactly as they were."""
    kept = [doc["state"], doc["previous"]] + [f["state"] for f in doc["back"]] + [f["previous"] for f in doc["back"]]
    if doc["state"] is not None and all(s is None or s in unchanged for s in kept):
        return decode_case(engine, doc, customer)
    d = copy.deepcopy(doc)
    d["state"] = mapping.get(d["state"], d["state"]) if d["state"] is not None else None
    d["previous"] = mapping.get(d["previous"]) if d["previous"] is not None else None
    entries = d["entries"]
    if "counts" in entries:
        counts: dict[str, int] = {}
        for name, n in entries["counts"].items():
            if name in mapping:
                counts[mapping[name]] = counts.get(mapping[name], 0) + n
        d["entries"] = {"counts": counts} if any(n > 1 for n in counts.values()) else {"once": sorted(counts)}
    else:
        d["entries"] = {"once": sorted({mapping[n] for n in entries["once"] if n in mapping})}
    conds, fired = d["conds"], d["fired"]
    d["timers"], d["conds"], d["fired"], d["back"] = None, None, None, []
    case, deferred = decode_case(engine, d, customer)
    if case.state >= 0 and not case.failed and not case.closed:
        _arm(engine, case, t, catch_up)
        cs = engine.cp.states[case.state]
        # A state with as many rules (and condition rules) as before keeps their firing counts (the
        # keys' occurrences) and the last values of its conditions: a condition that held before the
        # migration does not fire again. Otherwise they start afresh.
        if fired is not None and all(0 <= order < len(cs.rules) for order, _ in fired):
            case.fired = {order: n for order, n in fired}
        if conds is not None and cs.conds and len(conds) == len(cs.conds):
            case.conds = list(conds)
    return case, deferred


def _arm(engine: Engine, case: Case, t: int, catch_up: bool) -> None:
    machine = engine._machine
    cs = engine.cp.states[case.state]
    case.gen += 1
    if cs.final:
        case.timers, case.conds, case.cond_wake = (), (), NEVER
        return
    case.timers = []
    if cs.timers:
        ctx = Ctx(engine._rt, case, t)
        for cr in cs.timers:
            machine.arm(case, cr, t, ctx, occurrence=1)
        armed_list: list[Timer] = list(case.timers)
        kept = []
        for timer in armed_list:
            if timer.time < t and not catch_up:
                if timer.rule.kind != "every":
                    continue  # its time has passed: dropped
                n, base = timer.occurrence, timer.time
                nxt: Timer | None = timer
                for _ in range(_EVERY_TICKS):
                    scratch: list[Timer] = []
                    case.timers = scratch
                    machine.arm(case, timer.rule, t, None, n + 1, base=base)
                    if not scratch:  # the series ended ('max')
                        nxt = None
                        break
                    nxt = scratch.pop()
                    n += 1
                    if nxt.time >= t:
                        break
                if nxt is None or nxt.time < t:
                    continue
                timer = nxt
            kept.append(timer)
        kept.sort(key=TIMER_ORDER)
        case.timers = kept
    else:
        case.timers = ()
    case.conds = [False] * len(cs.conds) if cs.conds else ()
    case.cond_wake = t if cs.conds else NEVER  # evaluated afresh when the engine wakes the case at t
