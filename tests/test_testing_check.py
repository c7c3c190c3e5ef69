"""`dunning check`, policy invariants and the step-by-step checked run (issue 7)."""

from __future__ import annotations

import json
import textwrap

import pytest
from click.testing import CliRunner

from dunning_engine import PolicyError, load_policy_text
from dunning_engine.cli.main import cli
from dunning_engine.testing import check_policy
from dunning_engine.testing.runner import run_checked
from dunning_engine.testing.scenarios import load_scenario_file, run_case

from conftest import ROOT

BUGGY = ROOT / "tests" / "data" / "buggy_policy.yaml"
EXAMPLES = 100  # Hypothesis draws differ with what the process has imported: leave room


def policy(text: str):
    return load_policy_text(textwrap.dedent(text), format="yaml", name="p.yaml")


# ------------------------------------------------------------------ the invariants key


def test_invariants_are_part_of_the_ir():
    p = policy("""\
        policy: p
        currency: CLP
        segments:
          settled: balance <= 0
        invariants:
          paid_means_settled: state != "paid" or settled
          fees_capped: fees <= 10% * invoice.amount
        states:
          a: {initial: true}
        """)
    assert [name for name, _ in p.invariants] == ["paid_means_settled", "fees_capped"]
    assert p.invariants[0][1].canonical == 'state != "paid" or settled'


@pytest.mark.parametrize("text, message, where", [
    ("  bad: balance", "invariant 'bad'", "p.yaml:4:8"),                            # money, not a bool
    ("  typo: balanse > 0", "unknown variable 'balanse'", "p.yaml:4:9"),
    ("  evt: event.amount > 0", "event", "p.yaml:4:8"),                              # no event outside on: rules
    ("  Bad-Name: true", "invariant name 'Bad-Name' is not a valid name", "p.yaml:4:3"),
    ("  empty:", "invariant 'empty' is empty", "p.yaml:4:"),
])
def test_invariant_errors_are_positioned(text, message, where):
    src = f"policy: p\ncurrency: CLP\ninvariants:\n{text}\nstates:\n  a: {{initial: true}}\n"
    with pytest.raises(PolicyError) as e:
        load_policy_text(src, format="yaml", name="p.yaml")
    rendered = e.value.render()
    assert message in rendered and where in rendered, rendered


def test_invariants_must_be_a_mapping():
    with pytest.raises(PolicyError) as e:
        load_policy_text("policy: p\ninvariants: [a]\nstates:\n  a: {initial: true}\n", format="yaml", name="p.yaml")
    assert "p.yaml:2:13: error: invariants must be a mapping" in e.value.render()


# ------------------------------------------------------------------ the checked run

INVOICE = {"id": "A1", "customer": "C1", "amount": "1000", "issued": "2026-01-01", "due": "2026-01-31"}


def test_checked_run_gives_the_same_actions_as_simulate():
    from dunning_engine import simulate

    p = ROOT / "policies" / "b2b_friendly_cl.yaml"
    events = [{"at": "2026-02-05", "type": "promise_to_pay", "invoice": "A1", "date": "2026-02-10"}]
    a = run_checked(str(p), invoices=[INVOICE], events=events, until="2026-06-01")
    b = simulate(str(p), invoices=[INVOICE], events=events, until="2026-06-01")
    assert a.violations == []
    assert a.actions == b.actions and a.result.states == b.states


def test_a_step_is_one_processed_instant_of_a_case():
    p = policy("""\
        policy: p
        currency: CLP
        invariants:
          small_fees: fees < 300
        states:
          a:
            initial: true
            rules:
              - every: 1 day
                max: 5
                do:
                  - fee: {amount: 100}
        """)
    run = run_checked(p, invoices=[INVOICE], until="2026-02-01")
    [v] = run.violations
    # entered 2026-01-01 00:00; fees 100, 200, 300 at 00:00 on the 2nd, 3rd and 4th
    assert v.invariant == "small_fees" and not v.builtin and v.case == "A1"
    assert v.at == "2026-01-04T00:00:00+00:00"
    assert v.message == "'fees < 300' is false in state 'a' (fees = 300 CLP)"


def test_engine_errors_are_violations():
    p = policy("""\
        policy: p
        currency: CLP
        states:
          a:
            initial: true
            rules:
              - when: balance > 0
                goto: a
        """)
    run = run_checked(p, invoices=[INVOICE], until="2026-02-01")
    assert [v.invariant for v in run.violations] == ["no_engine_errors"]
    assert "more than 64 transitions" in run.violations[0].message


# ------------------------------------------------------------------ dunning check


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    """One fuzzing run over the planted bug, through the command line, shared by the tests below."""
    out = tmp_path_factory.mktemp("check") / "sub" / "found.test.yaml"
    out.parent.mkdir()
    r = CliRunner().invoke(cli, ["check", str(BUGGY), "-n", str(EXAMPLES), "--out", str(out)])
    return r, out


