"""Contact rules: windows, holidays, limits and gaps, deferral order (SPEC §1 "Contact rules", issue 6).

Calendar facts: 2026-05-01 is a Friday and a Chilean holiday, 05-02 Saturday, 05-03 Sunday,
05-21 Thursday (holiday). America/Santiago is -04:00 in May, America/Mexico_City -06:00.
"""

import datetime as dt

from conftest import policy, run

from dunning_engine.engine.core import Engine


def pol(contact: str, rules: str, tz: str = "America/Santiago", calendar: str = "CL") -> str:
    return f"""
policy: t
currency: CLP
timezone: {tz}
calendar: {calendar}
states:
  open:
    initial: true
    rules:
{rules}
contact:
{contact}
"""


def inv(i="A1", c="C1", issued="2026-04-01", due="2026-04-30"):
    return {"id": i, "customer": c, "amount": "1000", "issued": issued, "due": due}


def at_rule(name, when, what="{remind: {template: %(n)s}}", extra=""):
    return f"""      - name: {name}
        at: {when}
        do: [{what % {"n": name}}]
{extra}"""


def rows(r):
    return [(a["rule"], a["at"], a.get("deferred_from")) for a in r.actions]


WINDOWS = """  windows: {mon-fri: "08:00-20:00", sat: "09:00-13:00"}
  holidays: false"""


def test_inside_a_window_nothing_moves():
    r = run(pol(WINDOWS, at_rule("r", "2026-05-04T10:00:00")), [inv()])
    assert rows(r) == [("r", "2026-05-04T10:00:00-04:00", None)]
    assert "deferred_from" not in r.actions[0]


def test_outside_every_window_deferred_to_the_next_opening():
    rules = (at_rule("night", "2026-05-05T21:30:00") + at_rule("early", "2026-05-06T06:00:00")
             + at_rule("sat_pm", "2026-05-09T13:00:00") + at_rule("sun", "2026-05-10T10:00:00"))
    r = run(pol(WINDOWS, rules), [inv()])
    assert rows(r) == [
        ("night", "2026-05-06T08:00:00-04:00", "2026-05-05T21:30:00-04:00"),
        ("early", "2026-05-06T08:00:00-04:00", "2026-05-06T06:00:00-04:00"),
        ("sat_pm", "2026-05-11T08:00:00-04:00", "2026-05-09T13:00:00-04:00"),  # 13:00 is the end: excluded
        ("sun", "2026-05-11T08:00:00-04:00", "2026-05-10T10:00:00-04:00"),
    ]


def test_holidays_false_skips_the_calendars_holidays():
    rules = at_rule("labour_day", "2026-05-01T10:00:00") + at_rule("navy_day", "2026-05-20T19:59:59")
    r = run(pol(WINDOWS, rules) , [inv()])
    # 05-01 is a holiday (then the weekend's Saturday morning is open); 05-20 19:59:59 is inside
    assert rows(r) == [("labour_day", "2026-05-02T09:00:00-04:00", "2026-05-01T10:00:00-04:00"),
                       ("navy_day", "2026-05-20T19:59:59-04:00", None)]
    r = run(pol(WINDOWS, at_rule("navy_day", "2026-05-21T10:00:00")), [inv()])
    assert rows(r) == [("navy_day", "2026-05-22T08:00:00-04:00", "2026-05-21T10:00:00-04:00")]


def test_holidays_true_keeps_holidays_open():
    contact = """  windows: {mon-fri: "08:00-20:00"}"""
    r = run(pol(contact, at_rule("r", "2026-05-21T10:00:00")), [inv()])
    assert rows(r) == [("r", "2026-05-21T10:00:00-04:00", None)]


def test_holidays_false_without_windows_only_avoids_holidays():
    r = run(pol("  holidays: false", at_rule("r", "2026-05-21T03:00:00")), [inv()])
    assert rows(r) == [("r", "2026-05-22T00:00:00-04:00", "2026-05-21T03:00:00-04:00")]


def test_windows_are_read_in_the_customers_timezone():
    # 09:00 in Santiago is 07:00 in Mexico City: the contact waits for 08:00 there (10:00 in Santiago)
    rules = at_rule("r", "due + 4 days")
    customers = [{"id": "C1", "timezone": "America/Mexico_City"}, {"id": "C2"}]
    r = run(pol(WINDOWS, rules), [inv(), inv("B1", "C2")], customers=customers)
    assert [(a["case"], a["at"], a.get("deferred_from")) for a in r.actions] == [
        ("B1", "2026-05-04T09:00:00-04:00", None),
        ("A1", "2026-05-04T10:00:00-04:00", "2026-05-04T09:00:00-04:00")]


