"""The SPEC's own examples, verbatim: §1 YAML and §3 DSL are one policy; §4's action record; §7's scenario."""

from click.testing import CliRunner

from conftest import ROOT

from dunning_engine import load_policy, simulate
from dunning_engine.cli.main import cli

YAML = ROOT / "tests" / "data" / "spec_example.yaml"
DSL = ROOT / "tests" / "data" / "spec_example.dunning"


def test_the_yaml_and_dsl_examples_are_the_same_policy():
    assert load_policy(YAML) == load_policy(DSL)


def test_the_action_record_of_spec_section_4():
    r = simulate(YAML, invoices=[{"id": "INV-7", "customer": "C-12", "amount": "80000", "issued": "2026-01-01",
                                  "due": "2026-01-31"}], until="2026-02-09")
    second = next(a for a in r.actions if a["params"]["template"] == "second_notice")
    assert second == {
        "key": "b2b_friendly@3/INV-7/overdue#1/overdue.1/1/0", "at": "2026-02-08T09:00:00-03:00",
        "type": "remind", "case": "INV-7", "invoice": "INV-7", "customer": "C-12",
        "state": "overdue", "rule": "overdue.1", "params": {"template": "second_notice", "via": ["email"]},
        "amount": None, "currency": "CLP"}


def test_the_scenario_of_spec_section_7_passes():
    r = CliRunner().invoke(cli, ["test", str(ROOT / "tests" / "scenarios" / "spec_example.test.yaml")])
    assert r.exit_code == 0, r.output
    assert "1 passed" in r.output or "passed: 1" in r.output or "1 case" in r.output, r.output
