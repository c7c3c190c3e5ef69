"""`goto: return` (DSL `-> return`): back to the state before, as if the time away had not passed (SPEC §1).

No on_exit/on_enter of the state returned to, every timer of that entry that had not fired moves later by
the time spent away, and the keys go on from where they were. docs/decisions.md lists the details tested here.
"""

import datetime as dt
import json

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import policy, run

from dunning_engine import load_policy_text
from dunning_engine.cli.main import cli
from dunning_engine.engine import returns
from dunning_engine.engine.explain import case_timeline, render_timeline
from dunning_engine.errors import PolicyError
from dunning_engine.policy.graph import to_dot, to_mermaid
from dunning_engine.policy.lint import lint_policy
from dunning_engine.policy.printer import to_dsl, to_yaml

LADDER = """
policy: ret
version: 1
currency: USD
states:
  upcoming:
    initial: true
    rules:
      - at: due + 1 day
        goto: overdue
  overdue:
    on_enter: [{remind: {template: first_notice}}]
    on_exit: [{remind: {template: bye_overdue}}]
    rules:
      - after: 7 days
        do: [{remind: {template: second_notice}}]
      - at: due + 15 days
        do: [{fee: {amount: 10 USD}}]
        goto: late
      - every: 5 days
        max: 3
        do: [{remind: {template: nudge}}]
      - on: payment
        do: [{remind: {template: thanks}}]
  late: {}
  disputed:
    on_enter: [{task: {kind: review}}]
    on_exit: [{task: {kind: close_review}}]
    rules:
      - on: dispute_resolved
        goto: return
any_state:
  - on: dispute_opened
    goto: disputed
    except: [disputed]
"""
INV = [{"id": "A1", "customer": "C1", "amount": "1000", "issued": "2026-01-01", "due": "2026-01-31"}]


def ev(typ, at, **kw):
    return {"type": typ, "at": at, "invoice": "A1", **kw}


DISPUTE = [ev("dispute_opened", "2026-02-10"), ev("dispute_resolved", "2026-02-20")]  # 10 days away


def rows(result, case="A1"):
    return [(a["at"][:16], a["params"].get("template") or a["params"].get("kind") or a["type"])
            for a in result.actions if a["case"] == case]


def keys(result):
    return [a["key"] for a in result.actions]


def test_return_resumes_the_state_with_its_timers_moved_by_the_time_away():
    r = run(LADDER, INV, DISPUTE, until="2026-03-31")
    assert rows(r) == [
        ("2026-02-01T09:00", "first_notice"),
        ("2026-02-06T09:00", "nudge"),
        ("2026-02-08T09:00", "second_notice"),
        ("2026-02-10T00:00", "review"),           # overdue is paused, not left: no on_exit
        ("2026-02-20T00:00", "close_review"),     # disputed's on_exit runs; no on_enter of overdue
        ("2026-02-21T09:00", "nudge"),            # was due Feb 11: 10 days later, the second of max 3
        ("2026-02-25T09:00", "fee"),              # due + 15 days was Feb 15: no missed fee at once
        ("2026-02-25T09:00", "bye_overdue"),      # the entry of overdue ends: its on_exit, once
    ]
    assert r.state_of("A1") == "late"
    k = keys(r)
    assert len(set(k)) == len(k)
    assert "ret@1/A1/overdue#1/overdue.3/2/0" in k  # the same entry of overdue, the nudge's 2nd occurrence
    assert "ret@1/A1/overdue#1/overdue.2/1/0" in k


def test_previous_still_enters_anew_which_return_avoids():
    r = run(LADDER.replace("goto: return", "goto: previous"), INV, DISPUTE, until="2026-03-31")
    again = rows(r)[6:]
    # overdue's on_exit runs at the dispute; then the notice is sent again and the missed fee fires at once
    assert rows(r)[3:5] == [("2026-02-10T00:00", "bye_overdue"), ("2026-02-10T00:00", "review")]
    assert again[:3] == [("2026-02-20T00:00", "first_notice"), ("2026-02-20T00:00", "fee"),
                         ("2026-02-20T00:00", "bye_overdue")]


