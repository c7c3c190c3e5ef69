"""SPEC §6: every command takes the policy the same way, --format means the same everywhere, success
is quiet except where a person asked for a result, usage errors exit 2; and `dunning explain` prints
values and times as a policy author writes them."""

import json
import re

import click
import pytest
from click.testing import CliRunner

from conftest import ROOT

from dunning_engine.cli.main import cli

EX = ROOT / "examples" / "b2b_chile"
POLICY = str(ROOT / "policies" / "b2b_friendly_cl.yaml")
DSL = str(ROOT / "policies" / "b2b_friendly_cl.dunning")
RECORDS = ["--invoices", str(EX / "invoices.csv"), "--customers", str(EX / "customers.csv"),
           "--events", str(EX / "events.jsonl"), "--until", "2026-07-31"]
SCENARIOS = str(ROOT / "tests" / "scenarios" / "spec_example.test.yaml")


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


# ------------------------------------------------------------------ one way to name the policy

# (command, arguments after the policy) for every command that takes one policy
ONE_POLICY = [
    ("run", [*RECORDS, "-q"]),
    ("explain", [*RECORDS, "--case", "F-1002"]),
    ("convert", ["--to", "dsl"]),
    ("graph", ["--format", "dot"]),
    ("check", ["-n", "2", "--days", "60"]),
]
MANY_POLICIES = [("validate", ["-v"]), ("lint", []), ("fmt", ["--check"])]


@pytest.mark.parametrize("command, rest", ONE_POLICY, ids=[c for c, _ in ONE_POLICY])
def test_the_policy_is_given_as_option_or_first_argument_alike(command, rest):
    by_option = invoke(command, "--policy", POLICY, *rest)
    by_argument = invoke(command, POLICY, *rest)
    assert by_option.exit_code == by_argument.exit_code == 0, by_option.output
    assert by_option.stdout == by_argument.stdout and by_option.stdout


@pytest.mark.parametrize("command, rest", MANY_POLICIES, ids=[c for c, _ in MANY_POLICIES])
def test_several_policies_are_given_as_options_or_arguments_alike(command, rest):
    by_option = invoke(command, "--policy", POLICY, "--policy", DSL, *rest)
    by_argument = invoke(command, POLICY, DSL, *rest)
    mixed = invoke(command, "--policy", POLICY, DSL, *rest)
    assert by_option.exit_code == by_argument.exit_code == mixed.exit_code == 0, by_option.output
    assert by_option.output == by_argument.output == mixed.output


@pytest.mark.parametrize("command, rest", ONE_POLICY + MANY_POLICIES, ids=[c for c, _ in ONE_POLICY + MANY_POLICIES])
def test_a_missing_policy_is_wrong_usage(command, rest):
    r = invoke(command, *rest)
    assert r.exit_code == 2, r.output
    assert "give the policy: --policy P, or P as the first argument" in r.output or \
        "give at least one policy file (POLICY... or --policy P)" in r.output


@pytest.mark.parametrize("command, rest", ONE_POLICY, ids=[c for c, _ in ONE_POLICY])
def test_two_different_policies_for_one_is_wrong_usage(command, rest):
    r = invoke(command, "--policy", POLICY, DSL, *rest)
    assert r.exit_code == 2 and "two policies given" in r.output, r.output
    # The same policy twice is not a contradiction.
    assert invoke(command, "--policy", POLICY, POLICY, *rest).exit_code == 0


@pytest.mark.parametrize("command, rest", ONE_POLICY + MANY_POLICIES, ids=[c for c, _ in ONE_POLICY + MANY_POLICIES])
def test_a_policy_file_that_does_not_exist_is_an_input_error_naming_it(tmp_path, command, rest):
    missing = str(tmp_path / "nope.yaml")
    r = invoke(command, "--policy", missing, *rest)
    assert r.exit_code == 1, r.output
    assert f"cannot read policy file '{missing}': No such file or directory" in r.output


# ------------------------------------------------------------------ --format


def commands():
    return {name: cli.commands[name] for name in sorted(cli.commands)}


