"""Case errors stop one case, drop what it did at that instant, and never stop the run (issue 11).

* A chain of transitions over the bound (``CHAIN_LIMIT``) is an error for that case: its actions of that
  instant are dropped (not written, no contact booked) and the money they posted is taken back.
* A date the engine computes outside years 1900-2200 (a timer, a promise's check, a plan's installment) is
  an error for that case only; the other cases go on and their actions are written (SPEC §5).
"""

import datetime as dt
import json
from decimal import Decimal

import pytest
from click.testing import CliRunner

from conftest import policy, run

from dunning_engine.cli.main import cli
from dunning_engine.engine.clock import Clock, DateOutOfRange
from dunning_engine.engine.core import CHAIN_LIMIT, Engine

# ---------------------------------------------------------------------------------------------- chains

CHAIN = """
policy: chain
currency: USD
states:
  start:
    initial: true
    rules:
      - name: pre
        at: due - 3 days
        do: [{remind: {template: pre_due}}]
      - name: go
        at: due
        do: [{remind: {template: go}}]
        goto: ping
  ping:
    on_enter:
      - fee: {amount: 5 USD}
      - remind: {template: ping}
    rules:
      - when: balance > 500
        goto: pong
      - after: 1 day
        do: [{remind: {template: settled_ping}}]
  pong:
    on_enter: [{remind: {template: pong}}]
    rules:
      - when: balance > 500
        goto: ping
"""
INVOICES = [
    {"id": "LOOP", "customer": "C1", "amount": "1000", "issued": "2026-01-01", "due": "2026-01-31"},
    {"id": "CALM", "customer": "C2", "amount": "100", "issued": "2026-01-01", "due": "2026-01-31"},
]


def test_a_chain_over_the_bound_drops_the_case_actions_of_that_instant_and_its_postings():
    r = run(CHAIN, INVOICES, until="2026-03-31")
    (err,) = r.errors
    assert err.case == "LOOP" and f"more than {CHAIN_LIMIT} transitions at 2026-01-31T09:00:00+00:00" in err.message
    loop = [a for a in r.actions if a["case"] == "LOOP"]
    # before the instant of the chain: kept; at it: none of the 64 transitions' actions
    assert [(a["params"].get("template"), a["at"][:10]) for a in loop] == [("pre_due", "2026-01-28")]
    calm = [a["params"].get("template") or a["type"] for a in r.actions if a["case"] == "CALM"]
    assert calm == ["pre_due", "go", "fee", "ping", "settled_ping"]
    states = {s["case"]: s for s in r.states}
    # the fees the dropped actions posted are taken back; the case reports its error
    assert states["LOOP"]["fees"] == 0 and states["LOOP"]["balance"] == Decimal("1000")
    assert states["LOOP"]["error"] == err.message
    assert states["CALM"]["fees"] == Decimal("5")


def test_a_failed_chain_books_no_contact_for_the_customer():
    # LOOP and LATER belong to one customer, at most one contact a week: LATER's reminder on Feb 4 comes
    # a week after LOOP's on Jan 28; had LOOP's dropped actions of Jan 31 booked contacts, it would wait.
    text = CHAIN + """
contact:
  limits:
    - {max: 1, per: 7 days}
"""
    invoices = [INVOICES[0], {"id": "LATER", "customer": "C1", "amount": "100", "issued": "2026-01-01",
                              "due": "2026-02-07"}]
    r = run(text, invoices, until="2026-03-31")
    assert [e.case for e in r.errors] == ["LOOP"]
    later = [a for a in r.actions if a["case"] == "LATER"]
    assert later[0]["params"]["template"] == "pre_due" and later[0]["at"] == "2026-02-04T09:00:00+00:00"
    assert "deferred_from" not in later[0]


def test_the_chain_bound_is_the_engines_not_a_fixed_64():
    p = policy(CHAIN)
    from dunning_engine.io.readers import Rejects, read_invoices

    engine = Engine(p, chain_limit=3)
    for inv in read_invoices([INVOICES[0]], tz=engine.clock.tz, default_currency="USD", rejects=Rejects()):
        engine.add_invoice(inv)
    actions = engine.advance(dt.date(2026, 3, 31))
    assert [a["params"]["template"] for a in actions] == ["pre_due"]
    assert "more than 3 transitions" in engine.errors[0].message


# ---------------------------------------------------------------------------------------------- dates

def _date_policy(rule: str, extra_states: str = "") -> str:
    return f"""
policy: dates
currency: USD
states:
  open:
    initial: true
    on_enter: [{{remind: {{template: welcome}}}}]
    rules:
{rule}
      - on: promise_to_pay
        goto: promised
  promised:
    rules:
      - at: promise.date + 13 months
        do: [{{remind: {{template: long_promise}}}}]
{extra_states}"""


GOOD = {"id": "GOOD", "customer": "C1", "amount": "100", "issued": "2026-01-01", "due": "2026-01-31"}
LATE = {"id": "LATE", "customer": "C2", "amount": "100", "issued": "2199-06-01", "due": "2199-07-01"}


