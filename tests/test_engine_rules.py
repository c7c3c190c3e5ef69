"""Evaluation order, guards, transitions, conditions, chains, previous, final (SPEC §1)."""

from decimal import Decimal

from conftest import run, timeline

INV = [{"id": "A1", "customer": "C1", "amount": "1000", "issued": "2026-01-01", "due": "2026-01-31"}]
PAY = lambda at, amount, inv="A1", **kw: {"type": "payment", "at": at, "invoice": inv, "amount": amount, **kw}


def test_any_state_rules_first_then_own_rules_all_matching_run_first_goto_ends():
    text = """
    policy: t
    currency: USD
    states:
      s:
        initial: true
        rules:
          - name: own_a
            on: payment
            do: [{remind: {template: own_a}}]
          - name: own_goto
            on: payment
            do: [{remind: {template: own_goto}}]
            goto: done
          - name: own_after_goto
            on: payment
            do: [{remind: {template: never}}]
      done: {final: true}
    any_state:
      - name: shared
        on: payment
        do: [{remind: {template: shared}}]
    """
    r = run(text, INV, [PAY("2026-02-01", "10")])
    assert [a["rule"] for a in r.actions] == ["shared", "own_a", "own_goto"]
    assert r.state_of("A1") == "done"


def test_guards_when_and_unless():
    text = """
    policy: t
    currency: USD
    segments:
      vip: customer.segment == "vip"
    states:
      s:
        initial: true
        rules:
          - name: r
            at: due
            when: balance > 500
            unless: vip
            do: [{remind: {template: x}}]
    """
    inv = INV + [{"id": "A2", "customer": "V1", "amount": "1000", "issued": "2026-01-01", "due": "2026-01-31"},
                 {"id": "A3", "customer": "C1", "amount": "100", "issued": "2026-01-01", "due": "2026-01-31"}]
    r = run(text, inv, customers=[{"id": "V1", "segment": "vip"}, {"id": "C1", "segment": "smb"}])
    assert [a["case"] for a in r.actions] == ["A1"]


def test_transition_order_actions_exit_enter_then_timers_and_conditions():
    text = """
    policy: t
    currency: USD
    states:
      a:
        initial: true
        on_exit: [{remind: {template: exit_a}}]
        rules:
          - at: due
            do: [{remind: {template: rule_action}}]
            goto: b
      b:
        on_enter: [{remind: {template: enter_b}}]
        rules:
          - when: balance > 0
            do: [{remind: {template: cond_b}}]
          - after: 0 days
            do: [{remind: {template: timer_b}}]
    """
    r = run(text, INV, until="2026-02-05")
    assert [a["params"]["template"] for a in r.actions] == ["rule_action", "exit_a", "enter_b", "cond_b", "timer_b"]
    assert [a["state"] for a in r.actions] == ["a", "a", "b", "b", "b"]


def test_condition_rules_are_edge_triggered_including_at_entry():
    text = """
    policy: t
    currency: USD
    states:
      s:
        initial: true
        rules:
          - name: owes
            when: balance > 0
            do: [{remind: {template: owes}}]
          - name: settled
            when: balance <= 0
            do: [{remind: {template: settled}}]
    """
    events = [PAY("2026-02-01", "1000"), {"type": "credit_note", "at": "2026-02-02", "invoice": "A1", "amount": "1"},
              PAY("2026-02-03", "1"), {"type": "payment_failed", "at": "2026-02-04", "invoice": "A1"}]
    r = run(text, INV, events)
    # entry: owes; payment: settled; credit note keeps it settled (balance -1): no edge;
    # no further rise of 'owes' since the balance never goes back above zero.
    assert [(a["at"][:10], a["rule"]) for a in r.actions] == [("2026-01-01", "owes"), ("2026-02-01", "settled")]
    assert r.balance_of("A1") == Decimal("-2")


def test_clock_dependent_condition_wakes_exactly_on_the_day():
    text = """
    policy: t
    currency: USD
    timezone: America/Santiago
    states:
      s:
        initial: true
        rules:
          - when: days_overdue >= 30
            goto: late
      late:
        on_enter: [{remind: {template: late}}]
    """
    r = run(text, INV, until="2026-12-31")
    assert [a["at"] for a in r.actions] == ["2026-03-02T09:00:00-03:00"]


def test_clock_condition_with_an_upper_bound_and_a_falling_edge():
    text = """
    policy: t
    currency: USD
    states:
      s:
        initial: true
        rules:
          - name: window
            when: days_overdue >= 10 and days_overdue < 12
            do: [{remind: {template: w}}]
          - name: exact
            when: today == 2026-03-05
            do: [{remind: {template: e}}]
    """
    r = run(text, INV, until="2026-12-31")
    assert [(a["at"][:10], a["rule"]) for a in r.actions] == [("2026-02-10", "window"), ("2026-03-05", "exact")]


