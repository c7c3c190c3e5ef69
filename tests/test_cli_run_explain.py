"""`dunning run` and `dunning explain` end to end on the shipped example."""

import json

from click.testing import CliRunner

from conftest import ROOT

from dunning_engine.cli.main import cli

EX = ROOT / "examples" / "b2b_chile"
POLICY = str(ROOT / "policies" / "b2b_friendly_cl.yaml")
BASE = ["--policy", POLICY, "--invoices", str(EX / "invoices.csv"), "--customers", str(EX / "customers.csv"),
        "--events", str(EX / "events.jsonl"), "--until", "2026-07-31"]


def test_run_writes_actions_and_states(tmp_path):
    out, states = tmp_path / "a.jsonl", tmp_path / "s.jsonl"
    r = CliRunner().invoke(cli, ["run", *BASE, "--out", str(out), "--states", str(states)])
    assert r.exit_code == 0, r.output
    actions = [json.loads(l) for l in out.read_text().splitlines()]
    assert len(actions) == 28
    assert actions[0]["key"] == "b2b_friendly_cl@4/F-1001/upcoming#1/pre_due/1/0"
    fees = [a for a in actions if a["type"] == "fee"]
    # F-1002's dispute stops the clock (goto: return): its fee, due Apr 24, moved past its payment of May 5
    assert [(a["case"], a["amount"]) for a in fees] == [("F-1003", "46000"), ("F-1004", "1900")]
    s = {x["case"]: x for x in map(json.loads, states.read_text().splitlines())}
    assert (s["F-1001"]["state"], s["F-1002"]["state"], s["F-1002"]["balance"]) == ("paid", "paid", "0")


