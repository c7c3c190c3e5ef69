"""Run a policy over files: the edge of the engine where I/O happens (``dunning run``)."""

from __future__ import annotations

from typing import Callable

from ..errors import PolicyError, RecordError
from ..policy.load import load_policy
from .core import Engine

__all__ = ["run_files"]


def run_files(policy_path: str, *, invoices: str, customers: str | None = None, events: str | None = None,
              until: str, since: str | None = None, out: str = "-", states: str | None = None,
              explain: bool = False, rejects: str | None = None,
              report: Callable[[str], None] = print) -> int:
    """Run and write actions; return the number of problems (rejected records and failed cases)."""
    from ..io.readers import Rejects, parse_instant, read_customers, read_events, read_invoices
    from ..io.writers import JsonlWriter

    policy = load_policy(policy_path)
    engine = Engine(policy, explain=explain)
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

    if customers:
        for c in read_customers(customers, rejects=bad):
            engine.add_customer(c)
    for inv in read_invoices(invoices, tz=tz, default_currency=policy.currency, rejects=bad):
        place(engine.add_invoice, inv, (invoices, None))
    if events:
        for ev in read_events(events, tz=tz, default_currency=policy.currency, rejects=bad):
            place(engine.add_event, ev, ev.origin)
    if since_t is not None and since_t <= until_t:
        for _ in engine.run(int(since_t.timestamp()) - 1):
            pass  # before --since: state advances, actions are not written
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