def test_format_means_text_or_json_wherever_it_is_offered():
    offered = {}
    for name, command in commands().items():
        for p in command.params:
            if "--format" in getattr(p, "opts", ()):
                offered[name] = list(p.type.choices)
                assert p.default == p.type.choices[0]
    assert offered.pop("graph") == ["mermaid", "dot"]
    assert offered.pop("test") == ["text", "json", "junit"]  # JUnit XML for CI systems, kept
    assert offered == {name: ["text", "json"] for name in ("check", "explain", "fmt", "lint", "outbox", "run", "validate")}


@pytest.mark.parametrize("args", [
    ["validate", POLICY], ["explain", POLICY, *RECORDS, "--case", "F-1002"], ["lint", POLICY], ["test", SCENARIOS],
])
def test_json_output_parses(args):
    r = invoke(*args, "--format", "json")
    assert r.exit_code == 0, r.output
    text = r.stdout.strip()
    try:
        json.loads(text)
    except json.JSONDecodeError:
        [json.loads(line) for line in text.splitlines()]  # one object per line


def test_graph_refuses_text_and_json():
    for fmt in ("text", "json"):
        assert invoke("graph", POLICY, "--format", fmt).exit_code == 2


# ------------------------------------------------------------------ quiet success


def test_validate_of_good_files_prints_nothing():
    r = invoke("validate", POLICY, DSL)
    assert (r.exit_code, r.output) == (0, "")
    r = invoke("validate", "-v", POLICY)
    assert r.output == f"{POLICY}: ok (b2b_friendly_cl@4, 7 states)\n"


def test_quiet_commands_when_there_is_nothing_to_say():
    assert invoke("fmt", "--check", DSL).output == ""
    clean = invoke("lint", str(ROOT / "policies" / "saas_overdue_usd.yaml"))
    assert (clean.exit_code, clean.output) == (0, "")


def test_run_writes_a_summary_on_stderr_and_the_same_actions_on_stdout():
    loud = invoke("run", POLICY, *RECORDS)
    quiet = invoke("run", POLICY, *RECORDS, "-q")
    assert loud.exit_code == quiet.exit_code == 0
    assert loud.stdout == quiet.stdout and len(loud.stdout.splitlines()) == 28
    assert quiet.stderr == ""
    assert loud.stderr == ("5 cases (legal 2, paid 3); 28 actions (escalate 2, fee 2, offer_plan 2, remind 20, "
                           "task 2); 0 records rejected\n")


