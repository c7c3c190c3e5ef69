"""Explanations read a rule's values once, before its actions run (issue 11).

`dunning run --explain` and `dunning explain` show the same guard values: those the guard read, not the
balance after the rule's own fee.
"""

import json

from click.testing import CliRunner

from conftest import run

from dunning_engine.cli.main import cli
from dunning_engine.engine.explain import case_timeline

FEE_POLICY = """
policy: fee_explain
currency: CLP
states:
  open:
    initial: true
    rules:
      - name: late_fee
        at: due + 15 days
        when: balance > 50000 CLP
        do:
          - fee: {percent: 2%, of: balance}
          - remind: {template: fee_notice}
        goto: late
  late: {}
"""
INV = [{"id": "A1", "customer": "C1", "amount": "2300000", "issued": "2026-01-01", "due": "2026-01-31"}]


def test_run_explain_shows_the_balance_the_guard_read_not_the_balance_after_the_fee():
    r = run(FEE_POLICY, INV, until="2026-03-31", explain=True)
    fee, notice = r.actions
    assert fee["type"] == "fee" and fee["amount"] == 46000
    assert fee["explain"]["values"]["balance"] == "2300000 CLP"
    # every action of the rule carries the same explanation, the one read before the fee
    assert notice["explain"] == fee["explain"]
    fired = [e for e in case_timeline(r.engine, "A1") if e["what"] == "fired"]
    assert fired[-1]["values"] == fee["explain"]["values"]
    assert fired[-1]["guard"] == fee["explain"]["guard"] == "balance > 50000 CLP"


def test_cli_run_explain_and_explain_agree(tmp_path):
    policy = tmp_path / "fee.yaml"
    policy.write_text(FEE_POLICY)
    invoices = tmp_path / "inv.jsonl"
    invoices.write_text("".join(json.dumps(i) + "\n" for i in INV))
    args = ["--policy", str(policy), "--invoices", str(invoices), "--until", "2026-03-31"]
    r = CliRunner().invoke(cli, ["run", *args, "--explain"])
    assert r.exit_code == 0, r.output
    actions = [json.loads(line) for line in r.output.splitlines() if line.startswith("{")]
    fee = next(a for a in actions if a["type"] == "fee")
    assert fee["explain"]["values"] == {"balance": "2300000 CLP", "due": "2026-01-31"}
    r = CliRunner().invoke(cli, ["explain", *args, "--case", "A1", "--key", fee["key"], "--format", "json"])
    assert r.exit_code == 0, r.output
    fired = [e for e in json.loads(r.output)["trace"] if e["what"] == "fired"]
    assert fired[-1]["values"] == fee["explain"]["values"]
