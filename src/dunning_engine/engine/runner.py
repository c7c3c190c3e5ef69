"""Run a policy over files: the edge of the engine where I/O happens (``dunning run``)."""

from __future__ import annotations

import gc
from pathlib import Path

from typing import Callable

from ..errors import PolicyError, RecordError
from ..policy.load import load_policy
from .core import Engine
from .rates import install_rates

__all__ = ["run_files", "simulate", "Result"]

_PLACED = (None, None)


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
    ``since`` are dates, datetimes or their ISO text. Invalid records land in
    ``Result.rejects``; the rest is processed.
    """
    import datetime as _dt

    from ..io.readers import Rejects, parse_instant, read_customers, read_events, read_invoices
    from ..policy.ir import Policy

    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    engine = Engine(policy, explain=explain)
    install_rates(engine, policy)  # rates: tables (files relative to the policy file)
    tz = engine.clock.tz

    def instant(value):
        if isinstance(value, _dt.datetime):
            return value if value.tzinfo else value.replace(tzinfo=tz)
        if isinstance(value, _dt.date):
            return _dt.datetime.combine(value, _dt.time(0), tzinfo=tz)
        return parse_instant(str(value), tz)

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
    if since is not None:
        for _ in engine.run(int(instant(since).timestamp()) - 1):
            pass
    actions = list(engine.run(instant(until)))
    return Result(engine, actions, bad)


def run_files(policy_path: str, *, invoices: str, customers: str | None = None, events: str | None = None,
              until: str, since: str | None = None, out: str = "-", states: str | None = None,
              explain: bool = False, rejects: str | None = None,
              report: Callable[[str], None] = print) -> int:
    """Run and write actions; return the number of problems (rejected records and failed cases)."""
    policy = load_policy(Path(policy_path))  # a path: an unknown suffix is an error, not policy text
    engine = Engine(policy, explain=explain)
    # A run holds millions of small objects and creates no reference cycles worth collecting:
    # the cyclic garbage collector's full scans would cost a third of the run (benchmarks/).
    # This process is ours, so pause it for the run (embedding code may do the same).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(engine, policy, invoices=invoices, customers=customers, events=events, until=until,
                    since=since, out=out, states=states, rejects=rejects, report=report)
    finally:
        if gc_was_enabled:
            gc.enable()


def _run(engine, policy, *, invoices, customers, events, until, since, out, states, rejects, report) -> int:
    from ..io.readers import Rejects, parse_instant, read_customers, read_events, read_invoices
    from ..io.writers import JsonlWriter

    install_rates(engine, policy)  # rates: tables (files relative to the policy file)
    tz = engine.clock.tz
    try:
        until_t = parse_instant(until, tz)
        since_t = parse_instant(since, tz) if since else None
    except ValueError as e:
        raise PolicyError(f"--until/--since: {e}", help="write a date (2026-03-01) or a datetime (2026-03-01T09:00)") from None
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
    if since_t is not None:
        for _ in engine.run(min(int(since_t.timestamp()) - 1, int(until_t.timestamp()))):
            pass  # before --since: state advances, actions are not written (all of them if since > until)
    with JsonlWriter(out) as w:
        w.write_many(engine.run(until_t))
    if states:
        with JsonlWriter(states) as w:
            w.write_many(engine.case_states())
    for e in bad.errors:
        report(e.render())
    if rejects:
        bad.write_jsonl(rejects)
    for e in engine.errors:
        report(f"error: {e}")
    if bad.errors:
        report(f"{len(bad.errors)} record(s) rejected")
    return len(bad.errors) + len(engine.errors)
