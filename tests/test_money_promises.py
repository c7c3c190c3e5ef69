"""Promises to pay: promise.date / promise.amount, promise_kept right after the payment that reaches
the amount, promise_broken at 00:00 local of the day after the date, a new promise replaces the old
one (SPEC §2, §4; issue 5)."""

import datetime as dt
from decimal import Decimal

from conftest import local_date, run

D = Decimal

SNAP = "{custom: {name: snap, params: {date: promise.date, amount: promise.amount, bal: balance}}}"
# CLP, Santiago (UTC-3 in summer). The case parks in `promised` on a promise and reacts to the outcome.
PROMISES = f"""
policy: ptp
currency: CLP
timezone: America/Santiago
states:
  overdue:
    initial: true
    rules:
      - on: promise_to_pay
        do: [{SNAP}]
        goto: promised
  promised:
    rules:
      - on: promise_to_pay
        do: [{SNAP}]
      - on: promise_kept
        do: [{{remind: {{template: gracias}}}}, {SNAP}]
        goto: overdue
      - on: promise_broken
        do: [{{remind: {{template: promesa_incumplida}}}}, {SNAP}]
        goto: overdue
      - on: payment
        do: [{SNAP}]
"""

INV = [{"id": "B1", "customer": "C1", "amount": "500000", "issued": "2026-01-01", "due": "2026-01-31"}]


def ev(typ, at, **kw):
    return {"type": typ, "at": at, "invoice": "B1", **kw}


def rows(result):
    out = []
    for a in result.actions:
        if a["type"] == "custom":
            p = a["params"]["params"]
            out.append((a["at"], "snap", str(p["date"]) if p["date"] else None,
                        str(p["amount"].amount) if p["amount"] else None))
        else:
            out.append((a["at"], a["params"]["template"]))
    return out


def test_promise_variables_and_default_amount_is_the_balance():
    r = run(PROMISES, INV, [ev("payment", "2026-02-01T10:00", amount="100000"),
                            ev("promise_to_pay", "2026-02-02T10:00", date="2026-02-10")], until="2026-02-05")
    assert rows(r) == [("2026-02-02T10:00:00-03:00", "snap", "2026-02-10", "400000")]


def test_promise_kept_right_after_the_payment_that_reaches_the_amount():
    events = [ev("payment", "2026-02-01T10:00", amount="50000"),              # before the promise: does not count
              ev("promise_to_pay", "2026-02-02T10:00", date="2026-02-10", amount="300000"),
              ev("payment", "2026-02-05T10:00", amount="200000"),
              ev("payment", "2026-02-09T18:30", amount="100000")]              # reaches 300,000
    r = run(PROMISES, INV, events, until="2026-03-01")
    assert rows(r) == [
        ("2026-02-02T10:00:00-03:00", "snap", "2026-02-10", "300000"),
        ("2026-02-05T10:00:00-03:00", "snap", "2026-02-10", "300000"),   # the payment's rule: not kept yet
        ("2026-02-09T18:30:00-03:00", "snap", "2026-02-10", "300000"),   # the payment's own rule runs first
        ("2026-02-09T18:30:00-03:00", "gracias"),                         # then promise_kept, at the same instant
        ("2026-02-09T18:30:00-03:00", "snap", None, None),                # the kept promise has ended
    ]
    assert r.engine.cases["B1"].promise is None and r.state_of("B1") == "overdue"


def test_promise_broken_at_midnight_local_after_the_date_and_stays_readable():
    events = [ev("promise_to_pay", "2026-02-02T10:00", date="2026-02-10", amount="300000"),
              ev("payment", "2026-02-10T23:00", amount="299999")]                # one peso short, late evening
    r = run(PROMISES, INV, events, until="2026-03-01")
    assert rows(r)[-2:] == [("2026-02-11T00:00:00-03:00", "promesa_incumplida"),
                            ("2026-02-11T00:00:00-03:00", "snap", "2026-02-10", "300000")]
    # a payment after the break that reaches the amount does not make the promise kept
    events.append(ev("payment", "2026-02-12T10:00", amount="1"))
    r = run(PROMISES, INV, events, until="2026-03-01")
    assert "gracias" not in [x[1] for x in rows(r)]
    promise = r.engine.cases["B1"].promise
    assert (promise.date, promise.amount, promise.broken) == (dt.date(2026, 2, 10), D("300000"), True)


