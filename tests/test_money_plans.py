"""Payment plans: offer_plan schedules, plan_accepted, plan.* variables, plan_installment_missed,
plan_completed, payments allocated to installments in order (SPEC §1, §2, §4; issue 5)."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import local_date, run
from dunning_engine.engine.actions import plan_schedule
from dunning_engine.values import Duration, minor_units, quantize

D = Decimal
DAY = dt.date


def sched(total, n, cur, down="0", every=Duration(30, "days"), first=DAY(2026, 2, 1)):
    return [(d.isoformat(), str(a)) for d, a in plan_schedule(D(total), n, every, first, D(down), cur)]


# ---------------------------------------------------------------------- the schedule

@pytest.mark.parametrize("total, n, cur, down, expected", [
    # 1,000 USD / 3 = 333.333 -> 333.33, 333.33 and the last takes the remainder 333.34
    ("1000.00", 3, "USD", "0", ["333.33", "333.33", "333.34"]),
    # 100,000 CLP / 3 = 33,333.33 -> 33,333 x 2, last 33,334
    ("100000", 3, "CLP", "0", ["33333", "33333", "33334"]),
    # 100,001 CLP / 3 = 33,333.67 -> 33,334 x 2 (half up), last 33,333
    ("100001", 3, "CLP", "0", ["33334", "33334", "33333"]),
    # 4,500 MXN with 450 down (10%): 4,050 / 3 = 1,350 each
    ("4500.00", 3, "MXN", "450.00", ["450.00", "1350.00", "1350.00", "1350.00"]),
    # 2,000 MXN, 333.33 down: 1,666.67 / 4 = 416.6675 -> 416.67 x 3, last 416.66
    ("2000.00", 4, "MXN", "333.33", ["333.33", "416.67", "416.67", "416.67", "416.66"]),
    # 100 BHD / 7 = 14.2857 -> 14.286 x 6 = 85.716, last 14.284
    ("100.000", 7, "BHD", "0", ["14.286"] * 6 + ["14.284"]),
    # 10 CLP / 6: half up gives 2 x 5 = 10, nothing left for the last -> rounded down: 1 x 5, last 5
    ("10", 6, "CLP", "0", ["1", "1", "1", "1", "1", "5"]),
    # 2 CLP cannot make 3 positive installments: 2 of 1
    ("2", 3, "CLP", "0", ["1", "1"]),
    # a down payment of the whole total is the whole plan
    ("500.00", 3, "USD", "600.00", ["500.00"]),
])
def test_plan_schedule_amounts(total, n, cur, down, expected):
    rows = sched(total, n, cur, down)
    assert [a for _, a in rows] == expected
    assert sum(D(a) for a in expected) == D(total)


def test_plan_schedule_dates():
    # no down payment: the first installment on `first`, then every 30 days
    assert [d for d, _ in sched("90", 3, "USD")] == ["2026-02-01", "2026-03-03", "2026-04-02"]
    # with a down payment: the down payment on `first`, installments one period later
    assert [d for d, _ in sched("90", 2, "USD", down="30")] == ["2026-02-01", "2026-03-03", "2026-04-02"]
    # monthly from Jan 31 keeps the day of the month where it exists (no drift to the 28th)
    rows = sched("400", 4, "USD", every=Duration(1, "months"), first=DAY(2026, 1, 31))
    assert [d for d, _ in rows] == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]


CURRENCIES = ["CLP", "JPY", "USD", "MXN", "BHD", "KWD"]


@given(cur=st.sampled_from(CURRENCIES), units=st.integers(1, 10**9), n=st.integers(1, 48),
       down_units=st.integers(0, 10**9), every=st.sampled_from([Duration(7, "days"), Duration(1, "months"),
                                                                  Duration(10, "business_days")]))
def test_installments_always_sum_to_the_planned_total(cur, units, n, down_units, every):
    unit = D(1).scaleb(-minor_units(cur))
    total = units * unit
    down = (down_units % (units + units // 2 + 1)) * unit
    rows = plan_schedule(total, n, every, DAY(2026, 1, 31), down, cur)
    amounts = [a for _, a in rows]
    assert sum(amounts) == total
    assert all(isinstance(a, Decimal) and a > 0 and quantize(a, cur) == a for a in amounts)
    regular = amounts[1:] if down > 0 else amounts
    assert len(regular) <= n and len(set(regular[:-1])) <= 1   # equal installments, the last takes the rest
    dates = [d for d, _ in rows]
    assert dates == sorted(dates) and len(set(dates)) == len(dates)


# ---------------------------------------------------------------------- the engine

# An invoice of 3,000.00 MXN due Jan 31 (Mexico City). On Feb 1 the policy offers 3 monthly
# installments starting Feb 10: 1,000.00 on Feb 10, Mar 10 and Apr 10. `snap` records plan.*.
SNAP = "{custom: {name: snap, params: {next: plan.next_date, amt: plan.next_amount, paid: plan.paid_count, " \
       "missed: plan.missed_count, n: plan.installments, bal: balance}}}"
PLAN = f"""
policy: plan
currency: MXN
timezone: America/Mexico_City
states:
  current:
    initial: true
    rules:
      - at: due + 1 day
        goto: negotiation
  negotiation:
    on_enter:
      - offer_plan: {{installments: 3, every: 1 month, first: "2026-02-10"{{down}}}}
    rules:
      - on: plan_accepted
        goto: on_plan
  on_plan:
    on_enter: [{SNAP}]
    rules:
      - on: payment
        do: [{SNAP}]
      - on: plan_installment_missed
        do: [{{remind: {{template: cuota_vencida, via: [sms]}}}}, {SNAP}]
      - on: plan_completed
        do: [{SNAP}]
        goto: done
  done:
    final: true
