"""Timers: at, after, every (max, starting), expires, catch-up (SPEC §1 Rules, §5 Time)."""

from conftest import run, timeline

INV = [{"id": "A1", "customer": "C1", "amount": "1000", "issued": "2026-01-01", "due": "2026-01-31"}]

LADDER = """
policy: t
currency: USD
timezone: America/Santiago
states:
  open:
    initial: true
    rules:
      - name: pre
        at: due - 3 days
        do: [{remind: {template: pre}}]
      - at: due + 1 day
        goto: overdue
  overdue:
    rules:
      - name: nudge
        after: 7 days
        do: [{remind: {template: nudge}}]
      - name: weekly
        every: 7 days
        max: 2
        do: [{remind: {template: weekly}}]
"""


def test_at_fires_at_send_at_local_time_on_the_date():
    r = run(LADDER, INV, until="2026-01-29")
    assert [a["at"] for a in r.actions] == ["2026-01-28T09:00:00-03:00"]


def test_after_counts_from_state_entry_and_keeps_the_time_of_day():
    r = run(LADDER, INV, until="2026-02-10")
    nudge = [a for a in r.actions if a["rule"] == "nudge"]
    assert [a["at"] for a in nudge] == ["2026-02-08T09:00:00-03:00"]


def test_every_fires_each_period_at_most_max_times():
    r = run(LADDER, INV, until="2026-06-01")
    weekly = [a["at"][:10] for a in r.actions if a["rule"] == "weekly"]
    assert weekly == ["2026-02-08", "2026-02-15"]


def test_every_starting_sets_the_first_occurrence():
    text = """
    policy: t
    currency: USD
    states:
      s:
        initial: true
        rules:
          - every: 10 days
            starting: due
            max: 3
            do: [{remind: {template: r}}]
    """
    r = run(text, INV, until="2026-06-01")
    assert [a["at"][:10] for a in r.actions] == ["2026-01-31", "2026-02-10", "2026-02-20"]


def test_a_timer_already_past_when_armed_fires_at_once_in_time_order():
    # Entering 'late' on 2026-03-15: both 'at' timers are in the past and fire at once,
    # the earlier original time first, whatever their order in the file.
    text = """
    policy: t
    currency: USD
    states:
      s:
        initial: true
        rules:
          - at: 2026-03-15
            goto: late
      late:
        rules:
          - name: second
            at: due + 20 days
            do: [{remind: {template: b}}]
          - name: first
            at: due + 10 days
            do: [{remind: {template: a}}]
    """
    r = run(text, INV, until="2026-04-01")
    assert timeline(r) == [("2026-03-15", "A1", "remind", "first"), ("2026-03-15", "A1", "remind", "second")]
    assert r.actions[0]["at"] == r.actions[1]["at"] == "2026-03-15T09:00:00+00:00"


def test_expires_drops_a_timer_that_would_fire_too_late():
    text = """
    policy: t
    currency: USD
    states:
      s:
        initial: true
        rules:
          - at: 2026-03-15
            goto: late
      late:
        rules:
          - name: stale
            at: due + 10 days
            expires: 3 days
            do: [{remind: {template: stale}}]
          - name: fresh
            at: 2026-03-14
            expires: 3 days
            do: [{remind: {template: fresh}}]
    """
    r = run(text, INV, until="2026-04-01")
    assert [a["rule"] for a in r.actions] == ["fresh"]


def test_timers_are_per_state_entry_and_disarmed_on_exit():
    text = """
    policy: t
    currency: USD
    states:
      s:
        initial: true
        rules:
          - at: due + 5 days
            do: [{remind: {template: never}}]
          - at: due
            goto: t2
      t2: {}
    """
    r = run(text, INV, until="2026-06-01")
    assert r.actions == []
    assert r.state_of("A1") == "t2"


def test_the_run_stops_at_until_inclusive():
    r = run(LADDER, INV, until="2026-01-28T09:00:00")
    assert len(r.actions) == 1
    r = run(LADDER, INV, until="2026-01-28T08:59:59")
    assert r.actions == []


def test_at_with_null_is_not_armed():
    text = """
    policy: t
    currency: USD
    states:
      s:
        initial: true
        rules:
          - at: promise.date + 1 day
            do: [{remind: {template: x}}]
    """
    r = run(text, INV, until="2026-12-31")
    assert r.actions == []


def test_pending_at_timer_follows_a_new_promise_date():
    text = """
    policy: t
    currency: USD
    states:
      s:
        initial: true
        rules:
          - on: promise_to_pay
            goto: promised
      promised:
        rules:
          - at: promise.date + 1 day
            when: balance > 0
            do: [{remind: {template: broken}}]
    """
    events = [
        {"type": "promise_to_pay", "at": "2026-02-01", "invoice": "A1", "date": "2026-02-10"},
        {"type": "promise_to_pay", "at": "2026-02-05", "invoice": "A1", "date": "2026-02-20"},
    ]
    r = run(text, INV, events, until="2026-03-01")
    assert [a["at"][:10] for a in r.actions] == ["2026-02-21"]


def test_every_month_counts_from_the_first_occurrence_without_drift():
    text = """
    policy: t
    currency: USD
    states:
      s:
        initial: true
        rules:
          - every: 1 month
            starting: 2026-01-31
            max: 4
            do: [{remind: {template: monthly}}]
    """
    r = run(text, INV, until="2026-12-31")
    assert [a["at"][:10] for a in r.actions] == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]


def test_an_at_timer_that_is_null_at_entry_arms_when_its_data_arrives():
    text = """
    policy: t
    currency: USD
    states:
      open:
        initial: true
        rules:
          - at: promise.date + 1 day
            do: [{remind: {template: check_promise}}]
    """
    events = [{"type": "promise_to_pay", "at": "2026-01-12", "invoice": "A1", "date": "2026-01-20"}]
    r = run(text, INV, events, until="2026-03-01")
    assert [a["at"] for a in r.actions] == ["2026-01-21T09:00:00+00:00"]


def test_an_at_timer_whose_data_turns_null_and_back_follows_it():
    text = """
    policy: t
    currency: USD
    states:
      open:
        initial: true
        rules:
          - on: promise_to_pay
            goto: promised
      promised:
        rules:
          - at: promise.date + 1 day
            do: [{remind: {template: check_promise}}]
    """
    events = [{"type": "promise_to_pay", "at": "2026-01-10", "invoice": "A1", "date": "2026-01-20", "amount": "100"},
              {"type": "payment", "at": "2026-01-12", "invoice": "A1", "amount": "100"},        # kept: promise is null
              {"type": "promise_to_pay", "at": "2026-01-14", "invoice": "A1", "date": "2026-01-25"}]
    r = run(text, INV, events, until="2026-03-01")
    assert [a["at"] for a in r.actions] == ["2026-01-26T09:00:00+00:00"]


def test_every_starting_from_data_that_arrives_later():
    text = """
    policy: t
    currency: USD
    states:
      open:
        initial: true
        rules:
          - every: 7 days
            starting: promise.date
            max: 2
            do: [{remind: {template: weekly}}]
    """
    events = [{"type": "promise_to_pay", "at": "2026-01-12", "invoice": "A1", "date": "2026-01-20"}]
    r = run(text, INV, events, until="2026-03-01")
    assert [a["at"][:10] for a in r.actions] == ["2026-01-20", "2026-01-27"]
