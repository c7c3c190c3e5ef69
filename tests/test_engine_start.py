"""When a case starts, and what happens to events dated before it (review findings)."""

from decimal import Decimal

from conftest import run

CUSTOMER = """
policy: c
scope: customer
currency: USD
states:
  open:
    initial: true
    on_enter: [{remind: {template: hello}}]
    rules:
      - on: invoice_issued
        do: [{remind: {template: never}}]
      - when: overdue_count > 0
        do: [{remind: {template: overdue}}]
"""
A = {"id": "A", "customer": "C1", "amount": "10", "issued": "2026-01-01", "due": "2026-01-31"}
B = {"id": "B", "customer": "C1", "amount": "20", "issued": "2026-03-01", "due": "2026-03-31"}


def test_a_customer_case_starts_with_its_earliest_invoice_whatever_the_input_order():
    first = run(CUSTOMER, [A, B], until="2026-04-15")
    second = run(CUSTOMER, [B, A], until="2026-04-15")
    timeline = [(a["at"], a["params"]["template"]) for a in first.actions]
    assert timeline == [(a["at"], a["params"]["template"]) for a in second.actions]
    assert timeline[:2] == [("2026-01-01T00:00:00+00:00", "hello"), ("2026-02-01T09:00:00+00:00", "overdue")]
    assert second.balance_of("C1") == Decimal("30")


INVOICE = """
policy: i
currency: USD
states:
  open:
    initial: true
    rules:
      - at: due
        do: [{remind: {template: due_today}}]
      - on: dispute_opened
        goto: disputed
  disputed: {}
  paid: {final: true}
any_state:
  - on: payment
    when: balance <= 0
    goto: paid
"""
I = [{"id": "I1", "customer": "C1", "amount": "100", "issued": "2026-01-05", "due": "2026-01-10"}]


def test_events_before_the_case_starts_apply_right_after_it_starts():
    r = run(INVOICE, I, [{"type": "payment", "at": "2026-01-02", "invoice": "I1", "amount": "100"}])
    assert r.actions == [] and r.state_of("I1") == "paid"
    r = run(INVOICE, I, [{"type": "dispute_opened", "at": "2026-01-02", "invoice": "I1"}])
    assert r.state_of("I1") == "disputed"
