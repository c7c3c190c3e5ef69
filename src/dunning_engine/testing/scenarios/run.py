"""Running a case (or every case of some files) and telling every way it differs from its expectation."""

from __future__ import annotations

import os
import time
from decimal import Decimal
from typing import Iterable, Iterator
from zoneinfo import ZoneInfo

from ...errors import Location, PolicyError
from .diff import align, summarize_action, timeline_diff
from .files import display_path, find_scenario_files
from .loader import load_scenario_file
from .match import match_action
from .model import CaseResult, Expected, ScenarioCase

__all__ = ["run_case", "run_scenarios", "action_ids"]


def action_ids(action: dict) -> str:
    """The coverage id of the policy action that produced ``action``."""
    index = str(action.get("key", "")).rsplit("/", 1)[-1]
    rule = action.get("rule")
    if rule in ("on_enter", "on_exit"):
        return f"{action.get('state')}.{rule}[{index}]"
    return f"{rule}.do[{index}]"


def run_case(case: ScenarioCase) -> CaseResult:
    """Run one case and compare; never raises for a failing policy or case."""
    from ..runner import run_checked

    sf = case.file
    start = time.perf_counter()
    res = CaseResult(id=case.id, file=sf.display, name=case.name, status="passed", line=case.line,
                     policy=sf.policy, policy_path=display_path(sf.policy_path.resolve()))
    tz = ZoneInfo(sf.policy.timezone)
    exp = case.expect
    try:
        run = run_checked(sf.policy, invoices=case.invoices, customers=case.customers, events=case.events,
                          until=case.until, since=case.since, explain=True, check=exp.invariants)
    except Exception as e:  # an engine bug must not stop the suite
        res.status = "failed"
        res.failures.append(f"the run raised {type(e).__name__}: {e}")
        res.duration = time.perf_counter() - start
        return res
    actions = [_jsonable(a) for a in run.actions]
    res.actions = actions
    res.fired, res.entered = run.fired, run.entered
    res.emitted = {action_ids(a) for a in actions}
    fails = res.failures
    result = run.result
    for r in result.rejects:
        if r.file:
            fails.append(f"record rejected ({r.file}:{r.line}): {r.message}")
            continue
        node = case.record_locations.get(("events", r.line)) if r.line else None
        fails.append(f"record rejected{_loc(node.location if node is not None else None)}: {r.message}")
    errors = [getattr(err, "message", str(err)) for err in result.errors]
    if exp.errors is None:
        for err in result.errors:
            fails.append(f"engine error: case {getattr(err, 'case', '?')}: {getattr(err, 'message', err)}")
    else:
        for text, loc in exp.errors:
            if not any(text in message for message in errors):
                fails.append(f"expected an engine error containing '{text}'{_loc(loc)}; "
                             + (f"errors: {'; '.join(errors)}" if errors else "there was none"))
        for message in errors:
            if not any(text in message for text, _ in exp.errors):
                fails.append(f"unexpected engine error: {message}")
    for v in run.violations:
        if v.invariant == "no_engine_errors":
            continue  # reported above, against 'errors:'
        fails.append(v.render())
    if exp.actions is not None:
        rows = align(exp.actions, actions, tz)
        if any(not (i is not None and j is not None and not d) for i, j, d in rows):
            fails.append(timeline_diff(exp.actions, actions, tz,
                                       title=f"actions differ (expected {len(exp.actions)}, got {len(actions)}):"))
    for ex in exp.contains:
        if any(not match_action(ex, a, tz) for a in actions):
            continue
        msg = f"expected an action matching {{{ex.text}}}{_loc(ex.location)}, found none"
        near = _nearest(ex, actions, tz)
        if near is not None:
            j, diffs = near
            msg += f"; the closest is #{j + 1}: " + "; ".join(f"{k}: expected {w}, got {g}" for k, w, g in diffs)
        fails.append(msg + "\n" + _listing(actions))
    for ex in exp.excludes:
        hits = [a for a in actions if not match_action(ex, a, tz)]
        if hits:
            fails.append(f"expected no action matching {{{ex.text}}}{_loc(ex.location)}, found {len(hits)}:\n"
                         + "\n".join(f"    {summarize_action(a)}" for a in hits))
    for cid, want, loc in exp.states:
        got = result.state_of(cid)
        if got != want:
            fails.append(f"state of {cid}: expected {want}, got {got}{_loc(loc)}")
    for cid, amount, text, loc in exp.balances:
        balance = result.balance_of(cid)
        if balance is None or Decimal(balance) != amount:
            fails.append(f"balance of {cid}: expected {text}, got {balance}{_loc(loc)}")
    if fails:
        res.status = "failed"
    res.duration = time.perf_counter() - start
    return res


def run_scenarios(paths: Iterable[str | os.PathLike], *, match: str | None = None) -> Iterator[CaseResult]:
    """Run every case of every scenario file under ``paths``.

    A file that cannot be loaded gives one result with status 'error' whose
    failure is the positioned error text. ``match`` keeps the cases whose
    name contains it.
    """
    for path in find_scenario_files(paths):
        shown = display_path(path)
        try:
            sf = load_scenario_file(path, display=shown)
        except PolicyError as e:
            yield CaseResult(id=shown, file=shown, name="(file)", status="error",
                             failures=[e.render()], line=getattr(e, "line", None), diagnostics=e.diagnostics)
            continue
        for case in sf.cases:
            if match and match not in case.name:
                continue
            yield run_case(case)


def _jsonable(action: dict) -> dict:
    """The action as its JSONL line reads back: money and dates as text."""
    import orjson

    from ...io.writers import dumps_record

    rec = dict(action)
    rec.pop("explain", None)
    return orjson.loads(dumps_record(rec))


def _loc(loc: Location | None) -> str:
    return f" ({loc})" if loc is not None else ""


def _nearest(e: Expected, actions: list[dict], tz: ZoneInfo) -> tuple[int, list[tuple[str, str, str]]] | None:
    best = None
    for j, a in enumerate(actions):
        diffs = match_action(e, a, tz)
        if best is None or len(diffs) < len(best[1]):
            best = (j, diffs)
    return best if best is not None and len(best[1]) < len(e.fields) else None


def _listing(actions: list[dict]) -> str:
    if not actions:
        return "    (the case emitted no action)"
    return "    actual timeline:\n" + "\n".join(f"    {i + 1:>3}. {summarize_action(a)}" for i, a in enumerate(actions))