@pytest.mark.parametrize("rule, what, late", [
    ("      - after: 24 months\n        do: [{remind: {template: later}}]",
     "the time of rule 'open.1' is 2201-06-01", []),
    ("      - at: due + 800 days\n        do: [{remind: {template: later}}]",
     "the time of rule 'open.1' is 2201-09-09", []),
    # the second occurrence is outside: the case fails when the first fires, which drops that first one too
    ("      - every: 12 months\n        max: 3\n        do: [{remind: {template: later}}]",
     "the time of rule 'open.1' is 2201-06-01", ["welcome"]),
])
def test_a_timer_outside_the_years_is_an_error_for_its_case_only(rule, what, late):
    r = run(_date_policy(rule), [GOOD, LATE], until="2200-12-31")
    (err,) = r.errors
    assert err.case == "LATE" and what in str(err)
    good = [a["params"]["template"] for a in r.actions if a["case"] == "GOOD"]
    assert good[0] == "welcome" and "later" in good
    # the case's actions of the instant of the error are dropped (here its on_enter's welcome)
    assert [a["params"]["template"] for a in r.actions if a["case"] == "LATE"] == late


def test_a_date_past_year_9999_in_an_expression_fails_its_case_only():
    text = _date_policy("      - after: 1 day\n        do: [{remind: {template: later}}]").replace(
        "promise.date + 13 months", "promise.date + 3000 months * 40")
    events = [{"type": "promise_to_pay", "at": "2026-02-03", "invoice": "LATE2", "date": "2026-03-01"}]
    late = {"id": "LATE2", "customer": "C2", "amount": "100", "issued": "2026-01-01", "due": "2026-01-31"}
    r = run(text, [GOOD, late], events, until="2026-06-30")
    (err,) = r.errors
    assert err.case == "LATE2" and "year 12026 is out of range" in str(err)
    assert [a["params"]["template"] for a in r.actions if a["case"] == "GOOD"] == ["welcome", "later"]


def test_a_promise_dated_near_the_limit_fails_its_case_only():
    events = [{"type": "promise_to_pay", "at": "2026-02-03", "invoice": "LATE2", "date": "2199-12-15"}]
    late = {"id": "LATE2", "customer": "C2", "amount": "100", "issued": "2026-01-01", "due": "2026-01-31"}
    r = run(_date_policy("      - after: 1 day\n        do: [{remind: {template: later}}]"), [GOOD, late], events,
            until="2026-06-30")
    (err,) = r.errors
    assert err.case == "LATE2" and "the time of rule 'promised.1' is 2201-01-15" in str(err)
    assert [a["params"]["template"] for a in r.actions if a["case"] == "GOOD"] == ["welcome", "later"]
    assert [a["params"]["template"] for a in r.actions if a["case"] == "LATE2"] == ["welcome", "later"]


def test_the_day_after_the_last_day_is_outside_the_years():
    clock = Clock("UTC")
    assert clock.day_after(dt.date(2200, 12, 30), "x") == clock.day_start(dt.date(2200, 12, 31))
    with pytest.raises(DateOutOfRange, match="the day after the promised date is 2201-01-01"):
        clock.day_after(dt.date(2200, 12, 31), "the day after the promised date")
    with pytest.raises(DateOutOfRange, match="after 9999-12-31"):
        clock.day_after(dt.date(9999, 12, 31), "the day after the promised date")


def test_a_plan_whose_installments_leave_the_years_fails_its_case_only():
    text = _date_policy("      - after: 1 day\n        do: [{offer_plan: {installments: 40, every: 1 month}}]")
    late = dict(LATE, issued="2198-01-01", due="2198-02-01")
    r = run(text, [GOOD, late], until="2200-12-31")
    (err,) = r.errors
    assert err.case == "LATE" and "installment 37 of the plan is 2201-01-09" in str(err)
    assert [a["type"] for a in r.actions if a["case"] == "GOOD"] == ["remind", "offer_plan"]
    assert [a["type"] for a in r.actions if a["case"] == "LATE"] == ["remind"]


def test_dunning_run_reports_the_case_and_writes_the_good_invoices(tmp_path):
    pol = tmp_path / "p.yaml"
    pol.write_text(_date_policy("      - after: 24 months\n        do: [{remind: {template: later}}]"))
    inv = tmp_path / "inv.jsonl"
    inv.write_text("".join(json.dumps(i) + "\n" for i in (GOOD, LATE)))
    out = tmp_path / "out.jsonl"
    r = CliRunner().invoke(cli, ["run", "--policy", str(pol), "--invoices", str(inv), "--until", "2200-12-31",
                                 "--out", str(out)])
    assert r.exit_code == 1
    assert "case LATE: at 2199-06-01T00:00:00+00:00: the time of rule 'open.1' is 2201-06-01, outside years 1900-2200" \
        in r.output
    assert "Traceback" not in r.output
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(a["case"], a["params"]["template"]) for a in written] == [("GOOD", "welcome"), ("GOOD", "later")]