def test_a_customer_update_moves_later_contacts_to_the_new_timezone():
    rules = at_rule("r1", "2026-05-04T09:00:00") + at_rule("r2", "2026-05-05T09:00:00")
    ev = [{"type": "customer_updated", "at": "2026-05-04T12:00:00", "customer": "C1",
           "fields": {"timezone": "America/Mexico_City"}}]
    r = run(pol(WINDOWS, rules), [inv()], ev)
    assert [a["at"] for a in r.actions] == ["2026-05-04T09:00:00-04:00", "2026-05-05T10:00:00-04:00"]


def test_only_contact_actions_are_deferred():
    what = "{task: {kind: %s}}"
    rules = (at_rule("call", "2026-05-03T10:00:00", what % "call") + at_rule("visit", "2026-05-03T10:00:00", what % "visit")
             + at_rule("review", "2026-05-03T10:00:00", what % "review")
             + at_rule("esc", "2026-05-03T10:00:00", "{escalate: {to: legal}}")
             + at_rule("fee", "2026-05-03T10:00:00", "{fee: {amount: 10}}"))
    r = run(pol(WINDOWS, rules), [inv()])
    got = {a["rule"]: a.get("deferred_from") is not None for a in r.actions}
    assert got == {"call": True, "visit": True, "review": False, "esc": False, "fee": False}


def test_no_contact_block_means_no_contact_rules():
    p = policy(pol("  {}", at_rule("r", "2026-05-03T03:00:00")).replace("contact:\n  {}\n", ""))
    assert Engine(p).contact is None
    # a contact block with nothing that constrains contacts (only a pack of caps) costs nothing either
    p = policy(pol("  compliance: [EU-B2B]", at_rule("r", "2026-05-03T03:00:00")))
    assert Engine(p).contact is None


def test_limit_counts_the_customers_contacts_across_its_invoices():
    contact = """  limits:
    - {max: 1, per: 7 days}"""
    rules = at_rule("r", "due + 1 day")
    r = run(pol(contact, rules), [inv("A1"), inv("A2"), inv("B1", "C2")])
    assert [(a["case"], a["at"], a.get("deferred_from")) for a in r.actions] == [
        ("A1", "2026-05-01T09:00:00-04:00", None),
        ("B1", "2026-05-01T09:00:00-04:00", None),
        ("A2", "2026-05-08T09:00:00-04:00", "2026-05-01T09:00:00-04:00")]  # (t - 7 days, t]: exactly 7 days later


def test_a_limit_with_via_counts_only_its_channels_and_each_channel_counts():
    contact = """  limits:
    - {max: 2, per: 7 days, via: [email, sms]}"""
    rules = (at_rule("a", "2026-05-04T10:00:00", "{remind: {template: a, via: [email, whatsapp]}}")
             + at_rule("b", "2026-05-05T10:00:00", "{remind: {template: b, via: [sms, email]}}")
             + at_rule("c", "2026-05-06T10:00:00", "{remind: {template: c, via: [whatsapp]}}"))
    r = run(pol(contact, rules), [inv()])
    # a: email counts 1; b: sms + email = 2 more -> over 2, waits until a's email is 7 days old
    assert rows(r) == [("a", "2026-05-04T10:00:00-04:00", None), ("c", "2026-05-06T10:00:00-04:00", None),
                       ("b", "2026-05-11T10:00:00-04:00", "2026-05-05T10:00:00-04:00")]


def test_a_remind_whose_channels_alone_break_a_limit_keeps_the_first_that_fit():
    contact = """  limits:
    - {max: 1, per: 1 day, via: [email, sms, whatsapp]}"""
    rules = at_rule("a", "2026-05-04T10:00:00", "{remind: {template: a, via: [whatsapp, letter, email]}}")
    r = run(pol(contact, rules), [inv()])
    a = r.actions[0]
    assert a["params"]["via"] == ["whatsapp", "letter"] and a["dropped_via"] == ["email"]
    assert "deferred_from" not in a


def test_call_limits_of_the_policy_also_cover_visits():
    contact = """  limits:
    - {max: 1, per: 7 days, via: [call]}"""
    rules = (at_rule("call", "2026-05-04T10:00:00", "{task: {kind: call}}")
             + at_rule("visit", "2026-05-05T10:00:00", "{task: {kind: visit}}")
             + at_rule("mail", "2026-05-05T10:00:00"))
    r = run(pol(contact, rules), [inv()])
    assert rows(r) == [("call", "2026-05-04T10:00:00-04:00", None), ("mail", "2026-05-05T10:00:00-04:00", None),
                       ("visit", "2026-05-11T10:00:00-04:00", "2026-05-05T10:00:00-04:00")]


