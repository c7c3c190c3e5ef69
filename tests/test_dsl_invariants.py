"""`invariant NAME: EXPR` in the DSL: the same IR as YAML's `invariants:`, kept by convert and fmt."""

from click.testing import CliRunner

from dunning_engine import load_policy_text
from dunning_engine.cli.main import cli
from dunning_engine.policy.printer import to_dsl, to_yaml

YAML = """policy: inv
currency: USD
invariants:
  fees_ok: fees >= 0
  bounded: balance <= invoice.amount + fees + interest
states:
  s:
    initial: true
    rules:
      - at: due
        do: [{fee: {amount: 5 USD}}]
"""


def test_dsl_and_yaml_invariants_give_the_same_policy():
    y = load_policy_text(YAML, format="yaml")
    d = load_policy_text(to_dsl(y), format="dsl")
    assert d == y and [n for n, _ in d.invariants] == ["fees_ok", "bounded"]
    assert "invariant bounded: balance <= invoice.amount + fees + interest" in to_dsl(y)
    assert load_policy_text(to_yaml(d), format="yaml") == y


def test_an_invariant_must_be_a_condition_and_is_positioned(tmp_path):
    path = tmp_path / "p.dunning"
    path.write_text("policy p\ncurrency USD\ninvariant bad: balance + 1\nstate s initial\n")
    r = CliRunner().invoke(cli, ["validate", str(path)])
    assert r.exit_code == 1 and f"{path}:3:16:" in r.output


def test_convert_keeps_invariants(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(YAML)
    r = CliRunner().invoke(cli, ["convert", str(path), "--to", "dsl"])
    assert r.exit_code == 0 and r.output.count("invariant ") == 2
