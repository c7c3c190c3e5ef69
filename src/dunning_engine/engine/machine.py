"""The policy's state machine over one case at one instant: entering states, transitions (``goto``,
``previous``, ``return``), arming and firing timers, and rules (SPEC §1 "Rules").

Evaluation of one trigger: the rules it triggers are tried in order (``any_state`` rules first,
then the state's own); every rule whose guard holds runs its actions; the first one with a
``goto`` ends the evaluation. A transition runs the rule's actions, the old state's ``on_exit``,
the new state's ``on_enter``, then arms the new state's timers and evaluates its condition rules.
``case.gen`` changes with every entry (and return): a loop over rules stops when it changed under it.
"""

from __future__ import annotations

import datetime as _dt
from bisect import insort
from typing import TYPE_CHECKING

from ..errors import EngineError
from ..values import Duration
from .case import TIMER_ORDER, Timer, count_firing
from .clock import FIRST_DAY, LAST_DAY, NEVER, DateOutOfRange
from .compiled import PREVIOUS, RETURN, CRule
from .context import Ctx
from .returns import Frame, away_text, leave, resume

if TYPE_CHECKING:
    from .case import Case
    from .output import Output
    from ..records import Event
    from .runtime import Runtime

__all__ = ["Machine", "ChainTooLong"]


class ChainTooLong(Exception):
    """More transitions at one instant than the engine's bound (``Machine.chain_limit``)."""