def test_goto_previous_returns_to_the_state_before():
    text = """
    policy: t
    currency: USD
    states:
      a:
        initial: true
        rules:
          - at: due
            goto: b
      b:
        rules:
          - on: dispute_opened
            goto: disputed
      disputed:
        rules:
          - on: dispute_resolved
            goto: previous
    """
    events = [{"type": "dispute_opened", "at": "2026-02-03", "invoice": "A1"},
              {"type": "dispute_resolved", "at": "2026-02-09", "invoice": "A1"}]
    r = run(text, INV, events, until="2026-02-05")
    assert r.state_of("A1") == "disputed"
    r = run(text, INV, events, until="2026-03-01")
    assert r.state_of("A1") == "b"


def test_final_state_runs_no_rule_but_events_reach_the_ledger():
    text = """
    policy: t
    currency: USD
    states:
      s:
        initial: true
        rules:
          - on: payment
            goto: closed
      closed:
        final: true
    any_state:
      - on: payment
        do: [{remind: {template: thanks}}]
    """
    r = run(text, INV, [PAY("2026-02-01", "100"), PAY("2026-02-02", "200")])
    assert len(r.actions) == 1  # only the first payment, before the final state
    assert r.state_of("A1") == "closed"
    assert r.balance_of("A1") == Decimal("700")


def test_an_endless_chain_is_a_reported_error_for_that_case_only():
    text = """
    policy: t
    currency: USD
    states:
      a:
        initial: true
        rules:
          - when: balance > 0 and invoice.id == "LOOP"
            goto: b
      b:
        rules:
          - when: balance > 0
            goto: a
    """
    inv = [{"id": "LOOP", "customer": "C1", "amount": "10", "issued": "2026-01-01", "due": "2026-01-31"},
           {"id": "OK", "customer": "C1", "amount": "10", "issued": "2026-01-01", "due": "2026-01-31"}]
    r = run(text, inv)
    assert len(r.errors) == 1 and r.errors[0].case == "LOOP"
    assert "more than 64 transitions" in str(r.errors[0])
    assert r.state_of("OK") == "a" and r.errors[0].case != "OK"


def test_self_transition_re_enters_and_re_arms():
    text = """
    policy: t
    currency: USD
    states:
      s:
        initial: true
        on_enter: [{remind: {template: hello}}]
        rules:
          - after: 10 days
            when: reminders < 3
            goto: s
    """
    r = run(text, INV, until="2026-12-31")
    assert [a["at"][:10] for a in r.actions] == ["2026-01-01", "2026-01-11", "2026-01-21"]
    assert [a["key"].split("/")[2] for a in r.actions] == ["s#1", "s#2", "s#3"]


def test_now_based_condition_wakes_at_the_exact_instant_across_a_dst_change():
    text = """
    policy: t
    currency: USD
    timezone: America/New_York
    states:
      s:
        initial: true
        rules:
          - when: now >= entered + 3 days
            do: [{remind: {template: three_days}}]
          - when: now > entered + 5 days
            do: [{remind: {template: five_days}}]
    """
    inv = [{"id": "A1", "customer": "C1", "amount": "10", "issued": "2026-03-06", "due": "2026-03-31"}]
    r = run(text, inv, until="2026-03-20")
    # 8 March 2026 is the US spring-forward day: entered 6 March 00:00 EST, + 3 days = 9 March 00:00 EDT.
    assert [a["at"] for a in r.actions] == ["2026-03-09T00:00:00-04:00", "2026-03-11T00:00:01-04:00"]


def test_entries_into_a_state_are_counted_in_the_key_across_re_entries():
    from dunning_engine import load_policy
    from dunning_engine.run import simulate

    policy = load_policy("""
policy: pingpong
version: 1
currency: USD
states:
  a:
    initial: true
    on_enter: [{remind: {template: a}}]
    rules:
      - on: payment_failed
        goto: b
  b:
    on_enter: [{remind: {template: b}}]
    rules:
      - on: payment_failed
        goto: a
""")
    events = [{"type": "payment_failed", "at": f"2026-01-0{d}T10:00:00", "invoice": "I1", "reason": "x"}
              for d in (2, 3, 4, 5)]
    r = simulate(policy, invoices=[{"id": "I1", "customer": "C1", "amount": "10.00", "currency": "USD",
                                    "issued": "2026-01-01", "due": "2026-01-31"}], events=events, until="2026-02-01")
    keys = [a["key"].split("/")[2] for a in r.actions]
    assert keys == ["a#1", "b#1", "a#2", "b#2", "a#3"]
