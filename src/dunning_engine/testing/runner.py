"""Run a policy step by step and check invariants after every step.

A *step* is one processed instant of one case: the engine wakes a case at an
instant (its start, events arriving, timers firing, a clock-dependent guard
turning), runs everything due at that instant — events, derived events,
timers, condition rules and whole chains of transitions — and stops. After
each step the checks below run for every case the step touched, with ``now``
the instant of the step. States passed through inside one chain of
transitions at a single instant are not observed, and a case the engine does
not wake is not re-checked (so an invariant reading the clock, such as
``days_overdue < 90``, is checked at the instants something happens).

Built-in checks (their names appear in reports):

``ledger_balanced``
    ``Ledger.balanced()`` holds for every ledger of the case.
``fees_not_negative`` / ``interest_not_negative``
    charged and unpaid fees and interest are never below zero, and no ``fee``
    or ``interest`` action carries a negative amount.
``no_action_after_final``
    once a case was seen in a final state, it emits no further action.
``no_engine_errors``
    no case failed (an endless chain of transitions, an expression that
    cannot be evaluated...).
``unique_keys``
    no action key repeats.

And every ``invariants:`` entry of the policy (``NAME: boolean expression``).
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable

__all__ = ["Violation", "Run", "run_checked", "BUILTIN_CHECKS"]

BUILTIN_CHECKS = ("ledger_balanced", "fees_not_negative", "interest_not_negative", "no_action_after_final",
                  "no_engine_errors", "unique_keys")

_EPOCH = _dt.datetime(1971, 1, 1, tzinfo=_dt.timezone.utc)
ZERO = Decimal(0)


@dataclass
class Violation:
    """An invariant that did not hold: which, for which case, when, and what was seen."""

    invariant: str
    message: str
    case: str | None = None
    at: str | None = None
    builtin: bool = True

    def render(self) -> str:
        where = " ".join(x for x in (f"case {self.case}" if self.case else "", f"at {self.at}" if self.at else "") if x)
        kind = "built-in invariant" if self.builtin else "invariant"
        return f"{kind} '{self.invariant}' failed{' (' + where + ')' if where else ''}: {self.message}"

    def to_dict(self) -> dict:
        return {"invariant": self.invariant, "builtin": self.builtin, "case": self.case, "at": self.at,
                "message": self.message}


@dataclass
class Run:
    """What a checked run produced."""

    result: Any                    # run.Result (actions are those at or after ``since``)
    actions: list[dict]
    violations: list[Violation] = field(default_factory=list)
    fired: set[str] = field(default_factory=set)       # names of rules that fired (needs explain)
    entered: set[str] = field(default_factory=set)     # states entered (needs explain)

    @property
    def engine(self):
        return self.result.engine


def run_checked(policy, *, invoices: Iterable = (), customers: Iterable = (), events: Iterable = (), until,
                since=None, explain: bool = False, check: bool = True, max_violations: int = 20) -> Run:
    """Run ``policy`` like :func:`dunning_engine.simulate`, one instant at a time, checking invariants.

    Returns a :class:`Run`; ``violations`` is empty when every check held.
    Actions before ``since`` advance state silently (as with ``simulate``) but
    are still checked. With ``explain=True`` the run also records which
    rules fired and which states were entered (for coverage).
    """
    from ..run import bound, simulate

    # simulate() up to an instant before anything can happen: it reads and
    # places every record, and hands back the engine, ready to run.
    def records(x):
        return x if isinstance(x, (str, os.PathLike)) else list(x)  # a file of records, or records

    result = simulate(policy, invoices=records(invoices), customers=records(customers), events=records(events),
                      until=_EPOCH, explain=explain)
    engine = result.engine
    u = bound(until, engine.clock.tz, end=True)  # a date: through the end of that day (SPEC §5)
    s = bound(since, engine.clock.tz, end=False) if since is not None else None
    checker = _Checker(engine, max_violations) if check else None
    actions: list[dict] = []

    def take(batch: list[dict]) -> None:
        for a in batch:
            if explain:
                a.pop("explain", None)
            if s is None or _instant_of(a) >= s:
                actions.append(a)

    cases = list(engine.cases.values())
    stepping = check and all(hasattr(c, "next_wake") for c in cases)
    if stepping and checker is not None:  # (stepping is checking)
        # The next instant anything happens is the earliest wake-up of a case.
        last = None
        while True:
            wakes = [c.next_wake for c in cases if c.next_wake is not None]
            t = min(wakes) if wakes else None
            if t is None or t > u or (last is not None and t <= last):
                break  # (t <= last: the engine did not consume a wake-up; finish in one go)
            last = t
            touched = [c for c in cases if c.next_wake == t]
            batch = list(engine.run(t))
            take(batch)
            checker.step(t, touched, batch)
            cases = list(engine.cases.values())
    batch = list(engine.run(u))  # the rest (everything, when not stepping)
    take(batch)
    if checker is not None:
        if not stepping or batch:
            checker.step(u, list(engine.cases.values()), batch)
        checker.finish()
    result.actions = actions
    run = Run(result=result, actions=actions, violations=checker.violations if checker else [])
    if explain:
        for case in engine.cases.values():
            for entry in case.trace or ():
                what = entry.get("what")
                if what == "fired":
                    run.fired.add(entry["rule"])
                elif what == "enter":
                    run.entered.add(entry["state"])
    return run


def _instant_of(action: dict) -> int:
    return int(_dt.datetime.fromisoformat(action["at"]).timestamp())


class _Checker:
    def __init__(self, engine, max_violations: int) -> None:
        self.engine = engine
        self.max = max_violations
        self.violations: list[Violation] = []
        self.final_at: dict[str, int] = {}
        self.keys: set[str | None] = set()
        self.seen: set[tuple[str, str | None]] = set()
        policy = engine.cp.policy
        self.invariants = tuple(getattr(policy, "invariants", ()) or ())

    def add(self, name: str, message: str, case: str | None, t: int | None, builtin: bool = True) -> None:
        # One report per (invariant, case): the first time it failed.
        if (name, case) in self.seen or len(self.violations) >= self.max:
            return
        self.seen.add((name, case))
        at = self.engine.clock.iso(t) if t is not None else None
        self.violations.append(Violation(name, message, case, at, builtin))

    def step(self, t: int, touched, actions: list[dict]) -> None:
        eng = self.engine
        for a in actions:
            key = a.get("key")
            if key in self.keys:
                self.add("unique_keys", f"action key '{key}' was emitted twice", a.get("case"), t)
            self.keys.add(key)
            cid = a.get("case")
            if cid in self.final_at and self.final_at[cid] < t:
                self.add("no_action_after_final",
                         f"'{a.get('type')}' action (rule {a.get('rule')}) after the case reached final state "
                         f"'{eng.cp.states[eng.cases[cid].state].name}' at {eng.clock.iso(self.final_at[cid])}",
                         cid, t)
            if a.get("type") in ("fee", "interest") and a.get("amount") is not None and a["amount"] < 0:
                name = "fees_not_negative" if a["type"] == "fee" else "interest_not_negative"
                self.add(name, f"'{a['type']}' action with a negative amount {a['amount']} (rule {a.get('rule')})", cid, t)
        for case in touched:
            if case.failed or case.state < 0:
                continue
            self.check_case(case, t)

    def check_case(self, case, t: int) -> None:
        eng = self.engine
        for inv_id, led in case.ledgers.items():
            if not led.balanced():
                self.add("ledger_balanced",
                         f"ledger of invoice {inv_id} does not balance: amount {led.amount} + fees {led.fees} + "
                         f"interest {led.interest} != paid {led.paid} + credits {led.credits} + discounts "
                         f"{led.discounts} + written off {led.written_off} + cancelled {led.cancelled} + "
                         f"balance {led.balance}", case.id, t)
            if led.fees < 0 or led.fees_unpaid < 0:
                self.add("fees_not_negative", f"invoice {inv_id}: fees {led.fees}, unpaid fees {led.fees_unpaid}",
                         case.id, t)
            if led.interest < 0 or led.interest_unpaid < 0:
                self.add("interest_not_negative",
                         f"invoice {inv_id}: interest {led.interest}, unpaid interest {led.interest_unpaid}", case.id, t)
        state = eng.cp.states[case.state]
        if state.final and case.id not in self.final_at:
            self.final_at[case.id] = t
        if self.invariants:
            from ..engine.context import Ctx

            ctx = Ctx(eng, case, t)
            for name, expr in self.invariants:
                try:
                    ok = expr.evaluate(ctx)
                except Exception as e:  # EvalError and friends: the invariant cannot be told
                    self.add(name, f"cannot evaluate '{expr.canonical}': {e}", case.id, t, builtin=False)
                    continue
                if ok is not True:
                    self.add(name, f"'{expr.canonical}' is false in state '{state.name}' "
                             f"({_values(expr, ctx)})", case.id, t, builtin=False)

    def finish(self) -> None:
        for e in self.engine.errors:
            self.add("no_engine_errors", e.message, getattr(e, "case", None), None)


def _values(expr, ctx) -> str:
    from ..engine.explain import values as read_values

    try:
        values = read_values([expr], ctx)
    except Exception:  # pragma: no cover - explanations never break a check
        return ""
    return ", ".join(f"{k} = {v}" for k, v in values.items()) or "it reads no variable"
