"""Compliance packs: each pack's hours, limits and caps with the figures of DOMAIN.md (issue 6).

Hand-checked figures:
- CL collection charge (SERNAC tiers: 9% of the first 10 UF, 6% from 10 to 50 UF, 3% above), UF = 39,000:
    5 UF   (195,000 CLP)   -> 9% x 5 UF                          = 0.45 UF = 17,550 CLP
    30 UF  (1,170,000 CLP) -> 0.9 UF + 6% x 20 UF = 0.9 + 1.2      = 2.1 UF  = 81,900 CLP
    50 UF  (1,950,000 CLP) -> 0.9 UF + 6% x 40 UF = 0.9 + 2.4      = 3.3 UF  = 128,700 CLP
    100 UF (3,900,000 CLP) -> 0.9 + 6% x 40 + 3% x 50 = 0.9+2.4+1.5 = 4.8 UF  = 187,200 CLP
  and with UF = 39,123.45 on 1,000,000 CLP: 9% x 391,234.50 = 35,211.105 plus 6% x 608,765.50 = 36,525.93,
  total 71,737.035 -> 71,737 CLP (caps round down).
- EU-B2B: ECB reference 4.00 on 1 January 2026 and 2.50 on 1 July 2026 -> statutory 12% then 10.5%.
  10,000 EUR from 1 June to 31 July 2026 (30 days in each half-year, basis 365):
    10,000 x 30 x 12% / 365 = 98.6301...; 10,000 x 30 x 10.5% / 365 = 86.3013...; total 184.9315 -> 184.93
- UK-B2B fixed sums: < 1,000 GBP -> 40, < 10,000 -> 70, otherwise 100.
"""

import datetime as dt
from decimal import Decimal as D

import pytest

from conftest import run

from dunning_engine.compliance import PACKS, cap
from dunning_engine.compliance import cl, eu_b2b, uk_b2b
from dunning_engine.errors import EngineError
from dunning_engine.values import Percent


def pack_policy(packs, rules="", currency="CLP", tz="America/Santiago", calendar="CL", rates="", extra_contact=""):
    return f"""
policy: t
currency: {currency}
timezone: {tz}
calendar: {calendar}
states:
  open:
    initial: true
    rules:
      - at: 2099-01-01
        do: [{{task: {{kind: review}}}}]
{rules}
contact:
  compliance: [{packs}]
{extra_contact}
{rates}
"""


def inv(i="A1", c="C1", amount="1000", issued="2026-04-01", due="2026-04-30"):
    return {"id": i, "customer": c, "amount": amount, "issued": issued, "due": due}


def at(name, when, what=None):
    what = what or "{remind: {template: %s}}" % name
    return f"""      - name: {name}
        at: {when}
        do: [{what}]
"""


def times(r):
    return [(a["rule"], a["at"][:16], a.get("deferred_from", "")[:16] or None) for a in r.actions]


# ---------------------------------------------------------------------------- packs are well formed

def test_every_pack_is_documented_with_sources_and_limits_of_coverage():
    import importlib

    for code in PACKS:
        mod = importlib.import_module("dunning_engine.compliance." + code.lower().replace("-", "_"))
        doc = mod.__doc__
        assert "Sources:" in doc and "does not cover" in doc, code


# ---------------------------------------------------------------------------- CL

def test_cl_hours_monday_to_saturday_8_to_20_not_sundays_or_holidays():
    rules = (at("sat_late", "2026-05-02T19:59:00") + at("sat_20", "2026-05-09T20:00:00")
             + at("sunday", "2026-05-10T10:00:00") + at("holiday", "2026-05-21T10:00:00", "{task: {kind: call}}"))
    r = run(pack_policy("CL", rules), [inv()])
    assert times(r) == [("sat_late", "2026-05-02T19:59", None),
                        ("sat_20", "2026-05-11T08:00", "2026-05-09T20:00"),
                        ("sunday", "2026-05-13T08:00", "2026-05-10T10:00"),   # 2 days after the 11th (gap)
                        ("holiday", "2026-05-22T08:00", "2026-05-21T10:00")]


