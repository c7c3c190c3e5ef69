"""Actions: records, keys, fees (percent, min, max, rounding), write-off, custom, suspend/resume (SPEC §1, §4)."""

from decimal import Decimal

import pytest

from conftest import run

INV = [{"id": "A1", "customer": "C1", "amount": "1000", "issued": "2026-01-01", "due": "2026-01-31"}]


def one_state(actions: str, currency: str = "USD", extra: str = "") -> str:
    return f"""
policy: t
version: 7
currency: {currency}
states:
  s:
    initial: true
    rules:
      - name: go
        at: due + 1 day
        do: {actions}
{extra}"""


def test_action_record_shape_and_key():
    r = run(one_state("[{remind: {template: first, via: [sms, email]}}]"), INV,
            customers=[{"id": "C1"}])
    assert r.actions == [{
        "key": "t@7/A1/s#1/go/1/0", "at": "2026-02-01T09:00:00+00:00", "type": "remind", "case": "A1",
        "invoice": "A1", "customer": "C1", "state": "s", "rule": "go",
        "params": {"template": "first", "via": ["sms", "email"]}, "amount": None, "currency": "USD"}]


def test_remind_defaults_to_email_and_evaluates_to():
    r = run(one_state("[{remind: {template: x, to: customer.email}}]"), INV,
            customers=[{"id": "C1", "email": "ana@example.com"}])
    assert r.actions[0]["params"] == {"template": "x", "via": ["email"], "to": "ana@example.com"}


@pytest.mark.parametrize("fee, currency, amount, expected", [
    ("{amount: 25 USD}", "USD", "1000", "25.00"),
    ("{percent: 2.5%, of: balance}", "USD", "1000.10", "25.00"),          # 25.0025 -> 25.00
    ("{percent: 2.5%, of: balance}", "USD", "1000.30", "25.01"),          # 25.0075 -> 25.01 (half up)
    ("{percent: 2%, of: balance, max: 15 USD}", "USD", "1000", "15.00"),
    ("{percent: 1%, of: balance, min: 20 USD}", "USD", "1000", "20.00"),
    ("{percent: 3%}", "CLP", "100050", "3002"),                            # 3001.5 -> 3002, 0 digits
    ("{percent: 1.5%}", "BHD", "10.005", "0.150"),                         # 0.150075 -> 0.150, 3 digits
])
def test_fee_amounts_are_exact_and_rounded_half_up(fee, currency, amount, expected):
    inv = [{**INV[0], "amount": amount, "currency": currency}]
    r = run(one_state(f"[{{fee: {fee}}}]", currency=currency), inv)
    a = r.actions[0]
    assert a["amount"] == Decimal(expected) and str(a["amount"]) == expected
    assert a["currency"] == currency
    s = r.states[0]
    assert s["fees"] == Decimal(expected) and s["balance"] == Decimal(amount) + Decimal(expected)


def test_fee_of_principal_and_of_amount():
    events = [{"type": "payment", "at": "2026-01-20", "invoice": "A1", "amount": "400"}]
    text = one_state("[{fee: {percent: 10%, of: principal}}, {fee: {percent: 10%, of: amount}}]")
    r = run(text, INV, events)
    assert [a["amount"] for a in r.actions] == [Decimal("60"), Decimal("100")]


def test_a_fee_of_zero_is_not_emitted():
    r = run(one_state("[{fee: {percent: 2%}}]"), INV, [{"type": "payment", "at": "2026-01-20", "invoice": "A1", "amount": "1000"}])
    assert r.actions == []


def test_payment_allocation_interest_fees_principal_by_default_and_configurable():
    text = one_state("[{fee: {amount: 50 USD}}]")
    ev = [{"type": "payment", "at": "2026-02-05", "invoice": "A1", "amount": "30"}]
    s = run(text, INV, ev).states[0]
    assert (s["principal"], s["balance"]) == (Decimal("1000"), Decimal("1020"))
    text = "allocation: [principal, fees, interest]\n" + text
    s = run(text, INV, ev).states[0]
    assert (s["principal"], s["balance"]) == (Decimal("970"), Decimal("1020"))


def test_write_off_zeroes_the_balance_and_records_the_amount():
    r = run(one_state("[{fee: {amount: 10 USD}}, write_off]"), INV,
            [{"type": "payment", "at": "2026-01-20", "invoice": "A1", "amount": "100"}])
    assert [(a["type"], a["amount"]) for a in r.actions] == [("fee", Decimal("10")), ("write_off", Decimal("910"))]
    led = r.engine.cases["A1"].ledger
    assert led.balance == 0 and led.written_off == Decimal("910") and led.balanced()


def test_escalate_task_suspend_resume_custom():
    text = one_state('[{escalate: {to: agency, note: "over 60"}}, {task: {kind: call, assign: maria}}, suspend, resume,'
                     ' {custom: {name: crm_flag, params: {owed: balance, days: days_overdue, who: customer.id}}}]')
    r = run(text, INV)
    assert [(a["type"], a["params"]) for a in r.actions] == [
        ("escalate", {"to": "agency", "note": "over 60"}),
        ("task", {"kind": "call", "assign": "maria"}),
        ("suspend", {}), ("resume", {}),
        ("custom", {"name": "crm_flag", "params": {"owed": r.actions[4]["params"]["params"]["owed"], "days": 1, "who": "C1"}}),
    ]
    owed = r.actions[4]["params"]["params"]["owed"]
    assert (owed.amount, owed.currency) == (Decimal("1000"), "USD")


def test_money_of_another_currency_at_run_time_is_a_reported_error_for_the_case():
    inv = INV + [{"id": "E1", "customer": "C2", "amount": "1000", "currency": "EUR", "issued": "2026-01-01", "due": "2026-01-31"}]
    r = run(one_state("[{fee: {amount: 25 USD}}]"), inv)
    assert [a["case"] for a in r.actions] == ["A1"]
    assert len(r.errors) == 1 and r.errors[0].case == "E1" and "EUR" in str(r.errors[0])


def test_keys_never_repeat_across_entries_and_occurrences():
    text = """
policy: k
currency: USD
states:
  a:
    initial: true
    on_enter: [{remind: {template: in_a}}]
    rules:
      - every: 3 days
        max: 3
        do: [{remind: {template: tick}}, {remind: {template: tock}}]
      - after: 10 days
        goto: b
  b:
    on_enter: [{remind: {template: in_b}}]
    rules:
      - after: 1 day
        goto: a
"""
    r = run(text, INV, until="2026-03-01")
    keys = [a["key"] for a in r.actions]
    assert len(keys) == len(set(keys)) > 20
    assert "k@1/A1/a#2/a.1/3/1" in keys
