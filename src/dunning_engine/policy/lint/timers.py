"""Lint check of timers (DL004): an ``at`` timer that is always past when its state is entered (it
fires late, at entry, or never with ``expires``), and a timer that an earlier unguarded timer with a
goto always pre-empts.

When a state can be entered is bounded from below by walking the gotos from the initial state:
``{anchor: days}`` means "not before anchor + days" (anchors ``issued``, ``due`` and, for timers
counted from the state's own entry, ``entered``).
"""

from __future__ import annotations

from decimal import Decimal

from .. import ir
from .base import Lint
from .guards import GOTO_WORDS, anchored, atom, describe_trigger, expr_loc, guard_atoms
from .shadowing import same_trigger

Bound = dict[str, int]


def entry_bounds(lint: Lint) -> dict[str, Bound]:
    """For each state, lower bounds of when it can be entered: {anchor: days} (time >= anchor + days)."""
    p = lint.p
    bounds: dict[str, Bound | None] = {s.name: None for s in p.states}  # None: not reached (yet)
    start = {"issued": 0}
    bounds[p.initial_state.name] = dict(start)
    for _ in range(4 * len(p.states) + 4):
        incoming: dict[str, list[Bound]] = {s.name: [] for s in p.states}
        incoming[p.initial_state.name].append(start)
        for s in lint.live:
            b = bounds[s.name]
            if b is None:
                continue
            for r in lint.rules_of(s):
                if not r.goto or r.goto in GOTO_WORDS:  # the state before was entered earlier
                    continue
                incoming[r.goto].append(_fire_bound(r, b))
        new: dict[str, Bound | None] = {}
        for name, ins in incoming.items():
            if not ins:
                new[name] = None
                continue
            keys = set.intersection(*(set(x) for x in ins))
            new[name] = {k: min(x[k] for x in ins) for k in keys}
        if new == bounds:
            break
        bounds = new
    return {k: v for k, v in bounds.items() if v is not None}


def _fire_bound(r: ir.Rule, entry: Bound) -> Bound:
    b = dict(entry)
    t = r.trigger
    if isinstance(t, (ir.After, ir.Every)):
        d = t.duration.fixed_days
        start = anchored(t.starting) if isinstance(t, ir.Every) and t.starting is not None else None
        if start is not None:
            b[start[0]] = max(b.get(start[0], start[1]), start[1])
        elif d is not None:
            b = {k: v + d for k, v in b.items()}
    elif isinstance(t, ir.At):
        a = anchored(t.expr)
        if a is not None:
            b[a[0]] = max(b.get(a[0], a[1]), a[1])
    # A clock guard 'days_overdue >= N' cannot hold before due + N.
    for pos, node in guard_atoms(r):
        found = atom(pos, node)
        if found and found[0] == "days_overdue" and found[1] in (">=", ">", "==") and isinstance(found[2], Decimal):
            n = int(found[2]) + (1 if found[1] == ">" else 0)
            b["due"] = max(b.get("due", n), n)
    if "due" in b:  # due >= issued
        b["issued"] = max(b.get("issued", b["due"]), b["due"])
    return b


def _timer_key(r: ir.Rule) -> tuple[str, int] | None:
    t = r.trigger
    if isinstance(t, ir.At):
        return anchored(t.expr)
    if isinstance(t, ir.After) and t.duration.fixed_days is not None:
        return ("entered", t.duration.fixed_days)
    if isinstance(t, ir.Every) and t.starting is None and t.duration.fixed_days is not None:
        return ("entered", t.duration.fixed_days)
    return None