def test_cl_holidays_come_from_the_chilean_calendar_even_if_the_policy_has_another():
    r = run(pack_policy("CL", at("h", "2026-05-21T10:00:00"), calendar="US"), [inv()])
    assert times(r) == [("h", "2026-05-22T08:00", "2026-05-21T10:00")]


def test_cl_calls_and_visits_at_most_one_per_week_across_invoices():
    call = "{task: {kind: call}}"
    rules = at("c1", "2026-05-04T10:00:00", call) + at("v", "2026-05-06T10:00:00", "{task: {kind: visit}}")
    r = run(pack_policy("CL", rules), [inv("A1"), inv("A2")])
    assert [(a["case"], a["rule"], a["at"][:16]) for a in r.actions] == [
        ("A1", "c1", "2026-05-04T10:00"), ("A2", "c1", "2026-05-11T10:00"),
        ("A1", "v", "2026-05-18T10:00"), ("A2", "v", "2026-05-25T10:00")]


def test_cl_written_at_most_two_per_week_two_days_apart():
    rules = "".join(at(f"r{d}", f"2026-05-{d:02d}T10:00:00", "{remind: {template: t, via: [%s]}}" % ch)
                    for d, ch in ((4, "email"), (5, "sms"), (6, "letter"), (7, "whatsapp")))
    rules += at("call", "2026-05-05T10:00:00", "{task: {kind: call}}")  # calls are not written contacts
    r = run(pack_policy("CL", rules), [inv()])
    assert times(r) == [("r4", "2026-05-04T10:00", None),
                        ("call", "2026-05-05T10:00", None),
                        ("r5", "2026-05-06T10:00", "2026-05-05T10:00"),   # gap: 2 days after the 4th
                        ("r6", "2026-05-11T10:00", "2026-05-06T10:00"),   # 2 per week: the 4th leaves on the 11th
                        ("r7", "2026-05-13T10:00", "2026-05-07T10:00")]   # ... and the 6th on the 13th


def test_cl_a_remind_through_two_written_channels_keeps_the_first():
    r = run(pack_policy("CL", at("r", "2026-05-04T10:00:00", "{remind: {template: t, via: [whatsapp, email]}}")), [inv()])
    assert r.actions[0]["params"]["via"] == ["whatsapp"] and r.actions[0]["dropped_via"] == ["email"]


@pytest.mark.parametrize("principal, uf, expected", [
    ("195000", "39000", "17550"),        # 5 UF
    ("390000", "39000", "35100"),        # exactly 10 UF: 9%
    ("1170000", "39000", "81900"),       # 30 UF
    ("1950000", "39000", "128700"),      # exactly 50 UF: 0.9 + 6% x 40 = 3.3 UF
    ("3900000", "39000", "187200"),      # 100 UF
    ("1000000", "39123.45", "71737"),    # 71,737.035 rounded down
])
def test_cl_collection_charge_cap_is_progressive_in_uf(principal, uf, expected):
    p = pack_policy("CL", rates="rates:\n  UF: {2026-01-01: \"%s\"}" % uf)
    r = run(p, [inv(amount=principal)], until="2026-05-25")
    case = r.engine.cases["A1"]
    t = r.engine.clock.at(dt.date(2026, 5, 20), dt.time(9))       # 20 days of delay: allowed
    amount, capped_from = cap(r.engine, case, "fee", D(principal), t)   # a fee of 100%: always over the cap
    assert (amount, capped_from) == (D(expected), D(principal))
    assert cap(r.engine, case, "fee", D(1000), t) == (D(1000), None)   # under the cap: untouched


def test_cl_collection_charge_tiers_in_uf():
    f = cl.collection_charge_cap_uf
    assert [f(D(x)) for x in ("0", "5", "10", "30", "50", "100")] == [
        D("0"), D("0.45"), D("0.90"), D("2.10"), D("3.30"), D("4.80")]


