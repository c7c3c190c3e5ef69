"""The shipped money policies (early-payment discount, consumer plans and promises) on hand-checked cases."""

from decimal import Decimal

import pytest

from conftest import ROOT, local_date, run
from dunning_engine import load_policy

D = Decimal
EARLY = load_policy(ROOT / "policies" / "early_pay_discount_usd.yaml")
CONSUMER = load_policy(ROOT / "policies" / "consumer_installments_cl.yaml")


@pytest.mark.parametrize("name", ["early_pay_discount_usd", "consumer_installments_cl"])
def test_yaml_and_dsl_forms_are_the_same_policy(name):
    assert load_policy(ROOT / "policies" / f"{name}.yaml") == load_policy(ROOT / "policies" / f"{name}.dunning")


def usd(amount, id_="U1"):
    return [{"id": id_, "customer": "C1", "amount": amount, "issued": "2026-01-01", "due": "2026-01-31"}]


def pay(amount, at, id_="U1"):
    return {"type": "payment", "at": at, "invoice": id_, "amount": amount}


def money(r):
    return [(local_date(a), a["type"], a["amount"]) for a in r.actions if a["amount"] is not None]


def test_early_payment_takes_the_discount():
    # 10,000 USD, 2% off until Jan 11: 9,800 on Jan 8 settles
    r = run(EARLY, usd("10000.00"), [pay("9800.00", "2026-01-08T14:00")])
    assert money(r) == [("2026-01-01", "discount", D("200.00"))]
    s = r.states[0]
    assert (s["state"], s["balance"], s["discounts"], s["paid"]) == ("paid", 0, D("200.00"), D("9800.00"))
    # the "offer ends" reminder is not sent to a paid invoice, nor anything after
    assert [a["params"].get("template") for a in r.actions if a["type"] == "remind"] == ["invoice_early_pay_offer"]


def test_the_offer_ends_and_a_late_payment_pays_in_full():
    r = run(EARLY, usd("10000.00"), [pay("9800.00", "2026-01-12T09:00")], until="2026-01-20")
    assert r.states[0]["balance"] == D("200.00") and r.state_of("U1") == "open"
    assert "early_pay_offer_ends" in [a["params"].get("template") for a in r.actions]


@pytest.mark.parametrize("amount, fee", [
    ("10000.00", "150.00"),   # 1.5% of 10,000
    ("800.00", "25.00"),      # 1.5% of 800 = 12, at least 25
    ("50000.00", "250.00"),   # 1.5% of 50,000 = 750, at most 250
])
def test_late_fee_is_bounded(amount, fee):
    r = run(EARLY, usd(amount), until="2026-02-15")
    (f,) = [a for a in r.actions if a["type"] == "fee"]
    assert (local_date(f), f["amount"]) == ("2026-02-10", D(fee))


def test_interest_every_30_days_on_principal_basis_360():
    # 10,000 USD at 12% / 360 = 3.333.. a day: 30 days = 100.00 per posting (principal only: no compounding)
    # a payment of 5,150 on Mar 10 pays the 150 fee, the 100 interest, then 4,900 of principal:
    #   Mar 2 - Mar 10: 8 days on 10,000 = 26.67; Mar 10 - Apr 1: 22 days on 5,100 = 37.40; total 64.07
    r = run(EARLY, usd("10000.00"), [pay("5150.00", "2026-03-10T10:00")], until="2026-04-02")
    assert money(r) == [("2026-01-01", "discount", D("200.00")), ("2026-02-10", "fee", D("150.00")),
                        ("2026-03-02", "interest", D("100.00")), ("2026-04-01", "interest", D("64.07"))]
    assert r.states[0]["balance"] == D("5164.07")


def test_dispute_round_trip_does_not_charge_the_late_fee_twice():
    ev = [{"type": "dispute_opened", "at": "2026-02-12T10:00", "invoice": "U1"},
          {"type": "dispute_resolved", "at": "2026-02-20T10:00", "invoice": "U1"}]
    r = run(EARLY, usd("10000.00"), ev, until="2026-02-25")
    assert [m for m in money(r) if m[1] == "fee"] == [("2026-02-10", "fee", D("150.00"))]
    assert r.state_of("U1") == "overdue"


def test_a_broken_promise_returns_to_overdue():
    ev = [{"type": "promise_to_pay", "at": "2026-02-03T10:00", "invoice": "U1", "date": "2026-02-06"}]
    r = run(EARLY, usd("1000.00"), ev, until="2026-02-08")
    rem = [(a["at"], a["params"]["template"]) for a in r.actions if a["type"] == "remind"]
    # broken at 00:00 local (Chicago) of the day after the date; re-entering overdue sends its notice again
    assert rem[-2:] == [("2026-02-07T00:00:00-06:00", "broken_promise"), ("2026-02-07T00:00:00-06:00", "past_due")]
    assert r.state_of("U1") == "overdue"


