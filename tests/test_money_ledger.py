"""The ledger: allocation, credit notes, overpayment as a credit, write-off, the identity (SPEC §1, §4)."""

from decimal import Decimal

import pytest

from conftest import run
from dunning_engine.engine.ledger import Ledger
from dunning_engine.records import Invoice

D = Decimal


def inv(amount="1000", currency="USD", id_="A1", due="2026-01-31"):
    return {"id": id_, "customer": "C1", "amount": amount, "currency": currency, "issued": "2026-01-01", "due": due}


# 1,000 USD due Jan 31. On Mar 2 (30 days late): a 50 USD fee and 36.5% a year of interest on the
# principal for 30 days = 1000 * 0.365 * 30 / 365 = 30.00.
CHARGES = """
policy: t
currency: USD
{allocation}
states:
  s:
    initial: true
    rules:
      - name: charge
        at: due + 30 days
        do: [{{fee: {{amount: 50 USD}}}}, {{interest: {{annual_rate: 36.5%}}}}]
"""


def led_of(result, case="A1") -> Ledger:
    return result.engine.cases[case].ledger


@pytest.mark.parametrize("allocation, paid, principal, fees_unpaid, interest_unpaid", [
    # default [interest, fees, principal]: 60 pays 30 interest, then 30 of the 50 fee
    ("", "60", "1000", "20", "0"),
    ("", "100", "980", "0", "0"),
    ("allocation: [interest, fees, principal]", "60", "1000", "20", "0"),
    # [principal, fees, interest]: principal first
    ("allocation: [principal, fees, interest]", "60", "940", "50", "30"),
    ("allocation: [principal, fees, interest]", "1060", "0", "0", "20"),
    # [fees, interest, principal]
    ("allocation: [fees, interest, principal]", "60", "1000", "0", "20"),
])
def test_payment_allocation_order(allocation, paid, principal, fees_unpaid, interest_unpaid):
    ev = [{"type": "payment", "at": "2026-03-05", "invoice": "A1", "amount": paid}]
    r = run(CHARGES.format(allocation=allocation), [inv()], ev)
    assert [(a["type"], a["amount"]) for a in r.actions] == [("fee", D("50.00")), ("interest", D("30.00"))]
    led = led_of(r)
    assert (led.principal, led.fees_unpaid, led.interest_unpaid) == (D(principal), D(fees_unpaid), D(interest_unpaid))
    assert led.balance == D("1080") - D(paid) and led.balanced()
    s = r.states[0]
    # --states: fees and interest are what was charged, paid or not; principal is what is unpaid
    assert (s["fees"], s["interest"], s["principal"], s["paid"]) == (D("50"), D("30"), D(principal), D(paid))


def test_overpayment_is_kept_as_a_credit_negative_balance():
    # MXN: 1,234.56 owed, 1,300.00 paid -> a credit of 65.44 in the customer's favour
    ev = [{"type": "payment", "at": "2026-02-10", "invoice": "A1", "amount": "1300.00"}]
    r = run(CHARGES.format(allocation="").replace("USD", "MXN"), [inv("1234.56", "MXN")], ev, until="2026-02-20")
    s = r.states[0]
    assert (s["balance"], s["principal"], s["paid"]) == (D("-65.44"), D("-65.44"), D("1300.00"))
    assert led_of(r).balanced()


def test_a_fee_charged_against_a_credit_is_paid_from_it():
    # 100 USD overpaid, then the 50 USD fee and 29.04 of interest (on a principal of 0: none) are charged
    ev = [{"type": "payment", "at": "2026-01-20", "invoice": "A1", "amount": "1100"}]
    r = run(CHARGES.format(allocation=""), [inv()], ev)
    led = led_of(r)
    assert [a["type"] for a in r.actions] == ["fee"]  # no interest: the principal was paid before due
    assert (led.principal, led.fees_unpaid, led.balance) == (D("-50"), D("0"), D("-50"))
    assert led.fees == D("50.00") and led.balanced()


def test_credit_notes_reduce_principal_and_can_leave_a_credit():
    ev = [{"type": "credit_note", "at": "2026-01-10", "invoice": "A1", "amount": "300"},
          {"type": "credit_note", "at": "2026-01-11", "invoice": "A1", "amount": "800"}]
    r = run(CHARGES.format(allocation=""), [inv()], ev, until="2026-01-20")
    led = led_of(r)
    assert (led.credits, led.principal, led.balance) == (D("1100"), D("-100"), D("-100")) and led.balanced()


def test_a_credit_note_beyond_principal_settles_unpaid_fees_and_interest():
    # after the charges: principal 1000, fee 50, interest 30; a credit note of 1,040 clears principal,
    # then 30 of interest and 10 of the fee (allocation order): 40 USD of the fee remain owed
    ev = [{"type": "credit_note", "at": "2026-03-05", "invoice": "A1", "amount": "1040"}]
    r = run(CHARGES.format(allocation=""), [inv()], ev)
    led = led_of(r)
    assert (led.principal, led.interest_unpaid, led.fees_unpaid, led.balance) == (0, 0, D("40"), D("40"))
    assert led.balanced()


