"""Compile a checked policy (``ir.Policy``) once into plain tables for the engine.

Per state: its timer rules, its event rules grouped by event type, its
condition rules, each with the guard and actions ready to run, and every rule
carrying its position in evaluation order (``any_state`` rules first, then the
state's own in file order).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import datetime as _dt

from ..calendars import get_calendar
from ..expr import ast as A
from ..policy import ir
from ..values import Duration
from ..vocabulary import needs_case_values
from .clock import Clock

__all__ = ["CompiledPolicy", "CRule", "CState", "PREVIOUS", "RETURN", "CLOCK_VARIABLES"]

PREVIOUS = -1  # goto: previous (the state before, entered anew)
RETURN = -2    # goto: return (the state before, resumed as if the time away had not passed)

# Variables that no event can change: an 'at' timer reading only these never moves once armed.
FIXED_VARIABLES = frozenset({"due", "issued", "invoice.due", "invoice.issued", "invoice.id", "entered"})

# Variables whose value changes with the clock alone (no event needed).
CLOCK_VARIABLES = frozenset({
    "now", "today", "days_in_state", "days_overdue", "days_until_due", "oldest_days_overdue",
    "overdue_balance", "overdue_count", "oldest_due", "plan.missed_count",
})


class CRule:
    """A rule ready to run. ``kind`` is 'at', 'after', 'every', 'on' or 'cond'."""

    __slots__ = ("rule", "name", "order", "kind", "expr", "duration", "max", "starting", "events",
                 "when", "unless", "actions", "goto", "expires", "clock", "movable", "at_field", "at_delta",
                 "needs_ctx")

    def __init__(self, rule: ir.Rule, order: int, goto: int | None) -> None:
        self.rule = rule
        self.name = rule.name
        self.order = order
        trig = rule.trigger
        self.expr: Any = None  # Expressions: of 'at', of 'every' ... 'starting'
        self.starting: Any = None
        self.duration: Duration | None = None
        self.max: int | None = None
        self.events: tuple[str, ...] = ()
        if trig is None:
            self.kind = "cond"
        elif isinstance(trig, ir.At):
            self.kind, self.expr = "at", trig.expr
        elif isinstance(trig, ir.After):
            self.kind, self.duration = "after", trig.duration
        elif isinstance(trig, ir.Every):
            self.kind, self.duration, self.max, self.starting = "every", trig.duration, trig.max, trig.starting
        else:
            self.kind, self.events = "on", trig.events
        self.when = rule.when
        self.unless = rule.unless
        self.actions = rule.do
        self.goto = goto
        self.expires: Duration | None = rule.expires
        # An 'at' timer is re-evaluated after events only if its expression reads something an event can change.
        self.movable = (self.kind == "at" and not set(self.expr.variables) <= FIXED_VARIABLES) or (
            self.kind == "every" and self.starting is not None and not set(self.starting.variables) <= FIXED_VARIABLES)
        # 'at: due + 15 days' and friends: computed straight from the invoice, without an expression context.
        self.at_field, self.at_delta = _date_shift(self.expr) if self.kind == "at" else (None, None)
        # Does running this rule need the expression context? (guards, or actions with expressions)
        self.needs_ctx = rule.when is not None or rule.unless is not None or any(action_needs_ctx(a) for a in rule.do)
        reads = set()
        for e in (rule.when, rule.unless):
            if e is not None:
                reads |= set(e.variables)
        # A guard is clock-dependent if it reads a clock variable (segments are expanded by the engine).
        self.clock = bool(reads & CLOCK_VARIABLES)

    def guard(self, ctx) -> bool:
        when, unless = self.when, self.unless
        if when is not None and when.evaluate(ctx) is not True:
            return False
        if unless is not None and unless.evaluate(ctx) is True:
            return False
        return True


def action_needs_ctx(action: ir.Action) -> bool:
    """True when building the action reads the case's variables."""
    return needs_case_values(action.kind, (name for name, _ in action.params))