def test_gaps_between_contacts_of_one_customer():
    contact = """  limits:
    - {gap: 2 days, via: [email, sms]}"""
    rules = at_rule("r", "due + 1 day") + at_rule("s", "due + 2 days", "{remind: {template: s, via: [sms]}}")
    r = run(pol(contact, rules), [inv("A1"), inv("A2")])
    assert [(a["case"], a["rule"], a["at"]) for a in r.actions] == [
        ("A1", "r", "2026-05-01T09:00:00-04:00"),
        ("A2", "r", "2026-05-03T09:00:00-04:00"),
        ("A1", "s", "2026-05-05T09:00:00-04:00"),
        ("A2", "s", "2026-05-07T09:00:00-04:00")]


def test_deferred_contacts_keep_the_order_of_their_original_times_then_rule_order():
    contact = WINDOWS + """
  limits:
    - {max: 1, per: 1 day}"""
    rules = (at_rule("late", "2026-05-09T18:00:00") + at_rule("sunday", "2026-05-10T10:00:00")
             + at_rule("x_first", "2026-05-10T11:00:00") + at_rule("y_second", "2026-05-10T11:00:00"))
    r = run(pol(contact, rules), [inv()])
    assert [(a["rule"], a["at"][:16]) for a in r.actions] == [
        ("late", "2026-05-11T08:00"), ("sunday", "2026-05-12T08:00"),
        ("x_first", "2026-05-13T08:00"), ("y_second", "2026-05-14T08:00")]


def test_same_instant_across_cases_goes_in_case_id_order_whatever_the_input_order():
    # Cases woken at one instant go in case id order (docs/decisions.md): the order of the input
    # does not decide who gets the customer's one contact of the day, so a run split in several
    # (a store) books as one run does.
    contact = """  limits:
    - {max: 1, per: 1 day}"""
    for order in (["Z9", "A1"], ["A1", "Z9"]):
        r = run(pol(contact, at_rule("r", "due")), [inv(i) for i in order])
        assert [(a["case"], a["at"][:10]) for a in r.actions] == [("A1", "2026-04-30"), ("Z9", "2026-05-01")]


def test_a_later_contact_on_other_channels_is_not_held_behind_a_deferred_one():
    contact = """  limits:
    - {max: 1, per: 7 days, via: [call]}"""
    rules = (at_rule("call1", "2026-05-04T10:00:00", "{task: {kind: call}}")
             + at_rule("call2", "2026-05-05T10:00:00", "{task: {kind: call}}")
             + at_rule("mail", "2026-05-06T10:00:00"))
    r = run(pol(contact, rules), [inv()])
    assert [(a["rule"], a["at"][:10]) for a in r.actions] == [
        ("call1", "2026-05-04"), ("mail", "2026-05-06"), ("call2", "2026-05-11")]


def test_a_contact_never_takes_a_slot_that_breaks_a_booked_one():
    # 'first' is deferred to Monday 08:00; 'second' (Monday 07:59, also outside the window) must not share
    # its 24 hours, even though the second was placed after the slot was booked.
    contact = """  windows: {mon-fri: "08:00-20:00"}
  limits:
    - {max: 1, per: 1 day}"""
    rules = at_rule("first", "2026-05-09T10:00:00") + at_rule("second", "2026-05-11T07:59:00")
    r = run(pol(contact, rules), [inv()])
    assert [(a["rule"], a["at"][:16]) for a in r.actions] == [("first", "2026-05-11T08:00"), ("second", "2026-05-12T08:00")]


def test_windows_that_never_open_send_nothing_and_say_so():
    contact = """  windows: {sun: "10:00-12:00"}
  compliance: [CL]"""
    r = run(pol(contact, at_rule("r", "due")), [inv()])
    assert r.actions == []
    assert r.engine.warnings and "no instant is inside every contact window" in str(r.engine.warnings[0])


def test_held_cases_book_nothing():
    contact = """  limits:
    - {max: 1, per: 7 days}"""
    rules = at_rule("r", "due")
    ev = [{"type": "hold", "at": "2026-04-29", "invoice": "A1"}]
    r = run(pol(contact, rules), [inv("A1"), inv("A2")], ev)
    assert [(a["case"], a["at"][:10]) for a in r.actions] == [("A2", "2026-04-30")]


def test_deferred_actions_keep_their_key_and_the_json_shape():
    r = run(pol(WINDOWS, at_rule("r", "2026-05-10T10:00:00")), [inv()])
    a = r.actions[0]
    assert a["key"] == "t@1/A1/open#1/r/1/0"
    assert a["at"] == "2026-05-11T08:00:00-04:00" and a["deferred_from"] == "2026-05-10T10:00:00-04:00"


