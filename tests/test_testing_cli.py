"""`dunning test`: discovery, results, formats (text, json, junit), coverage, exit status."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET

from click.testing import CliRunner

from dunning_engine.cli.main import cli

from conftest import ROOT

B2B = ROOT / "policies" / "b2b_friendly_cl.yaml"

PASSING = """\
policy: ../b2b_friendly_cl.yaml
cases:
  - name: first notice
    invoices: [{id: A1, customer: C1, amount: "100000", issued: 2026-02-02, due: 2026-03-02}]
    until: 2026-03-04
    expect:
      actions:
        - {date: 2026-02-27, template: pre_due}
        - {date: 2026-03-03, template: first_notice}
  - name: paid
    invoices: [{id: A1, customer: C1, amount: "100000", issued: 2026-02-02, due: 2026-03-02}]
    events: [{at: 2026-02-10, type: payment, invoice: A1, amount: "100000"}]
    until: 2026-04-01
    expect: {actions: [], states: {A1: paid}}
"""

FAILING = """\
policy: ../b2b_friendly_cl.yaml
cases:
  - name: wrong date
    invoices: [{id: A1, customer: C1, amount: "100000", issued: 2026-02-02, due: 2026-03-02}]
    until: 2026-03-04
    expect:
      actions:
        - {date: 2026-02-27, template: pre_due}
        - {date: 2026-03-04, template: first_notice}
"""


def suite(tmp_path, **files):
    shutil.copy(B2B, tmp_path / B2B.name)
    d = tmp_path / "scenarios"
    d.mkdir()
    for name, text in files.items():
        (d / f"{name}.test.yaml").write_text(text)
    return d


def invoke(*args, cwd=None):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_passing_suite(tmp_path, monkeypatch):
    d = suite(tmp_path, good=PASSING)
    monkeypatch.chdir(tmp_path)
    r = invoke("test", "scenarios")
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[:2] == ["ok    scenarios/good.test.yaml::first notice",
                                         "ok    scenarios/good.test.yaml::paid"]
    assert r.output.rstrip().endswith("2 case(s): 2 passed, 0 failed")


def test_failing_case_prints_the_diff_and_exits_1(tmp_path, monkeypatch):
    suite(tmp_path, good=PASSING, bad=FAILING)
    monkeypatch.chdir(tmp_path)
    r = invoke("test", "scenarios")
    assert r.exit_code == 1
    assert "FAIL  scenarios/bad.test.yaml::wrong date" in r.output
    assert "scenarios/bad.test.yaml:3: case 'wrong date' failed" in r.output
    assert "  ~ L9 2026-03-04 template=first_notice" in r.output and "date: expected 2026-03-04, got 2026-03-03" in r.output
    assert r.output.rstrip().endswith("3 case(s): 2 passed, 1 failed")
    quiet = invoke("test", "-q", "scenarios")
    assert "ok " not in quiet.output and "FAIL  scenarios/bad.test.yaml::wrong date" in quiet.output


def test_no_case_found_is_a_failure(tmp_path):
    (tmp_path / "empty").mkdir()
    r = invoke("test", str(tmp_path / "empty"))
    assert r.exit_code == 1
    assert "no scenario case found" in r.output
    r = invoke("test", "--format", "json", str(tmp_path / "empty"))
    assert r.exit_code == 1 and json.loads(r.stdout)["summary"]["cases"] == 0


def test_missing_path_is_an_input_error_naming_it(tmp_path):
    # A file that cannot be read is a failure of the input (exit 1) in every command, not wrong usage.
    r = invoke("test", str(tmp_path / "nope"))
    assert r.exit_code == 1
    assert f"cannot read scenario file '{tmp_path / 'nope'}'" in r.output


def test_a_bad_scenario_file_is_reported_with_its_position(tmp_path, monkeypatch):
    suite(tmp_path, good=PASSING, broken=PASSING.replace("until: 2026-03-04", "untill: 2026-03-04"))
    monkeypatch.chdir(tmp_path)
    r = invoke("test", "scenarios")
    assert r.exit_code == 1
    assert "ERROR scenarios/broken.test.yaml" in r.output
    assert "scenarios/broken.test.yaml:5:5: error: unknown key 'untill' in a case" in r.output
    assert "2 passed, 0 failed, 1 file(s) with errors" in r.output


def test_match_selects_cases(tmp_path):
    d = suite(tmp_path, good=PASSING)
    r = invoke("test", "-k", "paid", str(d))
    assert r.exit_code == 0 and "1 case(s): 1 passed" in r.output


def test_json_format(tmp_path, monkeypatch):
    suite(tmp_path, good=PASSING, bad=FAILING)
    monkeypatch.chdir(tmp_path)
    r = invoke("test", "--format", "json", "--coverage", "scenarios")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["ok"] is False
    assert doc["summary"] == {"cases": 3, "passed": 2, "failed": 1, "files_with_errors": 0,
                              "errors": 1, "warnings": 0, "notes": 0}
    [failed] = doc["diagnostics"]
    assert failed["code"] == "scenario-failed" and failed["file"] == "scenarios/bad.test.yaml"
    assert failed["line"] == 3 and failed["case"] == "wrong date"
    bad = next(x for x in doc["results"] if x["status"] == "failed")
    assert bad["file"] == "scenarios/bad.test.yaml" and bad["case"] == "wrong date" and bad["line"] == 3
    assert "date: expected 2026-03-04, got 2026-03-03" in bad["failures"][0]
    [cov] = doc["coverage"]
    assert cov["policy"] == "b2b_friendly_cl@4" and cov["cases"] == 3
    assert cov["rules"]["total"] == 11
    fired = {r["name"] for r in cov["details"]["rules"] if r["covered"]}
    assert fired == {"pre_due", "upcoming.2", "any_state.1"}


def test_junit_to_stdout_and_to_a_file(tmp_path, monkeypatch):
    suite(tmp_path, good=PASSING, bad=FAILING)
    monkeypatch.chdir(tmp_path)
    r = invoke("test", "--format", "junit", "scenarios")
    assert r.exit_code == 1
    root = ET.fromstring(r.stdout)
    assert root.tag == "testsuites" and root.get("tests") == "3" and root.get("failures") == "1"
    cases = root.findall("./testsuite/testcase")
    assert {c.get("name") for c in cases} == {"first notice", "paid", "wrong date"}
    failure = next(c for c in cases if c.get("name") == "wrong date").find("failure")
    assert "date: expected 2026-03-04, got 2026-03-03" in failure.text
    r = invoke("test", "--junit", "report.xml", "scenarios")
    assert r.exit_code == 1 and "FAIL" in r.output
    assert ET.parse(tmp_path / "report.xml").getroot().get("tests") == "3"


def test_coverage_text_lists_what_never_fired(tmp_path, monkeypatch):
    suite(tmp_path, good=PASSING)
    monkeypatch.chdir(tmp_path)
    r = invoke("test", "--coverage", "scenarios")
    assert r.exit_code == 0
    out = r.output
    assert "coverage of b2b_friendly_cl@4 (b2b_friendly_cl.yaml), 2 case(s):" in out
    assert "  rules fired:      3/11 (27%)" in out
    assert "  rules that never fired:" in out and "    overdue.1" in out and "b2b_friendly_cl.yaml:33:9" in out
    assert "  actions never emitted:" in out and 'late.2.do[0]' in out and "escalate to legal" in out


def test_the_shipped_suites_pass_from_the_command_line():
    r = invoke("test", "-q", str(ROOT / "tests" / "scenarios"))
    assert r.exit_code == 0, r.output
