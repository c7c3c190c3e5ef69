"""Money properties over random portfolios and event streams (issue 5):

- every ledger balances at every checkpoint:
  amount + fees + interest == paid + credits + discounts + written_off + cancelled + balance;
- installments always sum to the planned total;
- no amount is ever a float: every action record and every state is walked;
- every amount is exact at the currency's minor unit, and every record serialises to JSON.
"""

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import policy
from dunning_engine.run import simulate
from dunning_engine.io.writers import dumps_record
from dunning_engine.values import Duration, Money, Percent, minor_units, quantize

START = dt.date(2026, 1, 1)
CURRENCIES = ["CLP", "USD", "MXN", "BHD"]

# A policy that uses every money feature: an early-payment discount, a capped percent fee, interest on
# the balance (basis 360) every 10 days, a plan with a down payment, a second discount, promises with
# a fee when broken, disputes with goto previous, a fee per missed installment, and a write-off.
MONEY_POLICY = """
policy: money_props
currency: {cur}
scope: {scope}
timezone: America/Santiago
allocation: {alloc}
states:
  current:
    initial: true
    on_enter:
      - discount: {{percent: 2%, until: issued + 10 days}}
    rules:
      - at: due + 1 day
        goto: overdue
      - on: promise_to_pay
        goto: promised
  overdue:
    on_enter:
      - fee: {{percent: 2.5%, of: balance, min: 3, max: 4000}}
    rules:
      - every: 10 days
        max: 8
        do:
          - interest: {{annual_rate: 19.75%, basis: 360, on: balance}}
      - after: 20 days
        goto: negotiation
      - on: promise_to_pay
        goto: promised
  negotiation:
    on_enter:
      - interest: {{annual_rate: 12.5%}}
      - offer_plan: {{installments: 4, every: 2 weeks, down_payment: 15%}}
      - discount: {{amount: 7, until: today + 5 days}}
    rules:
      - on: plan_accepted
        goto: on_plan
      - on: promise_to_pay
        goto: promised
      - after: 90 days
        do: [write_off]
        goto: written_off
  on_plan:
    rules:
      - on: plan_installment_missed
        do:
          - fee: {{amount: 5}}
      - on: plan_installment_missed
        when: plan.missed_count >= 2
        goto: overdue
      - on: plan_completed
        when: balance > 0
        goto: overdue
  promised:
    rules:
      - on: promise_broken
        do:
          - fee: {{percent: 1%, of: principal}}
        goto: overdue
      - on: promise_kept
        goto: overdue
  disputed:
    rules:
      - on: dispute_resolved
        goto: previous
  written_off:
    final: true
  paid:
    final: true
any_state:
  - on: payment
    when: balance <= 0
    goto: paid
  - on: dispute_opened
    goto: disputed
    except: [disputed]
"""

ALLOCATIONS = ["[interest, fees, principal]", "[principal, fees, interest]", "[fees, principal, interest]"]
EVENT_TYPES = ["payment", "payment", "payment", "credit_note", "promise_to_pay", "plan_accepted", "plan_accepted",
               "dispute_opened", "dispute_resolved", "hold", "release", "invoice_cancelled", "payment_failed"]


@st.composite
def portfolios(draw):
    cur = draw(st.sampled_from(CURRENCIES))
    unit = Decimal(1).scaleb(-minor_units(cur))
    scope = draw(st.sampled_from(["invoice", "customer"]))
    alloc = draw(st.sampled_from(ALLOCATIONS))
    invoices = []
    for i in range(draw(st.integers(1, 5))):
        issued = START + dt.timedelta(days=draw(st.integers(0, 30)))
        invoices.append({"id": f"I{i}", "customer": f"C{draw(st.integers(0, 1))}",
                         "amount": str(draw(st.integers(1, 500_000)) * unit), "issued": issued.isoformat(),
                         "due": (issued + dt.timedelta(days=draw(st.integers(0, 40)))).isoformat()})
    events = []
    for _ in range(draw(st.integers(0, 16))):
        inv = draw(st.sampled_from(invoices))
        at = dt.datetime.combine(START, dt.time()) + dt.timedelta(minutes=draw(st.integers(0, 220 * 24 * 60)))
        typ = draw(st.sampled_from(EVENT_TYPES))
        ev = {"type": typ, "at": at.isoformat(), "invoice": inv["id"]}
        if typ in ("payment", "credit_note"):
            ev["amount"] = str(draw(st.integers(1, 300_000)) * unit)
        if typ == "promise_to_pay":
            ev["date"] = (at.date() + dt.timedelta(days=draw(st.integers(0, 30)))).isoformat()
            if draw(st.booleans()):
                ev["amount"] = str(draw(st.integers(1, 300_000)) * unit)
        events.append(ev)
    events.sort(key=lambda e: e["at"])
    checkpoints = sorted(draw(st.lists(st.integers(1, 260), min_size=1, max_size=4, unique=True)))
    return cur, scope, alloc, invoices, events, checkpoints


