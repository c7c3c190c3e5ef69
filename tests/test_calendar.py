"""Business days on a policy's calendar, and DST-correct timers (issue 6; SPEC §2 durations, §5 time).

Hand-checked facts used below:
- May 2026 in Chile: Friday 1 (Día del Trabajo) and Thursday 21 (Glorias Navales) are public
  holidays; 21 weekdays, so 19 business days.
- America/Santiago: DST ends Sunday 2026-04-05 at 00:00 (-03 -> -04, Saturday 23:00 happens twice)
  and starts Sunday 2026-09-06 at 00:00 (-04 -> -03, 00:00-00:59 does not exist).
- America/Mexico_City: last DST in 2022 (-06 -> -05 on 2022-04-03 02:00, back on 2022-10-30 02:00);
  since then -06:00 all year.
"""

import datetime as dt

import pytest

from conftest import run

from dunning_engine.calendars import get_calendar
from dunning_engine.values import Duration

D = dt.date


def test_chilean_holidays_in_may_2026():
    cl = get_calendar("CL")
    may = [D(2026, 5, d) for d in range(1, 32)]
    assert [d.day for d in may if cl.is_holiday(d)] == [1, 21]
    assert sum(cl.is_business_day(d) for d in may) == 19
    assert not cl.is_business_day(D(2026, 5, 2))  # Saturday
    assert cl.holiday_name(D(2026, 5, 21)) is not None


@pytest.mark.parametrize("start, n, expected", [
    (D(2026, 4, 30), 5, D(2026, 5, 8)),    # skips Fri 1 (holiday) and the weekend
    (D(2026, 5, 18), 5, D(2026, 5, 26)),   # skips Thu 21 and the weekend
    (D(2026, 5, 20), 1, D(2026, 5, 22)),
    (D(2026, 5, 22), -1, D(2026, 5, 20)),
    (D(2026, 5, 1), 0, D(2026, 5, 4)),     # 0 rolls a holiday forward to the next business day
])
def test_business_days_on_the_chilean_calendar(start, n, expected):
    assert Duration(n, "business_days").add_to(start, get_calendar("CL")) == expected


def test_business_days_without_a_calendar_skip_only_weekends():
    assert Duration(5, "business_days").add_to(D(2026, 4, 30), get_calendar(None)) == D(2026, 5, 7)


def test_subdivision_calendars_add_regional_holidays():
    # Juneteenth is federal (every US calendar); Cesar Chavez Day (March 31) is a California state holiday.
    assert get_calendar("US-CA").is_holiday(D(2026, 6, 19)) and get_calendar("US").is_holiday(D(2026, 6, 19))
    assert get_calendar("US-CA").is_holiday(D(2026, 3, 31)) and not get_calendar("US").is_holiday(D(2026, 3, 31))


CL_POLICY = """
policy: t
currency: CLP
timezone: America/Santiago
calendar: CL
states:
  open:
    initial: true
    rules:
      - name: five
        at: due + 5 business days
        do: [{remind: {template: five}}]
      - name: guarded
        at: due + 1 day
        when: today < due + 5 business days
        do: [{remind: {template: early}}]
      - at: due + 18 days
        goto: waiting
  waiting:
    rules:
      - name: wait
        after: 5 business days
        do: [{remind: {template: wait}}]
"""


def test_business_days_end_to_end_in_at_guards_and_after():
    inv = [{"id": "A1", "customer": "C1", "amount": "1000", "issued": "2026-04-01", "due": "2026-04-30"}]
    r = run(CL_POLICY, inv, until="2026-06-30")
    got = [(a["params"]["template"], a["at"]) for a in r.actions]
    assert got == [
        ("early", "2026-05-01T09:00:00-04:00"),   # due + 1 day (a holiday, but a calendar day)
        ("five", "2026-05-08T09:00:00-04:00"),    # Apr 30 + 5 business days, Chilean calendar
        ("wait", "2026-05-26T09:00:00-04:00"),    # entered May 18 09:00, + 5 business days (skips the 21st)
    ]


def test_without_a_calendar_business_days_skip_weekends_only():
    inv = [{"id": "A1", "customer": "C1", "amount": "1000", "issued": "2026-04-01", "due": "2026-04-30"}]
    r = run(CL_POLICY.replace("calendar: CL\n", ""), inv, until="2026-05-31")
    assert [a["at"] for a in r.actions if a["params"]["template"] == "five"] == ["2026-05-07T09:00:00-04:00"]


LADDER = """
policy: t
currency: {cur}
timezone: {tz}
send_at: "09:00"
states:
  open:
    initial: true
    rules:
      - name: at_date
        at: due + 3 days
        do: [{{remind: {{template: at_date}}}}]
      - name: week
        after: 7 days
        do: [{{remind: {{template: week}}}}]
      - name: daily
        every: 1 day
        max: 6
        do: [{{task: {{kind: review}}}}]
"""