def test_cl_no_collection_charge_before_20_days_and_only_once():
    p = pack_policy("CL", rates="rates:\n  UF: {2026-01-01: \"39000\"}")
    r = run(p, [inv(amount="1000000")], until="2026-05-25")
    engine, case = r.engine, r.engine.cases["A1"]
    day19 = engine.clock.at(dt.date(2026, 5, 19), dt.time(9))
    assert cap(engine, case, "fee", D(5000), day19) == (D(0), D(5000))
    day20 = engine.clock.at(dt.date(2026, 5, 20), dt.time(9))
    assert cap(engine, case, "fee", D(5000), day20) == (D(5000), None)
    case.ledger.charge_fee(D(5000), engine.cp.allocation, dt.date(2026, 5, 20))
    assert cap(engine, case, "fee", D(5000), day20) == (D(0), D(5000))     # once per debt


def test_cl_without_a_uf_table_a_fee_fails_its_case_with_a_clear_error():
    r = run(pack_policy("CL"), [inv()], until="2026-05-25")
    t = r.engine.clock.at(dt.date(2026, 5, 25), dt.time(9))
    with pytest.raises(EngineError) as e:
        cap(r.engine, r.engine.cases["A1"], "fee", D(100), t)
    assert 'rate("UF")' in str(e.value) and "rates:" in str(e.value)


def test_cl_caps_interest_at_the_tmc_when_a_table_is_given():
    p = pack_policy("CL", rates="rates:\n  UF: {2026-01-01: \"39000\"}\n  TMC: {2026-01-01: \"30\", 2026-06-01: \"24\"}")
    r = run(p, [inv(amount="1000000")], until="2026-05-25")
    engine, case = r.engine, r.engine.cases["A1"]
    periods = [(dt.date(2026, 5, 2), dt.date(2026, 6, 1), 30, D(1000000)), (dt.date(2026, 6, 1), dt.date(2026, 7, 1), 30, D(1000000))]
    t = engine.clock.at(dt.date(2026, 7, 1), dt.time(9))
    # 36%: 1,000,000 x 60 x 36% / 365 = 59,178; capped: x 30 x 30% + x 30 x 24% = 24,657.53 + 19,726.02 = 44,383.56 -> 44,383
    got = cap(engine, case, "interest", D(59178), t, ledger=case.ledger, periods=periods, rate=Percent(D(36)), basis=365)
    assert got == (D(44383), D(59178))
    # a rate under the TMC is not capped
    assert cap(engine, case, "interest", D(100), t, ledger=case.ledger, periods=periods, rate=Percent(D(20)))[1] is None


# ---------------------------------------------------------------------------- CO

def test_co_hours_weekdays_7_to_19_saturday_8_to_15():
    rules = (at("fri", "2026-05-08T19:00:00") + at("sat", "2026-05-16T15:30:00") + at("early", "2026-05-20T06:00:00")
             + at("holiday", "2026-05-18T10:00:00"))
    r = run(pack_policy("CO", rules, currency="COP", tz="America/Bogota", calendar="CO"), [inv()])
    assert times(r) == [("fri", "2026-05-09T08:00", "2026-05-08T19:00"),     # Saturday opens at 08:00
                        ("sat", "2026-05-19T07:00", "2026-05-16T15:30"),       # after 15:00 Sat; Sun; Mon 18th holiday
                        ("holiday", "2026-05-20T07:00", "2026-05-18T10:00"),   # Ascension (observed); the 19th is taken
                        ("early", "2026-05-21T07:00", "2026-05-20T06:00")]     # one contact per day


def test_co_one_channel_per_week():
    rules = (at("mail", "2026-05-05T10:00:00", "{remind: {template: t, via: [email]}}")
             + at("sms", "2026-05-07T10:00:00", "{remind: {template: t, via: [sms]}}")
             + at("mail2", "2026-05-08T10:00:00", "{remind: {template: t, via: [email]}}"))
    r = run(pack_policy("CO", rules, currency="COP", tz="America/Bogota", calendar="CO"), [inv()])
    # sms waits until the email of the 5th is 7 days old; the email of the 8th, placed after the sms booked
    # the 12th (bookings are final, in the order of original times), waits for the sms to be 7 days old
    assert times(r) == [("mail", "2026-05-05T10:00", None), ("sms", "2026-05-12T10:00", "2026-05-07T10:00"),
                        ("mail2", "2026-05-19T10:00", "2026-05-08T10:00")]