def no_floats(value, path="") -> None:
    """Walk a record: money is Decimal (finite), never float; only JSON-friendly leaf types."""
    assert not isinstance(value, float), f"float at {path}: {value!r}"
    if isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, str)
            no_floats(v, f"{path}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            no_floats(v, f"{path}[{i}]")
    elif isinstance(value, Money):
        assert isinstance(value.amount, Decimal) and value.amount.is_finite(), path
    elif isinstance(value, Decimal):
        assert value.is_finite(), path
    else:
        assert value is None or isinstance(value, (str, int, bool, dt.date, Percent, Duration)), f"{path}: {value!r}"


MONEY_STATE_FIELDS = ("balance", "principal", "fees", "interest", "discounts", "written_off", "paid")


def check(result, actions, cur) -> None:
    engine = result.engine
    assert not engine.errors, engine.errors
    for case in engine.cases.values():
        for led in case.ledgers.values():
            assert led.balanced(), (case.id, led.invoice.id)
            for part in (led.principal, led.fees_unpaid, led.interest_unpaid):
                assert isinstance(part, Decimal) and quantize(part, cur) == part
            assert led.fees_unpaid >= 0 and led.interest_unpaid >= 0
            # a credit is never left standing next to unpaid fees or interest
            assert led.principal >= 0 or (led.fees_unpaid == 0 and led.interest_unpaid == 0)
        if case.plan is not None:
            assert sum(a for _, a in case.plan.schedule) == case.plan.total
    for a in actions:
        no_floats(a, a["key"])
        dumps_record(a)  # JSON-friendly, money as decimal strings
        if a["amount"] is not None:
            assert isinstance(a["amount"], Decimal) and a["amount"] > 0
            assert quantize(a["amount"], cur) == a["amount"] and a["currency"] == cur
        if a["type"] == "offer_plan":
            sched = a["params"]["schedule"]
            assert sum(x["amount"] for x in sched) == a["amount"] == a["params"]["total"]
            assert all(x["amount"] > 0 for x in sched)
        if a["type"] == "interest":
            parts = a["params"].get("invoices")
            if parts:
                assert sum(x["amount"] for x in parts) == a["amount"]
        if a["type"] == "discount":
            assert a["params"]["pay"] + a["amount"] == a["params"]["balance"]
    for s in result.states:
        no_floats(s, s["case"])
        dumps_record(s)
        for f in MONEY_STATE_FIELDS:
            if f in s:
                assert isinstance(s[f], Decimal) and quantize(s[f], cur) == s[f]


@settings(max_examples=60)
@given(portfolios())
def test_ledgers_balance_and_money_is_exact_over_random_streams(p):
    cur, scope, alloc, invoices, events, checkpoints = p
    pol = policy(MONEY_POLICY.format(cur=cur, scope=scope, alloc=alloc))
    first, *rest = checkpoints
    r = simulate(pol, invoices=invoices, events=events, until=(START + dt.timedelta(days=first)).isoformat())
    assert not r.rejects, [e.render() for e in r.rejects]
    actions = list(r.actions)
    check(r, actions, cur)
    clock = r.engine.clock
    for day in rest:
        actions += r.engine.advance(clock.day_start(START + dt.timedelta(days=day)))
        check(r, actions, cur)
    # the totals of --states are the sums over the ledgers
    for s in r.states:
        leds = r.engine.cases[s["case"]].ledgers.values()
        assert s["balance"] == sum((led.balance for led in leds), Decimal(0))