@pytest.mark.slow
def test_check_finds_the_planted_bug_and_prints_a_minimal_scenario(found):
    """Issue 7, 'done when': dunning check finds a planted bug and prints a minimal failing scenario."""
    r, out = found
    assert r.exit_code == 1, r.output
    assert r.stdout.startswith("buggy_reminders@1: invariant 'paid_means_settled' failed (case I1 at "
                               "2026-01-03T00:00:00-03:00): 'state != \"paid\" or balance <= 0' is false in state "
                               "'paid' (balance = 500 CLP, state = paid)")
    assert "minimal failing scenario (save it as a *.test.yaml file and run 'dunning test' on it):" in r.stdout
    scenario = out.read_text()
    assert scenario in r.stdout.replace("relative to the directory dunning check ran in", "relative to this file") \
        or scenario.splitlines()[4:] == r.stdout[r.stdout.index("# Found"):].splitlines()[4:]
    # minimal: one invoice of the smallest amount, one partial payment, a horizon just past the failure
    body = [line for line in scenario.splitlines() if not line.lstrip().startswith("#")]
    assert body[1:] == [
        "cases:",
        '  - name: "check: paid_means_settled"',
        "    invoices:",
        '      - {id: I1, customer: C1, amount: "1000", issued: 2026-01-01, due: 2026-01-01}',
        "    events:",
        '      - {at: 2026-01-03, type: payment, invoice: I1, amount: "500"}',
        "    until: 2026-01-04",
        "    expect:",
        "      invariants: true",
    ]
    assert body[0].startswith('policy: "../../') and body[0].endswith('tests/data/buggy_policy.yaml"')


def test_the_printed_scenario_fails_until_the_bug_is_fixed(found, tmp_path):
    _, out = found
    [case] = load_scenario_file(out).cases
    result = run_case(case)
    assert result.status == "failed"
    assert "invariant 'paid_means_settled' failed (case I1 at 2026-01-03T00:00:00-03:00)" in result.report()
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(BUGGY.read_text().replace("when: balance < invoice.amount", "when: balance <= 0"))
    moved = tmp_path / "found.test.yaml"
    text = out.read_text()
    policy_line = next(line for line in text.splitlines() if line.startswith("policy:"))
    moved.write_text(text.replace(policy_line, "policy: fixed.yaml"))
    [case] = load_scenario_file(moved).cases
    assert run_case(case).passed
    again = CliRunner().invoke(cli, ["check", str(fixed), "-n", "30"])
    assert again.exit_code == 0, again.output
    assert again.output.startswith("buggy_reminders@1: ok, 30 example(s) (seed 0); invariants held: ledger_balanced")
    assert again.output.rstrip().endswith("deterministic, paid_means_settled, fees_capped")


@pytest.mark.slow
def test_check_json_output(tmp_path):
    p = tmp_path / "neg.yaml"
    p.write_text("policy: neg\ncurrency: USD\ninvariants:\n  impossible: balance < 0\nstates:\n  open: {initial: true}\n")
    r = CliRunner().invoke(cli, ["check", str(p), "-n", "10", "--format", "json"])
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["ok"] is False and doc["policy"] == "neg@1" and doc["seed"] == 0 and doc["examples"] == 10
    assert doc["violation"] == {"invariant": "impossible", "builtin": False, "case": "I1",
                                "at": "2026-01-01T00:00:00+00:00",
                                "message": "'balance < 0' is false in state 'open' (balance = 1.00 USD)"}
    assert doc["portfolio"] == {"invoices": [{"id": "I1", "customer": "C1", "amount": "1", "issued": "2026-01-01",
                                              "due": "2026-01-01"}],
                                "customers": [], "events": [], "until": "2026-01-02"}
    assert doc["scenario"].startswith("# Found by 'dunning check' on neg@1 (seed 0, 10 examples)")
    assert "impossible" in doc["invariants"] and "ledger_balanced" in doc["invariants"]


@pytest.mark.slow
def test_check_finds_a_chain_that_only_some_inputs_reach():
    p = policy("""\
        policy: looping
        currency: CLP
        states:
          open:
            initial: true
            rules:
              - on: [payment, credit_note, dispute_opened, promise_to_pay]
                goto: disputed
          disputed:
            rules:
              - when: balance > 0
                goto: review
          review:
            rules:
              - when: balance > 0
                goto: disputed
        """)
    result = check_policy(p, examples=50)
    assert not result.ok and result.violation.invariant == "no_engine_errors"
    # one event that leaves something owed: a full payment would end the loop's guard
    [event] = result.portfolio.events
    assert event["type"] in ("payment", "credit_note", "dispute_opened", "promise_to_pay")
    assert event["type"] not in ("payment", "credit_note") or event["amount"] != result.portfolio.invoices[0]["amount"]


@pytest.mark.parametrize("name", ["b2b_friendly_cl", "consumer_mx", "saas_overdue_usd", "consumer_installments_cl",
                                  "early_pay_discount_usd"])
def test_shipped_policies_pass_check(name):
    path = ROOT / "policies" / f"{name}.yaml"
    if not path.exists():
        pytest.skip(f"{name} is not shipped")
    result = check_policy(path, examples=25)
    assert result.ok, result.render()


def test_seed_option():
    r = CliRunner().invoke(cli, ["check", str(BUGGY), "-n", "5", "--seed", "nope"])
    assert r.exit_code == 2 and "--seed" in r.output
    r = CliRunner().invoke(cli, ["check", str(ROOT / "policies" / "saas_overdue_usd.yaml"), "-n", "5", "--seed", "random"])
    assert r.exit_code == 0 and "(seed None)" in r.output


def test_check_reports_a_bad_policy_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("policy: bad\ncurrency: CLP\nstates: {a: {initial: true}}\ninvariants: {x: balanse > 0}\n")
    r = CliRunner().invoke(cli, ["check", str(bad)])
    assert r.exit_code == 1 and "bad.yaml:4:17: error: unknown variable 'balanse'" in r.output
    assert "Traceback" not in r.output
