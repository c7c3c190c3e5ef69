"""Customer scope: one case per customer, aggregates, invoices joining (SPEC §2, §5)."""

from decimal import Decimal

from conftest import ROOT, run, timeline

from dunning_engine import load_policy

SAAS = load_policy(ROOT / "policies" / "saas_overdue_usd.yaml")
INV = [
    {"id": "S1", "customer": "ACME", "amount": "100", "issued": "2026-01-01", "due": "2026-01-10"},
    {"id": "S2", "customer": "ACME", "amount": "50", "issued": "2026-02-01", "due": "2026-02-10"},
    {"id": "T1", "customer": "TINY", "amount": "20", "issued": "2026-01-05", "due": "2026-01-20"},
]


def test_one_case_per_customer_with_summed_states():
    r = run(SAAS, INV, until="2026-01-05")
    assert sorted(s["case"] for s in r.states) == ["ACME", "TINY"]
    acme = next(s for s in r.states if s["case"] == "ACME")
    assert acme["invoice"] is None and acme["balance"] == Decimal("100")  # S2 has not been issued yet
    r = run(SAAS, INV, until="2026-02-02")
    acme = next(s for s in r.states if s["case"] == "ACME")
    assert acme["balance"] == Decimal("150")


def test_overdue_aggregates_drive_the_kill_bill_ladder_on_exact_days():
    r = run(SAAS, INV, until="2026-03-31")
    acme = [(d, rule, t) for d, c, t, rule in timeline(r) if c == "ACME"]
    assert acme[:2] == [("2026-01-11", "on_enter", "remind"), ("2026-01-14", "card_update_nudge", "remind")]
    # oldest_days_overdue reaches 14 on Jan 24 (due Jan 10): blocked, suspend first
    blocked = [x for x in acme if x[0] == "2026-01-24"]
    assert [t for _, _, t in blocked] == ["suspend", "remind", "task"]
    # 45 days overdue on Feb 24: cancelled (final) with the custom adapter call and escalation
    assert [(d, t) for d, _, t in acme[-2:]] == [("2026-02-24", "custom"), ("2026-02-24", "escalate")]
    custom = next(a for a in r.actions if a["type"] == "custom")
    owed = custom["params"]["params"]["owed"]
    assert (owed.amount, custom["params"]["params"]["account"]) == (Decimal("150"), "ACME")
    assert r.state_of("ACME") == "cancelled"


def test_paying_everything_overdue_returns_to_good_and_resumes_service():
    events = [{"type": "payment", "at": "2026-01-30T12:00:00", "invoice": "S1", "amount": "100"}]
    r = run(SAAS, INV, events, until="2026-02-05")
    acme = [(a["at"], a["type"], a["rule"]) for a in r.actions if a["case"] == "ACME"]
    assert acme[-1] == ("2026-01-30T12:00:00-05:00", "resume", "on_exit")
    assert r.state_of("ACME") == "good"
    # the next invoice becomes overdue on Feb 11 and starts the ladder again
    r = run(SAAS, INV, events, until="2026-02-12")
    assert r.state_of("ACME") == "warning"


def test_an_invoice_in_another_currency_for_the_same_customer_is_rejected():
    inv = INV + [{"id": "S3", "customer": "ACME", "amount": "9", "currency": "EUR", "issued": "2026-01-02", "due": "2026-01-09"}]
    r = run(SAAS, inv, until="2026-01-05")
    assert len(r.rejects) == 1 and r.rejects[0].field == "currency"


def test_invoice_variables_refer_to_the_event_invoice_in_customer_scope():
    text = """
    policy: c
    scope: customer
    currency: USD
    states:
      s:
        initial: true
        rules:
          - on: payment
            do: [{custom: {name: seen, params: {inv: invoice.id, due: due, open: open_count, bal: balance}}}]
    """
    r = run(text, INV, [{"type": "payment", "at": "2026-02-03", "invoice": "S2", "amount": "10"}])
    p = r.actions[0]["params"]["params"]
    assert (p["inv"], str(p["due"]), p["open"], p["bal"].amount) == ("S2", "2026-02-10", 2, Decimal("140"))
    assert r.actions[0]["invoice"] == "S2"