def test_every_keeps_its_count_and_its_series_moves_as_a_whole():
    text = LADDER.replace("        do: [{fee: {amount: 10 USD}}]\n        goto: late\n",
                          "        do: [{fee: {amount: 10 USD}}]\n")
    r = run(text, INV, DISPUTE, until="2026-04-30")
    nudges = [at for at, what in rows(r) if what == "nudge"]
    assert nudges == ["2026-02-06T09:00", "2026-02-21T09:00", "2026-02-26T09:00"]  # max 3 over the entry


def test_the_time_away_is_exact_on_the_local_wall_clock():
    text = LADDER.replace("currency: USD", "currency: USD\ntimezone: America/Santiago")
    events = [ev("dispute_opened", "2026-02-10T10:00"), ev("dispute_resolved", "2026-02-20T16:30")]
    r = run(text, INV, events, until="2026-03-31")
    after = [a for a in r.actions if a["at"] > "2026-02-20T16:30" and a["type"] != "task"]
    # the nudge was due Feb 11 09:00, 23 hours after the case left: it fires 23 hours after it came back
    assert [(a["at"], a["params"].get("template") or a["type"]) for a in after][:2] == [
        ("2026-02-21T15:30:00-03:00", "nudge"), ("2026-02-25T15:30:00-03:00", "fee")]


def test_a_dispute_across_a_dst_change_keeps_the_local_time():
    # Santiago leaves summer time on 2026-04-05: the reminder keeps its 09:00
    text = LADDER.replace("currency: USD", "currency: USD\ntimezone: America/Santiago")
    inv = [dict(INV[0], issued="2026-03-01", due="2026-03-25")]
    events = [ev("dispute_opened", "2026-03-30"), ev("dispute_resolved", "2026-04-10")]
    r = run(text, inv, events, until="2026-05-31")
    assert [a["at"] for a in r.actions if a["params"].get("template") == "second_notice"] == ["2026-04-13T09:00:00-04:00"]


def test_condition_rules_keep_their_last_value_and_see_what_changed_while_away():
    text = LADDER.replace("""      - on: payment
        do: [{remind: {template: thanks}}]""", """      - name: small
        when: balance < 600
        do: [{remind: {template: small_balance}}]
      - name: tiny
        when: balance < 300
        do: [{remind: {template: tiny_balance}}]""")
    events = [ev("payment", "2026-02-05", amount="500"), *DISPUTE[:1], ev("payment", "2026-02-12", amount="300"),
              DISPUTE[1]]
    r = run(text, INV, events, until="2026-02-20")
    balance_rows = [(at, what) for at, what in rows(r) if what.endswith("_balance")]
    # 'small' held before the dispute and still does: it does not fire again; 'tiny' turned true away
    assert balance_rows == [("2026-02-05T00:00", "small_balance"), ("2026-02-20T00:00", "tiny_balance")]


def test_time_in_state_excludes_the_time_away():
    text = LADDER.replace("""      - on: payment
        do: [{remind: {template: thanks}}]""", """      - name: long_stay
        when: days_in_state >= 12
        do: [{remind: {template: long_stay}}]""")
    r = run(text, INV, DISPUTE, until="2026-03-31", explain=True)
    # entered Feb 1; 12 days in state, 10 of them away: Feb 23
    assert [a["at"][:10] for a in r.actions if a["params"].get("template") == "long_stay"] == ["2026-02-23"]
    stay = next(a for a in r.actions if a["params"].get("template") == "long_stay")
    assert stay["explain"]["values"]["days_in_state"] == "12"


def test_event_rules_go_on_counting_so_keys_never_repeat():
    events = [ev("payment", "2026-02-05", amount="1"), *DISPUTE, ev("payment", "2026-02-22", amount="1")]
    r = run(LADDER, INV, events, until="2026-02-23")
    thanks = [a["key"] for a in r.actions if a["params"].get("template") == "thanks"]
    assert thanks == ["ret@1/A1/overdue#1/overdue.4/1/0", "ret@1/A1/overdue#1/overdue.4/2/0"]


