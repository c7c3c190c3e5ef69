"""`dunning lint`: each defect class, no false alarms on the shipped policies, output and exit status."""

from __future__ import annotations

import json
import textwrap

import pytest
from click.testing import CliRunner

from dunning_engine import load_policy, load_policy_text
from dunning_engine.cli.main import cli
from dunning_engine.policy.lint import CODES, lint_policy

from conftest import ROOT

DEFECTS = ROOT / "tests" / "data" / "lint_defects.yaml"


def lint(text: str):
    return lint_policy(load_policy_text(textwrap.dedent(text), format="yaml", name="p.yaml"))


def codes(text: str) -> list[tuple[str, int]]:
    return [(f.code, f.location.line) for f in lint(text)]


def test_each_defect_class_is_flagged_at_its_line():
    """Issue 7, 'done when': dunning lint flags each defect class on a test policy."""
    found = [(f.code, f.location.line, f.severity) for f in lint_policy(load_policy(DEFECTS))]
    assert found == [
        ("DL007", 7, "warning"),    # segment 'big' never used
        ("DL004", 14, "warning"),   # 'at due + 5 days' pre-empted by 'at due + 1 day' with a goto
        ("DL004", 19, "warning"),   # 'at due - 3 days' in a state entered at due + 1 day
        ("DL006", 25, "warning"),   # fee with no reminder before it
        ("DL003", 29, "warning"),   # on promise_to_pay shadowed by the unguarded one above
        ("DL005", 34, "error"),     # late -> stuck -> late on conditions alone
        ("DL002", 40, "warning"),   # 'promised' has no way out
        ("DL001", 41, "warning"),   # 'orphan' unreachable
    ]
    assert set(CODES) == {c for c, _, _ in found}


@pytest.mark.parametrize("path", sorted((ROOT / "policies").glob("*.yaml")) + sorted((ROOT / "policies").glob("*.dunning")),
                         ids=lambda p: p.name)
def test_shipped_policies_are_clean(path):
    assert [f.render() for f in lint_policy(load_policy(path))] == []


def test_findings_render_like_compiler_diagnostics():
    [f] = [f for f in lint_policy(load_policy(DEFECTS)) if f.code == "DL004" and f.location.line == 19]
    assert f.render() == textwrap.dedent("""\
        tests/data/lint_defects.yaml:19:13: warning: timer 'at due - 3 days' of rule 'overdue.1' is always late: state 'overdue' is entered at due + 1 day(s) at the earliest, so it fires at entry (catch-up), not at its time [DL004 late-timer]
           |
        19 |       - at: due - 3 days                   # DL004: always late (entered at due + 1 day)
           |             ^^^^^^^^^^^^
        help: move the rule to the state that is active at that time, or add 'expires:' to drop it""").replace(
        "tests/data/lint_defects.yaml", str(DEFECTS))


# ------------------------------------------------------------------ each check, with its false alarms


def test_unreachable_and_dead_end():
    assert codes("""\
        policy: p
        currency: CLP
        states:
          a:
            initial: true
            rules:
              - on: payment
                goto: b
          b: {}
          c: {final: true}
        """) == [("DL002", 9), ("DL001", 10)]


def test_any_state_rules_are_a_way_out_and_reach_states():
    assert codes("""\
        policy: p
        currency: CLP
        states:
          a: {initial: true}
          b: {}
          paid: {final: true}
        any_state:
          - on: payment
            when: balance <= 0
            goto: paid
          - on: dispute_opened
            goto: b
        """) == []


