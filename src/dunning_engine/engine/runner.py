"""Run a policy over files: the edge of the engine where I/O happens (``dunning run``)."""

from __future__ import annotations

import datetime as _dt
import errno
import gc
import sys
from pathlib import Path

from typing import Any, Callable

from ..errors import Diagnostic, OutputError, PolicyError, RecordError
from ..policy.load import load_policy
from .core import Engine
from .rates import install_rates

__all__ = ["run_files", "simulate", "Result", "bound"]

_PLACED = (None, None)
YEARS = (1900, 2200)  # the dates an --until/--since may name (SPEC §5)


def bound(value, tz, *, end: bool) -> int:
    """The instant (whole seconds since the epoch) that an ``until`` (``end=True``) or ``since`` names.

    A date (``datetime.date``, or text such as ``2026-03-31``) as ``until`` means through the end of
    that local day: the last second before 00:00 of the next day; as ``since`` it means 00:00 of that
    day (SPEC §5). So daily windows written as dates never overlap and leave no gap. A datetime, or
    ISO text with a time, is exactly that instant (local time in ``tz`` when it has no offset); both
    bounds are inclusive. Raises ``ValueError`` for text that is not ISO 8601 or a year outside
    1900–2200.
    """
    from ..io.readers import parse_instant

    t: _dt.datetime | None = None
    text = None
    if isinstance(value, _dt.datetime):
        day, t = value.date(), value if value.tzinfo else value.replace(tzinfo=tz)
    elif isinstance(value, _dt.date):
        day = value
    else:
        text = str(value).strip()
        day = _written_date(text) or parse_instant(text, tz).date()  # parse_instant: what is wrong
    if not YEARS[0] <= day.year <= YEARS[1]:  # checked before any arithmetic on it
        raise ValueError(f"'{value}' is outside the supported years {YEARS[0]}–{YEARS[1]}: "
                         "give a date or a datetime within them")
    if text is not None and len(text) > 10:  # a date alone has 10 characters; this has a time
        t = parse_instant(text, tz)
    if t is not None:
        return int(t.timestamp())
    if end:  # 00:00 of the next day, minus one second (instants are whole seconds)
        return int(_dt.datetime.combine(day + _dt.timedelta(days=1), _dt.time(0), tzinfo=tz).timestamp()) - 1
    return int(_dt.datetime.combine(day, _dt.time(0), tzinfo=tz).timestamp())


def _written_date(text: str) -> _dt.date | None:
    """The date that ISO text starts with, as written (before any timezone), or None."""
    try:
        return _dt.date.fromisoformat(text[:10]) if len(text) >= 10 else None
    except ValueError:
        return None


def _advance_silently(engine: Engine, since: int | None, until: int) -> None:
    """Before ``since``, state advances and actions are not kept (all of them if since > until)."""
    if since is not None:
        for _ in engine.run(min(since - 1, until)):
            pass


class Result:
    """What a run produced: actions (in order), case states, rejected records and case errors."""

    def __init__(self, engine: Engine, actions: list[dict], rejects) -> None:
        self.engine = engine
        self.actions = actions
        self.rejects = list(rejects)

    @property
    def errors(self) -> list:
        """Errors reported for cases (live: includes those raised by later ``engine.run`` calls)."""
        return list(self.engine.errors)

    @property
    def states(self) -> list[dict]:
        return self.engine.case_states()

    def state_of(self, case: str) -> str | None:
        c = self.engine.cases.get(case)
        return None if c is None or c.state < 0 else self.engine.cp.states[c.state].name

    def balance_of(self, case: str):
        return next((s["balance"] for s in self.states if s["case"] == case), None)