def test_a_data_timer_keeps_its_move_until_its_data_changes():
    text = """
policy: ret
currency: USD
states:
  promised:
    initial: true
    rules:
      - at: promise.date + 1 day
        do: [{remind: {template: broken}}]
  disputed:
    rules:
      - on: dispute_resolved
        goto: return
any_state:
  - on: dispute_opened
    goto: disputed
    except: [disputed]
"""
    promise = ev("promise_to_pay", "2026-02-01", date="2026-02-10")
    moved = run(text, INV, [promise, *DISPUTE[:1], ev("dispute_resolved", "2026-02-15"),
                            ev("payment", "2026-02-16", amount="1")], until="2026-03-31")
    # left Feb 10 (timer due Feb 11 09:00), back Feb 15: 5 days away, and a payment does not undo the move
    assert rows(moved) == [("2026-02-16T09:00", "broken")]
    renewed = run(text, INV, [promise, *DISPUTE[:1], ev("dispute_resolved", "2026-02-15"),
                              ev("promise_to_pay", "2026-02-15T12:00", date="2026-03-01")], until="2026-03-31")
    assert rows(renewed) == [("2026-03-02T09:00", "broken")]  # a new promise: its own date


def test_nested_returns_unwind_one_state_at_a_time():
    text = LADDER.replace("    except: [disputed]\n", "")  # a second dispute inside the first
    events = [ev("dispute_opened", "2026-02-10"), ev("dispute_opened", "2026-02-12"),
              ev("dispute_resolved", "2026-02-14"), ev("dispute_resolved", "2026-02-20")]
    r = run(text, INV, events, until="2026-03-31")
    assert rows(r)[3:] == [
        ("2026-02-10T00:00", "review"),                                          # overdue paused
        ("2026-02-12T00:00", "review"),                                          # disputed#1 paused, #2
        ("2026-02-14T00:00", "close_review"),                                    # back to disputed#1
        ("2026-02-20T00:00", "close_review"),                                    # back to overdue: 10 days
        ("2026-02-21T09:00", "nudge"), ("2026-02-25T09:00", "fee"), ("2026-02-25T09:00", "bye_overdue")]
    assert [a["key"] for a in r.actions if a["params"].get("kind") == "close_review"] == [
        "ret@1/A1/disputed#2/on_exit/1/0", "ret@1/A1/disputed#1/on_exit/1/0"]
    k = keys(r)
    assert len(set(k)) == len(k)
    assert r.state_of("A1") == "late"


def test_return_without_a_state_to_return_to_is_an_error_for_that_case():
    text = """
policy: ret
currency: USD
states:
  open:
    initial: true
    rules:
      - on: dispute_resolved
        do: [{remind: {template: resolved}}]
        goto: return
      - at: due
        do: [{remind: {template: due}}]
"""
    inv = INV + [dict(INV[0], id="B1")]
    r = run(text, inv, [ev("dispute_resolved", "2026-01-20")], until="2026-03-31")
    (err,) = r.errors
    assert err.case == "A1" and "goto return from 'open', but the case has no state to return to" in err.message
    assert rows(r, "A1") == []  # the resolved reminder of that instant is dropped with the error
    assert rows(r, "B1") == [("2026-01-31T09:00", "due")]


def test_leaving_a_returning_state_another_way_ends_the_paused_entry():
    text = LADDER.replace("""      - on: dispute_resolved
        goto: return""", """      - on: dispute_resolved
        goto: return
      - after: 30 days
        goto: late""")
    events = [ev("dispute_opened", "2026-02-10"), ev("dispute_opened", "2026-03-20"),
              ev("dispute_resolved", "2026-03-25")]
    r = run(text, INV, events, until="2026-03-31")
    assert rows(r)[3:] == [
        ("2026-02-10T00:00", "review"),
        ("2026-03-12T00:00", "close_review"),   # disputed -> late after 30 days: disputed ends...
        ("2026-03-12T00:00", "bye_overdue"),    # ...and so does the paused entry of overdue
        ("2026-03-20T00:00", "review"),         # disputed entered from late
        ("2026-03-25T00:00", "close_review"),   # return: to late, not overdue
    ]
    assert r.state_of("A1") == "late"


