"""Interest: simple interest since the last posting (first: since due), whole local days, basis 365/360,
on principal or balance (SPEC §1; issue 5). Every expected amount below is worked out in its comment."""

from decimal import Decimal

import pytest

from conftest import local_date, run

D = Decimal


def policy(do: str, currency: str = "USD", at: str = "due + 15 days", timezone: str = "UTC", extra: str = "") -> str:
    return f"""
policy: i
currency: {currency}
timezone: {timezone}
states:
  s:
    initial: true
    rules:
      - name: post
        at: {at}
        do: {do}
{extra}"""


def inv(amount, currency="USD", due="2026-01-01", id_="SI1", customer="C1"):
    return {"id": id_, "customer": customer, "amount": amount, "currency": currency, "issued": "2025-12-01", "due": due}


def test_erpnext_dunning_with_fees_and_interest():
    # ERPNext's own test (erpnext/accounts/doctype/dunning/test_dunning.py, test_dunning_with_fees_and_interest):
    # a sales invoice of 100 posted 15 days ago (due the same day), dunning type "Second Notice"
    # with a fee of 10 and 10% interest; ERPNext's calculate_interest_and_amount gives
    #   interest = outstanding * rate / 100 * overdue_days / 365 = 100 * 10 / 100 * 15 / 365 = 0.41096 -> 0.41
    #   dunning_amount = 10.41, grand_total = 110.41
    r = run(policy("[{fee: {amount: 10 USD}}, {interest: {annual_rate: 10%}}]"), [inv("100")])
    fee, interest = r.actions
    assert (fee["amount"], interest["amount"]) == (D("10.00"), D("0.41"))
    assert fee["amount"] + interest["amount"] == D("10.41")
    assert r.states[0]["balance"] == D("110.41")
    assert interest["params"]["days"] == 15 and interest["params"]["base"] == D("100")


def test_erpnext_v13_dunning_figures():
    # ERPNext v13's test_dunning: dunning type "First Notice" with a fee of 20 and 8% interest on an
    # outstanding of 100 asserts interest 0.44, dunning amount 20.44, grand total 120.44; 0.44 is
    # 100 * 8 / 100 * 20 / 365 = 0.43836 -> 0.44, i.e. 20 overdue days.
    r = run(policy("[{fee: {amount: 20 USD}}, {interest: {annual_rate: 8%}}]", at="due + 20 days"), [inv("100")])
    assert [a["amount"] for a in r.actions] == [D("20.00"), D("0.44")]
    assert r.states[0]["balance"] == D("120.44")


@pytest.mark.parametrize("currency, amount, rate, days, basis, expected", [
    # 1,234,567 CLP * 24% * 45 / 365 = 36,529.65 -> 36,530 (0 digits)
    ("CLP", "1234567", "24%", 45, 365, "36530"),
    # 100,000 MXN * 12% * 30 / 365 = 986.3013 -> 986.30; on basis 360: exactly 1,000.00
    ("MXN", "100000", "12%", 30, 365, "986.30"),
    ("MXN", "100000", "12%", 30, 360, "1000.00"),
    # 250 BHD * 7.25% * 61 / 360 = 3.071180 -> 3.071; / 365 = 3.029109 -> 3.029
    ("BHD", "250.000", "7.25%", 61, 360, "3.071"),
    ("BHD", "250.000", "7.25%", 61, 365, "3.029"),
    # 1,000 USD * 24% * 30 / 360 = 20.00
    ("USD", "1000", "24%", 30, 360, "20.00"),
])
def test_erpnext_formula_outstanding_rate_days_over_basis(currency, amount, rate, days, basis, expected):
    do = f"[{{interest: {{annual_rate: {rate}, basis: {basis}}}}}]"
    r = run(policy(do, currency, at=f"due + {days} days"), [inv(amount, currency)])
    (a,) = r.actions
    assert (a["amount"], str(a["amount"]), a["currency"]) == (D(expected), expected, currency)
    p = a["params"]
    assert (p["days"], p["basis"], p["annual_rate"], p["on"]) == (days, basis, rate, "principal")
    assert D(amount) * D(rate[:-1]) / 100 * days / basis == p["base_days"] * D(rate[:-1]) / 100 / basis


EVERY = """
      - name: monthly
        every: 30 days
        starting: due + 30 days
        do: [{interest: {annual_rate: 36.5%}}]
"""


def test_each_posting_covers_the_days_since_the_last_one():
    # 36.5% a year is 0.1% a day: 1,000 USD -> 1.00 a day. Postings at due+30, +60, +90: 30.00 each
    # (on principal: posted interest does not compound).
    text = policy("[{remind: {template: x}}]", at="due + 1 day", extra="").replace("      - name: post", EVERY + "      - name: post")
    r = run(text, [inv("1000")], until="2026-04-02")
    posts = [(local_date(a), a["amount"], a["params"]["from"].isoformat(), a["params"]["days"])
             for a in r.actions if a["type"] == "interest"]
    assert posts == [("2026-01-31", D("30.00"), "2026-01-01", 30), ("2026-03-02", D("30.00"), "2026-01-31", 30),
                     ("2026-04-01", D("30.00"), "2026-03-02", 30)]


def test_on_balance_compounds_posted_interest_and_fees():
    # on: balance — day 30: 1,000 * 0.1% * 30 = 30.00, then a 50 fee; day 60: (1,000 + 30 + 50) * 0.1% * 30 = 32.40
    text = f"""
policy: i
currency: USD
states:
  s:
    initial: true
    rules:
      - at: due + 30 days
        do: [{{interest: {{annual_rate: 36.5%, on: balance}}}}, {{fee: {{amount: 50 USD}}}}]
      - at: due + 60 days
        do: [{{interest: {{annual_rate: 36.5%, on: balance}}}}]
"""
    r = run(text, [inv("1000")])
    assert [(a["type"], a["amount"]) for a in r.actions] == [
        ("interest", D("30.00")), ("fee", D("50.00")), ("interest", D("32.40"))]
    assert r.actions[2]["params"]["base"] == D("1080.00")