def _date_shift(expr) -> tuple[str | None, _dt.timedelta | None]:
    """('due' or 'issued', delta) when ``expr`` is ``due``/``issued`` plus or minus a fixed number of days."""
    node = expr.node
    delta = 0
    if isinstance(node, A.Binary) and node.op in ("+", "-") and isinstance(node.right, A.DurationLit):
        days = node.right.value.fixed_days
        if days is None:
            return None, None
        delta = days if node.op == "+" else -days
        node = node.left
    if isinstance(node, A.Var) and node.name in ("due", "issued"):
        return node.name, _dt.timedelta(days=delta)
    return None, None


class CState:
    """One state's rule tables. The tables (``rules``, ``timers``, ``on_rules``, ``conds``,
    ``sorted_shift``, ``timers_in_order``) are built on first use by :meth:`CompiledPolicy._tables`:
    compiling a policy costs time and memory in proportion to its size, not to states × ``any_state``
    rules, and a run builds the tables of the states its cases enter (once each)."""

    __slots__ = ("name", "index", "initial", "final", "on_enter", "on_exit", "_cp",
                 "rules", "timers", "on_rules", "conds", "sorted_shift", "timers_in_order")

    def __init__(self, name: str, index: int, state: ir.State, cp: "CompiledPolicy | None" = None) -> None:
        self.name = name
        self.index = index
        self.initial = state.initial
        self.final = state.final
        self.on_enter = state.on_enter
        self.on_exit = state.on_exit
        self._cp = cp
        if cp is None:  # built by hand: empty tables, filled by the caller
            self._set_tables([])

    def __getattr__(self, name: str) -> Any:
        # Only called for an attribute not set yet: the rule tables, built on first use.
        if name in _TABLES and self._cp is not None:
            self._cp._tables(self)
            return object.__getattribute__(self, name)
        raise AttributeError(name)

    def _set_tables(self, rules: list[CRule]) -> None:
        timers: list[CRule] = []
        on_rules: dict[str, list[CRule]] = {}
        conds: list[CRule] = []
        for cr in rules:
            if cr.kind in ("at", "after", "every"):
                timers.append(cr)
            elif cr.kind == "on":
                for ev in cr.events:
                    on_rules.setdefault(ev, []).append(cr)
            else:
                conds.append(cr)
        # When every timer is 'at: F ± N days' of one field F (due or issued): F, and the timers in
        # firing order, (N, rule order), so that entering the state arms them without sorting.
        sorted_shift: str | None = None
        timers_in_order: tuple[CRule, ...] = ()
        fields = {cr.at_field for cr in timers}
        if timers and all(cr.kind == "at" for cr in timers) and len(fields) == 1 and None not in fields:
            sorted_shift = fields.pop()
            timers_in_order = tuple(sorted(timers, key=lambda cr: (cr.at_delta, cr.order)))
        # (Another thread that finds one of them unset builds them again: equal tables, no harm.)
        self.rules, self.timers, self.on_rules, self.conds = rules, timers, on_rules, conds
        self.sorted_shift, self.timers_in_order = sorted_shift, timers_in_order


_TABLES = frozenset({"rules", "timers", "on_rules", "conds", "sorted_shift", "timers_in_order"})


