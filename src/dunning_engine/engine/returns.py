"""``goto: return``: back to the state before, as if the time away had not passed (SPEC §1).

A state with a ``return`` rule (a *returning* state, e.g. ``disputed``) is entered with a ``Frame``: the
entry of the state it was entered from, kept as it stood (its timers still pending, its condition rules'
last values, its firing counts, its entry number and time). ``return`` resumes that entry: no
``on_exit``/``on_enter`` of it runs, its pending timers (``due``-relative ones included) and its entry time
move later by the time spent away, so ``days_in_state`` and ``after``/``every`` count only the time spent in
the state, and its keys go on from where they were (a key never repeats). docs/decisions.md has the rules
this module implements; in short:

* The time away is measured on the local wall clock (like ``after``): a timer due 3 days and 2 hours
  after the case left fires 3 days and 2 hours after it came back, at the same local time of day.
* ``every`` timers keep their count (``max`` counts the whole entry) and their series moves as a whole.
* A timer whose time comes from data (``at: promise.date + 1 day``) keeps its move while the data does
  not change; a new value after the return (a new promise) is taken as it is.
* Nested returning states stack: disputed inside disputed returns twice, and the outer return moves
  the first state's timers by the whole time since it was left. At most ``RETURN_DEPTH`` frames are
  kept per case; beyond, the oldest is forgotten (a return that would reach it is an error).
* Entering a returning state *pauses* the entry left: its ``on_exit`` does not run then. Leaving a
  returning state any other way than ``return`` (``goto STATE``, ``previous``) forgets its frames: the
  paused entries end there, and their ``on_exit`` runs then, innermost first (so every entry's
  ``on_exit`` runs once, when the entry ends, and its key cannot repeat).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from ..errors import EngineError
from .clock import FIRST_DAY, LAST_DAY, NEVER, DateOutOfRange

__all__ = ["Frame", "RETURN_DEPTH", "leave", "come_back", "end_paused", "resume", "away_text"]

RETURN_DEPTH = 64


class Frame:
    """The entry a case left for a returning state, kept to be resumed by ``goto: return``."""

    __slots__ = ("state", "previous", "entered", "entry_no", "timers", "conds", "fired", "left", "back", "depth")

    def __init__(self, case: Any, t: int) -> None:
        self.state = case.state
        self.previous = case.previous
        self.entered = case.entered
        self.entry_no = case.entry_no
        self.timers = case.timers
        self.conds = case.conds
        self.fired = case.fired
        self.left = t
        self.back: Frame | None = case.back  # the frame of this entry itself (nested returning states)
        self.depth = 1 if self.back is None else self.back.depth + 1


def leave(case: Any, t: int) -> tuple[Frame, Frame | None]:
    """The frame of the entry ``case`` leaves at ``t`` for a returning state, and the oldest frame when
    one is forgotten to keep at most ``RETURN_DEPTH`` (its entry then ends)."""
    frame = Frame(case, t)
    if frame.depth <= RETURN_DEPTH:
        return frame, None
    kept = [frame]
    while len(kept) < RETURN_DEPTH:
        kept.append(kept[-1].back)
    for i, f in enumerate(kept):
        f.depth = RETURN_DEPTH - i
    forgotten, kept[-1].back = kept[-1].back, None
    return frame, forgotten


def come_back(engine: Any, case: Any, t: int) -> None:
    """``goto: return`` at ``t``: the returning state's ``on_exit``, then the entry it was entered from
    resumes, its clock moved by the time away, and its condition rules are evaluated."""
    states = engine.cp.states
    old = states[case.state]
    frame = case.back
    if frame is None:
        raise EngineError(f"goto return from '{old.name}', but the case has no state to return to", case=case.id,
                          help="'return' goes back to the state the case came from: use it in states that are "
                               "entered from another state, not in the initial state", code="no-return-state")
    if old.on_exit:
        engine._run_actions(case, old.on_exit, t, "on_exit", 1, None)
    engine._chain_step()
    away = resume(engine, case, frame, t)
    cs = states[case.state]
    if case.trace is not None:
        engine._trace(case, t, "return", state=cs.name, away=away_text(away))
    if cs.conds:
        engine._eval_conds(case, t)


def end_paused(engine: Any, case: Any, frame: Frame | None, t: int) -> None:
    """Paused entries the case can no longer return to end at ``t``, innermost first: their ``on_exit``
    runs (so every entry's ``on_exit`` runs once, when the entry ends), keyed with their own entry."""
    while frame is not None:
        cs = engine.cp.states[frame.state]
        engine._trace(case, t, "ended", state=cs.name, why="left for a state that may return to it, and the "
                                                          "case will not")
        if cs.on_exit:
            engine._run_actions(case, cs.on_exit, t, "on_exit", 1, None, entry=(frame.state, frame.entry_no))
        frame = frame.back


def resume(engine: Any, case: Any, frame: Frame, t: int) -> _dt.timedelta:
    """Put ``case`` back into the entry of ``frame`` at ``t``; return the time it spent away."""
    clock = engine.clock
    tz = clock.tz
    away = clock.datetime(t).replace(tzinfo=None) - clock.datetime(frame.left).replace(tzinfo=None)

    def moved(x: int, what: str) -> int:
        if x == NEVER or not away:
            return x
        try:
            y = int((clock.datetime(x).replace(tzinfo=None) + away).replace(tzinfo=tz).timestamp())
        except (OverflowError, ValueError):
            raise DateOutOfRange(f"{what}, moved {away_text(away)} later by the return, is outside years "
                                 f"{FIRST_DAY.year}-{LAST_DAY.year}") from None
        return clock.check(y, what + f", moved {away_text(away)} later by the return")

    timers = frame.timers
    for timer in timers:  # [fire_t, orig, order, crule, occurrence, base]
        cr = timer[3]
        what = f"the time of rule '{cr.name}'"
        timer[1] = moved(timer[1], what)
        timer[0] = timer[1] if timer[1] > t else t
        if cr.kind == "every" and timer[4] > 1:
            timer[5] = moved(timer[5], what)  # the series' first tick: later ones count from it
        # else timer[5] is the time computed from the rule's data, unmoved: see Engine._rearm_at_timers
    if len(timers) > 1:
        timers.sort(key=lambda x: (x[0], x[1], x[2]))
    case.state = frame.state
    case.previous = frame.previous
    case.entered = moved(frame.entered, "the entry time of the state returned to")
    case.entry_no = frame.entry_no
    case.gen += 1
    case.fired = frame.fired
    case.timers = timers
    case.conds = frame.conds
    case.cond_wake = NEVER
    case.back = frame.back
    return away


def away_text(away: _dt.timedelta) -> str:
    """``10 days``, ``16 days 5 hours``, ``45 minutes``: a time away for people."""
    seconds = int(away.total_seconds())
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        n, seconds = divmod(seconds, size)
        if n:
            parts.append(f"{n} {unit}" + ("s" if n != 1 else ""))
    return " ".join(parts) or "0 seconds"
