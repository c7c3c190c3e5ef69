"""Properties of the engine over random portfolios and event streams (issue 3)."""

import datetime as dt
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from dunning_engine import load_policy
from dunning_engine.run import simulate
from dunning_engine.io.writers import dumps_record

from conftest import ROOT

POLICY = load_policy(ROOT / "policies" / "b2b_friendly_cl.yaml")
START = dt.date(2026, 1, 1)
EVENT_TYPES = ["payment", "credit_note", "promise_to_pay", "dispute_opened", "dispute_resolved", "hold", "release",
               "payment_failed", "invoice_cancelled"]


@st.composite
def portfolios(draw, distinct_times=False):
    n = draw(st.integers(1, 6))
    invoices = []
    for i in range(n):
        issued = START + dt.timedelta(days=draw(st.integers(0, 40)))
        invoices.append({"id": f"I{i}", "customer": f"C{draw(st.integers(0, 2))}",
                         "amount": str(draw(st.integers(1, 300)) * 1000), "issued": issued.isoformat(),
                         "due": (issued + dt.timedelta(days=draw(st.integers(0, 45)))).isoformat()})
    events = []
    used = set()
    for _ in range(draw(st.integers(0, 12))):
        inv = draw(st.sampled_from(invoices))
        minute = draw(st.integers(0, 200 * 24 * 60))
        if distinct_times:
            if minute in used:
                continue
            used.add(minute)
        at = dt.datetime.combine(START, dt.time()) + dt.timedelta(minutes=minute)
        typ = draw(st.sampled_from(EVENT_TYPES))
        ev = {"type": typ, "at": at.isoformat(), "invoice": inv["id"]}
        if typ in ("payment", "credit_note"):
            ev["amount"] = str(draw(st.integers(1, 300)) * 1000)
        if typ == "promise_to_pay":
            ev["date"] = (at.date() + dt.timedelta(days=draw(st.integers(0, 30)))).isoformat()
        events.append(ev)
    customers = [{"id": f"C{i}", "segment": draw(st.sampled_from(["vip", "smb"]))} for i in range(3)]
    return invoices, events, customers


def output(result) -> bytes:
    return b"".join(dumps_record(a) for a in result.actions) + b"".join(dumps_record(s) for s in result.states)


UNTIL = "2026-09-30"


@settings(max_examples=40)
@given(portfolios())
def test_same_inputs_give_byte_identical_output(p):
    invoices, events, customers = p
    a = simulate(POLICY, invoices=invoices, events=events, customers=customers, until=UNTIL)
    b = simulate(POLICY, invoices=invoices, events=events, customers=customers, until=UNTIL)
    assert output(a) == output(b)


@settings(max_examples=40)
@given(portfolios())
def test_keys_never_repeat_and_actions_are_ordered(p):
    invoices, events, customers = p
    r = simulate(POLICY, invoices=invoices, events=events, customers=customers, until=UNTIL)
    keys = [a["key"] for a in r.actions]
    assert len(keys) == len(set(keys))
    order = [(dt.datetime.fromisoformat(a["at"]), a["case"]) for a in r.actions]
    assert order == sorted(order)


@settings(max_examples=40)
@given(portfolios())
def test_no_action_after_a_final_state(p):
    invoices, events, customers = p
    r = simulate(POLICY, invoices=invoices, events=events, customers=customers, until=UNTIL)
    finals = {s.name for s in POLICY.states if s.final}
    reached: dict[str, str] = {}
    for a in r.actions:
        assert a["case"] not in reached, f"action after final state: {a}"
        if a["state"] in finals:
            reached[a["case"]] = a["key"]
    for case in r.engine.cases.values():
        for led in case.ledgers.values():
            assert led.balanced()


@settings(max_examples=30)
@given(portfolios(), st.integers(0, 270))
def test_advancing_in_two_steps_equals_one_run(p, split_days):
    invoices, events, customers = p
    one = simulate(POLICY, invoices=invoices, events=events, customers=customers, until=UNTIL)
    from dunning_engine.engine.core import Engine
    from dunning_engine.io.readers import Rejects, read_customers, read_events, read_invoices

    eng = Engine(POLICY)
    tz = eng.clock.tz
    bad = Rejects()
    for c in read_customers(customers, rejects=bad):
        eng.add_customer(c)
    for i in read_invoices(invoices, tz=tz, default_currency="CLP", rejects=bad):
        eng.add_invoice(i)
    for e in read_events(events, tz=tz, default_currency="CLP", rejects=bad):
        eng.add_event(e)
    split = dt.datetime.combine(START + dt.timedelta(days=split_days), dt.time(13, 17), tzinfo=tz)
    two = list(eng.run(split)) + list(eng.run(dt.datetime(2026, 9, 30, tzinfo=tz)))
    assert two == one.actions


@settings(max_examples=30)
@given(portfolios(distinct_times=True), st.randoms(use_true_random=False))
def test_shuffling_the_event_file_changes_nothing(p, rnd):
    invoices, events, customers = p
    shuffled = list(events)
    rnd.shuffle(shuffled)
    a = simulate(POLICY, invoices=invoices, events=events, customers=customers, until=UNTIL)
    b = simulate(POLICY, invoices=invoices, events=shuffled, customers=customers, until=UNTIL)
    assert output(a) == output(b)


@settings(max_examples=60)
@given(st.lists(st.fixed_dictionaries({
    "type": st.sampled_from(EVENT_TYPES + ["promise_to_pay", "plan_accepted", "customer_updated", "bogus"]),
    "at": st.sampled_from(["2026-02-01", "2026-02-01T10:00:00", "2026-03-15T23:59:59", "not a date", "2025-12-31"]),
    "invoice": st.sampled_from(["I0", "I1", "nope"]),
    "amount": st.sampled_from(["1000", "-5", "0", "abc", "999999999"]),
    "date": st.sampled_from(["2026-02-10", "2026-13-01"]),
}), max_size=15))
def test_random_event_streams_give_results_or_reported_errors_never_exceptions(events):
    invoices = [{"id": "I0", "customer": "C0", "amount": "5000", "issued": "2026-01-01", "due": "2026-01-20"},
                {"id": "I1", "customer": "C0", "amount": "7000", "issued": "2026-01-05", "due": "2026-02-05"}]
    r = simulate(POLICY, invoices=invoices, events=events, until=UNTIL)
    assert len(r.rejects) <= len(events)
    for e in r.rejects:
        assert e.message
