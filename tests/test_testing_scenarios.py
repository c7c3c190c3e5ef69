"""Scenario files (SPEC §7, issue 7): loading with positioned errors, matching, diffs, expectations."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from dunning_engine import PolicyError
from dunning_engine.testing.scenarios import (
    Expected,
    find_scenario_files,
    load_scenario_file,
    looks_like_scenario,
    match_action,
    run_scenarios,
)

from conftest import ROOT

B2B = ROOT / "policies" / "b2b_friendly_cl.yaml"
INVOICE = '{id: A1, customer: C1, amount: "100000", issued: 2026-02-02, due: 2026-03-02}'


def scenario(tmp_path: Path, body: str, name: str = "s.test.yaml", policy: Path = B2B) -> Path:
    """A scenario file in tmp_path whose 'policy:' is the relative path to ``policy``."""
    shutil.copy(policy, tmp_path / policy.name)
    path = tmp_path / name
    path.write_text(f"policy: {policy.name}\n" + textwrap.dedent(body), encoding="utf-8")
    return path


def results(path: Path):
    return list(run_scenarios([path]))


def load_errors(path: Path) -> str:
    with pytest.raises(PolicyError) as e:
        load_scenario_file(path, display="s.test.yaml")
    return e.value.render()


# ------------------------------------------------------------------ loading


def test_the_spec_example_with_its_sunday_notice_deferred(tmp_path):
    # SPEC §7's example, with one change: 2026-02-01 is a Sunday, outside the policy's contact
    # windows (mon-fri 08:00-20:00, sat 09:00-13:00), so the first notice goes out on Monday 08:00.
    path = scenario(tmp_path, """\
        cases:
          - name: pays after the first notice
            invoices: [{id: A1, customer: C1, amount: "100000", issued: 2026-01-01, due: 2026-01-31}]
            customers: [{id: C1, segment: smb}]
            events: [{at: 2026-02-05, type: payment, invoice: A1, amount: "100000"}]
            until: 2026-04-01
            expect:
              actions:
                - {date: 2026-01-28, type: remind, template: pre_due}
                - {date: 2026-02-02, time: "08:00", type: remind, template: first_notice, deferred_from: 2026-02-01T09:00}
              states: {A1: paid}
              balances: {A1: "0"}
        """)
    [r] = results(path)
    assert r.passed, r.report()
    assert r.name == "pays after the first notice" and r.line == 3


def test_unknown_keys_get_positions_and_did_you_mean(tmp_path):
    path = scenario(tmp_path, f"""\
        casez: []
        cases:
          - name: x
            invoices: [{INVOICE}]
            untill: 2026-04-01
            expect: {{stats: {{A1: paid}}}}
        """)
    text = load_errors(path)
    assert "s.test.yaml:2:1: error: unknown key 'casez' in a scenario file" in text
    assert "did you mean 'cases'?" in text
    assert "s.test.yaml:6:5: error: unknown key 'untill' in a case" in text and "did you mean 'until'?" in text
    assert "s.test.yaml:7:14: error: unknown key 'stats' in expect" in text and "did you mean 'states'?" in text
    assert "a case needs 'until:'" in text


def test_bad_dates_and_records_point_at_the_field(tmp_path):
    path = scenario(tmp_path, """\
        cases:
          - name: x
            invoices: [{id: A1, customer: C1, amount: "100000", issued: 2026-02-02, due: 2026-02-30}]
            events:
              - {at: 2026-03-05, type: paymnt, invoice: A1, amount: "1"}
              - {at: 2026-03-05, type: payment, invoice: A9, amount: "1"}
            until: 2026-04-0l
            expect:
              actions:
                - {date: 2026-13-01, type: remind}
        """)
    text = load_errors(path)
    assert "s.test.yaml:4:82: error: invoice 1: '2026-02-30' is not a valid date" in text
    assert "s.test.yaml:6:32: error: event 1: unknown event type 'paymnt'" in text and "did you mean 'payment'?" in text
    assert "s.test.yaml:7:50: error: event 2: unknown invoice 'A9'" in text
    assert "s.test.yaml:8:12: error: until: '2026-04-0l' is not an ISO 8601 date" in text
    assert "s.test.yaml:11:18: error: date '2026-13-01' is not a date YYYY-MM-DD" in text


def test_missing_policy_file(tmp_path):
    path = tmp_path / "s.test.yaml"
    path.write_text(f"policy: ../policies/b2b_friendly.yaml\ncases:\n  - name: x\n    invoices: [{INVOICE}]\n"
                    "    until: 2026-04-01\n    expect: {states: {A1: paid}}\n", encoding="utf-8")
    (tmp_path.parent / "policies").mkdir(exist_ok=True)
    shutil.copy(B2B, tmp_path.parent / "policies" / B2B.name)
    text = load_errors(path)
    assert "s.test.yaml:1:9: error: policy file '../policies/b2b_friendly.yaml' not found" in text
    assert "did you mean 'b2b_friendly_cl.yaml'?" in text


def test_an_invalid_policy_reports_its_own_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("policy: bad\nstates:\n  a:\n    initial: true\n    rules:\n      - at: due + 1 dya\n        goto: a\n")
    path = tmp_path / "s.test.yaml"
    path.write_text("policy: bad.yaml\ncases: []\n")
    text = load_errors(path)
    assert "s.test.yaml:1:9: error: policy 'bad.yaml' has" in text
    assert "bad.yaml:6:" in text


def test_expectations_are_checked_against_the_policy(tmp_path):
    path = scenario(tmp_path, f"""\
        cases:
          - name: x
            invoices: [{INVOICE}]
            until: 2026-04-01
            expect:
              actions:
                - {{type: remnd, tempalte: pre_due, state: overdu, rule: overdue.9}}
              states: {{A2: paid, A1: payd}}
              balances: {{A1: lots}}
          - name: x
            invoices: [{INVOICE}]
            until: 2026-04-01
            expect: {{}}
        """)
    text = load_errors(path)
    assert "unknown action type 'remnd'" in text and "did you mean 'remind'?" in text
    assert "unknown field 'tempalte' in an expected action" in text and "did you mean 'template'?" in text
    assert "'overdu' is not a state of policy b2b_friendly_cl@4" in text
    assert "'overdue.9' is not a rule of policy b2b_friendly_cl@4" in text
    assert "s.test.yaml:9:16: error: no case 'A2' in this scenario" in text
    assert "'payd' is not a state" in text and "did you mean 'paid'?" in text
    assert "balance 'lots' is not an amount" in text
    assert "two cases are named 'x'" in text


def test_a_scenario_may_use_the_dsl_form_of_a_policy(tmp_path):
    path = scenario(tmp_path, f"""\
        cases:
          - name: dsl
            invoices: [{INVOICE}]
            until: 2026-03-04
            expect:
              actions:
                - {{date: 2026-02-27, template: pre_due}}
                - {{date: 2026-03-03, template: first_notice}}
        """, policy=ROOT / "policies" / "b2b_friendly_cl.dunning")
    [r] = results(path)
    assert r.passed, r.report()


def test_finding_files(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.test.yaml").write_text("policy: p.yaml\ncases: []\n")
    (tmp_path / "a" / "other.test.yaml").write_text("steps:\n  - run: something\n")  # another tool's file
    (tmp_path / "b.yaml").write_text("cases: []\n")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "h.test.yaml").write_text("policy: p.yaml\n")
    found = find_scenario_files([tmp_path])
    assert [p.name for p in found] == ["x.test.yaml"]
    assert not looks_like_scenario(tmp_path / "a" / "other.test.yaml")
    # a file named explicitly is taken whatever its name
    assert find_scenario_files([tmp_path / "b.yaml", tmp_path / "b.yaml"]) == [tmp_path / "b.yaml"]


# ------------------------------------------------------------------ matching


ACTION = {"key": "k", "at": "2026-03-03T09:00:00-03:00", "type": "remind", "case": "A1", "invoice": "A1",
          "customer": "C1", "state": "overdue", "rule": "on_enter",
          "params": {"template": "first_notice", "via": ["email", "whatsapp"]}, "amount": None, "currency": "CLP"}
FEE = dict(ACTION, type="fee", rule="overdue.2", params={"percent": "2%", "of": "balance"}, amount="2000")


@pytest.mark.parametrize("fields, action, ok", [
    ({"date": "2026-03-03"}, ACTION, True),
    ({"date": "2026-03-04"}, ACTION, False),
    ({"time": "09:00"}, ACTION, True),
    ({"at": "2026-03-03T09:00"}, ACTION, True),                  # local time of the policy
    ({"at": "2026-03-03T12:00:00Z"}, ACTION, True),               # the same instant
    ({"at": "2026-03-03"}, ACTION, False),                        # a date alone is 00:00
    ({"template": "first_notice", "state": "overdue"}, ACTION, True),
    ({"via": ["email", "whatsapp"]}, ACTION, True),
    ({"via": ["whatsapp", "email"]}, ACTION, False),
    ({"via": "email"}, ACTION, False),                            # a scalar matches a one-item list only
    ({"params": {"template": "first_notice"}}, ACTION, True),
    ({"amount": None}, ACTION, True),
    ({"amount": "2000"}, FEE, True),
    ({"amount": "2000.00"}, FEE, True),
    ({"amount": "2000 CLP"}, FEE, True),
    ({"amount": "2000 USD"}, FEE, False),
    ({"amount": 2000}, FEE, True),
    ({"percent": "2%"}, FEE, True),
    ({"nonexistent": "x"}, ACTION, False),
])
def test_match_action(fields, action, ok):
    from zoneinfo import ZoneInfo

    diffs = match_action(Expected(fields), action, ZoneInfo("America/Santiago"))
    assert (not diffs) is ok, diffs


def test_a_mismatch_names_the_field_with_both_values():
    from zoneinfo import ZoneInfo

    diffs = match_action(Expected({"date": "2026-03-04", "template": "second_notice", "via": "email"}), ACTION,
                         ZoneInfo("America/Santiago"))
    assert diffs == [("date", "2026-03-04", "2026-03-03"), ("template", "second_notice", "first_notice"),
                     ("via", "email", "[email, whatsapp]")]


# ------------------------------------------------------------------ failures and diffs


def test_a_changed_timeline_fails_with_a_side_by_side_diff(tmp_path):
    path = scenario(tmp_path, f"""\
        cases:
          - name: ladder
            invoices: [{INVOICE}]
            until: 2026-03-18
            expect:
              actions:
                - {{date: 2026-02-27, type: remind, template: pre_due}}
                - {{date: 2026-03-04, type: remind, template: first_notice}}
                - {{date: 2026-03-17, type: fee, amount: "2500"}}
                - {{date: 2026-03-20, type: remind, template: never_sent}}
        """)
    [r] = results(path)
    assert r.status == "failed"
    text = r.report()
    assert text.splitlines()[0].endswith("s.test.yaml:3: case 'ladder' failed")
    assert "actions differ (expected 4, got 6):" in text
    lines = text.splitlines()
    row = lambda mark, needle: any(line.startswith(f"  {mark} ") and needle in line for line in lines)
    assert row("=", "L8 2026-02-27 remind pre_due")
    assert row("~", "L9 2026-03-04 remind first_notice") and "      date: expected 2026-03-04, got 2026-03-03" in lines
    assert row("+", "2026-03-10 09:00 remind second_notice")
    assert row("~", "L10 2026-03-17 fee amount=2500") and "      amount: expected 2500, got 2000 CLP" in lines
    assert row("-", "L11 2026-03-20 remind never_sent")
    assert row("+", "offer_plan") and row("+", "task call")


def test_contains_excludes_states_and_balances(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # reports name files relative to the current directory
    path = scenario(tmp_path, f"""\
        cases:
          - name: partial
            invoices: [{INVOICE}]
            events: [{{at: 2026-03-05, type: payment, invoice: A1, amount: "60000"}}]
            until: 2026-04-01
            expect:
              contains:
                - {{type: remind, template: second_notice}}
                - {{type: fee}}
                - {{date: 2026-03-10, template: third_notice}}
              excludes:
                - {{type: remind, template: first_notice}}
              states: {{A1: paid}}
              balances: {{A1: "0"}}
        """)
    [r] = results(path)
    text = r.report()
    assert "expected an action matching {type: fee} (s.test.yaml:10:11), found none" in text
    assert ("expected an action matching {date: 2026-03-10, template: third_notice} (s.test.yaml:11:11), found none; "
            "the closest is #3: template: expected third_notice, got second_notice") in text
    assert "actual timeline:" in text and "  3. 2026-03-10 09:00 remind second_notice" in text
    assert "expected no action matching {type: remind, template: first_notice} (s.test.yaml:13:11), found 1:" in text
    assert "state of A1: expected paid, got overdue (s.test.yaml:14:20)" in text
    assert "balance of A1: expected 0, got 40000 (s.test.yaml:15:22)" in text
    assert "second_notice}" not in text.split("found none")[0]  # the item that matched is not reported


def test_since_hides_earlier_actions(tmp_path):
    path = scenario(tmp_path, f"""\
        cases:
          - name: since
            invoices: [{INVOICE}]
            since: 2026-03-05
            until: 2026-03-11
            expect:
              actions:
                - {{date: 2026-03-10, template: second_notice}}
        """)
    [r] = results(path)
    assert r.passed, r.report()


LOOP = """\
policy: loop
currency: CLP
states:
  a:
    initial: true
    rules:
      - when: balance > 0
        goto: b
  b:
    rules:
      - when: balance > 0
        goto: a
  done:
    final: true