def _times(result, template=None, kind=None):
    return [a["at"] for a in result.actions
            if (template and a["params"].get("template") == template) or (kind and a["type"] == kind)]


def test_santiago_autumn_change_timers_keep_the_wall_clock():
    # entered Wed 2026-04-01 00:00 -03; DST ends Sun 04-05 00:00 (-> -04)
    inv = [{"id": "A1", "customer": "C1", "amount": "1000", "issued": "2026-04-01", "due": "2026-04-02"}]
    r = run(LADDER.format(cur="CLP", tz="America/Santiago"), inv, until="2026-04-20")
    assert _times(r, "at_date") == ["2026-04-05T09:00:00-04:00"]     # a date fires at send_at local
    assert _times(r, "week") == ["2026-04-08T00:00:00-04:00"]        # entered 00:00 -03, 7 days later 00:00 -04
    assert _times(r, kind="task") == [
        "2026-04-02T00:00:00-03:00", "2026-04-03T00:00:00-03:00", "2026-04-04T00:00:00-03:00",
        "2026-04-05T00:00:00-04:00",  # 00:00 -03 no longer exists that day: local midnight is now -04
        "2026-04-06T00:00:00-04:00", "2026-04-07T00:00:00-04:00"]


def test_santiago_spring_change_after_keeps_send_at():
    # DST starts Sun 2026-09-06 00:00 (-04 -> -03): the day is 23 hours long.
    inv = [{"id": "A1", "customer": "C1", "amount": "1000", "issued": "2026-09-01", "due": "2026-09-03"}]
    text = """
policy: t
currency: CLP
timezone: America/Santiago
states:
  open:
    initial: true
    rules:
      - at: due
        goto: overdue
  overdue:
    rules:
      - name: week
        after: 7 days
        do: [{remind: {template: week}}]
      - name: daily
        every: 1 day
        max: 4
        do: [{remind: {template: daily}}]
"""
    r = run(text, inv, until="2026-09-20")
    # entered at 2026-09-03 09:00 -04 (send_at of the due date)
    assert _times(r, "week") == ["2026-09-10T09:00:00-03:00"]
    assert _times(r, "daily") == ["2026-09-04T09:00:00-04:00", "2026-09-05T09:00:00-04:00",
                                  "2026-09-06T09:00:00-03:00", "2026-09-07T09:00:00-03:00"]
    # in absolute time the 'week' wait was 7 days less one hour
    a = dt.datetime.fromisoformat("2026-09-03T09:00:00-04:00")
    b = dt.datetime.fromisoformat(_times(r, "week")[0])
    assert b - a == dt.timedelta(days=7, hours=-1)


def test_mexico_city_2022_changes_and_no_dst_in_2026():
    inv = [{"id": "A1", "customer": "C1", "amount": "1000", "issued": "2022-03-30", "due": "2022-03-31"}]
    r = run(LADDER.format(cur="MXN", tz="America/Mexico_City"), inv, until="2022-04-20")
    assert _times(r, "at_date") == ["2022-04-03T09:00:00-05:00"]     # the change was at 02:00 that day
    assert _times(r, "week") == ["2022-04-06T00:00:00-05:00"]
    inv = [{"id": "A1", "customer": "C1", "amount": "1000", "issued": "2022-10-26", "due": "2022-10-27"}]
    r = run(LADDER.format(cur="MXN", tz="America/Mexico_City"), inv, until="2022-11-20")
    assert _times(r, "at_date") == ["2022-10-30T09:00:00-06:00"]
    assert _times(r, "week") == ["2022-11-02T00:00:00-06:00"]
    inv = [{"id": "A1", "customer": "C1", "amount": "1000", "issued": "2026-03-30", "due": "2026-03-31"}]
    r = run(LADDER.format(cur="MXN", tz="America/Mexico_City"), inv, until="2026-04-20")
    assert _times(r, "at_date") == ["2026-04-03T09:00:00-06:00"]
    assert all(t.endswith("-06:00") for t in _times(r, kind="task"))


def test_a_send_at_inside_the_spring_gap_fires_at_the_first_instant_after_it():
    # 00:30 does not exist in Santiago on 2026-09-06: the timer fires at 01:30 -03 (00:30 read at the old offset)
    text = """
policy: t
currency: CLP
timezone: America/Santiago
send_at: "00:30"
states:
  open:
    initial: true
    rules:
      - at: due
        do: [{remind: {template: due}}]
"""
    inv = [{"id": "A1", "customer": "C1", "amount": "1000", "issued": "2026-09-01", "due": "2026-09-06"}]
    assert _times(run(text, inv, until="2026-09-10"), "due") == ["2026-09-06T01:30:00-03:00"]
