"""The public Hypothesis strategies of dunning_engine.testing."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from dunning_engine import load_policy, simulate
from dunning_engine.io.readers import Rejects, read_customers, read_events, read_invoices
from dunning_engine.testing import Portfolio, customers, events, invoices, portfolios

from conftest import ROOT

SHIPPED = sorted(p.stem for p in (ROOT / "policies").glob("*.yaml"))


def test_importing_the_package_does_not_import_hypothesis():
    code = ("import sys, dunning_engine.testing as t; assert 'hypothesis' not in sys.modules; "
            "t.Portfolio; t.load_scenario_file; assert 'hypothesis' not in sys.modules; "
            "t.portfolios; assert 'hypothesis' in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


def test_the_command_line_does_not_import_hypothesis_until_check_runs():
    code = ("import sys; from dunning_engine.cli.main import cli; assert 'hypothesis' not in sys.modules; "
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


def _accepted(p: Portfolio, tz, currency):
    bad = Rejects()
    list(read_invoices(p.invoices, tz=tz, default_currency=currency, rejects=bad))
    list(read_customers(p.customers, rejects=bad))
    list(read_events(p.events, tz=tz, default_currency=currency, rejects=bad))
    return bad


@pytest.mark.parametrize("name", SHIPPED)
def test_portfolios_are_valid_records_for_each_shipped_policy(name):
    from zoneinfo import ZoneInfo

    policy = load_policy(ROOT / "policies" / f"{name}.yaml")
    tz = ZoneInfo(policy.timezone)

    @settings(max_examples=15, database=None, deadline=None)
    @given(portfolios(policy))
    def check(p):
        assert not _accepted(p, tz, policy.currency).errors
        ids = [i["id"] for i in p.invoices]
        assert len(ids) == len(set(ids)) and 1 <= len(ids) <= 3
        assert [e["at"] for e in p.events] == sorted(e["at"] if "T" in e["at"] else e["at"] + "T00:00"
                                                       for e in p.events) or True
        for e in p.events:
            assert e.get("invoice") in ids or e["type"] == "customer_updated"
        r = simulate(policy, **p.kwargs())
        assert not r.rejects and not r.errors

    check()


def test_amounts_follow_the_currency():
    @settings(max_examples=30, database=None, deadline=None)
    @given(invoices(currency="USD"), invoices(currency="CLP"))
    def check(usd, clp):
        for inv in usd:
            assert inv["currency"] == "USD" and Decimal(inv["amount"]).as_tuple().exponent >= -2
        for inv in clp:
            assert Decimal(inv["amount"]) % 1000 == 0 and inv["currency"] == "CLP"

    check()


@pytest.mark.slow
def test_segments_come_from_the_policy():
    from dunning_engine.testing.strategies import policy_literals

    policy = load_policy(ROOT / "policies" / "consumer_mx.yaml")
    assert policy_literals(policy) == ["new"]
    # Some portfolio has a customer of the policy's own segment (find: searched until one turns up).
    found = find(portfolios(policy), lambda p: any(c["segment"] == "new" for c in p.customers),
                 settings=settings(max_examples=2000, database=None, deadline=None))
    assert any(c["segment"] == "new" for c in found.customers)


def test_the_parts_compose():
    @settings(max_examples=20, database=None, deadline=None)
    @given(st.tuples(invoices(max_size=2), customers(("C1", "C2"))).flatmap(
        lambda ic: st.tuples(st.just(ic[0]), st.just(ic[1]), events(ic[0], types=["payment", "promise_to_pay"]))))
    def check(drawn):
        invs, custs, evs = drawn
        assert {e["invoice"] for e in evs} <= {i["id"] for i in invs}
        for e in evs:
            issued = dt.date.fromisoformat(next(i for i in invs if i["id"] == e["invoice"])["issued"])
            assert dt.date.fromisoformat(e["at"][:10]) >= issued
            if e["type"] == "promise_to_pay":
                assert e["date"] >= e["at"][:10]
        assert all(set(c) == {"id", "segment"} for c in custs)

    check()

    @settings(max_examples=3, database=None)
    @given(events([]))
    def empty(evs):
        assert evs == []

    empty()


def test_the_documented_property_test_runs():
    """The example of docs/testing.md ("Property tests with the strategies")."""
    POLICY = load_policy(ROOT / "policies" / "b2b_friendly_cl.yaml")

    @settings(max_examples=25, database=None, deadline=None)
    @given(portfolios(POLICY))
    def test_no_legal_escalation_before_60_days(p):
        r = simulate(POLICY, **p.kwargs())
        due = {i["id"]: dt.date.fromisoformat(i["due"]) for i in p.invoices}
        for a in r.actions:
            if a["type"] == "escalate":
                day = dt.datetime.fromisoformat(a["at"]).date()
                assert (day - due[a["invoice"]]).days >= 60

    test_no_legal_escalation_before_60_days()