def simulate(policy, *, invoices, customers=(), events=(), until, since=None, explain: bool = False) -> Result:
    """Run ``policy`` (an ``ir.Policy``, a path or policy text) over records in memory or files.

    ``invoices``, ``customers`` and ``events`` are what the readers accept: paths,
    lines, or dicts shaped like the JSONL records of SPEC §4. ``until`` and
    ``since`` are dates, datetimes or their ISO text, read as ``dunning run``
    reads them (:func:`bound`): a date as ``until`` runs through the end of that
    local day. Invalid records land in ``Result.rejects``; the rest is processed.
    """
    from ..io.readers import Rejects, read_customers, read_events, read_invoices
    from ..policy.ir import Policy

    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    engine = Engine(policy, explain=explain)
    install_rates(engine, policy)  # rates: tables (files relative to the policy file)
    tz = engine.clock.tz
    until_t = bound(until, tz, end=True)
    since_t = bound(since, tz, end=False) if since is not None else None

    bad = Rejects()
    for c in read_customers(customers, rejects=bad):
        engine.add_customer(c)
    for inv in read_invoices(invoices, tz=tz, default_currency=policy.currency, rejects=bad):
        try:
            engine.add_invoice(inv)
        except RecordError as e:
            bad.append(e)
    for ev in read_events(events, tz=tz, default_currency=policy.currency, rejects=bad):
        try:
            engine.add_event(ev)
        except RecordError as e:
            bad.append(e)
    _advance_silently(engine, since_t, until_t)
    actions = list(engine.run(until_t))
    return Result(engine, actions, bad)


def run_files(policy_path: str, *, invoices: str, customers: str | None = None, events: str | None = None,
              until: str, since: str | None = None, out: str = "-", states: str | None = None,
              explain: bool = False, rejects: str | None = None,
              report: Callable[[str], None] = print, summary: Callable[[str], None] | None = None,
              diagnostics: Callable[[list[Diagnostic], dict[str, Any]], None] | None = None) -> int:
    """Run and write actions; return the number of problems (rejected records and failed cases).

    ``until``/``since`` are read by :func:`bound` (a date as ``until``: through the end of that day).
    ``report`` receives each problem; ``summary``, when given, one line at the end: cases by state,
    actions written by type, records rejected (and cases failed). ``diagnostics``, when given,
    receives instead the problems as diagnostics and the figures of that line (:func:`run_figures`),
    once at the end. A write that fails raises :class:`~dunning_engine.errors.OutputError` naming the
    file (``"-"``: standard output).
    """
    if out == "-":
        _check_stdout()  # started with stdout closed: say so before the run
    policy = load_policy(Path(policy_path))  # a path: an unknown suffix is an error, not policy text
    engine = Engine(policy, explain=explain)
    # A run holds millions of small objects and creates no reference cycles worth collecting:
    # the cyclic garbage collector's full scans would cost a third of the run (benchmarks/).
    # This process is ours, so pause it for the run (embedding code may do the same).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(engine, policy, invoices=invoices, customers=customers, events=events, until=until,
                    since=since, out=out, states=states, rejects=rejects, report=report, summary=summary,
                    diagnostics=diagnostics)
    finally:
        if gc_was_enabled:
            gc.enable()


