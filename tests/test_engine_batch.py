"""Cases run one at a time (``Engine(batch=True)``, the default) give exactly what the
instant-by-instant scheduler gives: the same actions in the same order, the same
states, errors and warnings (issue 3, docs/engine.md "Two schedulers")."""

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dunning_engine import load_policy
from dunning_engine.engine.core import Engine
from dunning_engine.engine.runner import simulate
from dunning_engine.io.writers import dumps_record

from conftest import ROOT

START = dt.date(2026, 1, 1)
UNTIL = "2026-08-31"


def _without_contact(path):
    # Contact limits couple a customer's cases, so such policies keep the instant-by-instant
    # scheduler; without their contact block the rest of each policy is exercised in batches.
    return dataclasses.replace(load_policy(path), contact=None)


CHAIN = load_policy("""
policy: chain
version: 1
currency: USD
states:
  a:
    initial: true
    rules:
      - at: due + 1 day
        do: [{remind: {template: a}}]
        goto: b
  b:
    rules:
      - at: due + 1 day
        goto: a
""")

POLICIES = {
    "ladder": load_policy(ROOT / "benchmarks" / "ladder.yaml"),
    "early_pay_discount_usd": load_policy(ROOT / "policies" / "early_pay_discount_usd.yaml"),
    "chain": CHAIN,
    **{name: _without_contact(ROOT / "policies" / f"{name}.yaml")
       for name in ("b2b_friendly_cl", "consumer_mx", "saas_overdue_usd", "consumer_installments_cl")},
}

EVENT_TYPES = ["payment", "payment", "credit_note", "promise_to_pay", "dispute_opened", "dispute_resolved",
               "hold", "release", "payment_failed", "invoice_cancelled", "plan_accepted", "contact_outcome",
               "customer_updated", "invoice_issued"]


@st.composite
def portfolios(draw, currency):
    n = draw(st.integers(1, 6))
    invoices = []
    for i in range(n):
        issued = START + dt.timedelta(days=draw(st.integers(0, 40)))
        invoices.append({"id": f"I{i}", "customer": f"C{draw(st.integers(0, 2))}", "currency": currency,
                         "amount": str(draw(st.integers(1, 300)) * 100), "issued": issued.isoformat(),
                         "due": (issued + dt.timedelta(days=draw(st.integers(0, 45)))).isoformat()})
    events = []
    for k in range(draw(st.integers(0, 14))):
        inv = draw(st.sampled_from(invoices))
        at = dt.datetime.combine(START, dt.time()) + dt.timedelta(minutes=draw(st.integers(0, 200 * 24 * 60)))
        typ = draw(st.sampled_from(EVENT_TYPES))
        ev = {"type": typ, "at": at.isoformat(), "id": f"E{k % 11}"}
        on_customer = typ in ("hold", "release") and draw(st.booleans())
        if typ == "customer_updated" or on_customer:
            ev["customer"] = inv["customer"]
        else:
            ev["invoice"] = inv["id"]
        if typ in ("payment", "credit_note"):
            ev["amount"] = str(draw(st.integers(1, 300)) * 100)
        elif typ == "promise_to_pay":
            ev["date"] = (at.date() + dt.timedelta(days=draw(st.integers(0, 30)))).isoformat()
        elif typ == "contact_outcome":
            ev.update(channel="email", outcome=draw(st.sampled_from(["delivered", "bounced", "replied"])))
        elif typ == "customer_updated":
            ev["fields"] = {"segment": draw(st.sampled_from(["vip", "smb", "enterprise"]))}
        elif typ == "invoice_issued":
            del ev["invoice"]
            ev["invoice"] = {"id": f"N{k}", "customer": inv["customer"], "currency": currency,
                             "amount": str(draw(st.integers(1, 300)) * 100), "issued": at.date().isoformat(),
                             "due": (at.date() + dt.timedelta(days=draw(st.integers(0, 30)))).isoformat()}
        events.append(ev)
    customers = [{"id": f"C{i}", "segment": draw(st.sampled_from(["vip", "smb"]))} for i in range(3)]
    return invoices, events, customers


def everything(result) -> tuple:
    e = result.engine
    return ([dumps_record(a) for a in result.actions], [dumps_record(s) for s in result.states],
            [str(x) for x in e.errors], [str(x) for x in e.warnings], [str(x) for x in result.rejects])