def test_a_final_state_reached_from_a_returning_state_ends_the_paused_entry():
    text = LADDER.replace("any_state:\n", "any_state:\n  - on: payment\n    when: balance <= 0\n    goto: paid\n")
    text = text.replace("  late: {}\n", "  late: {}\n  paid: {final: true}\n")
    r = run(text, INV, [ev("dispute_opened", "2026-02-10"), ev("payment", "2026-02-12", amount="1000")],
            until="2026-03-31")
    assert rows(r)[3:] == [("2026-02-10T00:00", "review"), ("2026-02-12T00:00", "close_review"),
                           ("2026-02-12T00:00", "bye_overdue")]
    assert r.state_of("A1") == "paid"


def test_holds_do_not_move_timers_and_the_time_away_counts_whole():
    events = [ev("dispute_opened", "2026-02-10"), ev("hold", "2026-02-12"), ev("release", "2026-02-15"),
              ev("dispute_resolved", "2026-02-20")]
    r = run(LADDER, INV, events, until="2026-03-31")
    assert rows(r)[5:7] == [("2026-02-21T09:00", "nudge"), ("2026-02-25T09:00", "fee")]


def test_a_hold_after_the_return_defers_the_moved_timers_as_usual():
    events = [*DISPUTE, ev("hold", "2026-02-24"), ev("release", "2026-02-27T10:00")]
    r = run(LADDER, INV, events, until="2026-03-31")
    assert rows(r)[5:7] == [("2026-02-21T09:00", "nudge"), ("2026-02-27T10:00", "fee")]


def test_the_frames_kept_per_case_are_bounded(monkeypatch):
    monkeypatch.setattr(returns, "RETURN_DEPTH", 2)
    text = LADDER.replace("    except: [disputed]\n", "")
    opened = [ev("dispute_opened", f"2026-02-1{i}") for i in range(3)]
    resolved = [ev("dispute_resolved", f"2026-02-2{i}") for i in range(3)]
    r = run(text, INV, opened + resolved, until="2026-03-31")
    (err,) = r.errors  # three disputes deep, two frames kept: the third return has nowhere to go
    assert "goto return from 'disputed', but the case has no state to return to" in err.message
    assert r.state_of("A1") == "disputed"


def test_a_return_that_moves_a_timer_out_of_the_years_is_an_error_for_that_case():
    inv = [dict(INV[0], issued="2200-10-01", due="2200-11-01")]
    r = run(LADDER, inv + INV[:0], [ev("dispute_opened", "2200-11-05"), ev("dispute_resolved", "2200-12-30")],
            until="2200-12-31")
    (err,) = r.errors
    assert "the time of rule" in err.message and "moved 55 days later by the return" in err.message


def test_explain_shows_the_return():
    r = run(LADDER, INV, DISPUTE, until="2026-03-31", explain=True)
    text = render_timeline(case_timeline(r.engine, "A1"))
    assert "2026-02-20 00:00+00:00  return to state overdue, its timers moved 10 days later (the time away)" in text
    assert "enter state overdue" in text and text.count("enter state overdue") == 1


# ------------------------------------------------------------------------------------ the policy forms

DSL = """\
policy ret version 1
scope invoice
timezone "UTC"
currency USD
send at 09:00

state overdue initial:
    after 7 days:
        remind "second_notice"
    on dispute_opened -> disputed

state disputed:
    on dispute_resolved -> return
"""


def test_dsl_return_is_the_yaml_return_and_round_trips():
    p = load_policy_text(DSL, format="dsl")
    assert p.state("disputed").rules[0].goto == "return"
    assert to_dsl(p) == DSL
    y = to_yaml(p)
    assert "goto: return" in y
    assert load_policy_text(y, format="yaml") == p


