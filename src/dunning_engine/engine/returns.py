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
from typing import TYPE_CHECKING

from .case import TIMER_ORDER
from .clock import FIRST_DAY, LAST_DAY, NEVER, Clock, DateOutOfRange

if TYPE_CHECKING:
    from .case import Case, Timer

__all__ = ["Frame", "RETURN_DEPTH", "leave", "resume", "away_text"]

RETURN_DEPTH = 64


class Frame:
    """The entry a case left for a returning state, kept to be resumed by ``goto: return``."""

    __slots__ = ("state", "previous", "entered", "entry_no", "timers", "conds", "fired", "left", "back", "depth")

    def __init__(self, case: Case, t: int) -> None:
        self.state = case.state
        self.previous = case.previous
        self.entered = case.entered
        self.entry_no = case.entry_no
        self.timers: list[Timer] | tuple[()] = case.timers
        self.conds: list[bool] | tuple[()] = case.conds
        self.fired = case.fired
        self.left = t
        self.back: Frame | None = case.back  # the frame of this entry itself (nested returning states)
        self.depth: int = 1 if self.back is None else self.back.depth + 1


def leave(case: Case, t: int) -> tuple[Frame, Frame | None]:
    """The frame of the entry ``case`` leaves at ``t`` for a returning state, and the oldest frame when
    one is forgotten to keep at most ``RETURN_DEPTH`` (its entry then ends)."""
    frame = Frame(case, t)
    if frame.depth <= RETURN_DEPTH:
        return frame, None
    kept = [frame]
    while len(kept) < RETURN_DEPTH:
        back = kept[-1].back
        assert back is not None  # depth > RETURN_DEPTH: at least that many frames behind
        kept.append(back)
    for i, f in enumerate(kept):
        f.depth = RETURN_DEPTH - i
    forgotten, kept[-1].back = kept[-1].back, None
    return frame, forgotten


def resume(clock: Clock, case: Case, frame: Frame, t: int) -> _dt.timedelta:
    """Put ``case`` back into the entry of ``frame`` at ``t``; return the time it spent away."""
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
    for timer in timers:
        cr = timer.rule
        what = f"the time of rule '{cr.name}'"
        timer.time = moved(timer.time, what)
        timer.fire_at = timer.time if timer.time > t else t
        if cr.kind == "every" and timer.occurrence > 1:
            timer.base = moved(timer.base, what)  # the series' first tick: later ones count from it
        # else timer.base is the time computed from the rule's data, unmoved: see Machine.rearm
    if isinstance(timers, list) and len(timers) > 1:
        timers.sort(key=TIMER_ORDER)
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