@pytest.mark.parametrize("name", sorted(POLICIES))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_batch_equals_instant_by_instant(name, data):
    policy = POLICIES[name]
    invoices, events, customers = data.draw(portfolios(policy.currency))
    since = data.draw(st.sampled_from([None, "2026-02-01", "2026-03-15T10:00:00"]))
    runs = [simulate(policy, invoices=invoices, events=events, customers=customers, until=UNTIL, since=since,
                     batch=batch) for batch in (True, False)]
    assert everything(runs[0]) == everything(runs[1])


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_batch_in_several_steps_and_any_window_equals_one_run(data):
    policy = POLICIES["saas_overdue_usd"]
    invoices, events, customers = data.draw(portfolios(policy.currency))
    one = simulate(policy, invoices=invoices, events=events, customers=customers, until=UNTIL, batch=False)
    engine = Engine(policy)
    engine.batch_window = data.draw(st.sampled_from([1, 3600, 86400, 7 * 86400, 400 * 86400]))
    from dunning_engine.io.readers import Rejects, read_customers, read_events, read_invoices

    tz = engine.clock.tz
    bad = Rejects()
    for c in read_customers(customers, rejects=bad):
        engine.add_customer(c)
    for i in read_invoices(invoices, tz=tz, default_currency=policy.currency, rejects=bad):
        engine.add_invoice(i)
    for e in read_events(events, tz=tz, default_currency=policy.currency, rejects=bad):
        try:
            engine.add_event(e)
        except Exception:
            pass
    steps = sorted(data.draw(st.lists(st.integers(0, 240), max_size=3)))
    actions = []
    for d in steps:
        actions += engine.run(dt.datetime.combine(START + dt.timedelta(days=d), dt.time(11, 30), tzinfo=tz))
    actions += engine.run(dt.datetime(2026, 8, 31, tzinfo=tz))
    assert [dumps_record(a) for a in actions] == [dumps_record(a) for a in one.actions]
    assert [str(x) for x in engine.errors] == [str(x) for x in one.engine.errors]


def test_contact_rules_and_shared_customer_updates_keep_the_instant_scheduler():
    engine = Engine(load_policy(ROOT / "policies" / "consumer_mx.yaml"))
    assert engine.contact is not None and not engine._independent()
    ladder = Engine(POLICIES["ladder"])
    assert ladder._independent()
    from dunning_engine.engine.records import Event

    ladder.add_event(Event(type="customer_updated", at=dt.datetime(2026, 1, 2, tzinfo=ladder.clock.tz),
                           customer="C1", fields={"fields": {"segment": "vip"}}))
    assert not ladder._independent()


def test_chain_errors_are_reported_in_time_order_in_batches():
    invoices = [{"id": f"I{i}", "customer": "C", "amount": "100", "issued": f"2026-01-0{9 - i}",
                 "due": f"2026-01-{20 - i}"} for i in range(4)]
    runs = [simulate(CHAIN, invoices=invoices, until=UNTIL, batch=b) for b in (True, False)]
    assert len(runs[0].engine.errors) == 4
    assert [e.case for e in runs[0].engine.errors] == ["I3", "I2", "I1", "I0"]  # I3 falls due first
    assert everything(runs[0]) == everything(runs[1])


def test_a_caller_that_stops_reading_midway_leaves_every_case_queued():
    policy = POLICIES["ladder"]
    invoices = [{"id": f"I{i}", "customer": "C", "amount": "100", "issued": "2026-01-01",
                 "due": f"2026-01-{10 + i}"} for i in range(5)]
    whole = simulate(policy, invoices=invoices, until=UNTIL, batch=False).actions
    engine = Engine(policy)
    engine.batch_window = 3 * 86400
    from dunning_engine.io.readers import Rejects, read_invoices

    for inv in read_invoices(invoices, default_currency="USD", rejects=Rejects()):
        engine.add_invoice(inv)
    run = engine.run(dt.datetime(2026, 8, 31, tzinfo=engine.clock.tz))
    first = [next(run) for _ in range(4)]
    run.close()  # the caller stops reading: every case stays queued for a later run
    assert "_wake_at" not in engine.__dict__
    assert all(c.next_wake is not None for c in engine.cases.values())
    assert first == whole[:4]