# ---------------------------------------------------------------------------- MX, PE

def test_mx_7_to_22_in_the_debtors_timezone():
    rules = at("r", "2026-05-04T23:30:00") + at("s", "2026-05-06T06:59:00")
    customers = [{"id": "C1", "timezone": "America/Tijuana"}]   # -07:00 in May (Pacific, with DST)
    r = run(pack_policy("MX", rules, currency="MXN", tz="America/Mexico_City", calendar="MX"), [inv()], customers=customers)
    # 23:30 in Mexico City is 22:30 in Tijuana -> next day 07:00 Tijuana = 08:00 Mexico City
    assert times(r) == [("r", "2026-05-05T08:00", "2026-05-04T23:30"), ("s", "2026-05-06T08:00", "2026-05-06T06:59")]


def test_pe_weekdays_7_to_20_not_weekends_or_holidays():
    rules = at("sat", "2026-05-02T10:00:00") + at("late", "2026-05-05T20:00:00") + at("fri", "2026-05-08T19:59:00")
    r = run(pack_policy("PE", rules, currency="PEN", tz="America/Lima", calendar="PE"), [inv()])
    assert times(r) == [("sat", "2026-05-04T07:00", "2026-05-02T10:00"), ("late", "2026-05-06T07:00", "2026-05-05T20:00"),
                        ("fri", "2026-05-08T19:59", None)]
    r = run(pack_policy("PE", at("labour", "2026-05-01T10:00:00"), currency="PEN", tz="America/Lima", calendar="PE"), [inv()])
    assert times(r) == [("labour", "2026-05-04T07:00", "2026-05-01T10:00")]


# ---------------------------------------------------------------------------- US

US = dict(currency="USD", tz="America/New_York", calendar="US")


def test_us_8_to_21_debtor_local_time():
    customers = [{"id": "C1", "timezone": "America/Los_Angeles"}]
    r = run(pack_policy("US", at("r", "2026-05-04T10:30:00"), **US), [inv()], customers=customers)
    assert times(r) == [("r", "2026-05-04T11:00", "2026-05-04T10:30")]   # 08:00 in Los Angeles


def test_us_at_most_seven_calls_in_seven_days_per_debt():
    rules = """      - name: call
        every: 1 day
        starting: 2026-05-04T10:00:00
        max: 9
        do: [{task: {kind: call}}]
"""
    r = run(pack_policy("US", rules, **US), [inv("A1"), inv("A2")], until="2026-05-31")
    a1 = [a["at"][:16] for a in r.actions if a["case"] == "A1"]
    assert a1 == [f"2026-05-{d:02d}T10:00" for d in range(4, 11)] + ["2026-05-11T10:00", "2026-05-12T10:00"]
    assert all(a.get("deferred_from") is None for a in r.actions)   # each debt has its own 7 calls


def test_us_eight_calls_in_a_week_the_eighth_waits():
    rules = """      - name: call
        every: 1 day
        starting: 2026-05-04T10:00:00
        max: 3
        do: [{task: {kind: call}}, {task: {kind: call}}, {task: {kind: call}}]
"""
    r = run(pack_policy("US", rules, **US), [inv()], until="2026-05-31")
    got = [a["at"][:16] for a in r.actions]
    assert got[:7] == ["2026-05-04T10:00"] * 3 + ["2026-05-05T10:00"] * 3 + ["2026-05-06T10:00"]
    assert got[7:] == ["2026-05-11T10:00"] * 2   # (t - 7 days, t]: the first three leave on the 11th at 10:00