def test_run_summary_counts_rejects_and_written_actions_only(tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text((EX / "events.jsonl").read_text() + "not json\n")
    args = [a if a != str(EX / "events.jsonl") else str(events) for a in RECORDS]
    r = invoke("run", POLICY, *args, "--since", "2026-06-01")
    assert r.exit_code == 1
    written = [json.loads(line)["type"] for line in r.stdout.splitlines()]
    assert r.stderr.splitlines()[-1] == (f"5 cases (legal 2, paid 3); {len(written)} actions (escalate "
                                         f"{written.count('escalate')}); 1 record rejected")
    # With -q the rejected count is still said.
    r = invoke("run", POLICY, *args, "-q")
    assert r.stderr.splitlines()[-1] == "1 record(s) rejected"


def test_run_summary_goes_to_stderr_when_actions_go_to_a_file(tmp_path):
    out = tmp_path / "a.jsonl"
    r = invoke("run", POLICY, *RECORDS, "--out", str(out))
    assert r.stdout == "" and r.stderr.startswith("5 cases (")
    assert out.read_text() == invoke("run", POLICY, *RECORDS, "-q").stdout


# ------------------------------------------------------------------ usage errors exit 2


@pytest.mark.parametrize("args", [
    ["run", POLICY, *RECORDS, "--no-such-option"],
    ["run", POLICY, "--until", "2026-07-31"],                      # --invoices missing
    ["explain", POLICY, *RECORDS],                                 # --case missing
    ["explain", POLICY, *RECORDS, "--case", "F-1002", "--format", "yaml"],
    ["validate", POLICY, "--format", "xml"],
    ["convert", POLICY],                                           # --to missing
    ["convert", POLICY, DSL, "--to", "dsl"],                       # one policy only
    ["fmt", POLICY, DSL],                                          # several need --check or -w
    ["fmt", POLICY, "--check", "-w"],
    ["check", POLICY, "--seed", "abc"],
    ["test"],
    ["nope"],
])
def test_usage_errors_exit_2(args):
    r = invoke(*args)
    assert r.exit_code == 2, (args, r.exit_code, r.output)
    assert "Traceback" not in r.output


# ------------------------------------------------------------------ help texts


def test_help_texts_are_consistent():
    for name, command in commands().items():
        ctx = click.Context(command, info_name=name)
        first = command.get_short_help_str(limit=70)
        assert not first.endswith("...") and first.endswith(("." , ")")), (name, first)
        text = command.get_help(ctx)
        assert re.search(r"\bExit 1\b", text), name  # every command says when it fails
        for p in command.params:
            if isinstance(p, click.Option) and not p.hidden and p.name != "help":
                assert p.help and p.help[0].isupper() or p.help[0] in "-'(" or p.help.split()[0] in (
                    "text", "mermaid"), (name, p.name, p.help)
                assert p.help.rstrip().endswith((".", ")")), (name, p.name, p.help)
        if any("--policy" in getattr(p, "opts", ()) for p in command.params):
            assert "POLICY" in command.collect_usage_pieces(ctx)[-1], name


# ------------------------------------------------------------------ explain: values and times as written


def explain(case, *more):
    r = invoke("explain", POLICY, *RECORDS, "--case", case, *more)
    assert r.exit_code == 0, r.output
    return r.stdout


def test_explain_prints_no_python_reprs():
    text = "".join(explain(c) for c in ("F-1001", "F-1002", "F-1003", "F-1004", "F-1005"))
    for repr_ in ("Decimal(", "datetime.", "['", "{'", "None"):
        assert repr_ not in text, repr_
    assert "    -> remind  template: first_notice; via: email, whatsapp  key b2b_friendly_cl@4/F-1002/overdue#1/" \
           "on_enter/1/0" in text
    assert ("    -> fee 46000 CLP  percent: 2%; of: balance; base: 2300000; computed: 46000.00; max: 100000  "
            "key b2b_friendly_cl@4/F-1003/overdue#2/overdue.2/1/0") in text
    assert "    -> offer_plan 2346000 CLP  installments: 3; every: 30 days; first: 2026-04-28; total: 2346000" in text
    assert "2026-05-05 12:00-04:00  payment 480000 CLP on F-1002 applied to principal 480000 CLP" in text


def test_explain_prints_every_time_in_local_time_with_its_offset():
    text = explain("F-1003")
    times = re.findall(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?(?:[+-]\d{2}:\d{2})?", text)
    assert times and all(re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}[+-]\d{2}:\d{2}", t) for t in times), \
        sorted(set(times))
    lines = text.splitlines()
    assert lines[0] == "2026-03-05 00:00-03:00  enter state upcoming"  # before Chile's DST change of 5 April
    assert "2026-04-21 09:00-04:00  rule overdue.2 catch-up: was due 2026-04-19 09:00-04:00" in lines


def test_explain_json_keeps_machine_values():
    entries = json.loads(explain("F-1003", "--format", "json"))["trace"]
    fee = next(e for e in entries if e.get("type") == "fee")
    assert fee["amount"] == "46000" and fee["at"] == "2026-04-21T09:00:00-04:00"
    first = next(e for e in entries if e.get("what") == "action")
    assert first["params"]["via"] == ["email"]


def test_the_explain_example_of_the_docs_is_what_explain_prints():
    doc = (ROOT / "docs" / "engine.md").read_text()
    sample = doc.split("```text\n2026-03-15", 1)[1].split("```", 1)[0]
    assert explain("F-1005") == "2026-03-15" + sample
    summary = doc.split("  ```text\n  5 cases", 1)[1].split("\n", 1)[0]
    assert invoke("run", POLICY, *RECORDS).stderr == "5 cases" + summary + "\n"