def test_the_output_stays_in_time_order_with_deferrals():
    rules = at_rule("sun", "2026-05-10T10:00:00") + at_rule("mon_fee", "2026-05-11T07:00:00", "{fee: {amount: 10}}")
    r = run(pol(WINDOWS, rules), [inv()])
    assert [a["rule"] for a in r.actions] == ["mon_fee", "sun"]
    ats = [a["at"] for a in r.actions]
    assert ats == sorted(ats)


def test_old_bookings_are_forgotten_only_when_no_later_placement_can_need_them():
    # Regression: with many bookings, deferred slots far ahead must not make the engine forget
    # bookings that still constrain contacts placed now.
    rules = """      - every: 1 day
        max: 40
        do: [{remind: {template: daily, via: [email, sms, whatsapp]}}]
      - every: 2 days
        max: 5
        do: [{task: {kind: call}}, {task: {kind: call}}]
"""
    contact = "  compliance: [CL]"
    r = run(pol(contact, rules), [inv(i, due="2026-04-01") for i in ("I0", "I1", "I2")], until="2026-09-30")
    calls = sorted(dt.datetime.fromisoformat(a["at"]) for a in r.actions if a["type"] == "task")
    assert len(calls) > 20   # 30 wanted; one a week goes out
    assert all(b - a >= dt.timedelta(days=7) - dt.timedelta(hours=1) for a, b in zip(calls, calls[1:]))


DSL = '''policy t version 1
currency CLP
timezone "America/Santiago"
calendar CL

state open initial:
    rule a at 2026-05-09T18:30:00:
        remind "a" via email, sms
    rule b at 2026-05-11T10:00:00:
        remind "b" via sms

contact:
    window mon-fri 08:00-20:00
    window sat 09:00-13:00
    no contact on holidays
    limit 2 per 7 days via email, sms
    gap 1 day via sms
    compliance CL
rate UF "uf.csv"
'''


def test_the_dsl_form_has_the_same_contact_rules(tmp_path):
    from dunning_engine.run import simulate
    from dunning_engine.policy.load import load_policy
    from dunning_engine.policy.printer import to_yaml

    (tmp_path / "uf.csv").write_text("2026-01-01,39000\n")
    (tmp_path / "p.dunning").write_text(DSL)
    p = load_policy(tmp_path / "p.dunning")
    r = simulate(p, invoices=[inv()], until="2026-06-01")
    assert r.engine.rate("UF", dt.date(2026, 5, 1)) == 39000
    assert [(a["rule"], a["at"][:16], a["params"]["via"], a.get("dropped_via")) for a in r.actions] == [
        ("a", "2026-05-11T08:00", ["email"], ["sms"]),       # CL: written channels 2 days apart -> one channel
        ("b", "2026-05-13T08:00", ["sms"], None)]            # ... and 2 days after a
    (tmp_path / "p.yaml").write_text(to_yaml(p))
    r2 = simulate(load_policy(tmp_path / "p.yaml"), invoices=[inv()], until="2026-06-01")
    assert r2.actions == r.actions


def test_a_deferred_contact_is_not_sent_once_the_case_is_paid():
    from conftest import run as run_policy

    text = """
    policy: t
    currency: USD
    timezone: America/Santiago
    states:
      open:
        initial: true
        rules:
          - name: nudge
            at: due + 1 day
            do: [{remind: {template: nudge}}]
      paid: {final: true}
    any_state:
      - on: payment
        when: balance <= 0
        goto: paid
    contact:
      windows: {mon-fri: "08:00-20:00"}
    """
    inv = [{"id": "A1", "customer": "C1", "amount": "100", "issued": "2026-01-01", "due": "2026-01-30"}]
    # due + 1 day = Saturday 31 Jan: deferred to Monday 2 Feb 08:00
    r = run_policy(text, inv, until="2026-02-10")
    assert [(a["at"], a["deferred_from"]) for a in r.actions] == [("2026-02-02T08:00:00-03:00", "2026-01-31T09:00:00-03:00")]
    # paid on Sunday: the deferred reminder is dropped, and explain says so
    pay = [{"type": "payment", "at": "2026-02-01T12:00:00", "invoice": "A1", "amount": "100"}]
    r = run_policy(text, inv, pay, until="2026-02-10", explain=True)
    assert r.actions == []
    from dunning_engine.engine.explain import case_timeline
    dropped = [e for e in case_timeline(r.engine, "A1") if e["what"] == "dropped"]
    assert len(dropped) == 1 and "final state" in dropped[0]["why"]