def test_us_no_call_for_seven_days_after_a_conversation():
    rules = at("call", "2026-05-06T10:00:00", "{task: {kind: call}}") + at("mail", "2026-05-06T10:00:00")
    ev = [{"type": "contact_outcome", "at": "2026-05-05T15:00:00", "invoice": "A1", "channel": "call", "outcome": "conversation"}]
    r = run(pack_policy("US", rules, **US), [inv("A1"), inv("A2")], ev)
    assert [(a["case"], a["rule"], a["at"][:16]) for a in r.actions] == [
        ("A1", "mail", "2026-05-06T10:00"), ("A2", "call", "2026-05-06T10:00"),   # other debts, other channels go
        ("A2", "mail", "2026-05-06T10:00"), ("A1", "call", "2026-05-12T15:00")]   # per debt: 7 days after 05-05 15:00


def test_us_a_customer_level_conversation_quiets_every_debt_and_other_outcomes_do_not():
    rules = at("call", "2026-05-06T10:00:00", "{task: {kind: call}}")
    ev = [{"type": "contact_outcome", "at": "2026-05-05T15:00:00", "customer": "C1", "channel": "call", "outcome": "answered"}]
    r = run(pack_policy("US", rules, **US), [inv("A1"), inv("A2"), inv("B1", "C2")], ev)
    assert [(a["case"], a["at"][:16]) for a in r.actions] == [
        ("B1", "2026-05-06T10:00"), ("A1", "2026-05-12T15:00"), ("A2", "2026-05-12T15:00")]
    ev[0]["outcome"] = "no_answer"
    r = run(pack_policy("US", rules, **US), [inv("A1")], ev)
    assert [a["at"][:16] for a in r.actions] == ["2026-05-06T10:00"]


# ---------------------------------------------------------------------------- EU-B2B, UK-B2B

ECB = 'rates:\n  ECB: {2025-12-15: "4.00", 2026-03-01: "3.00", 2026-06-15: "2.50"}'


def eu_engine(currency="EUR", rates=ECB, pack="EU-B2B"):
    r = run(pack_policy(pack, currency=currency, tz="Europe/Madrid", calendar="ES", rates=rates),
            [inv(amount="10000", due="2026-05-31")], until="2026-06-01")
    return r.engine, r.engine.cases["A1"]


def test_eu_statutory_interest_is_the_half_year_reference_plus_8_points():
    engine, case = eu_engine()
    assert eu_b2b.reference_day(dt.date(2026, 6, 30)) == dt.date(2026, 1, 1)
    periods = [(dt.date(2026, 6, 1), dt.date(2026, 7, 31), 60, D(10000))]
    t = engine.clock.at(dt.date(2026, 7, 31), dt.time(9))
    uncapped = D("328.77")    # 10,000 x 60 x 20% / 365 = 328.767
    got = cap(engine, case, "interest", uncapped, t, ledger=case.ledger, periods=periods, rate=Percent(D(20)))
    assert got == (D("184.93"), uncapped)
    # 11% is under 12% in the first half-year but over 10.5% in the second
    amount = D("180.82")  # 10,000 x 60 x 11% / 365 = 180.82
    got = cap(engine, case, "interest", amount, t, ledger=case.ledger, periods=periods, rate=Percent(D(11)))
    assert got == (D("176.71"), amount)   # 90.41 (30 days at 11%) + 86.30 (30 days at 10.5%) = 176.712...


def test_eu_fixed_compensation_caps_fees_at_40_eur_per_invoice():
    engine, case = eu_engine()
    t = engine.clock.at(dt.date(2026, 6, 1), dt.time(9))
    assert cap(engine, case, "fee", D(50), t) == (D(40), D(50))
    assert cap(engine, case, "fee", D(40), t) == (D(40), None)
    case.ledger.charge_fee(D(30), engine.cp.allocation, dt.date(2026, 6, 1))
    assert cap(engine, case, "fee", D(40), t) == (D(10), D(40))