"""


def test_engine_errors_fail_a_case_unless_expected(tmp_path):
    (tmp_path / "loop.yaml").write_text(LOOP)
    path = tmp_path / "s.test.yaml"
    path.write_text(textwrap.dedent(f"""\
        policy: loop.yaml
        cases:
          - name: unexpected
            invoices: [{INVOICE}]
            until: 2026-03-01
            expect: {{actions: []}}
          - name: expected
            invoices: [{INVOICE}]
            until: 2026-03-01
            expect:
              actions: []
              errors: ["more than 64 transitions"]
          - name: expected but absent
            invoices: [{INVOICE}]
            until: 2026-03-01
            expect:
              errors: ["something else"]
        """))
    r1, r2, r3 = results(path)
    assert r1.status == "failed" and "engine error: case A1: more than 64 transitions" in r1.report()
    assert r2.passed, r2.report()
    assert "expected an engine error containing 'something else'" in r3.report()
    assert "unexpected engine error: more than 64 transitions" in r3.report()


INVARIANT_POLICY = """\
policy: inv
currency: CLP
invariants:
  never_paid_with_debt: state != "paid" or balance <= 0
states:
  open:
    initial: true
    rules:
      - on: payment
        goto: paid
  paid:
    final: true
"""


def test_invariants_are_checked_after_every_step_unless_turned_off(tmp_path):
    (tmp_path / "inv.yaml").write_text(INVARIANT_POLICY)
    path = tmp_path / "s.test.yaml"
    path.write_text(textwrap.dedent(f"""\
        policy: inv.yaml
        cases:
          - name: checked
            invoices: [{INVOICE}]
            events: [{{at: 2026-03-05, type: payment, invoice: A1, amount: "1"}}]
            until: 2026-04-01
            expect: {{states: {{A1: paid}}}}
          - name: not checked
            invoices: [{INVOICE}]
            events: [{{at: 2026-03-05, type: payment, invoice: A1, amount: "1"}}]
            until: 2026-04-01
            expect: {{states: {{A1: paid}}, invariants: false}}
        """))
    r1, r2 = results(path)
    assert r1.status == "failed"
    assert ("invariant 'never_paid_with_debt' failed (case A1 at 2026-03-05T00:00:00+00:00): "
            "'state != \"paid\" or balance <= 0' is false in state 'paid' (balance = 99999 CLP, state = paid)"
            ) in r1.report()
    assert r2.passed


def test_a_file_with_errors_gives_one_error_result(tmp_path):
    path = tmp_path / "broken.test.yaml"
    path.write_text("policy: [nope\n")
    [r] = results(path)
    assert r.status == "error" and "broken.test.yaml:" in r.report()


def test_a_policy_change_that_alters_a_timeline_fails(tmp_path):
    """Issue 7, 'done when': editing the policy makes the shipped scenario fail with a clear diff."""
    (tmp_path / "policies").mkdir()
    text = B2B.read_text().replace("      - after: 7 days\n", "      - after: 6 days\n")
    (tmp_path / "policies" / B2B.name).write_text(text)
    (tmp_path / "tests" / "scenarios").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "scenarios" / "b2b_friendly_cl.test.yaml", tmp_path / "tests" / "scenarios")
    out = list(run_scenarios([tmp_path / "tests"]))
    failed = [r for r in out if not r.passed]
    assert failed and all(r.status == "failed" for r in failed)
    report = failed[0].report()
    assert "date: expected 2026-03-10, got 2026-03-09" in report


def test_the_shipped_scenario_suites_pass_and_cover_every_rule():
    from dunning_engine.testing.coverage import Coverage

    out = list(run_scenarios([ROOT / "tests" / "scenarios"]))
    assert len(out) >= 20
    bad = [r.report() for r in out if not r.passed]
    assert not bad, "\n\n".join(bad)
    shipped = {p.resolve() for p in (ROOT / "policies").glob("*.yaml")}
    report = [p for p in Coverage().extend(out).report() if Path(p["path"]).resolve().parent == ROOT / "policies"]
    assert {Path(p["path"]).resolve() for p in report} == shipped  # every shipped policy has a suite...
    for p in report:  # ...that reaches every state and every action
        assert p["states"]["percent"] == 100.0, p["policy"]
        assert p["actions"]["percent"] == 100.0, p["policy"]


def test_records_may_come_from_files_next_to_the_scenario(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "invoices.csv").write_text(
        "id,customer,amount,issued,due\nA1,C1,100000,2026-02-02,2026-03-02\nA2,C1,50000,2026-02-02,2026-03-02\n")
    (tmp_path / "data" / "events.jsonl").write_text(
        '{"type": "payment", "at": "2026-02-20", "invoice": "A2", "amount": "50000"}\n')
    path = scenario(tmp_path, """\
        cases:
          - name: from files
            invoices: data/invoices.csv
            events: data/events.jsonl
            until: 2026-03-04
            expect:
              actions:
                - {date: 2026-02-27, case: A1, template: pre_due}
                - {date: 2026-03-03, case: A1, template: first_notice}
              states: {A1: overdue, A2: paid}
        """)
    [r] = results(path)
    assert r.passed, r.report()
    (tmp_path / "data" / "events.jsonl").write_text('{"type": "payment", "at": "2026-02-30", "invoice": "A2"}\n')
    text = load_errors(path)
    assert "data/events.jsonl:1:1: error: events: field 'at' '2026-02-30' is not an ISO 8601 date" in text
    path.write_text(path.read_text().replace("data/invoices.csv", "data/invoice.csv"))
    text = load_errors(path)
    assert "s.test.yaml:4:15: error: invoices file 'data/invoice.csv' not found" in text
    assert "did you mean 'invoices.csv'?" in text


def test_the_public_names_of_testing_resolve_and_scenario_cases_point_at_their_file(tmp_path):
    """dunning_engine.testing's lazy exports (and scenarios.__all__) still name what they did
    before scenarios.py became a package; a loaded case knows its file, and the file its policy."""
    import dunning_engine.testing as testing
    import dunning_engine.testing.scenarios as scenarios

    for name in testing.__all__:
        assert getattr(testing, name) is not None, name
    for name in scenarios.__all__:
        assert getattr(scenarios, name) is not None, name
    assert testing.run_case is scenarios.run_case and testing.CaseResult is scenarios.CaseResult
    path = scenario(tmp_path, f"""\
        cases:
          - name: one
            invoices: [{INVOICE}]
            until: 2026-03-01
            expect: {{states: {{A1: upcoming}}}}
          - name: two
            invoices: [{INVOICE}]
            until: 2026-03-01
            expect: {{states: {{A1: upcoming}}}}
        """)
    sf = testing.load_scenario_file(path)
    assert [c.name for c in sf.cases] == ["one", "two"]
    assert all(c.file is sf for c in sf.cases)
    assert sf.policy.key.startswith("b2b_friendly_cl@")
    assert [c.line for c in sf.cases] == [3, 7]