def test_write_off_zeroes_the_balance_and_records_the_parts():
    text = """
policy: t
currency: CLP
states:
  s:
    initial: true
    rules:
      - at: due + 1 day
        do: [{fee: {percent: 2%}}]
      - at: due + 90 days
        do: [write_off]
        goto: lost
  lost:
    final: true
"""
    ev = [{"type": "payment", "at": "2026-02-10", "invoice": "A1", "amount": "150000"}]
    r = run(text, [inv("1000000", "CLP")], ev)
    fee, wo = r.actions
    assert (fee["type"], fee["amount"]) == ("fee", D("20000"))
    # 1,020,000 owed; 150,000 paid (20,000 fee first, then 130,000 principal): 870,000 written off
    assert (wo["type"], wo["amount"], wo["params"]) == ("write_off", D("870000"),
                                                         {"principal": D("870000"), "fees": D("0"), "interest": D("0")})
    s = r.states[0]
    assert (s["balance"], s["written_off"], s["state"]) == (0, D("870000"), "lost")
    assert led_of(r).balanced()


def test_write_off_of_nothing_owed_emits_nothing():
    text = """
policy: t
currency: USD
states:
  s:
    initial: true
    rules:
      - at: due + 1 day
        do: [write_off]
"""
    r = run(text, [inv()], [{"type": "payment", "at": "2026-01-05", "invoice": "A1", "amount": "1000"}])
    assert r.actions == []


def test_ledger_identity_by_hand_in_bhd():
    led = Ledger(Invoice("B1", "C1", D("100.000"), "BHD", None, None), "BHD", D("100.000"))
    led.charge_fee(D("2.500"))
    led.charge_interest(D("0.411"))
    assert led.pay(D("3.000")) == {"interest": D("0.411"), "fees": D("2.500"), "principal": D("0.089"), "credit": 0}
    led.credit(D("10.000"))
    led.discount(D("5.000"))
    assert led.balance == D("84.911") and led.balanced()
    assert led.pay(D("90.000"))["credit"] == D("5.089")
    assert led.balance == D("-5.089") and led.balanced()
    assert led.write_off() == 0 and led.cancel() == 0  # nothing owed: nothing written off or cancelled
    assert led.balanced()


def test_cancellation_records_what_was_owed():
    text = CHARGES.format(allocation="")
    ev = [{"type": "payment", "at": "2026-03-05", "invoice": "A1", "amount": "80"},
          {"type": "invoice_cancelled", "at": "2026-03-06", "invoice": "A1"}]
    led = led_of(run(text, [inv()], ev))
    assert (led.cancelled, led.balance) == (D("1000"), 0) and led.balanced()


def test_customer_scope_money_for_an_invoice_that_joins_later_reaches_its_ledger():
    # regression: a payment dated before its invoice's issue date, in a customer-scope case that already
    # exists, used to crash the run (the invoice had not joined the case yet)
    text = """
policy: t
scope: customer
currency: CLP
states:
  s:
    initial: true
    rules:
      - on: payment
        do: [{remind: {template: gracias}}]
"""
    invs = [{"id": "I0", "customer": "C1", "amount": "1000", "issued": "2026-01-01", "due": "2026-01-31"},
            {"id": "I1", "customer": "C1", "amount": "500", "issued": "2026-01-10", "due": "2026-02-10"}]
    ev = [{"type": "payment", "at": "2026-01-05T10:00", "invoice": "I1", "amount": "200"},
          {"type": "credit_note", "at": "2026-01-06T10:00", "invoice": "I1", "amount": "50"}]
    r = run(text, invs, ev, until="2026-02-01")
    assert not r.errors and len(r.actions) == 1
    leds = r.engine.cases["C1"].ledgers
    assert (leds["I1"].paid, leds["I1"].credits, leds["I1"].balance) == (D("200"), D("50"), D("250"))
    assert r.states[0]["balance"] == D("1250")


def test_the_explain_trace_shows_how_a_payment_was_allocated():
    ev = [{"type": "payment", "at": "2026-03-05", "invoice": "A1", "amount": "60"}]
    r = run(CHARGES.format(allocation=""), [inv()], ev, explain=True)
    (entry,) = [e for e in r.engine.cases["A1"].trace if e["what"] == "allocated"]
    assert (entry["interest"], entry["fees"], entry["principal"], entry["credit"]) == (D("30"), D("30"), 0, 0)


def test_a_settled_ledger_shares_its_zeros_and_keeps_every_digit():
    import datetime as dt
    from decimal import Decimal

    from dunning_engine.engine.ledger import Ledger

    def settle(amount):
        led = Ledger(None, "USD", Decimal(amount))
        led.pay(Decimal(amount), day=dt.date(2026, 1, 5))
        return led

    a, b = settle("120.00"), settle("35.50")
    assert (str(a.principal), str(a.paid), str(a.balance)) == ("0.00", "120.00", "0.00")
    assert a.principal is b.principal  # one shared 0.00, not one per ledger
    assert str(settle("7").principal) == "0" and settle("7").principal is not a.principal  # 0 is not 0.00
    # 0 + 1E+2 is 100: the ledger adds rather than keeping the payment's own spelling
    odd = Ledger(None, "USD", Decimal("100"))
    odd.pay(Decimal("1E+2"))
    assert str(odd.paid) == "100" and odd.balance == 0