"""


def plan_policy(down: str = "") -> str:
    return PLAN.replace("{down}", f", down_payment: {down}" if down else "")


INV = [{"id": "F1", "customer": "C1", "amount": "3000.00", "currency": "MXN", "issued": "2026-01-01", "due": "2026-01-31"}]


def ev(typ, at, **kw):
    return {"type": typ, "at": at, "invoice": "F1", **kw}


def snaps(result):
    out = []
    for a in result.actions:
        if a["type"] == "custom":
            p = a["params"]["params"]
            out.append((local_date(a), str(p["next"]) if p["next"] else None,
                        str(p["amt"].amount) if p["amt"] else None, p["paid"], p["missed"]))
    return out


def test_offer_plan_action_carries_the_schedule():
    r = run(plan_policy(), INV, until="2026-02-05")
    (a,) = r.actions
    assert (a["type"], a["amount"], local_date(a)) == ("offer_plan", D("3000.00"), "2026-02-01")
    p = a["params"]
    assert (p["installments"], p["every"], p["first"], p["total"]) == (3, "1 month", DAY(2026, 2, 10), D("3000.00"))
    assert p["schedule"] == [{"date": DAY(2026, 2, 10), "amount": D("1000.00")},
                             {"date": DAY(2026, 3, 10), "amount": D("1000.00")},
                             {"date": DAY(2026, 4, 10), "amount": D("1000.00")}]


def test_down_payment_percent_and_money():
    r = run(plan_policy("10%"), INV, until="2026-02-05")
    p = r.actions[0]["params"]
    # 10% of 3,000 = 300 down on Feb 10, then 2,700 / 3 = 900 on Mar 10, Apr 10, May 10
    assert (p["down_payment"], p["down_payment_percent"]) == (D("300.00"), "10%")
    assert [(x["date"].isoformat(), x["amount"]) for x in p["schedule"]] == [
        ("2026-02-10", D("300.00")), ("2026-03-10", D("900.00")), ("2026-04-10", D("900.00")), ("2026-05-10", D("900.00"))]
    p = run(plan_policy("500 MXN"), INV, until="2026-02-05").actions[0]["params"]
    # 500 down, then 2,500 / 3 = 833.33, 833.33, 833.34
    assert [x["amount"] for x in p["schedule"]] == [D("500.00"), D("833.33"), D("833.33"), D("833.34")]


def test_plan_lifecycle_variables_missed_and_completed():
    events = [ev("plan_accepted", "2026-02-03T10:00"),
              ev("payment", "2026-02-09T12:00", amount="1000.00"),   # installment 1, on time
              ev("payment", "2026-03-12T12:00", amount="400.00"),    # installment 2 missed on Mar 11 00:00; part paid
              ev("payment", "2026-03-20T12:00", amount="1600.00")]   # covers the rest of 2 and all of 3
    r = run(plan_policy(), INV, events, until="2026-06-01")
    assert snaps(r) == [
        ("2026-02-03", "2026-02-10", "1000.00", 0, 0),     # accepted
        ("2026-02-09", "2026-03-10", "1000.00", 1, 0),     # first installment paid
        ("2026-03-11", "2026-03-10", "1000.00", 1, 1),     # missed, raised at 00:00 local of Mar 11
        ("2026-03-12", "2026-03-10", "600.00", 1, 1),      # partly paid: 600 left of installment 2
        ("2026-03-20", None, None, 3, 1),                  # the payment's own rule: all 3 covered
        ("2026-03-20", None, None, None, None),            # plan_completed: the plan has ended (plan is null)
    ]
    missed = next(a for a in r.actions if a["type"] == "remind")
    assert missed["at"] == "2026-03-11T00:00:00-06:00"
    done = r.actions[-1]
    assert done["type"] == "custom" and r.state_of("F1") == "done"
    assert r.states[0]["balance"] == 0


def test_plan_completed_is_raised_right_after_the_covering_payment():
    events = [ev("plan_accepted", "2026-02-03T10:00"), ev("payment", "2026-02-09T12:00", amount="3000.00")]
    r = run(plan_policy(), INV, events, until="2026-06-01")
    rows = snaps(r)
    # accepted; the payment's own rule sees 3 paid; then plan_completed runs with the plan ended (null)
    assert rows == [("2026-02-03", "2026-02-10", "1000.00", 0, 0), ("2026-02-09", None, None, 3, 0),
                    ("2026-02-09", None, None, None, None)]
    assert r.state_of("F1") == "done"
    assert not [a for a in r.actions if a["type"] == "remind"]  # nothing missed afterwards


def test_payments_between_offer_and_acceptance_count_toward_the_plan():
    # 1,200 paid on Feb 2 (after the Feb 1 offer), accepted Feb 5: installment 1 covered, 200 toward 2
    events = [ev("payment", "2026-02-02T12:00", amount="1200.00"), ev("plan_accepted", "2026-02-05T10:00")]
    r = run(plan_policy(), INV, events, until="2026-03-05")
    assert snaps(r) == [("2026-02-05", "2026-03-10", "800.00", 1, 0)]


def test_payments_before_the_offer_do_not_count():
    # 600 paid before the offer: the offer is on the 2,400 left (800 x 3)
    events = [ev("payment", "2026-01-20T12:00", amount="600.00"), ev("plan_accepted", "2026-02-05T10:00")]
    r = run(plan_policy(), INV, events, until="2026-02-08")
    assert r.actions[0]["amount"] == D("2400.00")
    assert snaps(r) == [("2026-02-05", "2026-02-10", "800.00", 0, 0)]


def test_each_unpaid_installment_is_missed_once_and_late_acceptance_catches_up():
    # accepted on Mar 15: installments 1 (Feb 10) and 2 (Mar 10) are already past: missed at once, in order
    events = [ev("plan_accepted", "2026-03-15T10:00")]
    r = run(plan_policy(), INV, events, until="2026-05-01")
    reminders = [(a["at"], a["type"]) for a in r.actions if a["type"] == "remind"]
    assert reminders == [("2026-03-15T10:00:00-06:00", "remind"), ("2026-03-15T10:00:00-06:00", "remind"),
                         ("2026-04-11T00:00:00-06:00", "remind")]
    assert snaps(r)[-1] == ("2026-04-11", "2026-02-10", "1000.00", 0, 3)


def test_missed_event_carries_the_installment():
    text = """