def test_a_new_promise_replaces_the_old_one():
    events = [ev("promise_to_pay", "2026-02-02T10:00", date="2026-02-10", amount="300000"),
              ev("payment", "2026-02-04T10:00", amount="250000"),
              ev("promise_to_pay", "2026-02-08T10:00", date="2026-02-20", amount="100000"),
              ev("payment", "2026-02-15T10:00", amount="100000")]      # counts only toward the new promise
    r = run(PROMISES, INV, events, until="2026-03-01")
    got = rows(r)
    assert ("2026-02-11T00:00:00-03:00", "promesa_incumplida") not in got   # the old date no longer breaks
    assert ("2026-02-15T10:00:00-03:00", "gracias") in got
    assert [x for x in got if x[1] == "snap"][2] == ("2026-02-08T10:00:00-03:00", "snap", "2026-02-20", "100000")


def test_a_replacement_resets_what_was_paid_toward_the_promise():
    events = [ev("promise_to_pay", "2026-02-02T10:00", date="2026-02-10", amount="300000"),
              ev("payment", "2026-02-04T10:00", amount="250000"),
              ev("promise_to_pay", "2026-02-08T10:00", date="2026-02-20", amount="100000"),
              ev("payment", "2026-02-15T10:00", amount="90000")]
    got = rows(run(PROMISES, INV, events, until="2026-03-01"))
    assert ("2026-02-21T00:00:00-03:00", "promesa_incumplida") in got and "gracias" not in [x[1] for x in got]


def test_a_promise_for_a_case_settled_with_a_discount_is_kept():
    text = PROMISES.replace("""      - on: promise_to_pay
        do: [{SNAP}]
        goto: promised""".replace("{SNAP}", SNAP), """      - on: promise_to_pay
        do: [{discount: {percent: 10%, until: promise.date}}]
        goto: promised""")
    events = [ev("promise_to_pay", "2026-02-02T10:00", date="2026-02-10"),
              ev("payment", "2026-02-09T10:00", amount="450000")]    # 500,000 - 10% = 450,000 settles
    r = run(text, INV, events, until="2026-03-01")
    assert "gracias" in [a["params"].get("template") for a in r.actions]
    assert r.states[0]["balance"] == 0 and r.states[0]["discounts"] == D("50000")


def test_a_promise_whose_case_owes_nothing_at_the_date_ends_without_an_event():
    events = [ev("promise_to_pay", "2026-02-02T10:00", date="2026-02-10", amount="300000"),
              ev("credit_note", "2026-02-05T10:00", amount="500000")]
    r = run(PROMISES, INV, events, until="2026-03-01")
    assert [x[1] for x in rows(r)] == ["snap"]
    assert r.engine.cases["B1"].promise is None


def test_promise_broken_during_a_hold_is_raised_at_the_release():
    events = [ev("promise_to_pay", "2026-02-02T10:00", date="2026-02-10", amount="300000"),
              ev("hold", "2026-02-09T10:00"),
              ev("release", "2026-02-15T12:00")]
    r = run(PROMISES, INV, events, until="2026-03-01")
    assert rows(r)[-2:] == [("2026-02-15T12:00:00-03:00", "promesa_incumplida"),
                            ("2026-02-15T12:00:00-03:00", "snap", "2026-02-10", "300000")]


def test_promise_kept_in_customer_scope_counts_payments_on_any_invoice():
    text = PROMISES.replace("policy: ptp", "policy: ptp\nscope: customer")
    invs = INV + [{"id": "B2", "customer": "C1", "amount": "100000", "issued": "2026-01-05", "due": "2026-02-04"}]
    events = [ev("promise_to_pay", "2026-02-02T10:00", date="2026-02-10"),      # default: 600,000
              ev("payment", "2026-02-05T10:00", amount="500000"),
              {"type": "payment", "at": "2026-02-06T10:00", "invoice": "B2", "amount": "100000"}]
    r = run(text, invs, events, until="2026-03-01")
    got = rows(r)
    assert got[0][3] == "600000" and ("2026-02-06T10:00:00-03:00", "gracias") in got
    assert local_date(r.actions[-1]) == "2026-02-06"
