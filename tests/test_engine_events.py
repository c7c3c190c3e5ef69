"""Events: payments, credit notes, holds, cancellation, disputes, duplicates, ordering (SPEC §4, §5)."""

from decimal import Decimal

from conftest import run, timeline

INV = [{"id": "A1", "customer": "C1", "amount": "1000", "issued": "2026-01-01", "due": "2026-01-31"}]
LADDER = """
policy: t
currency: USD
states:
  open:
    initial: true
    rules:
      - name: r1
        at: due + 1 day
        do: [{remind: {template: r1}}]
      - name: r2
        at: due + 10 days
        do: [{remind: {template: r2}}]
      - name: r3
        at: due + 20 days
        do: [{remind: {template: r3}}]
  paid: {final: true}
  cancelled: {final: true}
any_state:
  - on: payment
    when: balance <= 0
    goto: paid
"""


def test_payment_settles_and_stops_the_ladder():
    r = run(LADDER, INV, [{"type": "payment", "at": "2026-02-05", "invoice": "A1", "amount": "1000"}])
    assert [a["rule"] for a in r.actions] == ["r1"]
    assert r.state_of("A1") == "paid"


def test_events_apply_in_time_order_whatever_the_file_order():
    events = [{"type": "payment", "at": "2026-02-15", "invoice": "A1", "amount": "600"},
              {"type": "payment", "at": "2026-02-05", "invoice": "A1", "amount": "400"}]
    a = run(LADDER, INV, events)
    b = run(LADDER, INV, list(reversed(events)))
    assert a.actions == b.actions
    assert [x["rule"] for x in a.actions] == ["r1", "r2"]


def test_duplicate_event_ids_are_ignored():
    events = [{"type": "payment", "at": "2026-02-05", "id": "p1", "invoice": "A1", "amount": "600"},
              {"type": "payment", "at": "2026-02-06", "id": "p1", "invoice": "A1", "amount": "600"}]
    r = run(LADDER, INV, events)
    assert r.balance_of("A1") == Decimal("400")
    assert r.engine.duplicates == 1


def test_events_first_then_timers_at_one_instant():
    # A payment at exactly the timer's instant settles the case before the timer fires.
    r = run(LADDER, INV, [{"type": "payment", "at": "2026-02-01T09:00:00", "invoice": "A1", "amount": "1000"}])
    assert r.actions == []


def test_hold_stops_timers_and_actions_release_catches_up():
    events = [{"type": "hold", "at": "2026-01-30", "invoice": "A1"},
              {"type": "release", "at": "2026-02-12T10:00:00", "invoice": "A1"}]
    r = run(LADDER, INV, events)
    # r1 (02-01) and r2 (02-10) came due while held: they fire at the release, in time order.
    assert [(a["at"], a["rule"]) for a in r.actions] == [
        ("2026-02-12T10:00:00+00:00", "r1"), ("2026-02-12T10:00:00+00:00", "r2"), ("2026-02-20T09:00:00+00:00", "r3")]


def test_customer_hold_applies_to_every_invoice_of_the_customer():
    inv = INV + [{"id": "A2", "customer": "C1", "amount": "50", "issued": "2026-01-01", "due": "2026-01-31"},
                 {"id": "B1", "customer": "C2", "amount": "50", "issued": "2026-01-01", "due": "2026-01-31"}]
    r = run(LADDER, inv, [{"type": "hold", "at": "2026-01-15", "customer": "C1"}], until="2026-03-01")
    assert {a["case"] for a in r.actions} == {"B1"}


def test_invoice_cancelled_removes_the_debt_and_closes_the_case():
    text = LADDER + """
  - on: invoice_cancelled
    do: [{task: {kind: review, note: cancelled}}]
"""
    r = run(text, INV, [{"type": "invoice_cancelled", "at": "2026-02-05", "invoice": "A1"}])
    assert [a["type"] for a in r.actions] == ["remind", "task"]
    assert r.balance_of("A1") == 0
    led = r.engine.cases["A1"].ledger
    assert led.cancelled == Decimal("1000") and led.balanced()


def test_credit_note_reduces_principal():
    r = run(LADDER, INV, [{"type": "credit_note", "at": "2026-02-05", "invoice": "A1", "amount": "250"}], until="2026-02-06")
    s = r.states[0]
    assert (s["balance"], s["principal"]) == (Decimal("750"), Decimal("750"))


