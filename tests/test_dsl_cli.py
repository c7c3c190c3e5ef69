"""The commands convert, fmt and graph (click's CliRunner), and the state diagram."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dunning_engine.cli.main import cli
from dunning_engine.policy.graph import render_graph, to_dot, to_mermaid
from dunning_engine.policy.load import load_policy, load_policy_text

ROOT = Path(__file__).resolve().parents[1]
B2B_YAML = ROOT / "policies" / "b2b_friendly_cl.yaml"
B2B_DSL = ROOT / "policies" / "b2b_friendly_cl.dunning"


def invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


# ---------------------------------------------------------------------------
# convert
# ---------------------------------------------------------------------------


def test_convert_yaml_to_dsl_and_back(tmp_path):
    result = invoke("convert", B2B_YAML, "--to", "dsl")
    assert result.exit_code == 0, result.output
    assert result.output == B2B_DSL.read_text()
    assert result.output.startswith("# Friendly B2B collections for Chile")  # comments kept
    dsl = tmp_path / "p.dunning"
    dsl.write_text(result.output)
    back = invoke("convert", dsl, "--to", "yaml")
    assert back.exit_code == 0
    assert back.output == B2B_YAML.read_text()
    assert load_policy_text(back.output, format="yaml") == load_policy(B2B_YAML)


def test_convert_to_the_same_form_formats(tmp_path):
    result = invoke("convert", B2B_DSL, "--to", "dsl")
    assert result.exit_code == 0 and result.output == B2B_DSL.read_text()


def test_convert_reports_errors_with_position(tmp_path):
    bad = tmp_path / "bad.dunning"
    bad.write_text("policy p\ncurrency CLP\nstate a initial:\n    at due + 14 days ->\n")
    result = invoke("convert", bad, "--to", "yaml")
    assert result.exit_code == 1
    assert f"{bad}:4:24: error: a state name is missing after ->" in result.output
    assert "Traceback" not in result.output


def test_convert_reports_every_error(tmp_path):
    bad = tmp_path / "bad.dunning"
    bad.write_text("policy p\ncurrency CLP\nstate a initial:\n    when balanse > 0 -> a\n    on paymnt -> a\n")
    result = invoke("convert", bad, "--to", "yaml")
    assert result.exit_code == 1
    assert "unknown variable 'balanse'" in result.output and "unknown event 'paymnt'" in result.output


def test_convert_needs_a_target_and_a_known_suffix(tmp_path):
    assert invoke("convert", B2B_YAML).exit_code == 2
    assert invoke("convert", B2B_YAML, "--to", "json").exit_code == 2
    other = tmp_path / "p.txt"
    other.write_text("policy: p\n")
    result = invoke("convert", other, "--to", "dsl")
    assert result.exit_code == 1 and "cannot tell the form" in result.output
    missing = invoke("convert", tmp_path / "nope.yaml", "--to", "dsl")
    assert missing.exit_code == 1 and "cannot read policy file" in missing.output


# ---------------------------------------------------------------------------
# fmt
# ---------------------------------------------------------------------------

MESSY = """\
# header comment
policy   p   version 2
currency CLP
state a initial:   # first state
  # before the rule
  rule r at due+1 day when balance>0->b:
      remind "x"   via sms,email
  on payment->b
state b final
"""

CANONICAL = """\
# header comment
policy p version 2
scope invoice
timezone "UTC"
currency CLP
send at 09:00

state a initial:  # first state
    # before the rule
    rule r at due + 1 day when balance > 0 -> b:
        remind "x" via sms, email
    on payment -> b

