"""Currencies: ISO 4217 minor units, half-up rounding per currency, no silent mix (SPEC §1, issue 5)."""

from decimal import Decimal

import pytest

from conftest import run
from dunning_engine.values import minor_units, quantize


@pytest.mark.parametrize("code, digits", [
    ("CLP", 0), ("JPY", 0), ("KRW", 0), ("USD", 2), ("MXN", 2), ("EUR", 2), ("PEN", 2),
    ("BHD", 3), ("KWD", 3), ("JOD", 3), ("OMR", 3), ("TND", 3), ("CLF", 4),
])
def test_minor_units_follow_iso_4217(code, digits):
    assert minor_units(code) == digits


@pytest.mark.parametrize("amount, code, expected", [
    ("1234.5", "CLP", "1235"),      # half up, never banker's rounding
    ("1233.5", "CLP", "1234"),
    ("1234.49", "CLP", "1234"),
    ("99.5", "JPY", "100"),
    ("10.005", "USD", "10.01"),
    ("10.015", "MXN", "10.02"),
    ("10.0049", "MXN", "10.00"),
    ("1.0005", "BHD", "1.001"),
    ("1.0004", "KWD", "1.000"),
    ("-2.5", "CLP", "-3"),           # half away from zero
])
def test_quantize_is_half_up_to_the_minor_unit(amount, code, expected):
    got = quantize(Decimal(amount), code)
    assert got == Decimal(expected) and str(got) == expected


def fee_policy(fee: str, currency: str) -> str:
    return f"""
policy: t
currency: {currency}
states:
  s:
    initial: true
    rules:
      - name: go
        at: due + 1 day
        do: [{{fee: {fee}}}]
"""


@pytest.mark.parametrize("currency, amount, fee, expected", [
    # 2.5% of 123,457 CLP = 3,086.425 -> 3,086 (0 digits)
    ("CLP", "123457", "{percent: 2.5%}", "3086"),
    # 2.5% of 123,458 CLP = 3,086.45 -> 3,086 (.45 < .5)
    ("CLP", "123458", "{percent: 2.5%}", "3086"),
    # 2.5% of 123,460 CLP = 3,086.5 -> 3,087 (half up)
    ("CLP", "123460", "{percent: 2.5%}", "3087"),
    # 3% of 1,234.50 MXN = 37.035 -> 37.04
    ("MXN", "1234.50", "{percent: 3%}", "37.04"),
    # 1.5% of 99.99 USD = 1.49985 -> 1.50
    ("USD", "99.99", "{percent: 1.5%}", "1.50"),
    # 1.25% of 12.345 BHD = 0.1543125 -> 0.154
    ("BHD", "12.345", "{percent: 1.25%}", "0.154"),
    # 2% of 1,000.025 KWD = 20.0005 -> 20.001
    ("KWD", "1000.025", "{percent: 2%}", "20.001"),
])
def test_fee_rounding_per_currency(currency, amount, fee, expected):
    inv = [{"id": "A1", "customer": "C1", "amount": amount, "currency": currency, "issued": "2026-01-01", "due": "2026-01-31"}]
    r = run(fee_policy(fee, currency), inv)
    (a,) = r.actions
    assert (a["amount"], str(a["amount"]), a["currency"]) == (Decimal(expected), expected, currency)
    assert r.states[0]["balance"] == Decimal(amount) + Decimal(expected)


def _eur_case(action: str):
    inv = [{"id": "U1", "customer": "C1", "amount": "1000", "currency": "USD", "issued": "2026-01-01", "due": "2026-01-31"},
           {"id": "E1", "customer": "C2", "amount": "1000", "currency": "EUR", "issued": "2026-01-01", "due": "2026-01-31"}]
    text = f"""
policy: t
currency: USD
states:
  s:
    initial: true
    rules:
      - name: go
        at: due + 1 day
        do: [{action}]
"""
    return run(text, inv)


@pytest.mark.parametrize("action, what", [
    ("{fee: {amount: 25 USD}}", "the fee amount"),
    ("{fee: {amount: 25}}", "the fee amount"),                       # a bare number is money in the policy currency
    ("{fee: {percent: 2%, max: 15 USD}}", "the fee maximum"),
    ("{fee: {percent: 2%, min: 5 USD}}", "the fee minimum"),
    ("{discount: {amount: 50 USD, until: due + 10 days}}", "the discount"),
    ("{offer_plan: {installments: 3, down_payment: 100 USD}}", "the down payment"),
])
def test_money_in_another_currency_is_a_reported_error_never_a_silent_mix(action, what):
    r = _eur_case(action)
    # the USD case runs; the EUR case stops with an error naming both currencies and the amount
    assert {a["case"] for a in r.actions} == {"U1"}
    (err,) = r.errors
    assert err.case == "E1" and what in str(err) and "USD" in str(err) and "EUR" in str(err)
    e1 = r.engine.cases["E1"].ledger
    assert (e1.fees, e1.discounts, e1.balance) == (0, 0, Decimal("1000"))


def test_percent_fees_and_interest_take_the_case_currency():
    r = _eur_case("{fee: {percent: 2%}}, {interest: {annual_rate: 36.5%}}")
    by = {(a["case"], a["type"]): a for a in r.actions}
    assert by[("E1", "fee")]["currency"] == "EUR" and by[("E1", "fee")]["amount"] == Decimal("20.00")
    # 36.5% a year for one day on 1,000 EUR = 1.00 EUR
    assert by[("E1", "interest")]["amount"] == Decimal("1.00")
    assert not r.errors


def test_an_event_in_another_currency_than_its_invoice_is_rejected():
    inv = [{"id": "A1", "customer": "C1", "amount": "1000", "currency": "MXN", "issued": "2026-01-01", "due": "2026-01-31"}]
    ev = [{"type": "payment", "at": "2026-02-01", "invoice": "A1", "amount": "100", "currency": "USD"}]
    r = run(fee_policy("{amount: 10 MXN}", "MXN"), inv, ev)
    assert len(r.rejects) == 1 and "currency" in str(r.rejects[0].render())
    assert r.states[0]["balance"] == Decimal("1010.00")


def test_an_amount_finer_than_the_minor_unit_is_rejected():
    inv = [{"id": "A1", "customer": "C1", "amount": "1000.5", "currency": "CLP", "issued": "2026-01-01", "due": "2026-01-31"},
           {"id": "B1", "customer": "C1", "amount": "10.0005", "currency": "BHD", "issued": "2026-01-01", "due": "2026-01-31"},
           {"id": "B2", "customer": "C1", "amount": "10.005", "currency": "BHD", "issued": "2026-01-01", "due": "2026-01-31"}]
    r = run(fee_policy("{amount: 10}", "CLP"), inv)
    assert sorted(c for c in r.engine.cases) == ["B2"]
    assert len(r.rejects) == 2