def test_run_is_byte_identical_across_runs(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    CliRunner().invoke(cli, ["run", *BASE, "--out", str(a)])
    CliRunner().invoke(cli, ["run", *BASE, "--out", str(b)])
    assert a.read_bytes() == b.read_bytes() and a.stat().st_size > 0


def test_since_advances_state_silently(tmp_path):
    out = tmp_path / "a.jsonl"
    r = CliRunner().invoke(cli, ["run", *BASE, "--since", "2026-05-01", "--out", str(out)])
    assert r.exit_code == 0
    actions = [json.loads(l) for l in out.read_text().splitlines()]
    assert actions and all(a["at"] >= "2026-05-01" for a in actions)
    full = tmp_path / "full.jsonl"
    CliRunner().invoke(cli, ["run", *BASE, "--out", str(full)])
    tail = [json.loads(l) for l in full.read_text().splitlines() if json.loads(l)["at"] >= "2026-05-01"]
    assert actions == tail


def test_rejected_records_are_reported_and_the_rest_processed(tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text((EX / "events.jsonl").read_text() + '{"type": "payment", "at": "2026-05-01", "invoice": "F-9", "amount": "1"}\n'
                      'not json\n')
    rejects = tmp_path / "rejects.jsonl"
    args = [a if a != str(EX / "events.jsonl") else str(events) for a in BASE]
    r = CliRunner().invoke(cli, ["run", *args, "--out", str(tmp_path / "a.jsonl"), "--rejects", str(rejects)])
    assert r.exit_code == 1
    assert f"{events}:7: rejected: field 'invoice': unknown invoice 'F-9'" in r.output
    assert f"{events}:8: rejected:" in r.output
    rows = [json.loads(l) for l in rejects.read_text().splitlines()]
    assert [x["line"] for x in rows] == [8, 7] or [x["line"] for x in rows] == [7, 8]
    assert len((tmp_path / "a.jsonl").read_text().splitlines()) == 28


def test_explain_text_shows_triggers_guards_values_and_why_not():
    r = CliRunner().invoke(cli, ["explain", *BASE, "--case", "F-1005"])
    assert r.exit_code == 0, r.output
    assert "rule pre_due did not fire: unless vip is true (at due - 3 days)  [vip = true, due = 2026-04-14]" in r.output
    r = CliRunner().invoke(cli, ["explain", *BASE, "--case", "F-1002"])
    assert "return to state overdue, its timers moved 16 days 5 hours later (the time away)" in r.output
    r = CliRunner().invoke(cli, ["explain", *BASE, "--case", "F-1003"])
    assert "rule overdue.2 catch-up: was due 2026-04-19 09:00-04:00" in r.output
    assert "rule overdue.2 fired: at due + 15 days when balance > 50000 CLP  [balance = 2300000 CLP, due = 2026-04-04]" in r.output


def test_explain_one_action_by_key_as_json():
    key = "b2b_friendly_cl@4/F-1003/overdue#2/overdue.2/1/0"
    r = CliRunner().invoke(cli, ["explain", *BASE, "--case", "F-1003", "--key", key, "--format", "json"])
    assert r.exit_code == 0, r.output
    entries = json.loads(r.output)["trace"]
    assert entries[-1]["what"] == "action" and entries[-1]["key"] == key and entries[-1]["amount"] == "46000"
    fired = [e for e in entries if e["what"] == "fired"]
    assert fired[-1]["rule"] == "overdue.2" and fired[-1]["values"]["balance"] == "2300000 CLP"


def test_explain_unknown_case_is_an_error_with_a_hint():
    r = CliRunner().invoke(cli, ["explain", *BASE, "--case", "F-1006"])
    assert r.exit_code == 1 and "no case 'F-1006'" in r.output and "did you mean" in r.output


def test_since_later_than_until_writes_nothing(tmp_path):
    out = tmp_path / "a.jsonl"
    r = CliRunner().invoke(cli, ["run", *BASE[:-1], "2026-04-01", "--since", "2026-05-01", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_text() == ""


def test_malformed_until_or_since_is_wrong_usage():
    bad_until = [a if a != "2026-07-31" else "tomorrow" for a in BASE]
    for args in (["run", *bad_until], ["run", *BASE, "--since", "yesterday"], ["explain", *bad_until, "--case", "F-1001"]):
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 2, (args[0], r.output)
        assert "Traceback" not in r.output and "Invalid value" in r.output


def test_unwritable_output_is_an_error_not_a_traceback(tmp_path):
    for option in ("--out", "--states", "--rejects"):
        target = str(tmp_path / "missing" / "x.jsonl")
        r = CliRunner().invoke(cli, ["run", *BASE, option, target])
        assert r.exit_code == 1, (option, r.output)
        assert f"error: cannot write '{target}': No such file or directory" in r.output
        assert "Traceback" not in r.output


def test_policy_with_an_unknown_suffix_is_named_not_parsed_as_text(tmp_path):
    odd = tmp_path / "policy.txt"
    odd.write_text((ROOT / "policies" / "b2b_friendly_cl.yaml").read_text())
    args = [a if a != POLICY else str(odd) for a in BASE]
    r = CliRunner().invoke(cli, ["run", *args])
    assert r.exit_code == 1 and "cannot tell the form of policy file" in r.output


def test_an_invoice_the_engine_rejects_names_its_line(tmp_path):
    inv = tmp_path / "inv.jsonl"
    inv.write_text('{"id": "S1", "customer": "C1", "amount": "10", "currency": "USD", "issued": "2026-01-01", "due": "2026-01-10"}\n'
                   '{"id": "S2", "customer": "C1", "amount": "10", "currency": "EUR", "issued": "2026-01-02", "due": "2026-01-10"}\n')
    r = CliRunner().invoke(cli, ["run", "--policy", str(ROOT / "policies" / "saas_overdue_usd.yaml"), "--invoices", str(inv),
                                 "--until", "2026-02-01", "--out", str(tmp_path / "a.jsonl")])
    assert r.exit_code == 1
    assert f"{inv}:2: rejected: field 'currency'" in r.output
