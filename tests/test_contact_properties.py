"""Property: for random portfolios and event streams, no emitted contact ever falls outside a window or
over a limit of the policy and its packs (issue 6).

The checker below is written independently of ``engine/contact.py``: it reads the rules (the packs'
``WindowSpec`` and ``LimitRule`` values and the policy's own), then checks every emitted contact by
brute force in the customer's timezone.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import holidays
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import policy

from dunning_engine.engine.contact import policy_rules
from dunning_engine.run import simulate

START = dt.date(2026, 4, 1)
TIMEZONES = ["America/Santiago", "America/Mexico_City", "America/Bogota", "America/Lima", "America/New_York",
             "America/Los_Angeles", "Europe/Madrid"]
PACK_SETS = [["CL"], ["CO"], ["MX"], ["PE"], ["US"], ["CL", "PE"], ["US", "MX"], ["CO", "US"], []]
POLICY_LIMITS = [
    "",
    "  limits:\n    - {max: 2, per: 3 days}\n",
    "  limits:\n    - {max: 1, per: 2 days, via: [sms, whatsapp]}\n    - {gap: 1 day, via: [email]}\n",
    "  windows: {mon-fri: \"09:00-18:00\", sat: \"10:00-12:00\"}\n  holidays: false\n",
    "  windows: {mon-sun: \"07:30-21:30\"}\n  limits:\n    - {max: 3, per: 7 days, via: [call]}\n",
]

TEMPLATE = """
policy: prop
currency: CLP
timezone: America/Santiago
calendar: {calendar}
states:
  open:
    initial: true
    on_enter:
      - remind: {{template: welcome, via: [email, sms]}}
    rules:
      - every: 1 day
        max: 8
        do: [{{remind: {{template: daily, via: [whatsapp]}}}}]
      - every: 2 days
        max: 5
        do: [{{task: {{kind: call}}}}, {{task: {{kind: call}}}}]
      - at: due + 1 day
        do:
          - task: {{kind: visit}}
          - remind: {{template: overdue, via: [letter, email, sms, call]}}
      - every: 3 days
        starting: due
        max: 4
        do: [{{task: {{kind: call}}}}, {{remind: {{template: late, via: [portal]}}}}]
      - on: payment
        do: [{{remind: {{template: thanks}}}}]
      - on: payment
        when: balance <= 0
        goto: paid
  paid:
    final: true