class CompiledPolicy:
    """Plain tables for one policy; build once, share between engines.

    Compiling is linear in the policy's size: states are indexed by name, a state's rule tables are
    built when a case first enters it, and one ``CRule`` of an ``any_state`` rule serves every state
    where that rule has the same position in evaluation order (all of them, unless ``except``
    shifts it).
    """

    def __init__(self, policy: ir.Policy) -> None:
        self.policy = policy
        self.key = policy.key
        self.scope = policy.scope
        self.currency = policy.currency
        self.allocation = policy.allocation
        self.clock = Clock(policy.timezone, policy.send_at)
        self.calendar = get_calendar(policy.calendar)
        self.segments: dict[str, Any] = dict(policy.segments)
        self.index = {s.name: i for i, s in enumerate(policy.states)}
        self.states: list[CState] = [CState(s.name, i, s, self) for i, s in enumerate(policy.states)]
        self.initial = next(i for i, s in enumerate(policy.states) if s.initial)
        self._shared: dict[tuple[int, int], CRule] = {}  # (any_state index, order) -> its CRule
        # states with a 'goto: return' rule (own or any_state): entering one pauses the entry left
        # (engine/returns.py). Read from the policy, so that no state's rule tables are built for it.
        returns_any = [r for r in policy.any_state if r.goto == "return"]
        self.returning = frozenset(
            i for i, s in enumerate(policy.states)
            if not s.final and (any(r.goto == "return" for r in s.rules)
                                or any(s.name not in r.except_ for r in returns_any)))
        # ids of the actions whose building reads variables (the policy keeps them alive, so ids are stable)
        every_action = [a for s in policy.states for a in (*s.on_enter, *s.on_exit, *(x for r in s.rules for x in r.do))]
        every_action += [a for r in policy.any_state for a in r.do]
        self.ctx_actions = frozenset(id(a) for a in every_action if action_needs_ctx(a))
        # Ledgers keep their day-by-day history only for interest (see Ledger.accrual).
        self.has_interest = any(a.kind == "interest" for a in every_action)
        # Does any rule react to time through its guard? (decides whether wake-ups are computed)
        self.any_clock = self._any_clock()

    def _tables(self, cs: CState) -> None:
        """Build the rule tables of ``cs``: applicable ``any_state`` rules first, then its own."""
        policy = self.policy
        state = policy.states[cs.index]
        rules: list[CRule] = []
        if not state.final:
            shared = policy.shared_rules(state.name)
            if shared is policy.any_state:  # every any_state rule applies: order == position
                rules.extend(self._shared_rule(j, rule, j) for j, rule in enumerate(shared))
            else:
                for j, rule in enumerate(policy.any_state):
                    if state.name not in rule.except_:
                        rules.append(self._shared_rule(j, rule, len(rules)))
            rules.extend(self._crule(rule, order) for order, rule in enumerate(state.rules, start=len(rules)))
        cs._set_tables(rules)

    def _shared_rule(self, j: int, rule: ir.Rule, order: int) -> CRule:
        cr = self._shared.get((j, order))
        if cr is None:
            cr = self._shared.setdefault((j, order), self._crule(rule, order))
        return cr

    def _crule(self, rule: ir.Rule, order: int) -> CRule:
        goto = None
        if rule.goto == "previous":
            goto = PREVIOUS
        elif rule.goto == "return":
            goto = RETURN
        elif rule.goto is not None:
            goto = self.index[rule.goto]
        cr = CRule(rule, order, goto)
        if not cr.clock and cr.kind == "cond":
            cr.clock = self._segments_clock(rule)
        return cr

    def _any_clock(self) -> bool:
        """Whether a condition rule of some non-final state reads the clock (directly or through segments)."""
        policy = self.policy
        open_states = {s.name for s in policy.states if not s.final}
        candidates = [r for s in policy.states if not s.final for r in s.rules]
        # an any_state rule counts when it applies to some non-final state
        candidates += [r for r in policy.any_state if len(open_states.intersection(r.except_)) < len(open_states)]
        for rule in candidates:
            if rule.trigger is None:
                reads = set()
                for e in (rule.when, rule.unless):
                    if e is not None:
                        reads |= set(e.variables)
                if reads & CLOCK_VARIABLES or self._segments_clock(rule):
                    return True
        return False

    def _segments_clock(self, rule: ir.Rule) -> bool:
        """True when a guard reads a segment whose definition reads the clock (through segments, recursively)."""
        names = set().union(*(e.variables for e in (rule.when, rule.unless) if e is not None))
        return not self._clock_segments.isdisjoint(names)

    @cached_property
    def _clock_segments(self) -> frozenset[str]:
        """The segments that read the clock, directly or through other segments: found from the direct
        readers backwards along "is read by" links, in one pass over the segments (no recursion: a chain
        of thousands of segments is fine)."""
        read_by: dict[str, list[str]] = {}
        todo = []
        for name, expr in self.segments.items():
            variables = set(expr.variables)
            if variables & CLOCK_VARIABLES:
                todo.append(name)
            for var in variables:
                if var in self.segments:
                    read_by.setdefault(var, []).append(name)
        found = set(todo)
        while todo:
            for reader in read_by.get(todo.pop(), ()):
                if reader not in found:
                    found.add(reader)
                    todo.append(reader)
        return frozenset(found)