def test_eu_in_another_currency_or_without_the_table_is_an_error_for_the_case():
    engine, case = eu_engine(currency="SEK")
    t = engine.clock.at(dt.date(2026, 6, 1), dt.time(9))
    with pytest.raises(EngineError, match="40 EUR"):
        cap(engine, case, "fee", D(50), t)
    engine, case = eu_engine(rates="")
    with pytest.raises(EngineError, match='rate\\("ECB"\\)'):
        cap(engine, case, "interest", D(50), t, rate=Percent(D(20)))


@pytest.mark.parametrize("debt, fixed", [("999.99", 40), ("1000", 70), ("9999.99", 70), ("10000", 100), ("250000", 100)])
def test_uk_fixed_sums_by_debt_size(debt, fixed):
    assert uk_b2b.fixed_sum(D(debt)) == fixed
    r = run(pack_policy("UK-B2B", currency="GBP", tz="Europe/London", calendar="GB"),
            [inv(amount=debt, due="2026-05-31")], until="2026-06-01")
    engine, case = r.engine, r.engine.cases["A1"]
    t = engine.clock.at(dt.date(2026, 6, 1), dt.time(9))
    assert cap(engine, case, "fee", D(500), t) == (D(fixed), D(500))


def test_uk_statutory_interest_8_points_over_the_base_rate_of_31_december_or_30_june():
    assert uk_b2b.reference_day(dt.date(2026, 3, 1)) == dt.date(2025, 12, 31)
    assert uk_b2b.reference_day(dt.date(2026, 9, 1)) == dt.date(2026, 6, 30)
    boe = 'rates:\n  BOE: {2025-11-06: "4.00", 2026-06-30: "3.75", 2026-07-01: "3.50"}'
    r = run(pack_policy("UK-B2B", currency="GBP", tz="Europe/London", calendar="GB", rates=boe),
            [inv(amount="10000", due="2026-05-31")], until="2026-06-01")
    engine, case = r.engine, r.engine.cases["A1"]
    periods = [(dt.date(2026, 6, 1), dt.date(2026, 7, 31), 60, D(10000))]
    t = engine.clock.at(dt.date(2026, 7, 31), dt.time(9))
    # June: 4.00 + 8 = 12%: 98.630...; July: 3.75 (in force on 30 June) + 8 = 11.75%: 96.575...; total 195.205 -> 195.20
    got = cap(engine, case, "interest", D("328.77"), t, ledger=case.ledger, periods=periods, rate=Percent(D(20)))
    assert got == (D("195.20"), D("328.77"))


# ---------------------------------------------------------------------------- several packs

def test_the_strictest_rule_wins_windows_intersect_and_every_limit_applies():
    # CL (Mon-Sat 08-20) and PE (Mon-Fri 07-20): Mon-Fri 08-20, no Saturday; CL's weekly limits stay
    rules = at("sat", "2026-05-09T10:00:00") + at("mon7", "2026-05-11T07:30:00", "{task: {kind: call}}")
    r = run(pack_policy("CL, PE", rules), [inv()])
    assert times(r) == [("sat", "2026-05-11T08:00", "2026-05-09T10:00"), ("mon7", "2026-05-11T08:00", "2026-05-11T07:30")]
    policy_windows = '  windows: {mon-sun: "09:00-12:00"}'
    r = run(pack_policy("CL, PE", rules, extra_contact=policy_windows), [inv()])
    assert times(r) == [("sat", "2026-05-11T09:00", "2026-05-09T10:00"), ("mon7", "2026-05-11T09:00", "2026-05-11T07:30")]


def test_caps_of_several_packs_take_the_smallest(monkeypatch):
    import dataclasses

    from dunning_engine import compliance

    # give MX (which has no caps) a flat cap of 10,000 CLP for the test
    monkeypatch.setitem(compliance.PACKS, "MX", dataclasses.replace(PACKS["MX"], fee_cap=lambda *a: D(10000)))
    p = pack_policy("CL, MX", rates="rates:\n  UF: {2026-01-01: \"39000\"}")
    r = run(p, [inv(amount="195000")], until="2026-05-25")
    engine, case = r.engine, r.engine.cases["A1"]
    t = engine.clock.at(dt.date(2026, 5, 25), dt.time(9))
    assert cap(engine, case, "fee", D(100000), t) == (D(10000), D(100000))   # MX's 10,000 < CL's 17,550
    monkeypatch.setitem(compliance.PACKS, "MX", dataclasses.replace(PACKS["MX"], fee_cap=lambda *a: D(20000)))
    assert cap(engine, case, "fee", D(100000), t) == (D(17550), D(100000))   # CL's is smaller