state b final
"""


def test_fmt_prints_the_canonical_form(tmp_path):
    path = tmp_path / "p.dunning"
    path.write_text(MESSY)
    result = invoke("fmt", path)
    assert result.exit_code == 0
    assert result.output == CANONICAL
    assert path.read_text() == MESSY  # untouched without -w


def test_fmt_check_and_write(tmp_path):
    messy = tmp_path / "messy.dunning"
    messy.write_text(MESSY)
    clean = tmp_path / "clean.dunning"
    clean.write_text(CANONICAL)
    yaml_copy = tmp_path / "b2b.yaml"
    shutil.copy(B2B_YAML, yaml_copy)
    check = invoke("fmt", "--check", messy, clean, yaml_copy)
    assert check.exit_code == 1
    assert check.stdout.splitlines() == [str(messy)]
    write = invoke("fmt", "-w", messy, clean, yaml_copy)
    assert write.exit_code == 0
    assert messy.read_text() == CANONICAL
    assert yaml_copy.read_text() == B2B_YAML.read_text()
    assert invoke("fmt", "--check", messy, clean, yaml_copy).exit_code == 0


def test_fmt_is_idempotent_on_the_shipped_policies():
    files = sorted((ROOT / "policies").glob("*.yaml")) + sorted((ROOT / "policies").glob("*.dunning"))
    assert invoke("fmt", "--check", *files).exit_code == 0


def test_fmt_usage_errors(tmp_path):
    assert invoke("fmt", B2B_YAML, B2B_DSL).exit_code == 2
    assert invoke("fmt", "--check", "-w", B2B_DSL).exit_code == 2


def test_fmt_refuses_to_write_a_broken_file(tmp_path):
    bad = tmp_path / "bad.dunning"
    text = 'policy p\nstate a initial:\n    on enter:\n        remnd "x"\n'
    bad.write_text(text)
    result = invoke("fmt", "-w", bad)
    assert result.exit_code == 1
    assert "unknown action 'remnd'" in result.output
    assert bad.read_text() == text


def test_fmt_keeps_yaml_comments(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("# top\npolicy: p\ncurrency: CLP\nstates:\n  # the start\n  a:\n    initial: true\n"
                    "    rules:\n      # weekly\n      - every: 7 days  # note\n        goto: a\n")
    out = invoke("fmt", path).output
    assert out.startswith("# top\npolicy: p\n")
    assert "  # the start\n  a:\n" in out
    assert "      # weekly\n      - every: 7 days  # note\n" in out
    dsl = invoke("convert", path, "--to", "dsl").output
    assert "    # weekly\n    every 7 days -> a  # note\n" in dsl


# ---------------------------------------------------------------------------
# graph
# ---------------------------------------------------------------------------


def test_graph_mermaid():
    result = invoke("graph", B2B_DSL)
    assert result.exit_code == 0
    out = result.output
    lines = out.splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert "    [*] --> upcoming" in lines
    assert "    paid --> [*]" in lines
    assert ("    overdue --> late: at due + 15 days when balance > 50000 CLP / fee 2% of balance max 100000 CLP"
            in lines)
    assert "    upcoming --> overdue: at due + 1 day" in lines
    # any_state rules from every applicable non-final state, except the excluded one
    assert "    late --> paid: (any state) on payment when balance <= 0" in lines
    assert "    disputed --> disputed: (any state) on dispute_opened" not in lines
    assert "    overdue --> disputed: (any state) on dispute_opened" in lines
    assert not any(line.startswith("    paid --> ") and "[*]" not in line for line in lines)
    # goto return
    assert '    state "(return: the state before, resumed)" as return_state' in lines
    assert "    disputed --> return_state: on dispute_resolved" in lines
    # what does not move is in a note
    assert "        on enter / remind \"first_notice\" via email, whatsapp" in lines
    assert out == to_mermaid(load_policy(B2B_YAML))


def test_graph_any_state_as_note():
    out = invoke("graph", B2B_DSL, "--any-state", "note").output
    assert "(any state)" not in out
    assert "    note left of upcoming" in out
    assert "        any state except disputed: on dispute_opened -> disputed" in out


def test_graph_dot():
    result = invoke("graph", B2B_YAML, "--format", "dot")
    assert result.exit_code == 0
    out = result.output
    assert out.startswith('digraph "b2b_friendly_cl@4" {')
    assert '"__start" -> "upcoming";' in out
    assert '"paid" [label="paid", peripheries=2];' in out
    assert ('"overdue" -> "late" [label="at due + 15 days when balance > 50000 CLP\\nfee 2% of balance max 100000 CLP"];'
            in out)
    assert '"late" -> "paid" [label="on payment when balance <= 0", style=dashed];' in out
    assert out.rstrip().endswith("}")
    if shutil.which("dot"):  # pragma: no cover - only where Graphviz is installed
        subprocess.run(["dot", "-Tsvg"], input=out, text=True, check=True, capture_output=True)


def test_graph_of_a_bad_file(tmp_path):
    bad = tmp_path / "bad.dunning"
    bad.write_text("policy p\nstate a initial:\n    at due ->\n")
    result = invoke("graph", bad)
    assert result.exit_code == 1 and "a state name is missing after ->" in result.output
    assert invoke("graph", B2B_DSL, "--format", "png").exit_code == 2


def test_graph_escapes_and_reserved_names():
    p = load_policy_text(
        'policy p\ncurrency CLP\nstate end initial:\n    on payment -> note:\n'
        '        remind "t" via sms\n        task call note "a#b;c \\"q\\""\nstate note final\n', format="dsl")
    mermaid = to_mermaid(p)
    assert '    state "end" as s_end' in mermaid and '    state "note" as s_note' in mermaid
    assert '    s_end --> s_note: on payment / remind "t" via sms#59; task call note "a#35;b#59;c \\"q\\""' in mermaid
    dot = to_dot(p)
    assert '"end" -> "note" [label="on payment\\nremind \\"t\\" via sms\\ntask call note \\"a#b;c \\\\\\"q\\\\\\"\\""];' in dot
    with pytest.raises(ValueError):
        render_graph(p, "svg")


# ---------------------------------------------------------------------------
# startup
# ---------------------------------------------------------------------------


def test_help_does_not_import_the_parsers():
    code = ("import sys; from dunning_engine.cli.main import cli\n"
            "assert 'lark' not in sys.modules, 'lark imported'\n"
            "assert 'dunning_engine.policy.dsl' not in sys.modules\n"
            "assert 'dunning_engine.policy.printer' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert "convert" in invoke("--help").output