def _run(engine, policy, *, invoices, customers, events, until, since, out, states, rejects, report,
         summary, diagnostics) -> int:
    from ..io.readers import Rejects, read_customers, read_events, read_invoices

    install_rates(engine, policy)  # rates: tables (files relative to the policy file)
    tz = engine.clock.tz
    try:
        until_t = bound(until, tz, end=True)
        since_t = bound(since, tz, end=False) if since else None
    except ValueError as e:
        raise PolicyError(f"--until/--since: {e}", help="write a date (2026-03-01) or a datetime (2026-03-01T09:00)",
                          code="invalid-instant") from None
    bad = Rejects()

    def place(fn, record, origin):
        try:
            fn(record)
        except RecordError as e:
            if e.file is None:
                e.file, e.line = origin
            bad.append(e)
        else:
            # Placed: no message will name its line any more. The records are this run's own (the
            # readers made them), so drop the (file, line) pair: two objects less per record held.
            record.origin = _PLACED

    if customers:
        for c in read_customers(customers, rejects=bad):
            engine.add_customer(c)
    for inv in read_invoices(invoices, tz=tz, default_currency=policy.currency, rejects=bad):
        place(engine.add_invoice, inv, inv.origin)
    if events:
        for ev in read_events(events, tz=tz, default_currency=policy.currency, rejects=bad):
            place(engine.add_event, ev, ev.origin)
    _advance_silently(engine, since_t, until_t)
    counts: dict[str, int] | None = {} if summary is not None or diagnostics is not None else None
    actions = engine.run(until_t)
    if counts is not None:
        actions = _counted(actions, counts)
    _writing(out, lambda target: _write_jsonl(target, actions))
    if states:
        _writing(states, lambda target: _write_jsonl(target, engine.case_states()))
    if diagnostics is None:
        for reject in bad.errors:
            report(reject.render())
    if rejects:
        _writing(rejects, bad.write_jsonl)
    if diagnostics is not None:
        diagnostics([e.diagnostic for e in bad.errors] + [e.diagnostic for e in engine.errors],
                    run_figures(engine, counts or {}, len(bad.errors)))
        return len(bad.errors) + len(engine.errors)
    for failure in engine.errors:
        report(f"error: {failure}")
    if summary is not None:
        summary(_summary(run_figures(engine, counts or {}, len(bad.errors))))
    elif bad.errors:
        report(f"{len(bad.errors)} record(s) rejected")
    return len(bad.errors) + len(engine.errors)


def _write_jsonl(target: str, records) -> int:
    """Write ``records`` as JSONL to ``target`` (a path, or ``"-"`` for standard output)."""
    from ..io.writers import JsonlWriter

    with JsonlWriter(target) as w:
        return w.write_many(records)


def _check_stdout() -> None:
    if sys.stdout is None:  # the process started with its standard output closed (>&-)
        raise OutputError.from_os_error(OSError(errno.EBADF, "closed"), "-")


def _writing(target: str, write: Callable[[str], object]) -> None:
    """``write(target)``; a file that cannot be opened or written, a full disk or a closed pipe is an
    OutputError naming ``target``."""
    if target == "-":
        _check_stdout()
    try:
        write(target)
    except OSError as e:
        raise OutputError.from_os_error(e, target) from None


def _counted(actions, counts: dict[str, int]):
    """``actions``, passed through, counting them by type into ``counts``."""
    for a in actions:
        t = a["type"]
        counts[t] = counts.get(t, 0) + 1
        yield a


def _n(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def run_figures(engine: Engine, actions: dict[str, int], rejected: int) -> dict[str, Any]:
    """The figures of a run: cases (and by state), actions written (and by type), records rejected,
    cases failed."""
    names = [s.name for s in engine.cp.states]
    by_state: dict[str, int] = {}
    for case in engine.cases.values():
        name = names[case.state] if case.state >= 0 else "not started"
        by_state[name] = by_state.get(name, 0) + 1
    return {"cases": len(engine.cases), "cases_by_state": dict(sorted(by_state.items())),
            "actions": sum(actions.values()), "actions_by_type": dict(sorted(actions.items())),
            "rejected": rejected, "failed": len(engine.errors)}


def _summary(figures: dict[str, Any]) -> str:
    """One line: cases (by state), actions written (by type), records rejected, cases failed."""

    def listed(counts: dict[str, int]) -> str:
        return " (" + ", ".join(f"{k} {v}" for k, v in counts.items()) + ")" if counts else ""

    parts = [_n(figures["cases"], "case") + listed(figures["cases_by_state"]),
             _n(figures["actions"], "action") + listed(figures["actions_by_type"]),
             _n(figures["rejected"], "record") + " rejected"]
    if figures["failed"]:
        parts.append(_n(figures["failed"], "case") + " failed")
    return "; ".join(parts)