def test_shadowing_needs_the_same_trigger_and_a_weaker_guard():
    base = """\
        policy: p
        currency: CLP
        segments:
          vip: customer.segment == "vip"
        states:
          a:
            initial: true
            rules:
              - on: {first_on}
                {first_guard}
                goto: b
              - on: payment
                when: balance <= 0 and vip
                goto: c
          b: {{final: true}}
          c: {{final: true}}
        """
    fmt = lambda on, guard: textwrap.dedent(base).format(first_on=on, first_guard=guard)
    assert codes(fmt("payment", "when: balance <= 0")) == [("DL003", 12)]            # subset of conditions
    assert codes(fmt("[payment, credit_note]", "unless: false")) == []               # 'not false' is not a subset
    assert codes(fmt("[payment, credit_note]", "when: vip")) == [("DL003", 12)]      # its events include 'payment'
    assert codes(fmt("credit_note", "when: vip")) == []                              # another event
    assert codes(fmt("payment", "when: balance > 0")) == []                          # another guard


def test_late_and_pre_empted_timers():
    assert codes("""\
        policy: p
        currency: CLP
        states:
          a:
            initial: true
            rules:
              - at: due + 1 day
                goto: b
          b:
            rules:
              - at: due - 3 days
                expires: 1 day
                do: [{remind: {template: x}}]
              - at: due + 1 day
                do: [{remind: {template: on_time}}]
              - after: 2 days
                goto: c
              - after: 5 days
                do: [{remind: {template: never}}]
          c: {final: true}
        """) == [("DL004", 11), ("DL004", 18)]
    [never, preempted] = lint("""\
        policy: p
        currency: CLP
        states:
          a:
            initial: true
            rules:
              - at: due + 1 day
                goto: b
          b:
            rules:
              - at: due - 3 days
                expires: 1 day
                do: [{remind: {template: x}}]
              - after: 2 days
                goto: c
              - after: 5 days
                do: [{remind: {template: never}}]
          c: {final: true}
        """)
    assert "never fires" in never.message and "expires: 1 day" in never.message
    assert "rule 'b.2' (after 2 days, no guard) always leaves for 'c' first" in preempted.message


def test_entry_bounds_follow_clock_guards_and_every_path():
    # 'late' is entered from 'a' (when days_overdue >= 30) and from 'b' (at due + 10 days):
    # at due + 10 days at the earliest, so 'at due + 12 days' is on time and 'at due + 5 days' late.
    assert codes("""\
        policy: p
        currency: CLP
        states:
          a:
            initial: true
            rules:
              - when: days_overdue >= 30
                goto: late
              - on: promise_to_pay
                goto: b
          b:
            rules:
              - at: due + 10 days
                goto: late
          late:
            rules:
              - at: due + 12 days
                do: [{remind: {template: ok}}]
              - at: due + 5 days
                do: [{remind: {template: late}}]
        """) == [("DL002", 15), ("DL004", 19)]  # (and 'late' has no way out)


def test_condition_loops_unless_the_guards_exclude_each_other():
    loop = """\
        policy: p
        currency: CLP
        states:
          a:
            initial: true
            rules:
              - when: {g1}
                goto: b
          b:
            rules:
              - when: {g2}
                goto: a
        """
    fmt = lambda g1, g2: textwrap.dedent(loop).format(g1=g1, g2=g2)
    assert codes(fmt("balance > 0", "balance > 100")) == [("DL005", 7)]
    assert codes(fmt("balance > 0", "balance <= 0")) == []
    assert codes(fmt("days_overdue >= 14", "days_overdue < 7")) == []
    assert codes(fmt('customer.segment == "vip"', 'customer.segment == "smb"')) == []
    assert codes(fmt("promise != null", "not (promise != null)")) == []
    assert codes(fmt("balance > 0 and promise == null", "balance > 0")) == [("DL005", 7)]
    self_loop = """\
        policy: p
        currency: CLP
        states:
          a:
            initial: true
            rules:
              - when: balance > 0
                do: [{fee: {amount: 1}}]
                goto: a
        """
    assert codes(self_loop) == [("DL006", 8), ("DL005", 7)] or codes(self_loop) == [("DL005", 7), ("DL006", 8)]