contact:
{limits}  compliance: [{packs}]
"""


@st.composite
def scenarios(draw):
    packs = draw(st.sampled_from(PACK_SETS))
    limits = draw(st.sampled_from(POLICY_LIMITS))
    calendar = draw(st.sampled_from(["CL", "US", "CO"]))
    customers = [{"id": f"C{i}", "timezone": draw(st.sampled_from(TIMEZONES))} for i in range(draw(st.integers(1, 3)))]
    invoices = []
    for i in range(draw(st.integers(1, 5))):
        issued = dt.datetime.combine(START, dt.time()) + dt.timedelta(days=draw(st.integers(0, 30)))
        invoices.append({"id": f"I{i}", "customer": draw(st.sampled_from(customers))["id"],
                         "amount": str(draw(st.integers(1, 50)) * 1000), "issued": issued.date().isoformat(),
                         "due": (issued.date() + dt.timedelta(days=draw(st.integers(0, 20)))).isoformat()})
    events = []
    for _ in range(draw(st.integers(0, 8))):
        inv = draw(st.sampled_from(invoices))
        at = dt.datetime.combine(START, dt.time()) + dt.timedelta(minutes=draw(st.integers(0, 70 * 24 * 60)))
        kind = draw(st.sampled_from(["payment", "outcome", "outcome_customer", "hold", "release"]))
        if kind == "payment":
            ev = {"type": "payment", "invoice": inv["id"], "amount": str(draw(st.integers(1, 30)) * 1000)}
        elif kind.startswith("outcome"):
            ev = {"type": "contact_outcome", "channel": "call",
                  "outcome": draw(st.sampled_from(["conversation", "answered", "no_answer", "delivered"]))}
            if kind == "outcome":
                ev["invoice"] = inv["id"]
            else:
                ev["customer"] = inv["customer"]
        else:
            ev = {"type": kind, "invoice": inv["id"]}
        ev["at"] = at.isoformat()
        events.append(ev)
    text = TEMPLATE.format(packs=", ".join(packs), limits=limits, calendar=calendar)
    return text, invoices, customers, events


def _shift(t: dt.datetime, days: int, tz: ZoneInfo) -> dt.datetime:
    """Wall-clock days later in ``tz`` (a day keeps the local time)."""
    local = t.astimezone(tz).replace(tzinfo=None) + dt.timedelta(days=days)
    return local.replace(tzinfo=tz)


def _channels(a):
    if a["type"] == "remind":
        return a["params"]["via"]
    if a["type"] == "task" and a["params"].get("kind") in ("call", "visit"):
        return [a["params"]["kind"]]
    return None


def check(p, result, customers):
    tz_of = {c["id"]: ZoneInfo(c["timezone"]) for c in customers}
    windows, limits = policy_rules(p)
    own = holidays.country_holidays(p.calendar) if p.calendar else {}
    contacts = []   # (instant, channel, case, customer, action index)
    for i, a in enumerate(result.actions):
        chans = _channels(a)
        if chans is None:
            assert "deferred_from" not in a
            continue
        t = dt.datetime.fromisoformat(a["at"])
        if "deferred_from" in a:
            assert dt.datetime.fromisoformat(a["deferred_from"]) < t
        tz = tz_of.get(a["customer"], ZoneInfo(p.timezone))
        local = t.astimezone(tz)
        secs = local.hour * 3600 + local.minute * 60 + local.second
        for w in windows:
            spans = w.spans[local.weekday()]
            assert any(s <= secs < e for s, e in spans), (a, w.text, local)
            if w.no_holidays:
                cal = own if w.calendar is None or (p.calendar or "").split("-")[0] == w.calendar else \
                    holidays.country_holidays(w.calendar)
                assert local.date() not in cal, (a, w.text, local)
        for ch in chans:
            contacts.append((t, ch, a["case"], a["customer"], i))
    for lim in limits:
        def scope(c):
            return c[2] if lim.scope == "case" else c[3]
        covered = [c for c in contacts if lim.via is None or c[1] in lim.via]
        by_scope = {}
        for c in covered:
            by_scope.setdefault(scope(c), []).append(c)
        for group in by_scope.values():
            tz = tz_of.get(group[0][3], ZoneInfo(p.timezone))
            if lim.kind in ("count", "channels"):
                days = lim.per.fixed_days
                for x in group:
                    inside = [c for c in group if c[0] <= x[0] < _shift(c[0], days, tz)]
                    n = len(inside) if lim.kind == "count" else len({c[1] for c in inside})
                    assert n <= lim.max, (lim.source, lim.text, x, inside)
            elif lim.kind == "gap":
                days = lim.gap.fixed_days
                for x in group:
                    for y in group:
                        if y[4] != x[4] and y[0] <= x[0]:
                            assert x[0] >= _shift(y[0], days, tz), (lim.source, lim.text, x, y)
    return contacts


def check_quiet(p, result, customers, events, contacts):
    _, limits = policy_rules(p)
    quiet = [lim for lim in limits if lim.kind == "quiet"]
    if not quiet:
        return
    tz_of = {c["id"]: ZoneInfo(c["timezone"]) for c in customers}
    case_customer = {c.id: c.customer.id for c in result.engine.cases.values()}
    convs = []   # (instant, case)
    for ev in events:
        if ev["type"] == "contact_outcome" and ev["outcome"] in ("conversation", "answered"):
            at = dt.datetime.fromisoformat(ev["at"]).replace(tzinfo=ZoneInfo(p.timezone))
            if "invoice" in ev:
                convs.append((at, ev["invoice"]))
            else:
                convs.extend((at, case) for case, cust in case_customer.items() if cust == ev["customer"])
    for lim in quiet:
        for t, ch, case, cust, _ in contacts:
            if ch not in lim.via:
                continue
            tz = tz_of.get(cust, ZoneInfo(p.timezone))
            for c, cc in convs:
                if cc == case:
                    assert not (c <= t < _shift(c, lim.per.fixed_days, tz)), (t, case, c)


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_no_contact_outside_a_window_or_over_a_limit(scenario):
    text, invoices, customers, events = scenario
    p = policy(text)
    result = simulate(p, invoices=invoices, customers=customers, events=events, until="2026-06-30")
    assert not result.rejects and not result.errors
    ats = [a["at"] for a in result.actions]
    assert [dt.datetime.fromisoformat(x) for x in ats] == sorted(dt.datetime.fromisoformat(x) for x in ats)
    contacts = check(p, result, customers)
    check_quiet(p, result, customers, events, contacts)