CL = [{"id": "K1", "customer": "C1", "amount": "300000", "issued": "2026-01-01", "due": "2026-01-31"}]


def test_consumer_plan_schedule_reminders_and_two_misses():
    # Feb 21 (21 days late): fee 9% of 300,000 = 27,000 (under the 35,000 cap); plan on 327,000:
    # 20% down = 65,400 on Feb 28 (today + 7 days), then 261,600 / 3 = 87,200 on Mar 28, Apr 28, May 28
    ev = [{"type": "plan_accepted", "at": "2026-02-23T12:00", "invoice": "K1"},
          pay("65400", "2026-02-28T12:00", "K1"), pay("87200", "2026-03-28T12:00", "K1")]
    r = run(CONSUMER, CL, ev, until="2026-07-01")
    offer = next(a for a in r.actions if a["type"] == "offer_plan")
    assert [(x["date"].isoformat(), x["amount"]) for x in offer["params"]["schedule"]] == [
        ("2026-02-28", D("65400")), ("2026-03-28", D("87200")), ("2026-04-28", D("87200")), ("2026-05-28", D("87200"))]
    assert money(r) == [("2026-02-21", "fee", D("27000")), ("2026-02-21", "offer_plan", D("327000"))]
    rem = [(a["at"], a.get("deferred_from"), a["params"]["template"]) for a in r.actions if a["type"] == "remind"][3:]
    # a reminder 2 days before each installment; contact rules (Mon-Sat 08:00-20:00) move the one that
    # falls on Sunday Apr 26 to Monday 08:00, and the 00:00 miss notice to 08:00
    assert rem == [("2026-02-23T12:00:00-03:00", None, "plan_confirmado"),
                   ("2026-02-26T10:00:00-03:00", None, "recordatorio_cuota"),
                   ("2026-03-26T10:00:00-03:00", None, "recordatorio_cuota"),
                   ("2026-04-27T08:00:00-04:00", "2026-04-26T10:00:00-04:00", "recordatorio_cuota"),
                   ("2026-04-29T08:00:00-04:00", "2026-04-29T00:00:00-04:00", "cuota_vencida")]
    esc = r.actions[-1]
    assert (esc["type"], esc["at"]) == ("escalate", "2026-05-29T00:00:00-04:00")
    assert r.state_of("K1") == "agency" and r.states[0]["balance"] == D("174400")


def test_consumer_plan_paid_on_schedule_completes():
    ev = [{"type": "plan_accepted", "at": "2026-02-23T12:00", "invoice": "K1"},
          pay("65400", "2026-02-27T12:00", "K1"), pay("87200", "2026-03-27T12:00", "K1"),
          pay("87200", "2026-04-27T12:00", "K1"), pay("87200", "2026-05-27T12:00", "K1")]
    r = run(CONSUMER, CL, ev, until="2026-07-01")
    assert r.state_of("K1") == "paid" and r.states[0]["balance"] == 0
    assert "cuota_vencida" not in [a["params"].get("template") for a in r.actions]


def test_consumer_promise_track():
    # a promise on Feb 5 for Feb 12; reminder the day before; broken at 00:00 on Feb 13 -> negotiation
    ev = [{"type": "promise_to_pay", "at": "2026-02-05T11:00", "invoice": "K1", "date": "2026-02-12", "amount": "100000"},
          pay("60000", "2026-02-10T11:00", "K1")]
    r = run(CONSUMER, CL, ev, until="2026-02-14")
    rem = [(a.get("deferred_from") or a["at"], a["params"].get("template") or a["type"])
           for a in r.actions if local_date(a) >= "2026-02-05"][:6]
    assert rem == [("2026-02-05T11:00:00-03:00", "compromiso_registrado"),
                   ("2026-02-11T10:00:00-03:00", "recordatorio_compromiso"),
                   # negotiation: 9% of the 240,000 left = 21,600; the plan on 261,600
                   ("2026-02-13T00:00:00-03:00", "fee"), ("2026-02-13T00:00:00-03:00", "offer_plan"),
                   ("2026-02-13T00:00:00-03:00", "task"), ("2026-02-13T00:00:00-03:00", "compromiso_incumplido")]
    # money actions are never deferred; contacts wait for the window and the 2-day gap between written ones
    late = {a["params"].get("template") or a["type"]: a["at"] for a in r.actions if a.get("deferred_from")}
    assert (late["task"], late["compromiso_incumplido"]) == ("2026-02-13T08:00:00-03:00", "2026-02-13T10:00:00-03:00")
    assert money(r) == [("2026-02-13", "fee", D("21600")), ("2026-02-13", "offer_plan", D("261600"))]
    # a kept promise that settles everything: paid
    ev = [ev[0], pay("300000", "2026-02-10T11:00", "K1")]
    assert run(CONSUMER, CL, ev, until="2026-03-01").state_of("K1") == "paid"
