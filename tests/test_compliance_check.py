"""``dunning validate`` warnings for policies that cannot keep their contact rules or packs (issue 6)."""

import json

import pytest
from click.testing import CliRunner

from conftest import ROOT, policy

from dunning_engine.cli.main import cli
from dunning_engine.compliance.check import compliance_warnings

BASE = """policy: t
currency: {currency}
timezone: America/Santiago
calendar: CL
states:
  open:
    initial: true
    rules:
{rules}
contact:
{contact}
{rates}"""


def warnings(rules, contact="  compliance: [CL]", currency="CLP", rates='rates:\n  UF: {2026-01-01: "39000"}'):
    text = BASE.format(rules=rules, contact=contact, currency=currency, rates=rates)
    return [(w.code, w.line) for w in compliance_warnings(policy(text))], text


def codes(ws):
    return [c for c, _ in ws[0]]


FEE_AT_15 = """      - at: due + 15 days
        do: [{fee: {amount: 1000}}]
"""


def test_a_fee_before_day_20_under_cl():
    ws, _ = warnings(FEE_AT_15)
    assert ws == [("DC001", 10)]   # the fee itself
    assert codes(warnings(FEE_AT_15.replace("15 days", "20 days"))) == []
    assert codes(warnings(FEE_AT_15.replace("15 days", "2 weeks"))) == ["DC001"]
    assert codes(warnings(FEE_AT_15.replace("at: due + 15 days", "at: due + 15 days\n        when: days_overdue >= 25"))) == []
    # not under CL: no warning
    assert codes(warnings(FEE_AT_15, contact="  compliance: [PE]")) == []


def test_a_fee_in_the_on_enter_of_a_state_entered_early():
    rules = """      - at: due + 10 days
        goto: late
  late:
    on_enter:
      - fee: {percent: 5%, of: balance}
    rules:
      - on: payment
        goto: open
"""
    assert codes(warnings(rules)) == ["DC001"]
    assert codes(warnings(rules.replace("10 days", "30 days"))) == []


def test_a_contact_rule_firing_more_often_than_a_weekly_limit():
    rules = """      - every: 1 day
        do: [{remind: {template: daily}}]
"""
    assert codes(warnings(rules)) == ["DC002", "DC002"]   # 2 per week, and 2 days apart
    assert codes(warnings(rules.replace("1 day", "4 days"))) == []
    # with max: 2 the weekly count holds; the 2-day gap still does not
    assert codes(warnings(rules.replace("every: 1 day", "every: 1 day\n        max: 2"))) == ["DC002"]
    calls = """      - every: 3 days
        do: [{task: {kind: call}}]
"""
    assert codes(warnings(calls)) == ["DC002"]
    own = "  limits:\n    - {max: 1, per: 7 days, via: [sms]}"
    assert codes(warnings(rules.replace("daily}", "daily, via: [sms]}"), contact=own)) == ["DC002"]


def test_a_remind_whose_channels_cannot_go_out_together():
    rules = """      - at: due
        do: [{remind: {template: t, via: [email, whatsapp]}}]
"""
    assert codes(warnings(rules)) == ["DC003"]
    assert codes(warnings(rules, contact="  compliance: [MX]")) == []


def test_windows_that_never_meet():
    contact = '  windows: {sun: "10:00-12:00"}\n  compliance: [CL]'
    assert "DC004" in codes(warnings("      - at: due\n        do: [{task: {kind: review}}]\n", contact=contact))


def test_missing_rate_tables():
    assert codes(warnings(FEE_AT_15.replace("15", "25"), rates="")) == ["DC005"]
    interest = "      - every: 30 days\n        do: [{interest: {annual_rate: 20%}}]\n"
    assert codes(warnings(interest, contact="  compliance: [CL]")) == ["DC005"]   # no TMC: interest not capped
    ws = warnings(interest, contact="  compliance: [EU-B2B]", currency="EUR", rates="")
    assert codes(ws) == ["DC005"]
    undeclared = "      - at: due\n        when: rate(\"IPC\") > 3\n        do: [{task: {kind: review}}]\n"
    assert codes(warnings(undeclared)) == ["DC005"]


def test_pack_currency():
    assert codes(warnings(FEE_AT_15.replace("15", "25"), contact="  compliance: [UK-B2B]")) == ["DC006"]


def test_holidays_false_without_a_calendar():
    text = BASE.format(rules="      - at: due\n        do: [{task: {kind: review}}]\n", contact="  holidays: false",
                       currency="CLP", rates="").replace("calendar: CL\n", "")
    assert [w.code for w in compliance_warnings(policy(text))] == ["DC007"]


def test_warnings_are_policy_errors_with_severity_and_a_position():
    text = BASE.format(rules=FEE_AT_15, contact="  compliance: [CL]", currency="CLP", rates="")
    ws = compliance_warnings(policy(text))
    assert all(w.severity == "warning" for w in ws)
    rendered = ws[0].render()
    assert "warning:" in rendered and "^" in rendered


def write(tmp_path, rules, contact="  compliance: [CL]", rates='rates:\n  UF: {2026-01-01: "39000"}'):
    p = tmp_path / "p.yaml"
    p.write_text(BASE.format(rules=rules, contact=contact, currency="CLP", rates=rates))
    return str(p)


def test_validate_prints_warnings_and_exits_0(tmp_path):
    p = write(tmp_path, FEE_AT_15)
    res = CliRunner().invoke(cli, ["validate", "-v", p])
    assert res.exit_code == 0
    assert "ok (t@1" in res.output
    assert f"{p}:10:15: warning: compliance CL: this fee is charged at 15 days of delay" in res.output


def test_validate_strict_fails_on_warnings(tmp_path):
    p = write(tmp_path, FEE_AT_15)
    assert CliRunner().invoke(cli, ["validate", "--strict", p]).exit_code == 1
    clean = write(tmp_path, FEE_AT_15.replace("15", "25"))
    assert CliRunner().invoke(cli, ["validate", "--strict", clean]).exit_code == 0


def test_validate_json_lists_warnings(tmp_path):
    p = write(tmp_path, FEE_AT_15)
    res = CliRunner().invoke(cli, ["validate", "--format", "json", p])
    doc = json.loads(res.stdout)
    assert doc["policies"][0]["valid"] is True and doc["ok"] is True
    [warning] = doc["diagnostics"]
    assert warning["severity"] == "warning" and warning["code"] == "DC001" and warning["line"] == 10
    assert doc["summary"]["warnings"] == 1


@pytest.mark.parametrize("name", ["b2b_friendly_cl", "saas_overdue_usd"])
def test_shipped_policies_without_packs_limits_have_no_warnings(name):
    from dunning_engine import load_policy

    assert compliance_warnings(load_policy(ROOT / "policies" / f"{name}.yaml")) == []
