"""`dunning validate`: every bad input of issue 2 exits 1 with file:line:col, never a traceback."""

import json
import os
import random
import re
import time

import pytest
from click.testing import CliRunner

from conftest import ROOT

from dunning_engine.cli.main import cli

GOOD = """\
policy: p
version: 1
currency: CLP
timezone: America/Santiago
states:
  open:
    initial: true
    rules:
      - at: due + 1 day
        goto: closed
  closed:
    final: true
"""


def validate(tmp_path, text: str | bytes, *args, name="policy.yaml"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    result = CliRunner().invoke(cli, ["validate", *args, str(path)], catch_exceptions=False)
    return result, str(path)


def assert_error_at(result, path, line, col, words):
    assert result.exit_code == 1, result.output
    out = result.output
    assert "Traceback" not in out
    assert f"{path}:{line}:{col}: error:" in out, out
    for w in words:
        assert w in out, out


def test_shipped_policies_are_valid_without_warnings():
    paths = sorted(str(p) for p in (ROOT / "policies").iterdir() if p.suffix in (".yaml", ".dunning"))
    result = CliRunner().invoke(cli, ["validate", "--strict", *paths])
    assert result.exit_code == 0, result.output
    assert result.output == ""  # success is quiet (SPEC §6)
    result = CliRunner().invoke(cli, ["validate", "--strict", "-v", *paths])
    assert "warning" not in result.output
    assert result.output.count(": ok (") == len(paths) >= 6


CASES = [
    ("unknown key", GOOD.replace("    initial: true\n", "    initial: true\n    intial: true\n"), 8, 5,
     ["unknown key 'intial'", "did you mean 'initial'?"]),
    ("undefined goto", GOOD.replace("goto: closed", "goto: closd"), 10, 15, ["undefined state 'closd'", "did you mean 'closed'?"]),
    ("missing initial", GOOD.replace("    initial: true\n", ""), 5, 1, ["no state is marked 'initial: true'"]),
    ("duplicate initial", GOOD.replace("    final: true", "    initial: true"), 11, 3, ["more than one initial state"]),
    ("money vs text", GOOD.replace("at: due + 1 day", "at: due + 1 day\n        when: balance > \"x\""), 10, 15,
     ["cannot compare"]),
    ("two currencies", GOOD.replace("at: due + 1 day", "at: due + 1 day\n        when: 5 USD > 3 CLP"), 10, 15, ["USD", "CLP"]),
    ("date + number", GOOD.replace("at: due + 1 day", "at: due + 1"), 9, 13, ["cannot add number to date"]),
    ("unknown variable", GOOD.replace("at: due + 1 day", "at: dew + 1 day"), 9, 13, ["unknown variable 'dew'", "did you mean 'due'?"]),
    ("bad duration unit", GOOD.replace("at: due + 1 day", "at: due + 1 dya"), 9, 21, ["dya"]),
    ("invalid timezone", GOOD.replace("America/Santiago", "Mars/Olympus"), 4, 11, ["unknown timezone 'Mars/Olympus'"]),
    ("invalid currency", GOOD.replace("currency: CLP", "currency: CLX"), 3, 11, ["unknown currency code 'CLX'"]),
    ("yaml syntax", GOOD.replace("  open:\n", "  open:\n   - [\n"), 9, 10, ["invalid YAML", "flow sequence"]),
    ("missing currency", GOOD.replace("currency: CLP\n", ""), 1, 1, ["the policy has no 'currency:'"]),
    ("dunder access", GOOD.replace("at: due + 1 day", "at: due + 1 day\n        when: invoice.__class__ == 1"), 10, 23,
     ["names starting with '_' are not allowed"]),
    ("empty file", "", 1, 1, ["the policy file is empty"]),
    ("comments only", "# nothing here\n", 1, 1, ["the policy file is empty"]),
]


@pytest.mark.parametrize("name, text, line, col, words", CASES, ids=[c[0] for c in CASES])
def test_bad_policy_is_reported_with_its_position(tmp_path, name, text, line, col, words):
    result, path = validate(tmp_path, text)
    assert_error_at(result, path, line, col, words)


def test_alias_bomb_is_refused_fast(tmp_path):
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i-1}"] * 9) + "]")
    t0 = time.perf_counter()
    result, path = validate(tmp_path, "\n".join(lines) + "\n")
    assert time.perf_counter() - t0 < 1.0
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert re.search(re.escape(path) + r":\d+:\d+: error: .*alias", result.output)


@pytest.mark.parametrize("blob", [bytes(range(256)), b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", random.Random(7).randbytes(64) + b"\xff\xfe"])
def test_binary_garbage_is_an_error_not_a_traceback(tmp_path, blob):
    result, path = validate(tmp_path, blob)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"{path}:1:" in result.output or f"{path}:" in result.output


def test_several_errors_are_reported_in_one_run(tmp_path):
    text = GOOD.replace("goto: closed", "goto: nowhere").replace("currency: CLP", "currency: XXL")
    result, path = validate(tmp_path, text)
    assert result.output.count(": error:") == 2


def test_json_format_for_machines(tmp_path):
    result, path = validate(tmp_path, GOOD.replace("goto: closed", "goto: nope"), "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["policies"] == [{"file": path, "valid": False, "policy": None}]
    errors = doc["diagnostics"]
    assert errors[0]["file"] == path and (errors[0]["line"], errors[0]["column"]) == (10, 15)
    assert errors[0]["help"] == "did you mean 'open'?" or "nope" in errors[0]["message"]


def test_source_line_and_caret_are_shown(tmp_path):
    result, path = validate(tmp_path, GOOD.replace("at: due + 1 day", "at: dew + 1 day"))
    lines = result.output.splitlines()
    i = next(i for i, l in enumerate(lines) if "unknown variable" in l)
    assert lines[i + 2].endswith("      - at: dew + 1 day")
    assert lines[i + 3].endswith("^^^") and lines[i + 3].index("^") == lines[i + 2].index("dew")
    assert lines[i + 4] == "help: did you mean 'due'?"


def test_unknown_file_suffix_and_missing_file(tmp_path):
    result, _ = validate(tmp_path, GOOD, name="policy.txt")
    assert result.exit_code == 1 and "cannot tell the form" in result.output
    result = CliRunner().invoke(cli, ["validate", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 1 and "cannot read policy file" in result.output


def test_usage_errors_exit_2_and_every_command_has_help():
    runner = CliRunner()
    assert runner.invoke(cli, ["validate"]).exit_code == 2
    assert runner.invoke(cli, ["no-such-command"]).exit_code == 2
    for command in cli.commands:
        result = runner.invoke(cli, [command, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, command