def test_fees_after_a_certain_reminder_are_fine():
    assert codes("""\
        policy: p
        currency: CLP
        states:
          a:
            initial: true
            rules:
              - at: due + 1 day
                goto: b
              - on: promise_to_pay
                when: reminders > 0
                do: [{fee: {amount: 1000}}]
          b:
            on_enter:
              - remind: {template: notice}
              - fee: {amount: 1000}
            rules:
              - at: due + 10 days
                do: [{fee: {amount: 1000}}]
                goto: c
          c: {final: true}
        """) == []
    assert codes("""\
        policy: p
        currency: CLP
        states:
          a:
            initial: true
            on_enter:
              - fee: {amount: 1000}
              - remind: {template: notice}
        """) == [("DL002", 4), ("DL006", 7)]


def test_segments_used_anywhere_count():
    assert codes("""\
        policy: p
        currency: CLP
        segments:
          vip: customer.segment == "vip"
          gold: vip and invoice.amount > 1000
          watched: balance > 0
        invariants:
          watched_ok: watched or balance <= 0
        states:
          a:
            initial: true
            rules:
              - on: payment
                unless: gold
                do: [{remind: {template: thanks}}]
                goto: paid
          paid: {final: true}
        """) == []


def test_ignore():
    assert [f.code for f in lint_policy(load_policy(DEFECTS), ignore=["DL004", "shadowed-rule"])] == [
        "DL007", "DL006", "DL005", "DL002", "DL001"]


# ------------------------------------------------------------------ the command


def test_cli_text_and_exit_status(tmp_path):
    r = CliRunner().invoke(cli, ["lint", str(DEFECTS)])
    assert r.exit_code == 1  # DL005 is an error
    assert f"{DEFECTS}:34:9: error: condition rules loop at one instant" in r.stdout
    assert "1 error(s), 7 warning(s)" in r.stderr
    warn_only = CliRunner().invoke(cli, ["lint", "--ignore", "DL005", str(DEFECTS)])
    assert warn_only.exit_code == 0 and "7 warning(s)" in warn_only.stderr
    strict = CliRunner().invoke(cli, ["lint", "--strict", "--ignore", "DL005", str(DEFECTS)])
    assert strict.exit_code == 1
    clean = CliRunner().invoke(cli, ["lint", str(ROOT / "policies" / "b2b_friendly_cl.yaml"),
                                     str(ROOT / "policies" / "b2b_friendly_cl.dunning")])
    assert clean.exit_code == 0 and clean.output == ""
    bad = tmp_path / "bad.yaml"
    bad.write_text("policy: bad\nstates: {a: {initial: tru}}\ncurrency: CLP\n")
    broken = CliRunner().invoke(cli, ["lint", str(bad)])
    assert broken.exit_code == 1 and f"{bad}:2:23: error: initial must be true or false" in broken.output


def test_cli_json():
    r = CliRunner().invoke(cli, ["lint", "--format", "json", str(DEFECTS)])
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["ok"] is False and doc["summary"] == {"errors": 1, "warnings": 7, "notes": 0, "files": 1}
    found = doc["diagnostics"]
    assert [d["code"] for d in found] == ["DL007", "DL004", "DL004", "DL006", "DL003", "DL005", "DL002", "DL001"]
    assert found[5] == {
        "code": "DL005", "severity": "error",
        "message": "condition rules loop at one instant: late -> stuck -> late (rules 'late.1', 'stuck.1'); when "
                   "their guards hold together, a case goes round until the chain limit and fails",
        "file": str(DEFECTS), "line": 34, "column": 9, "end_line": 34, "end_column": 26,
        "help": "make the guards exclude each other (e.g. 'balance > 0' / 'balance <= 0'), or wait for an event "
                "or a timer on the way",
        "field": None, "case": None, "notes": [],
    }


def test_lint_reads_the_dsl_form_with_positions(tmp_path):
    p = tmp_path / "p.dunning"
    p.write_text(textwrap.dedent("""\
        policy p version 1
        currency CLP

        state a initial:
            on payment -> b
        state b
        state c final
        """))
    found = [(f.code, f.location.line if f.location else None) for f in lint_policy(load_policy(p))]
    assert ("DL001", 7) in found and ("DL002", 6) in found