def timers(lint: Lint) -> None:
    """DL004. A finding about an ``any_state`` rule is reported once, for the first state it holds in,
    with the number of other states it holds in: the same rule in every state would otherwise be a
    finding per state (a policy of 3,000 states and 3,000 such rules: nine million lines)."""
    bounds = entry_bounds(lint)
    keys: dict[int, tuple[str, int] | None] = {}

    def key(r: ir.Rule) -> tuple[str, int] | None:
        k = keys.get(id(r), False)
        if k is False:
            k = keys[id(r)] = _timer_key(r)
        return k  # type: ignore[return-value]

    shared: dict[tuple[str, int], list] = {}  # (what, id(rule)) -> [first finding's add() arguments, count]

    def add(r: ir.Rule, what: str, args: tuple, kw: dict) -> None:
        if id(r) not in lint.shared_ids:
            lint.add(*args, **kw)
            return
        found = shared.get((what, id(r)))
        if found is None:
            shared[(what, id(r))] = [args, kw, 1]
        else:
            found[2] += 1

    for s in lint.live:
        rules = lint.rules_of(s)
        reported = _late_timers(s, rules, bounds.get(s.name), key, add)
        _preempted_timers(lint, s, rules, reported, key, add)
    for args, kw, count in shared.values():
        message, *rest = args
        if count > 1:
            head, _, tail = message.partition(": ")
            message = f"{head} (and in {count - 1} other state{'s' if count > 2 else ''}): {tail}"
        lint.add(message, *rest, **kw)


def _late_timers(s: ir.State, rules: tuple[ir.Rule, ...], entry: Bound | None, key, add) -> set[str]:
    """``at`` timers always past when ``s`` is entered; the names of their rules."""
    reported: set[str] = set()
    if entry is None:
        return reported
    for r in rules:
        if not isinstance(r.trigger, ir.At):
            continue
        a = key(r)
        if a is None or a[0] not in entry or a[1] >= entry[a[0]]:
            continue
        late = entry[a[0]] - a[1]
        at_text = r.trigger.expr.canonical
        first = f"{a[0]} + {entry[a[0]]} day(s)" if entry[a[0]] >= 0 else f"{a[0]} - {-entry[a[0]]} day(s)"
        exp = r.expires.fixed_days if r.expires is not None else None
        reported.add(r.name)
        if exp is not None and late > exp:
            add(r, "late", (f"timer 'at {at_text}' of rule '{r.name}' never fires: state '{s.name}' is "
                            f"entered at {first} at the earliest, {late} day(s) late, and 'expires: {r.expires}' "
                            "drops it", expr_loc(r.trigger.expr) or r.location,
                            "move the rule to a state that is active at that time, or remove it"),
                {"code": "DL004"})
        else:
            add(r, "late", (f"timer 'at {at_text}' of rule '{r.name}' is always late: state '{s.name}' is "
                            f"entered at {first} at the earliest, so it fires at entry (catch-up), not at its time",
                            expr_loc(r.trigger.expr) or r.location,
                            "move the rule to the state that is active at that time, or add 'expires:' to drop it"),
                {"code": "DL004"})
    return reported


def _preempted_timers(lint: Lint, s: ir.State, rules: tuple[ir.Rule, ...], reported: set[str], key, add) -> None:
    """Timers pre-empted by an earlier unguarded timer with a goto (not those already reported)."""
    # Two any_state rules are not compared (a finding of every state): an any_state r1 is compared
    # with the state's own rules only, so the cost is the rules times the state's own ones.
    keys = [key(r) for r in rules]
    shared = lint.shared_ids
    own = [j for j, r in enumerate(rules) if id(r) not in shared]
    everything = range(len(rules))
    for i, r1 in enumerate(rules):
        k1 = keys[i]
        if k1 is None or r1.goto is None or r1.expires is not None or lint.guard_keys(r1):
            continue
        for j in own if id(r1) in shared else everything:
            r2, k2 = rules[j], keys[j]
            if r2 is r1 or k2 is None or k2[0] != k1[0] or r2.name in reported:
                continue
            if k2[1] > k1[1] or (k2[1] == k1[1] and j > i and not same_trigger(r1, r2)):
                reported.add(r2.name)
                add(r2, "preempted", (f"timer '{describe_trigger(r2)}' of rule '{r2.name}' never fires in state "
                                      f"'{s.name}': rule '{r1.name}' ({describe_trigger(r1)}, no guard) always "
                                      f"leaves for '{r1.goto}' first", r2.location,
                                      f"move '{r2.name}' to the state '{r1.goto}', or guard '{r1.name}'"),
                    {"code": "DL004"})