class Machine:
    """Runs the policy's states, timers and rules on a case; ``output`` takes the actions."""

    __slots__ = ("rt", "cp", "states", "clock", "output", "chain", "chain_limit", "returning",
                 "_run_actions", "_trace")

    def __init__(self, rt: Runtime, output: Output, chain_limit: int) -> None:
        self.rt = rt
        self.cp = rt.cp
        self.states = rt.cp.states
        self.clock = rt.clock
        self.output = output
        self.chain = 0                  # transitions of the case being woken at this instant
        self.chain_limit = chain_limit
        # States with a 'goto: return' rule: entering one keeps the entry left (returns.py)
        self.returning = rt.cp.returning
        self._run_actions = output.run_actions  # bound once: the hot path
        self._trace = output.trace

    # ------------------------------------------------------------------ states
    def chain_step(self) -> None:
        """One more transition in the chain of this instant; an error past the bound (``chain_limit``)."""
        self.chain += 1
        if self.chain > self.chain_limit:
            raise ChainTooLong()

    def enter(self, case: Case, index: int, t: int) -> None:
        self.chain += 1  # chain_step, inline: the hot path
        if self.chain > self.chain_limit:
            raise ChainTooLong()
        cs = self.states[index]
        case.state = index
        case.entered = t
        # Entries into each state (the key's '#n'): a bit per state while none was entered twice
        # (no list per case for the common path through the states), then a count per state.
        entries = case.entries
        if isinstance(entries, list):
            n = entries[index] = entries[index] + 1
        elif not (entries >> index) & 1:
            n, case.entries = 1, entries | (1 << index)
        else:
            counts = case.entries = [(entries >> i) & 1 for i in range(len(self.states))]
            n = counts[index] = 2
        case.entry_no = n
        case.gen += 1
        case.fired = None
        timers: list[Timer] | None = [] if cs.timers else None
        case.timers = timers if timers is not None else ()  # (): shared, for the many states without timers
        case.conds = ()
        case.cond_wake = NEVER
        if case.trace is not None:
            self._trace(case, t, "enter", state=cs.name)
        gen = case.gen
        if cs.on_enter:
            self._run_actions(case, cs.on_enter, t, "on_enter", 1, None)
        if cs.final or case.gen != gen:
            return
        if timers is not None:
            if cs.sorted_shift is not None and case.ledger is not None:
                # 'at: due ± N days' timers only (invoice scope): armed straight from the invoice, already in order.
                inv = case.ledger.invoice
                day = inv.due if cs.sorted_shift == "due" else inv.issued
                send_time = self.clock.send_time
                low, high = self.clock.low, self.clock.high
                cr = None
                try:
                    for cr in cs.timers_in_order:
                        delta = cr.at_delta
                        assert delta is not None  # 'at: due/issued ± N days'
                        when = send_time(day + delta)
                        if when < low or when > high:
                            self.check_time(cr, when)
                        timers.append(Timer(when if when > t else t, when, cr, 1, when))
                except OverflowError:  # past the years Python holds: the error names the rule
                    assert cr is not None
                    _day_plus(day, cr)
                    raise
            else:
                ctx = None
                for cr in cs.timers:
                    if cr.at_field is None and ctx is None:
                        ctx = Ctx(self.rt, case, t)
                    self.arm(case, cr, t, ctx, occurrence=1)
                if len(timers) > 1:
                    timers.sort(key=TIMER_ORDER)
        if cs.conds:
            case.conds = [False] * len(cs.conds)
            self.eval_conds(case, t)

    def transition(self, case: Case, goto: int, t: int) -> None:
        old = self.states[case.state]
        if goto == RETURN:
            self.come_back(case, t)
            return
        target = case.previous if goto == PREVIOUS else goto
        if target is None:
            raise EngineError(f"goto previous from '{old.name}', but the case has no previous state", case=case.id,
                              help="use goto: previous only in states that are entered from another state",
                              code="no-previous-state")
        returning = self.returning
        pause = returning and target in returning
        if old.on_exit and not pause:
            self._run_actions(case, old.on_exit, t, "on_exit", 1, None)
        if pause:  # the entry is paused, not ended: kept to be resumed by 'goto: return' (returns.py)
            case.back, forgotten = leave(case, t)
            if forgotten is not None:
                self.end_paused(case, forgotten, t)
        elif case.back is not None:
            self.end_paused(case, case.back, t)
            case.back = None
        case.previous = case.state
        self.enter(case, target, t)

    def come_back(self, case: Case, t: int) -> None:
        """``goto: return`` at ``t``: the returning state's ``on_exit``, then the entry it was entered from
        resumes, its clock moved by the time away (``returns.resume``), and its condition rules are evaluated."""
        old = self.states[case.state]
        frame = case.back
        if frame is None:
            raise EngineError(f"goto return from '{old.name}', but the case has no state to return to", case=case.id,
                              help="'return' goes back to the state the case came from: use it in states that are "
                                   "entered from another state, not in the initial state", code="no-return-state")
        if old.on_exit:
            self._run_actions(case, old.on_exit, t, "on_exit", 1, None)
        self.chain_step()
        away = resume(self.clock, case, frame, t)
        cs = self.states[case.state]
        if case.trace is not None:
            self._trace(case, t, "return", state=cs.name, away=away_text(away))
        if cs.conds:
            self.eval_conds(case, t)

    def end_paused(self, case: Case, frame: Frame | None, t: int) -> None:
        """Paused entries the case can no longer return to end at ``t``, innermost first: their ``on_exit``
        runs (so every entry's ``on_exit`` runs once, when the entry ends), keyed with their own entry."""
        while frame is not None:
            cs = self.states[frame.state]
            self._trace(case, t, "ended", state=cs.name, why="left for a state that may return to it, and the "
                                                             "case will not")
            if cs.on_exit:
                self._run_actions(case, cs.on_exit, t, "on_exit", 1, None, entry=(frame.state, frame.entry_no))
            frame = frame.back

    # ------------------------------------------------------------------ timers
    def arm(self, case: Case, cr: CRule, t: int, ctx: Ctx | None, occurrence: int, base: int | None = None) -> None:
        """Arm timer rule ``cr``: its first occurrence or, for ``every`` with ``base`` (the first
        occurrence's instant), occurrence number ``occurrence``, counted from the first so that
        calendar durations do not drift (every 1 month from Jan 31: Feb 28, Mar 31, Apr 30)."""
        clock = self.clock
        timers = case.timers
        assert isinstance(timers, list)  # the state has timers
        if cr.at_field is not None and case.ledger is not None:
            inv = case.ledger.invoice
            when = self.check_time(cr, clock.send_time(_day_plus(inv.due if cr.at_field == "due" else inv.issued, cr)))
            timers.append(Timer(when if when > t else t, when, cr, occurrence, when))
            return
        if ctx is None:
            ctx = Ctx(self.rt, case, t)
        expr, duration = cr.expr, cr.duration
        if expr is not None:  # at
            value = expr.evaluate(ctx)
            if value is None:
                # Dormant: kept (at NEVER) so that a later change that gives it a time arms it.
                if case.trace is not None:
                    self._trace(case, t, "not armed", rule=cr.name, why=f"'{expr.canonical}' is null")
                timers.append(Timer(NEVER, NEVER, cr, occurrence, NEVER))
                return
            when = clock.instant(value)
        else:
            assert duration is not None  # after and every
            if cr.kind == "after":
                when = self.plus(case.entered, duration, cr)
            elif cr.max is not None and occurrence > cr.max:
                return
            elif base is not None:
                when = self.plus(base, duration * (occurrence - 1), cr)
            elif cr.starting is not None:
                value = cr.starting.evaluate(ctx)
                if value is None:  # dormant until 'starting' has a value (see rearm)
                    timers.append(Timer(NEVER, NEVER, cr, occurrence, NEVER))
                    return
                when = clock.instant(value)
            else:
                when = self.plus(case.entered, duration, cr)
        self.check_time(cr, when)
        timers.append(Timer(max(when, t), when, cr, occurrence, when if base is None else base))

    def check_time(self, cr: CRule, when: int) -> int:
        """``when``, the time of timer ``cr``, or ``DateOutOfRange`` when it leaves years 1900-2200."""
        return self.clock.check(when, f"the time of rule '{cr.name}'")

    def plus(self, t: int, d: Duration, cr: CRule | None = None) -> int:
        """``t`` + ``d`` on the local wall clock (calendar durations move the date, keeping the time)."""
        clock = self.clock
        try:
            days = d.fixed_days
            local = clock.datetime(t)
            if days is not None:
                return int((local.replace(tzinfo=None) + _dt.timedelta(days=days)).replace(tzinfo=clock.tz).timestamp())
            day = d.add_to(local.date(), self.cp.calendar)
            return clock.at(day, local.time())
        except (OverflowError, ValueError):  # past Python's year 9999
            what = f"the time of rule '{cr.name}'" if cr is not None else "a computed date"
            raise DateOutOfRange(f"{what} ({clock.iso(t)} + {d}) is outside years "
                                 f"{FIRST_DAY.year}-{LAST_DAY.year}") from None

    def expiry(self, time: int, expires: Duration) -> int:
        """The last instant a timer due at ``time`` may still fire (beyond the years the engine holds: never)."""
        try:
            return self.plus(time, expires)
        except DateOutOfRange:
            return NEVER

    def fire_timers(self, case: Case, t: int) -> None:
        timers = case.timers
        while timers and timers[0].fire_at <= t and not (case.held_invoice or case.held_customer or case.closed):
            timer = timers.pop(0)
            cr, time = timer.rule, timer.time
            if cr.kind == "every":
                # The next occurrence is armed before this one runs, so that it stays with the entry
                # if this very rule leaves for a state that may return (returns.py). The series counts
                # from its first tick (its own time for the first occurrence).
                occurrence = timer.occurrence
                armed = len(timers)
                self.arm(case, cr, t, None, occurrence + 1, base=time if occurrence == 1 else timer.base)
                if armed and len(timers) > armed:
                    # put the next tick in its place: the others are in order (a sort per tick made a
                    # state of many 'every' rules cost their number squared at each instant)
                    insort(timers, timers.pop(), key=TIMER_ORDER)
            gen = case.gen
            if cr.expires is not None and t > self.expiry(time, cr.expires):
                if case.trace is not None:
                    self._trace(case, t, "expired", rule=cr.name,
                                why=f"was due {self.clock.iso(time)}, expires {cr.expires}")
            else:
                if time < t and case.trace is not None:
                    self._trace(case, t, "catch-up", rule=cr.name, why=f"was due {self.clock.iso(time)}")
                self.fire_rule(case, cr, t, None, timer.occurrence)
            if case.gen == gen and case.conds:
                self.eval_conds(case, t)
            timers = case.timers  # a transition arms a new list

    def rearm(self, case: Case, t: int) -> None:
        """After a change, move pending timers whose time comes from data an event can change: ``at``
        timers, and ``every`` timers not yet started whose ``starting`` is such data. A timer whose
        expression became null stays dormant (at NEVER) and is armed again when it has a value.

        ``timer.base`` of such a timer is the time its data gave when it was last computed: a timer
        moved by a return (returns.py) keeps its move until its data changes."""
        changed = False
        ctx = None
        timers = case.timers
        for timer in timers:
            cr = timer.rule
            if not cr.movable or (cr.kind == "every" and timer.occurrence > 1):
                continue
            ctx = ctx or Ctx(self.rt, case, t)
            data = cr.expr if cr.kind == "at" else cr.starting  # movable: the expression that gives its time
            assert data is not None
            value = data.evaluate(ctx)
            when = NEVER if value is None else self.check_time(cr, self.clock.instant(value))
            if when != timer.base:
                timer.time = timer.base = when
                timer.fire_at = max(when, t)
                changed = True
        if changed and isinstance(timers, list):  # (changed: not empty, so a list)
            timers.sort(key=TIMER_ORDER)

    def after_change(self, case: Case, t: int) -> None:
        """After an event changed the case's data: move the timers that read it, and evaluate the
        condition rules."""
        if case.held_invoice or case.held_customer or case.state < 0 or self.states[case.state].final:
            return
        if case.timers:
            self.rearm(case, t)
        if case.conds:
            self.eval_conds(case, t)

    # ------------------------------------------------------------------ rules
    def fire_rule(self, case: Case, cr: CRule, t: int, event: Event | None, occurrence: int | None = None) -> bool:
        """Run one rule if its guard holds; True when it moved the case to another state."""
        ctx = Ctx(self.rt, case, t, event) if (cr.needs_ctx or event is not None or case.trace is not None) else None
        if ctx is not None and not cr.guard(ctx):
            if case.trace is not None:
                self.output.skipped(case, cr, ctx, t)
            return False
        if occurrence is None:
            # The key's occurrence of an event rule: its firings in this state entry. (A timer
            # knows its own occurrence, so timers need no count: no dict for most cases.)
            occurrence = count_firing(case, cr)
        why = self.output.fired(case, cr, ctx, t) if case.trace is not None else None
        if cr.actions:
            self._run_actions(case, cr.actions, t, cr.name, occurrence, ctx, why)
        if cr.goto is not None:
            self.transition(case, cr.goto, t)
            return True
        return False

    def fire_on(self, case: Case, typ: str, t: int, event: Event) -> None:
        """The rules of the current state on event type ``typ``, in order, up to the first that leaves."""
        rules = self.states[case.state].on_rules.get(typ)
        if rules:
            for cr in rules:
                if self.fire_rule(case, cr, t, event):
                    break

    def eval_conds(self, case: Case, t: int) -> None:
        """Edge-triggered condition rules: fire those whose guard turned true."""
        cs = self.states[case.state]
        if not cs.conds or case.held:
            return
        gen = case.gen
        conds = case.conds
        assert isinstance(conds, list)  # armed at entry: one value per condition rule
        ctx = Ctx(self.rt, case, t)
        for i, cr in enumerate(cs.conds):
            value = cr.guard(ctx)
            before = conds[i]
            conds[i] = value
            if value and not before:
                n = count_firing(case, cr)
                why = self.output.fired(case, cr, ctx, t)
                if cr.actions:
                    self._run_actions(case, cr.actions, t, cr.name, n, ctx, why)
                if cr.goto is not None:
                    self.transition(case, cr.goto, t)
                    return
                if case.gen != gen:
                    return
                ctx = Ctx(self.rt, case, t)
        self.next_cond_wake(case, t)

    def next_cond_wake(self, case: Case, t: int) -> None:
        from .wake import next_change

        cs = self.states[case.state]
        clocked = [(i, cr) for i, cr in enumerate(cs.conds) if cr.clock]
        case.cond_wake = next_change(self.rt, case, t, clocked) if clocked else NEVER


def _day_plus(day: _dt.date, cr: CRule) -> _dt.date:
    """``day`` + the fixed shift of an 'at: due/issued ± N days' timer, kept inside the years Python holds."""
    delta = cr.at_delta
    assert delta is not None  # an 'at: due/issued ± N days' rule
    try:
        return day + delta
    except OverflowError:
        raise DateOutOfRange(f"the time of rule '{cr.name}' ({cr.expr and cr.expr.canonical}) is outside years "
                             f"{FIRST_DAY.year}-{LAST_DAY.year}") from None