def test_a_pack_that_cannot_cap_a_currency_is_an_error_never_an_uncapped_fee():
    p = pack_policy("CL, EU-B2B", currency="CLP", rates="rates:\n  UF: {2026-01-01: \"39000\"}")
    r = run(p, [inv(amount="195000")], until="2026-05-25")
    t = r.engine.clock.at(dt.date(2026, 5, 25), dt.time(9))
    with pytest.raises(EngineError):   # EU-B2B cannot cap a CLP fee
        cap(r.engine, r.engine.cases["A1"], "fee", D(100000), t)


def test_packs_emit_nothing_on_their_own():
    r = run(pack_policy("EU-B2B", currency="EUR", tz="Europe/Madrid", calendar="ES", rates=ECB),
            [inv(amount="10000", due="2026-05-31")], until="2026-12-31")
    assert r.actions == [] or all(a["type"] == "task" for a in r.actions)


# ---------------------------------------------------------------------------- end to end, through the fee action

def test_cl_fees_end_to_end_capped_and_carrying_capped_from():
    rules = (at("early", "due + 19 days", "{fee: {amount: 5000}}")
             + at("charge", "due + 20 days", "{fee: {percent: 10%, of: balance}}")
             + at("again", "due + 40 days", "{fee: {amount: 5000}}"))
    p = pack_policy("CL", rules, rates="rates:\n  UF: {2026-01-01: \"39000\"}")
    r = run(p, [inv(amount="1170000")], until="2026-07-31")        # 30 UF: cap 2.1 UF = 81,900
    fees = [(a["rule"], a["amount"], a.get("capped_from")) for a in r.actions if a["type"] == "fee"]
    assert fees == [("charge", D("81900"), D("117000"))]             # day 19 and the second fee: capped to zero
    assert r.actions[0]["params"]["capped_from"] == D("117000")
    assert r.states[0]["fees"] == D("81900")


def test_eu_fee_end_to_end():
    rules = at("comp", "due + 1 day", "{fee: {amount: 50 EUR}}")
    r = run(pack_policy("EU-B2B", rules, currency="EUR", tz="Europe/Madrid", calendar="ES", rates=ECB),
            [inv(amount="10000", due="2026-05-31")], until="2026-06-30")
    fee = [a for a in r.actions if a["type"] == "fee"][0]
    assert (fee["amount"], fee["capped_from"]) == (D("40.00"), D("50.00"))


def test_a_pack_that_cannot_cap_fails_the_case_instead_of_charging():
    rules = at("charge", "due + 25 days", "{fee: {amount: 5000}}")
    r = run(pack_policy("CL", rules), [inv()], until="2026-06-30")    # no UF table
    assert not [a for a in r.actions if a["type"] == "fee"]
    assert r.errors and 'rate("UF")' in str(r.errors[0])


def test_cl_collection_charge_keeps_an_exact_whole_peso_cap():
    # 102,000 CLP at UF 39,123.45 is 2.607 UF: only the 9% tier, 9,180 CLP exactly (review finding:
    # dividing by the UF and multiplying back gave 9,179.99... and lost a peso when rounded down).
    from decimal import Decimal
    from dunning_engine.compliance.cl import collection_charge_cap

    uf = Decimal("39123.45")
    assert collection_charge_cap(Decimal("102000"), uf) == Decimal("9180.00")
    assert collection_charge_cap(Decimal("104000"), uf) == Decimal("9360.00")
    # 30 UF: 9% of 10 UF + 6% of 20 UF = 0.9 + 1.2 = 2.1 UF
    assert collection_charge_cap(30 * uf, uf) == Decimal("2.1") * uf