policy: p
currency: USD
states:
  s:
    initial: true
    on_enter:
      - offer_plan: {installments: 2, every: 2 weeks, first: "2026-02-01"}
    rules:
      - on: plan_installment_missed
        do: [{custom: {name: m, params: {n: event.installment, d: event.date, a: event.amount}}}]
"""
    inv = [{"id": "U1", "customer": "C1", "amount": "99.99", "issued": "2026-01-01", "due": "2026-01-31"}]
    events = [{"type": "plan_accepted", "at": "2026-01-02", "invoice": "U1"},
              {"type": "payment", "at": "2026-01-20", "invoice": "U1", "amount": "50.00"}]
    r = run(text, inv, events)
    # 99.99 / 2 = 49.995 -> 50.00, last 49.99; 50 paid covers installment 1; installment 2 (Feb 15) missed
    (a,) = [x for x in r.actions if x["type"] == "custom"]
    assert a["at"] == "2026-02-16T00:00:00+00:00"
    assert a["params"]["params"]["n"] == 2 and a["params"]["params"]["d"] == DAY(2026, 2, 15)
    assert a["params"]["params"]["a"].amount == D("49.99")


def test_plan_accepted_without_an_offer_is_ignored_with_a_warning():
    events = [ev("plan_accepted", "2026-01-15T10:00")]
    r = run(plan_policy(), INV, events, until="2026-01-20")
    assert r.engine.cases["F1"].plan is None and "no plan was offered" in str(r.engine.warnings[0])


def test_a_credit_note_counts_toward_the_installments_and_settling_ends_the_plan():
    events = [ev("plan_accepted", "2026-02-03T10:00"),
              ev("credit_note", "2026-02-04T10:00", amount="1000.00"),  # covers installment 1
              ev("payment", "2026-03-01T10:00", amount="2000.00")]      # settles: plan_completed
    r = run(plan_policy(), INV, events, until="2026-06-01")
    assert not [a for a in r.actions if a["type"] == "remind"]
    assert r.state_of("F1") == "done"


def test_a_discount_that_settles_the_case_completes_the_plan():
    text = plan_policy().replace("      - on: plan_accepted\n",
                                 "      - on: plan_accepted\n        do: [{discount: {percent: 10%, until: \"2026-02-28\"}}]\n")
    events = [ev("plan_accepted", "2026-02-03T10:00"), ev("payment", "2026-02-09T12:00", amount="2700.00")]
    r = run(text, INV, events, until="2026-06-01")
    s = r.states[0]
    assert (s["state"], s["balance"], s["discounts"]) == ("done", 0, D("300.00"))
    assert not [a for a in r.actions if a["type"] == "remind"]


def test_missed_installments_wait_for_the_release_of_a_hold():
    events = [ev("plan_accepted", "2026-02-03T10:00"),
              ev("hold", "2026-02-05T10:00"),
              ev("release", "2026-02-20T15:00")]
    r = run(plan_policy(), INV, events, until="2026-03-01")
    reminders = [a["at"] for a in r.actions if a["type"] == "remind"]
    # installment 1 (Feb 10) came due while held: missed at the release, not on Feb 11
    assert reminders == ["2026-02-20T15:00:00-06:00"]


def test_a_plan_accepted_after_it_was_paid_completes_at_acceptance():
    # Review finding: payments since the offer count, so a plan that is already covered when it is
    # accepted completes right after the acceptance's own rules have run.
    from conftest import run as run_policy

    text = """
    policy: p
    currency: USD
    states:
      open:
        initial: true
        on_enter:
          - offer_plan: {installments: 2, every: 1 month, first: due + 10 days}
        rules:
          - on: plan_accepted
            goto: on_plan
      on_plan:
        rules:
          - on: plan_completed
            do: [{remind: {template: thanks}}]
            goto: done
      done: {final: true}
    """
    inv = [{"id": "A1", "customer": "C1", "amount": "1000.00", "issued": "2026-01-01", "due": "2026-01-31"}]
    events = [{"type": "payment", "at": "2026-01-05T10:00:00", "invoice": "A1", "amount": "1000.00"},
              {"type": "plan_accepted", "at": "2026-01-06T10:00:00", "invoice": "A1"}]
    r = run_policy(text, inv, events, until="2026-06-01")
    assert [(a["at"], a["params"].get("template")) for a in r.actions if a["type"] == "remind"] == [
        ("2026-01-06T10:00:00+00:00", "thanks")]
    assert r.state_of("A1") == "done" and r.engine.cases["A1"].plan is None