def test_event_for_unknown_invoice_is_rejected_and_the_rest_processed():
    events = [{"type": "payment", "at": "2026-02-05", "invoice": "NOPE", "amount": "10"},
              {"type": "payment", "at": "2026-02-05", "invoice": "A1", "amount": "1000"}]
    r = run(LADDER, INV, events)
    assert len(r.rejects) == 1
    e = r.rejects[0]
    assert (e.line, e.field) == (1, "invoice") and "unknown invoice 'NOPE'" in e.message
    assert r.state_of("A1") == "paid"


def test_payment_in_another_currency_is_rejected():
    r = run(LADDER, INV, [{"type": "payment", "at": "2026-02-05", "invoice": "A1", "amount": "10", "currency": "EUR"}])
    assert len(r.rejects) == 1 and r.rejects[0].field == "currency"
    assert r.balance_of("A1") == Decimal("1000")


def test_invoice_issued_event_starts_a_case_at_its_time():
    ev = [{"type": "invoice_issued", "at": "2026-03-01T12:00:00",
           "invoice": {"id": "N1", "customer": "C9", "amount": "70", "issued": "2026-03-01", "due": "2026-03-10"}}]
    r = run(LADDER, [], ev, until="2026-03-12")
    assert timeline(r) == [("2026-03-11", "N1", "remind", "r1")]


def test_customer_updated_changes_what_guards_read():
    text = """
    policy: t
    currency: USD
    states:
      s:
        initial: true
        rules:
          - when: customer.segment == "vip"
            do: [{remind: {template: welcome_vip}}]
    """
    ev = [{"type": "customer_updated", "at": "2026-02-01T10:00:00", "customer": "C1", "fields": {"segment": "vip"}}]
    r = run(text, INV, ev, customers=[{"id": "C1", "segment": "smb"}])
    assert [a["at"] for a in r.actions] == ["2026-02-01T10:00:00+00:00"]


def test_dispute_parks_the_case_until_resolved():
    text = """
    policy: t
    currency: USD
    states:
      open:
        initial: true
        rules:
          - at: due + 10 days
            do: [{remind: {template: r}}]
      disputed:
        rules:
          - on: dispute_resolved
            goto: previous
    any_state:
      - on: dispute_opened
        goto: disputed
        except: [disputed]
    """
    ev = [{"type": "dispute_opened", "at": "2026-02-01", "invoice": "A1"},
          {"type": "dispute_resolved", "at": "2026-03-01", "invoice": "A1"}]
    r = run(text, INV, ev)
    # Re-entering 'open' re-arms its timers: due + 10 days is past, so it fires at once on resolution.
    assert [a["at"][:10] for a in r.actions] == ["2026-03-01"]
    assert r.state_of("A1") == "open"


def test_customer_update_before_any_invoice_applies_at_its_own_time():
    text = """
    policy: t
    currency: USD
    states:
      s:
        initial: true
        rules:
          - at: due
            when: customer.segment == "vip"
            do: [{remind: {template: vip}}]
          - at: due + 10 days
            when: customer.segment == "vip"
            do: [{remind: {template: vip_later}}]
    """
    # The update arrives (in the input) before the invoice exists, but is dated between the two timers.
    ev = [{"type": "customer_updated", "at": "2026-02-05", "customer": "C9", "fields": {"segment": "vip"}},
          {"type": "invoice_issued", "at": "2026-01-01",
           "invoice": {"id": "N1", "customer": "C9", "amount": "70", "issued": "2026-01-01", "due": "2026-01-31"}}]
    r = run(text, [], ev, customers=[{"id": "C9", "segment": "smb"}])
    assert [a["params"]["template"] for a in r.actions] == ["vip_later"]


def test_rates_in_force_on_a_day():
    from dunning_engine import load_policy_text
    from dunning_engine.engine.core import Engine
    import datetime as dt

    engine = Engine(load_policy_text("policy: r\ncurrency: CLP\nstates: {s: {initial: true}}\n"))
    engine.set_rate("UF", [(dt.date(2026, 1, 10), 2), (dt.date(2026, 1, 1), 1), (dt.date(2026, 2, 1), 3)])
    days = [dt.date(2025, 12, 31), dt.date(2026, 1, 1), dt.date(2026, 1, 9), dt.date(2026, 1, 10), dt.date(2026, 6, 1)]
    assert [engine.rate("UF", d) for d in days] == [None, 1, 1, 2, 3]
    assert engine.rate("TMC", dt.date(2026, 1, 1)) is None
