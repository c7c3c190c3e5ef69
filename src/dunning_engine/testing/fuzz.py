"""``dunning check``: fuzz a policy with random portfolios and event streams, checking invariants.

Each example is a :class:`~dunning_engine.testing.records.Portfolio` drawn by
:func:`~dunning_engine.testing.strategies.portfolios`. It is run one step at a
time (see :mod:`dunning_engine.testing.runner` for what a step is) with every
built-in invariant and the policy's own ``invariants:`` checked after each
step, then run again in one go: both runs must give identical actions and
states (``deterministic``). The first failure is shrunk by Hypothesis to a
minimal portfolio and written out as a scenario file that reproduces it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from .records import Portfolio, scenario_text
from .runner import Violation, run_checked

__all__ = ["CheckResult", "check_policy", "check_portfolio", "POLICY_FREE_CHECKS"]

# Checks made only by 'dunning check' (a scenario run cannot show them).
POLICY_FREE_CHECKS = ("deterministic", "records_accepted")


@dataclass
class CheckResult:
    policy: Any
    policy_path: str | None
    examples: int
    seed: int | None
    violation: Violation | None = None
    portfolio: Portfolio | None = None
    scenario: str | None = None
    invariants: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.violation is None

    def render(self) -> str:
        checked = ", ".join(self.invariants)
        if self.violation is None:
            return (f"{self.policy.key}: ok, {self.examples} example(s) (seed {self.seed}); "
                    f"invariants held: {checked}")
        return (f"{self.policy.key}: {self.violation.render()}\n\n"
                f"minimal failing scenario (save it as a *.test.yaml file and run 'dunning test' on it):\n\n"
                f"{self.scenario}")

    def to_dict(self) -> dict:
        return {"policy": self.policy.key, "path": self.policy_path, "ok": self.ok, "examples": self.examples,
                "seed": self.seed, "invariants": self.invariants,
                "violation": self.violation.to_dict() if self.violation else None,
                "portfolio": None if self.portfolio is None else self.portfolio.kwargs(),
                "scenario": self.scenario}


def _output(actions, states) -> bytes:
    from ..io.writers import dumps_record

    out = []
    for a in actions:
        a = dict(a)
        a.pop("explain", None)
        out.append(dumps_record(a))
    out.extend(dumps_record(s) for s in states)
    return b"".join(out)


def check_portfolio(policy, portfolio: Portfolio) -> Violation | None:
    """The first invariant ``portfolio`` breaks under ``policy``, or None."""
    from ..run import simulate

    run = run_checked(policy, **portfolio.kwargs(), check=True)
    rejects = run.result.rejects
    if rejects:
        r = rejects[0]
        return Violation("records_accepted", f"a generated record was rejected: {r.message}", None, None)
    if run.violations:
        return run.violations[0]
    stepped = _output(run.actions, run.result.states)
    once = simulate(policy, **portfolio.kwargs())
    if _output(once.actions, once.states) != stepped:
        again = simulate(policy, **portfolio.kwargs())
        if _output(again.actions, again.states) != _output(once.actions, once.states):
            return Violation("deterministic", "two runs of the same inputs gave different actions or states")
        return Violation("deterministic", "running one instant at a time gave other actions or states "
                                          "than running to the end in one go")
    return None


class _Found(Exception):
    def __init__(self, violation: Violation, portfolio: Portfolio) -> None:
        super().__init__(violation.render())
        self.violation = violation
        self.portfolio = portfolio


def check_policy(policy, *, examples: int = 200, seed: int | None = 0, max_invoices: int = 3, max_events: int = 6,
                 days: int = 400, policy_path: str | None = None, scenario_dir: str | None = None) -> CheckResult:
    """Fuzz ``policy`` (an ``ir.Policy`` or a path) and return what was found.

    ``seed`` makes the run reproducible (None: a new random run each time).
    ``scenario_dir`` is the directory the printed scenario will be saved in
    (its ``policy:`` path is written relative to it; default: the current
    directory).
    """
    from hypothesis import HealthCheck, Verbosity, given, settings
    from hypothesis import seed as with_seed

    from ..policy.ir import Policy
    from ..policy.load import load_policy
    from .runner import BUILTIN_CHECKS
    from .strategies import portfolios

    if not isinstance(policy, Policy):
        policy_path = policy_path or os.fspath(policy)
        policy = load_policy(policy)
    policy_path = policy_path or policy.path
    result = CheckResult(policy=policy, policy_path=policy_path, examples=examples, seed=seed,
                         invariants=list(BUILTIN_CHECKS) + list(POLICY_FREE_CHECKS[:1])
                         + [name for name, _ in policy.invariants])
    strategy = portfolios(policy, max_invoices=max_invoices, max_events=max_events, days=days)

    def prop(p: Portfolio) -> None:
        v = check_portfolio(policy, p)
        if v is not None:
            raise _Found(v, p)

    test = settings(max_examples=examples, deadline=None, database=None, verbosity=Verbosity.quiet,
                    suppress_health_check=list(HealthCheck), report_multiple_bugs=False, print_blob=False,
                    derandomize=False)(given(strategy)(prop))
    if seed is not None:
        test = with_seed(seed)(test)
    try:
        test()
    except _Found as found:
        result.violation = found.violation
        result.portfolio = _shorter(policy, _minimize(policy, found.portfolio, found.violation), found.violation)
        final = check_portfolio(policy, result.portfolio)
        if final is not None and final.invariant == found.violation.invariant:
            result.violation = final  # as the printed scenario shows it (case ids, time)
        result.scenario = failing_scenario(policy, policy_path, result.portfolio, result.violation,
                                           scenario_dir=scenario_dir, seed=seed, examples=examples)
    return result


def _minimize(policy, portfolio: Portfolio, violation: Violation, budget: int = 200) -> Portfolio:
    """Drop events, invoices (with their events) and customers while the same invariant still fails.

    Hypothesis has shrunk the example already; this greedy pass makes sure that
    nothing the failure does not need is left in the printed scenario.
    """
    def still(p: Portfolio) -> bool:
        v = check_portfolio(policy, p)
        return v is not None and v.invariant == violation.invariant

    best = portfolio
    changed = True
    while changed and budget > 0:
        changed = False
        candidates = []
        for i in range(len(best.events)):
            candidates.append(Portfolio(best.invoices, best.customers, best.events[:i] + best.events[i + 1:], best.until))
        for inv in best.invoices:
            if len(best.invoices) > 1:
                candidates.append(Portfolio([x for x in best.invoices if x is not inv], best.customers,
                                            [e for e in best.events if e.get("invoice") != inv["id"]], best.until))
        for c in best.customers:
            candidates.append(Portfolio(best.invoices, [x for x in best.customers if x is not c], best.events, best.until))
        for cand in candidates:
            budget -= 1
            if budget < 0:
                break
            if still(cand):
                best, changed = cand, True
                break
    # Number what is left I1, I2... again.
    ids = {inv["id"]: f"I{i + 1}" for i, inv in enumerate(best.invoices)}
    if any(k != v for k, v in ids.items()):
        invs = [dict(inv, id=ids[inv["id"]]) for inv in best.invoices]
        evs = [dict(e, invoice=ids.get(e["invoice"], e["invoice"])) if "invoice" in e else e for e in best.events]
        renamed = Portfolio(invs, best.customers, evs, best.until)
        if still(renamed):
            best = renamed
    return best


def _shorter(policy, portfolio: Portfolio, violation: Violation) -> Portfolio:
    """The same portfolio with ``until`` the day after the violation, if that still shows it."""
    import datetime as _dt

    if not violation.at:
        return portfolio
    day = _dt.datetime.fromisoformat(violation.at).date() + _dt.timedelta(days=1)
    if day.isoformat() >= portfolio.until:
        return portfolio
    short = Portfolio(portfolio.invoices, portfolio.customers, portfolio.events, day.isoformat())
    again = check_portfolio(policy, short)
    return short if again is not None and again.invariant == violation.invariant else portfolio


def failing_scenario(policy, policy_path: str | None, portfolio: Portfolio, violation: Violation, *,
                     scenario_dir: str | None = None, seed: int | None = None, examples: int | None = None) -> str:
    """A scenario file reproducing ``violation``: the portfolio, ``expect: {invariants: true}``, and notes."""
    from .scenarios.diff import summarize_action

    base = scenario_dir or os.getcwd()
    rel = os.path.relpath(os.path.abspath(policy_path), os.path.abspath(base)) if policy_path else "POLICY.yaml"
    rel = rel.replace(os.sep, "/")
    run = run_checked(policy, **portfolio.kwargs(), check=False)
    notes = [f"timeline when found ({len(run.actions)} action(s)):"]
    notes += [f"  {summarize_action(a)}" for a in run.actions[:40]]
    if len(run.actions) > 40:
        notes.append(f"  ... and {len(run.actions) - 40} more")
    if violation.invariant in POLICY_FREE_CHECKS:
        notes.append(f"'{violation.invariant}' is checked by 'dunning check' only; run it again after a fix")
    comments = [
        f"Found by 'dunning check' on {policy.key}" + (f" (seed {seed}, {examples} examples)" if seed is not None else ""),
        violation.render(),
        f"The policy path is relative to {'this file' if scenario_dir else 'the directory dunning check ran in'}.",
    ]
    case = {"name": f"check: {violation.invariant}", "invoices": portfolio.invoices,
            "customers": portfolio.customers, "events": portfolio.events, "until": portfolio.until,
            "expect": {"invariants": True}, "comments": notes}
    return scenario_text(rel, [case], comments)
