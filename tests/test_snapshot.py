"""Snapshots of case state (SPEC §8 "Snapshots"; docs/snapshot.md): a run cut at any instant, its
cases written to JSON text and read back into a new engine, goes on exactly as one run.

This is the property the store rests on: split equivalence, checked here on the engine alone (the
store's own tests check it through `dunning run --store`)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from dunning_engine import load_policy
from dunning_engine.engine.core import Engine
from dunning_engine.engine.snapshot import (SNAPSHOT_VERSION, SnapshotError, decode_case, decode_customer,
                                            encode_case, encode_customer)
from dunning_engine.io.rates import install_rates
from dunning_engine.io.readers import Rejects, read_customers, read_events, read_invoices
from dunning_engine.io.writers import dumps_record
from dunning_engine.run import bound

from portfolio import Portfolio

ROOT = Path(__file__).resolve().parent.parent
POLICIES = sorted(p.name for p in (ROOT / "policies").glob("*.yaml"))
PORTFOLIO = Portfolio(160, 5)
CUSTOMERS, INVOICES, EVENTS = PORTFOLIO.customers, PORTFOLIO.invoices, PORTFOLIO.events
UNTIL = "2027-03-31"


_at = PORTFOLIO.known_at


def _engine(policy):
    engine = Engine(policy)
    install_rates(engine, policy)
    return engine


def _feed(engine, policy, customers, invoices, events):
    tz = engine.clock.tz
    bad = Rejects()
    for c in read_customers(customers, rejects=bad):
        engine.add_customer(c)
    for inv in read_invoices(invoices, tz=tz, default_currency=policy.currency, rejects=bad):
        engine.add_invoice(inv)
    for ev in read_events(events, tz=tz, default_currency=policy.currency, rejects=bad):
        engine.add_event(ev)
    assert not list(bad), [str(r) for r in bad]


def one_run(policy):
    engine = _engine(policy)
    _feed(engine, policy, CUSTOMERS, INVOICES, EVENTS)
    actions = [dumps_record(a) for a in engine.run(bound(UNTIL, engine.clock.tz, end=True))]
    return actions, engine.case_states()


def _restore(policy, old: Engine) -> Engine:
    """A new engine holding ``old``'s cases and customers, through JSON text."""
    deferred = old.deferred()
    docs = [json.dumps(encode_case(old, c, deferred.get(c.id, ())), sort_keys=True) for c in old.cases.values()]
    customers = [json.dumps(encode_customer(c)) for c in old.customers.values()]
    contact = {}
    if old.contact is not None:
        for cid, cases in old.customer_cases.items():
            doc = old.contact.export(cid, [c.id for c in cases])
            if doc is not None:
                contact[cid] = json.dumps(doc)
    new = _engine(policy)
    new.resume_at(old.now)
    new.late_events = False
    for text in customers:
        c = decode_customer(json.loads(text))
        new.customers[c.id] = c
    for cid, text in contact.items():
        new.contact.restore(cid, json.loads(text))
    for text in docs:
        d = json.loads(text)
        case, later = decode_case(new, d, new.customers[d["customer"]])
        new.adopt(case, later)
    return new


def split_run(policy, cuts: list[str]):
    engine = _engine(policy)
    tz = engine.clock.tz
    given: set[int] = set()
    actions: list[bytes] = []
    bounds = [bound(c, tz, end=True) for c in cuts] + [bound(UNTIL, tz, end=True)]
    for i, b in enumerate(bounds):
        if i:
            engine = _restore(policy, engine)

        def fresh(rows, kind):
            out = []
            for r in rows:
                if id(r) not in given and bound(_at(r, kind), tz, end=False) <= b:
                    given.add(id(r))
                    out.append(r)
            return out
        _feed(engine, policy, CUSTOMERS if i == 0 else [], fresh(INVOICES, "invoice"), fresh(EVENTS, "event"))
        actions += [dumps_record(a) for a in engine.run(b)]
    return actions, engine.case_states()


@pytest.mark.parametrize("name", POLICIES)
def test_a_run_cut_and_restored_from_json_equals_one_run(name):
    policy = load_policy(ROOT / "policies" / name)
    expected_actions, expected_states = one_run(policy)
    assert len(expected_actions) > 50  # the portfolio exercises the policy
    cuts = ["2026-02-10", "2026-03-01T09:00:00", "2026-05-17", "2026-08-31", "2026-12-01"]
    actions, states = split_run(policy, cuts)
    assert actions == expected_actions
    assert states == expected_states


def test_daily_cuts_equal_one_run():
    policy = load_policy(ROOT / "policies" / "b2b_friendly_cl.yaml")
    expected = one_run(policy)
    days = [(dt.date(2026, 1, 20) + dt.timedelta(days=d)).isoformat() for d in range(0, 300, 3)]
    assert split_run(policy, days) == expected


def test_a_snapshot_names_its_version_and_is_refused_by_another():
    policy = load_policy(ROOT / "policies" / "b2b_friendly_cl.yaml")
    engine = _engine(policy)
    _feed(engine, policy, CUSTOMERS, INVOICES[:5], [])
    engine.run(bound("2026-06-01", engine.clock.tz, end=True))
    list(engine.run(bound("2026-06-01", engine.clock.tz, end=True)))
    case = next(iter(engine.cases.values()))
    doc = encode_case(engine, case)
    assert doc["v"] == SNAPSHOT_VERSION and doc["state"] == policy.states[[s.name for s in policy.states].index(doc["state"])].name
    json.dumps(doc)  # plain JSON values only
    new = _engine(policy)
    with pytest.raises(SnapshotError, match="version"):
        decode_case(new, dict(doc, v=SNAPSHOT_VERSION + 1), case.customer)
    with pytest.raises(SnapshotError, match="no state 'nowhere'"):
        decode_case(new, dict(doc, state="nowhere"), case.customer)


def test_contact_entries_of_cases_a_run_did_not_load_are_kept():
    """A store run holds some of a customer's cases: writing the customer's contact document back
    keeps the entries of the others as they were."""
    policy = load_policy(ROOT / "policies" / "consumer_mx.yaml")
    engine = _engine(policy)
    assert engine.contact is not None
    doc = {"customer": [[100, 200], ["sms", "email"]], "cases": {"X": [[100], ["sms"]], "Y": [[200], ["email"]]},
           "conversations": {"Y": [150]}, "warned": ["Y"]}
    engine.contact.restore("C1", json.loads(json.dumps(doc)))
    assert engine.contact.export("C1", ["X"]) == doc
