"""Discounts: an offer with an amount and a deadline; a payment by the deadline that covers the balance
minus the discount settles the invoice with the discount applied (SPEC §1; issue 5)."""

from decimal import Decimal

import pytest

from conftest import local_date, run

D = Decimal

# "2/10 net 30": an invoice issued Jan 1, due Jan 31; 2% off when paid by Jan 11.
EARLY = """
policy: early
currency: {cur}
timezone: America/Mexico_City
states:
  open:
    initial: true
    on_enter:
      - discount: {{{offer}, until: issued + 10 days}}
    rules:
      - at: due + 1 day
        goto: overdue
  overdue: {{}}
  paid:
    final: true
any_state:
  - on: payment
    when: balance <= 0
    goto: paid
"""


def inv(amount, cur="USD", id_="A1", customer="C1", due="2026-01-31"):
    return {"id": id_, "customer": customer, "amount": amount, "currency": cur, "issued": "2026-01-01", "due": due}


def pay(amount, at, id_="A1"):
    return {"type": "payment", "at": at, "invoice": id_, "amount": amount}


@pytest.mark.parametrize("cur, amount, offer, discount, pay_amount", [
    ("USD", "1000.00", "percent: 2%", "20.00", "980.00"),
    # 3% of 123,457 CLP = 3,703.71 -> 3,704 (0 digits); pay 119,753
    ("CLP", "123457", "percent: 3%", "3704", "119753"),
    # a fixed 150 MXN off 2,499.99
    ("MXN", "2499.99", "amount: 150 MXN", "150.00", "2349.99"),
    # 2.5% of 410.250 BHD = 10.25625 -> 10.256; pay 399.994
    ("BHD", "410.250", "percent: 2.5%", "10.256", "399.994"),
])
def test_a_payment_by_the_deadline_covering_balance_minus_discount_settles(cur, amount, offer, discount, pay_amount):
    r = run(EARLY.format(cur=cur, offer=offer), [inv(amount, cur)], [pay(pay_amount, "2026-01-11T20:00")])
    (a,) = r.actions
    assert (a["type"], a["amount"], str(a["amount"]), a["currency"]) == ("discount", D(discount), discount, cur)
    assert a["params"]["until"].isoformat() == "2026-01-11"
    assert a["params"]["pay"] == D(pay_amount) and a["params"]["balance"] == D(amount)
    s = r.states[0]
    assert (s["state"], s["balance"], s["discounts"], s["paid"]) == ("paid", 0, D(discount), D(pay_amount))
    assert r.engine.cases["A1"].ledger.balanced()


def test_discount_params_trace_the_offer():
    r = run(EARLY.format(cur="USD", offer="percent: 2%"), [inv("1000.00")])
    (a,) = r.actions
    assert a["params"] == {"percent": "2%", "balance": D("1000.00"), "until": a["params"]["until"], "pay": D("980.00")}
    assert local_date(a) == "2026-01-01"
    r = run(EARLY.format(cur="USD", offer="amount: 1500 USD"), [inv("1000.00")])
    (a,) = r.actions  # a discount larger than the balance is capped at the balance
    assert (a["amount"], a["params"]["amount"], a["params"]["pay"]) == (D("1000.00"), D("1500"), D("0.00"))


def test_after_the_deadline_there_is_no_discount():
    # one day late (Jan 12 local): 980 leaves 20 owed
    r = run(EARLY.format(cur="USD", offer="percent: 2%"), [inv("1000.00")], [pay("980.00", "2026-01-12T08:00")],
            until="2026-01-20")
    s = r.states[0]
    assert (s["state"], s["balance"], s.get("discounts")) == ("open", D("20.00"), None)


def test_the_deadline_is_the_whole_local_day():
    # 23:59 local on Jan 11 in Mexico City is 05:59 UTC on Jan 12: still by the deadline
    r = run(EARLY.format(cur="USD", offer="percent: 2%"), [inv("1000.00")],
            [pay("980.00", "2026-01-11T23:59:00-06:00")])
    assert r.states[0]["discounts"] == D("20.00") and r.states[0]["balance"] == 0


def test_a_payment_short_of_balance_minus_discount_keeps_the_offer_open():
    # 500 (not enough for the discount), then 480 by the deadline: 1,000 - 500 - 20 = 480 settles
    ev = [pay("500.00", "2026-01-05"), pay("480.00", "2026-01-10")]
    s = run(EARLY.format(cur="USD", offer="percent: 2%"), [inv("1000.00")], ev).states[0]
    assert (s["state"], s["balance"], s["discounts"], s["paid"]) == ("paid", 0, D("20.00"), D("980.00"))


