"""Disputes and holds from the money angle: nothing is charged while held or disputed, a release
catches up, `goto: previous` resumes (SPEC §4, §5; issue 5)."""

from decimal import Decimal

from conftest import local_date, run

D = Decimal

# 1,000,000 CLP due Jan 31 (Santiago): 2% collection fee (max 15,000) at due + 15 days, interest at due + 30.
FEES = """
policy: h
currency: CLP
timezone: America/Santiago
states:
  overdue:
    initial: true
    rules:
      - name: fee
        at: due + 15 days
        {guard}
        do: [{{fee: {{percent: 2%, of: balance, max: 15000 CLP}}}}]
      - name: interest
        at: due + 30 days
        do: [{{interest: {{annual_rate: 36.5%}}}}]
  disputed:
    rules:
      - on: dispute_resolved
        goto: previous
any_state:
  - on: dispute_opened
    goto: disputed
    except: [disputed]
"""

INV = [{"id": "H1", "customer": "C1", "amount": "1000000", "issued": "2026-01-01", "due": "2026-01-31"}]


def ev(typ, at, **kw):
    return {"type": typ, "at": at, "invoice": "H1", **kw}


def money(result):
    return [(local_date(a), a["type"], a["amount"]) for a in result.actions]


def test_no_fee_is_charged_while_held_and_the_release_catches_up():
    events = [ev("hold", "2026-02-10T10:00"), ev("release", "2026-02-20T11:00")]
    during = run(FEES.format(guard=""), INV, events, until="2026-02-19")
    assert during.actions == [] and during.states[0]["fees"] == 0
    r = run(FEES.format(guard=""), INV, events, until="2026-03-31")
    # 2% of 1,000,000 = 20,000, capped at 15,000: charged at the release (catch-up), not on Feb 15
    assert money(r) == [("2026-02-20", "fee", D("15000")), ("2026-03-02", "interest", D("30000"))]
    assert r.actions[0]["at"] == "2026-02-20T11:00:00-03:00"
    assert r.actions[0]["params"] == {"percent": "2%", "of": "balance", "base": D("1000000"),
                                      "computed": D("20000.00"), "max": D("15000"), "capped": "max"}


def test_expires_drops_a_fee_that_came_due_during_a_hold():
    text = FEES.format(guard="").replace("        at: due + 15 days\n", "        at: due + 15 days\n        expires: 2 days\n")
    r = run(text, INV, [ev("hold", "2026-02-10T10:00"), ev("release", "2026-02-20T11:00")], until="2026-02-28")
    assert r.actions == [] and r.states[0]["fees"] == 0


def test_interest_accrues_through_a_hold_and_posts_after_it():
    # held over the interest date (Mar 2): posted at the release on Mar 10 for the 38 days since due:
    # 1,000,000 * 0.1% * 38 = 38,000 — the hold stops actions, not the accrual
    events = [ev("hold", "2026-02-25T10:00"), ev("release", "2026-03-10T09:30")]
    r = run(FEES.format(guard=""), INV, events, until="2026-03-31")
    assert money(r)[-1] == ("2026-03-10", "interest", D("38000"))


def test_payments_during_a_hold_reach_the_ledger():
    events = [ev("hold", "2026-02-10T10:00"), ev("payment", "2026-02-12T10:00", amount="400000"),
              ev("release", "2026-02-20T11:00")]
    r = run(FEES.format(guard=""), INV, events, until="2026-02-25")
    # the fee at the release is 2% of the 600,000 left = 12,000 (under the cap)
    assert money(r) == [("2026-02-20", "fee", D("12000"))]


def test_customer_hold_stops_charges_on_every_invoice():
    invs = INV + [{"id": "H2", "customer": "C1", "amount": "300000", "issued": "2026-01-01", "due": "2026-01-31"}]
    events = [{"type": "hold", "at": "2026-02-01", "customer": "C1"}]
    r = run(FEES.format(guard=""), invs, events, until="2026-06-01")
    assert r.actions == [] and all(s["fees"] == 0 and s["interest"] == 0 for s in r.states)


def test_dispute_parks_the_case_no_fee_and_goto_previous_resumes():
    events = [ev("dispute_opened", "2026-02-05T10:00"), ev("dispute_resolved", "2026-03-20T16:00")]
    during = run(FEES.format(guard=""), INV, events, until="2026-03-19")
    assert during.actions == [] and during.state_of("H1") == "disputed"
    r = run(FEES.format(guard=""), INV, events, until="2026-03-31")
    # back in `overdue` (a new entry): its timers are armed again and both have passed: they catch up
    assert r.state_of("H1") == "overdue"
    assert money(r) == [("2026-03-20", "fee", D("15000")), ("2026-03-20", "interest", D("48000"))]


def test_a_dispute_round_trip_re_enters_the_state_so_guard_one_time_charges():
    # the fee was charged on Feb 15; a dispute and its resolution re-enter `overdue`, whose `at` timers
    # fire once per entry: without a guard the fee would be charged again. `when: fees == 0` prevents it.
    events = [ev("dispute_opened", "2026-02-20T10:00"), ev("dispute_resolved", "2026-02-25T16:00")]
    unguarded = run(FEES.format(guard=""), INV, events, until="2026-02-28")
    assert [m[1] for m in money(unguarded)] == ["fee", "fee"]
    guarded = run(FEES.format(guard="when: fees == 0"), INV, events, until="2026-02-28")
    assert money(guarded) == [("2026-02-15", "fee", D("15000"))]
    assert guarded.states[0]["fees"] == D("15000")