def test_graph_draws_return_to_a_pseudo_state():
    p = load_policy_text(DSL, format="dsl")
    mermaid = to_mermaid(p)
    assert '    state "(return: the state before, resumed)" as return_state' in mermaid
    assert "    disputed --> return_state: on dispute_resolved" in mermaid
    assert '"return" [label="(return: the state before, resumed)", style="rounded,dashed"];' in to_dot(p)


def test_lint_follows_return_back_to_the_states_that_lead_to_it():
    p = load_policy_text(DSL, format="dsl")
    findings = lint_policy(p)
    assert not [f for f in findings if f.code in ("DL001", "DL002")], findings


@pytest.mark.parametrize("name", ["return", "previous"])
def test_return_and_previous_are_refused_as_state_names_with_their_position(name):
    yaml_text = f"policy: t\ncurrency: USD\nstates:\n  a:\n    initial: true\n  {name}: {{}}\n"
    with pytest.raises(PolicyError) as e:
        load_policy_text(yaml_text, format="yaml", name="p.yaml")
    assert f"p.yaml:6:3: error: '{name}' cannot be a state name" in str(e.value)
    dsl_text = f"policy t version 1\ncurrency USD\nstate a initial\nstate {name}\n"
    with pytest.raises(PolicyError) as e:
        load_policy_text(dsl_text, format="dsl", name="p.dunning")
    assert f"p.dunning:4:7: error: '{name}' cannot be a state name" in str(e.value)


def test_dunning_run_and_fmt_on_a_dsl_policy_with_return(tmp_path):
    path = tmp_path / "ret.dunning"
    path.write_text(DSL)
    r = CliRunner().invoke(cli, ["fmt", str(path)])
    assert r.exit_code == 0 and r.output == DSL
    invoices = tmp_path / "inv.jsonl"
    invoices.write_text(json.dumps(dict(INV[0], issued="2026-02-01", due="2026-02-01")) + "\n")
    events = tmp_path / "ev.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in (ev("dispute_opened", "2026-02-03"),
                                                                ev("dispute_resolved", "2026-02-13"))))
    r = CliRunner().invoke(cli, ["run", "--policy", str(path), "--invoices", str(invoices), "--events", str(events),
                                 "--until", "2026-03-31"])
    assert r.exit_code == 0, r.output
    (action,) = [json.loads(line) for line in r.output.splitlines() if line.startswith("{")]
    assert action["at"] == "2026-02-18T00:00:00+00:00"  # entered Feb 1 00:00, + 7 days + 10 days away


# ------------------------------------------------------------------------------------ properties

@st.composite
def dispute_streams(draw):
    events = []
    for _ in range(draw(st.integers(0, 10))):
        minute = draw(st.integers(0, 80 * 24 * 60))
        at = (dt.datetime(2026, 1, 25) + dt.timedelta(minutes=minute)).isoformat()
        typ = draw(st.sampled_from(["dispute_opened", "dispute_resolved", "payment", "hold", "release"]))
        events.append(ev(typ, at, **({"amount": "100"} if typ == "payment" else {})))
    return sorted(events, key=lambda e: e["at"])


NESTING = LADDER.replace("    except: [disputed]\n", "")


@settings(max_examples=40, deadline=None)
@given(dispute_streams())
def test_with_returns_keys_never_repeat_and_a_run_split_in_two_is_one_run(events):
    whole = run(NESTING, INV, events, until="2026-06-30T00:00:00+00:00")
    k = keys(whole)
    assert len(set(k)) == len(k) and not whole.errors
    p = policy(NESTING)
    from dunning_engine.engine.core import Engine
    from dunning_engine.io.readers import Rejects, read_events, read_invoices

    engine = Engine(p)
    for inv in read_invoices(INV, tz=engine.clock.tz, default_currency="USD", rejects=Rejects()):
        engine.add_invoice(inv)
    for e in read_events(events, tz=engine.clock.tz, default_currency="USD", rejects=Rejects()):
        engine.add_event(e)
    utc = dt.timezone.utc
    split = engine.advance(dt.datetime(2026, 2, 15, tzinfo=utc)) + engine.advance(dt.datetime(2026, 6, 30, tzinfo=utc))
    assert split == whole.actions