def test_a_partial_payment_between_postings_splits_the_accrual():
    # 1,000 USD due Jan 1, 0.1% a day; 400 paid on Jan 11; posting on Jan 31:
    #   Jan 1 - Jan 11: 10 days on 1,000 = 10.00; Jan 11 - Jan 31: 20 days on 600 = 12.00; total 22.00
    ev = [{"type": "payment", "at": "2026-01-11T15:00", "invoice": "SI1", "amount": "400"}]
    r = run(policy("[{interest: {annual_rate: 36.5%}}]", at="due + 30 days"), [inv("1000")], ev)
    (a,) = r.actions
    assert a["amount"] == D("22.00")
    p = a["params"]
    assert p["base_days"] == D("22000") and p["base"] == D("600")
    assert [(x["from"].isoformat(), x["to"].isoformat(), x["days"], x["base"]) for x in p["periods"]] == [
        ("2026-01-01", "2026-01-11", 10, D("1000")), ("2026-01-11", "2026-01-31", 20, D("600"))]


def test_a_payment_on_the_due_date_accrues_nothing():
    ev = [{"type": "payment", "at": "2026-01-01T18:00", "invoice": "SI1", "amount": "1000"}]
    r = run(policy("[{interest: {annual_rate: 36.5%}}]", at="due + 30 days"), [inv("1000")], ev)
    assert r.actions == []


def test_interest_of_an_invoice_settled_late_is_posted_at_the_next_posting():
    # 1,000 USD paid in full on Jan 21 (20 days late): the posting on Jan 31 charges 20 days on 1,000 = 20.00
    ev = [{"type": "payment", "at": "2026-01-21", "invoice": "SI1", "amount": "1000"}]
    r = run(policy("[{interest: {annual_rate: 36.5%}}]", at="due + 30 days"), [inv("1000")], ev)
    (a,) = r.actions
    assert a["amount"] == D("20.00") and r.states[0]["balance"] == D("20.00")


def test_days_are_whole_local_days():
    # Santiago (UTC-3 in January). A payment at 23:30 local on Jan 11 is 02:30 UTC on Jan 12: it still
    # belongs to Jan 11. At 0.1% a day, 1,000,000 CLP accrues 1,000 a day:
    #   10 days on 1,000,000 (Jan 1 - Jan 11) + 20 days on 0 = 10,000 CLP.
    tz = "America/Santiago"
    ev = [{"type": "payment", "at": "2026-01-11T23:30:00-03:00", "invoice": "SI1", "amount": "1000000"}]
    r = run(policy("[{interest: {annual_rate: 36.5%}}]", "CLP", at="due + 30 days", timezone=tz),
            [inv("1000000", "CLP")], ev)
    (a,) = r.actions
    assert a["amount"] == D("10000") and a["at"] == "2026-01-31T09:00:00-03:00"
    assert a["params"]["periods"][0]["days"] == 10


def test_accrual_too_small_to_post_keeps_accumulating():
    # 10 CLP at 36.5%: 0.01 CLP a day, rounds to 0 each day. Posting every day, the accrual is kept
    # until it reaches half a peso: after 50 days 10 * 0.001 * 50 = 0.5 -> 1 CLP (half up).
    text = """
policy: i
currency: CLP
states:
  s:
    initial: true
    rules:
      - every: 1 day
        starting: due + 1 day
        max: 60
        do: [{interest: {annual_rate: 36.5%}}]
"""
    r = run(text, [inv("10", "CLP")], until="2026-03-15")
    assert [(local_date(a), a["amount"], a["params"]["days"]) for a in r.actions] == [("2026-02-20", D("1"), 50)]


def test_no_interest_before_due():
    r = run(policy("[{interest: {annual_rate: 36.5%}}]", at="due - 5 days"), [inv("1000")])
    assert r.actions == []
    r = run(policy("[{interest: {annual_rate: 36.5%}}]", at="due"), [inv("1000")])
    assert r.actions == []


def test_customer_scope_posts_on_each_owing_invoice():
    # two invoices of one customer, 1,000 due Jan 1 and 500 due Jan 11; posting Jan 31 at 0.1% a day:
    #   A: 30 days * 1.00 = 30.00; B: 20 days * 0.50 = 10.00; C (paid before due): nothing
    text = """
policy: i
scope: customer
currency: USD
states:
  s:
    initial: true
    rules:
      - at: "2026-01-31"
        do: [{interest: {annual_rate: 36.5%}}]
"""
    invs = [inv("1000", id_="A"), inv("500", due="2026-01-11", id_="B"), inv("300", due="2026-01-20", id_="C")]
    ev = [{"type": "payment", "at": "2026-01-15", "invoice": "C", "amount": "300"}]
    r = run(text, invs, ev)
    (a,) = r.actions
    assert (a["amount"], a["invoice"]) == (D("40.00"), None)
    parts = {x["invoice"]: (x["amount"], x["days"]) for x in a["params"]["invoices"]}
    assert parts == {"A": (D("30.00"), 30), "B": (D("10.00"), 20)}
    leds = r.engine.cases["C1"].ledgers
    assert (leds["A"].interest, leds["B"].interest, leds["C"].interest) == (D("30.00"), D("10.00"), 0)