def test_paying_in_full_by_the_deadline_still_earns_the_discount_as_a_credit():
    s = run(EARLY.format(cur="USD", offer="percent: 2%"), [inv("1000.00")], [pay("1000.00", "2026-01-05")]).states[0]
    assert (s["balance"], s["principal"], s["discounts"]) == (D("-20.00"), D("-20.00"), D("20.00"))


def test_the_discount_is_applied_once():
    # settled with the discount; a later payment is an overpayment, not a second discount
    ev = [pay("980.00", "2026-01-05"), pay("50.00", "2026-01-06")]
    s = run(EARLY.format(cur="USD", offer="percent: 2%").replace("final: true", "{}"), [inv("1000.00")], ev).states[0]
    assert (s["discounts"], s["balance"]) == (D("20.00"), D("-50.00"))


def test_a_new_discount_replaces_the_offer():
    text = """
policy: d
currency: USD
states:
  s:
    initial: true
    on_enter:
      - discount: {percent: 10%, until: issued + 5 days}
    rules:
      - at: issued + 3 days
        do: [{discount: {amount: 30 USD, until: issued + 20 days}}]
"""
    # the 10% offer (100) was replaced by 30 off: 970 settles, 900 would not
    s = run(text, [inv("1000.00")], [pay("900.00", "2026-01-05")]).states[0]
    assert (s["balance"], s.get("discounts")) == (D("100.00"), None)
    s = run(text, [inv("1000.00")], [pay("970.00", "2026-01-05")]).states[0]
    assert (s["balance"], s["discounts"]) == (0, D("30.00"))


def test_a_discount_is_computed_on_the_balance_including_fees():
    text = """
policy: d
currency: MXN
states:
  s:
    initial: true
    rules:
      - at: due + 1 day
        do:
          - fee: {amount: 200 MXN}
          - discount: {percent: 10%, until: due + 15 days}
"""
    # 1,800 + 200 fee = 2,000; 10% off = 200; paying 1,800 settles (fee paid first, then principal)
    r = run(text, [inv("1800.00", "MXN")], [pay("1800.00", "2026-02-10")])
    assert [(a["type"], a["amount"]) for a in r.actions] == [("fee", D("200.00")), ("discount", D("200.00"))]
    led = r.engine.cases["A1"].ledger
    assert (led.balance, led.fees_unpaid, led.discounts) == (0, 0, D("200.00")) and led.balanced()


def test_customer_scope_discount_applies_to_its_invoice():
    text = """
policy: d
scope: customer
currency: USD
states:
  s:
    initial: true
    rules:
      - at: "2026-01-05"
        do: [{discount: {percent: 10%, until: "2026-01-20"}}]
"""
    # the offer goes to the oldest open invoice (A, due first): 10% of 1,000
    invs = [inv("1000.00", id_="A", due="2026-01-31"), inv("500.00", id_="B", due="2026-02-28")]
    r = run(text, invs, [pay("450.00", "2026-01-10", "B"), pay("900.00", "2026-01-11", "A")])
    (a,) = r.actions
    assert (a["invoice"], a["amount"]) == ("A", D("100.00"))
    leds = r.engine.cases["C1"].ledgers
    # B's 450 is a plain payment (no discount on B); A's 900 settles A with the discount
    assert (leds["B"].balance, leds["B"].discounts) == (D("50.00"), 0)
    assert (leds["A"].balance, leds["A"].discounts) == (0, D("100.00"))
    assert r.states[0]["discounts"] == D("100.00")


def test_dunning_run_states_show_the_applied_discount(tmp_path):
    import json

    from click.testing import CliRunner

    from conftest import ROOT
    from dunning_engine.cli.main import cli

    (tmp_path / "inv.csv").write_text("id,customer,amount,issued,due\nE1,C1,10000.00,2026-01-01,2026-01-31\n")
    (tmp_path / "ev.jsonl").write_text(json.dumps(pay("9800.00", "2026-01-08T14:00", "E1")) + "\n")
    out, states = tmp_path / "a.jsonl", tmp_path / "s.jsonl"
    r = CliRunner().invoke(cli, ["run", "--policy", str(ROOT / "policies" / "early_pay_discount_usd.yaml"),
                                 "--invoices", str(tmp_path / "inv.csv"), "--events", str(tmp_path / "ev.jsonl"),
                                 "--until", "2026-03-01", "--out", str(out), "--states", str(states)])
    assert r.exit_code == 0, r.output
    (s,) = [json.loads(line) for line in states.read_text().splitlines()]
    assert (s["state"], s["balance"], s["discounts"], s["paid"]) == ("paid", "0.00", "200.00", "9800.00")
    discount = json.loads(out.read_text().splitlines()[0])
    assert (discount["type"], discount["amount"], discount["params"]) == (
        "discount", "200.00", {"percent": "2%", "balance": "10000.00", "until": "2026-01-11", "pay": "9800.00"})
