"""One diagnostic type with stable codes (issue 11), and one JSON shape for every command (docs/cli.md).

- The registry (``dunning_engine.codes``) and the source agree: every code the source gives a
  diagnostic is registered (with the severity it is raised with), every registered code is used,
  and every error, reject or finding is raised with a code (read from the source's syntax tree).
- docs/diagnostics.md holds the registry's table; the example of docs/cli.md is what lint prints.
- Every command's ``--format json`` output is one document that conforms to the shape (a small
  hand-written schema check), in success, failure, and when an error stops the command.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import ROOT

from dunning_engine import Diagnostic, EngineError, Location, PolicyError, PolicyErrors, RecordError, Source
from dunning_engine.cli.main import cli
from dunning_engine.cli.report import DIAGNOSTIC_KEYS
from dunning_engine.codes import CODES, markdown_table
from dunning_engine.errors import SEVERITIES

SRC = ROOT / "src" / "dunning_engine"
POLICY = str(ROOT / "policies" / "b2b_friendly_cl.yaml")
DSL = str(ROOT / "policies" / "b2b_friendly_cl.dunning")
EX = ROOT / "examples" / "b2b_chile"
RECORDS = ["--invoices", str(EX / "invoices.csv"), "--customers", str(EX / "customers.csv"),
           "--events", str(EX / "events.jsonl")]
DEFECTS = str(ROOT / "tests" / "data" / "lint_defects.yaml")
SCENARIO = str(ROOT / "tests" / "scenarios" / "spec_example.test.yaml")

# The classes whose every construction must name a code, and where the code is when given positionally.
CONSTRUCTORS = {"PolicyError": None, "RecordError": None, "EngineError": None, "Reject": None, "Diagnostic": 0}


# ------------------------------------------------------------------ the registry and the source


def _calls():
    """(file, call node, function name) for every call in the package (but the registry itself)."""
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "codes.py" and path.parent == SRC:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
                yield path, node, name, tree


def _code_arg(call: ast.Call, name: str | None):
    for k in call.keywords:
        if k.arg == "code":
            return k.value
    position = CONSTRUCTORS.get(name or "")
    if position is not None and len(call.args) > position:
        return call.args[position]
    return None


def _strings(node) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{node.lineno}"


def test_every_error_reject_and_finding_is_raised_with_a_registered_code():
    uncoded, unknown, used = [], [], set()
    for path, call, name, _ in _calls():
        if name == "Pack":  # compliance packs have a country 'code', not a diagnostic one
            continue
        code = _code_arg(call, name)
        if code is None:
            if name in CONSTRUCTORS:
                uncoded.append(_where(path, call))
            continue
        if isinstance(code, ast.Constant):
            if code.value not in CODES:
                unknown.append(f"{_where(path, call)}: {code.value!r}")
            used.add(code.value)
        elif name in CONSTRUCTORS:
            # passed through (``code=code``, ``code=e.code or "invalid-record"``): its literals count too
            for value in _strings(code):
                (used.add(value) if value in CODES else unknown.append(f"{_where(path, call)}: {value!r}"))
    assert not uncoded, "raised without a code (add code=..., and the code to dunning_engine/codes.py):\n" + \
        "\n".join(uncoded)
    assert not unknown, "codes missing from dunning_engine/codes.py:\n" + "\n".join(unknown)
    assert len(used) > 100


def test_every_registered_code_is_used_in_the_source():
    literals: set[str] = set()
    for path in SRC.rglob("*.py"):
        if not (path.name == "codes.py" and path.parent == SRC):
            literals |= _strings(ast.parse(path.read_text(encoding="utf-8")))
    unused = sorted(set(CODES) - literals)
    assert not unused, f"registered but never raised (remove them, or raise them): {unused}"


def test_a_code_is_raised_with_its_registered_severity():
    wrong = []
    for path, call, name, _ in _calls():
        code = _code_arg(call, name)
        if name not in CONSTRUCTORS or not isinstance(code, ast.Constant):
            continue
        given = next((k.value for k in call.keywords if k.arg == "severity"), None)
        if given is None and name == "Diagnostic" and len(call.args) > 2:
            given = call.args[2]
        if given is not None and not isinstance(given, ast.Constant):
            continue
        severity = "error" if given is None else given.value
        if CODES[code.value].severity != severity:
            wrong.append(f"{_where(path, call)}: {code.value} raised as {severity}, "
                         f"registered as {CODES[code.value].severity}")
    assert not wrong, "\n".join(wrong)


def test_helpers_that_pass_a_code_on_require_one():
    """A helper that builds a diagnostic from its ``code`` parameter gives that parameter no default, so
    that a call without a code fails (and shows in review), not a diagnostic without one."""
    loose = []
    for path in sorted(SRC.rglob("*.py")):
        for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) or fn.name == "__init__":
                continue
            args = fn.args
            positional = args.posonlyargs + args.args
            defaults = dict(zip([a.arg for a in positional[len(positional) - len(args.defaults):]], args.defaults))
            defaults |= {a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None}
            if "code" not in defaults:
                continue
            for call in ast.walk(fn):
                if isinstance(call, ast.Call) and any(k.arg == "code" and isinstance(k.value, ast.Name)
                                                      and k.value.id == "code" for k in call.keywords):
                    loose.append(_where(path, fn))
                    break
    assert not loose, loose


def test_registry_entries_are_well_formed():
    for code, entry in CODES.items():
        assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*|D[LC]\d{3}", code), code
        assert entry.severity in SEVERITIES, code
        assert entry.meaning and "\n" not in entry.meaning and "|" not in entry.meaning, code
        assert (entry.name is not None) == code.startswith(("DL", "DC")), code
    from dunning_engine.compliance.check import CODES as compliance
    from dunning_engine.policy.lint import CODES as lint

    assert set(lint) == {c for c in CODES if c.startswith("DL")} and lint["DL003"][0] == "shadowed-rule"
    assert compliance["DC001"] == "fee-before-allowed"


def test_the_docs_list_every_code():
    doc = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    table = doc.split("<!-- codes: generated -->\n", 1)[1].split("<!-- end of codes -->", 1)[0]
    assert table == markdown_table(), "regenerate the table: python -m dunning_engine.codes"


# ------------------------------------------------------------------ the Diagnostic type


def test_a_policy_error_is_a_diagnostic_rendered_as_before():
    src = Source("p.yaml", "states:\n  when: balanse > 0\n")
    e = PolicyError("unknown variable 'balanse'", Location(src, 2, 9, 7), help="did you mean 'balance'?",
                    code="unknown-variable")
    d = e.diagnostic
    assert (d.code, d.severity, d.file, d.line, d.column, d.end) == ("unknown-variable", "error", "p.yaml", 2, 9,
                                                                     (2, 16))
    assert d.render() == e.render() == str(e) == textwrap.dedent("""\
        p.yaml:2:9: error: unknown variable 'balanse'
          |
        2 |   when: balanse > 0
          |         ^^^^^^^
        help: did you mean 'balance'?""")
    assert list(d.to_dict()) == list(DIAGNOSTIC_KEYS)
    both = PolicyErrors([e, PolicyError("no code", Location(src, 1, 1))])
    assert [x.code for x in both.diagnostics] == ["invalid-policy", "unknown-variable"]  # in file order


def test_the_end_stops_at_the_end_of_the_line():
    src = Source("p.yaml", "ab\n")
    assert Diagnostic("syntax", "x", location=Location(src, 1, 2, 40)).end == (1, 3)
    assert Diagnostic("syntax", "x", location=Location(None, 3, 4, 5)).end == (3, 9)
    assert Diagnostic("syntax", "x").end is None


def test_numbered_codes_show_their_name_and_notes_follow():
    src = Source("p.yaml", "a: 1\na: 2\n")
    note = Diagnostic("duplicate-key", "first given here", "note", Location(src, 1, 1))
    d = Diagnostic("DL001", "state 'a' is unreachable", "warning", Location(src, 2, 1), notes=(note,))
    text = d.render()
    assert text.startswith("p.yaml:2:1: warning: state 'a' is unreachable [DL001 unreachable-state]")
    assert text.endswith("p.yaml:1:1: note: first given here\n  |\n1 | a: 1\n  | ^")
    assert d.to_dict()["notes"][0]["severity"] == "note"


def test_records_and_cases_are_diagnostics_too():
    r = RecordError("'amount' is empty", file="inv.csv", line=4, field="amount", code="empty-field")
    assert r.render() == "inv.csv:4: rejected: field 'amount': 'amount' is empty"  # the text is unchanged
    d = r.diagnostic
    assert (d.code, d.file, d.line, d.column, d.field) == ("empty-field", "inv.csv", 4, None, "amount")
    assert d.render() == "inv.csv:4: error: 'amount' is empty"
    assert r.to_dict() == {"file": "inv.csv", "line": 4, "field": "amount", "reason": "'amount' is empty",
                           "record": None}  # the rejects file keeps its shape
    e = EngineError("no plan", case="F-1", code="plan-not-offered", severity="warning")
    assert (e.diagnostic.case, e.diagnostic.severity, str(e)) == ("F-1", "warning", "case F-1: no plan")
    assert RecordError("bad").diagnostic.code == "invalid-record"
    assert EngineError("bad").diagnostic.code == "case-failed"


def test_record_rejects_carry_the_code_of_their_problem(tmp_path):
    from dunning_engine import simulate

    text = "policy: p\ncurrency: USD\nstates:\n  a: {initial: true}\n"
    inv = tmp_path / "inv.csv"
    inv.write_text("id,customer,amount,issued,due\nI1,C1,10,2026-01-01,2026-01-31\nI1,C1,10,2026-01-01,2026-01-31\n"
                   "I2,C1,,2026-01-01,2026-01-31\nI3,C1,10.001,2026-01-01,2026-01-31\n"
                   "I4,C1,10,2026-02-01,2026-01-31\n")
    events = tmp_path / "ev.jsonl"
    events.write_text('{"type": "payment", "at": "2026-01-05", "invoice": "I9", "amount": "1"}\n{"type": \n')
    from dunning_engine import load_policy_text

    result = simulate(load_policy_text(text), invoices=str(inv), events=str(events), until="2026-02-01")
    assert [(r.line, r.code) for r in result.rejects] == [
        (3, "duplicate-id"), (4, "missing-field"), (5, "invalid-amount"), (6, "date-order"),
        (1, "unknown-invoice"), (2, "invalid-json")]


def test_lint_findings_are_diagnostics_with_the_registry_severity():
    from dunning_engine import load_policy
    from dunning_engine.policy.lint import lint_policy

    findings = lint_policy(load_policy(DEFECTS))
    assert all(isinstance(f, Diagnostic) and f.severity == CODES[f.code].severity for f in findings)
    assert lint_policy(load_policy(DEFECTS), ignore=["unreachable-state", "dl002"])[-1].code == "DL005"


def test_compliance_warnings_text_is_unchanged(tmp_path):
    from dunning_engine import load_policy_text
    from dunning_engine.compliance.check import compliance_warnings

    p = load_policy_text(textwrap.dedent("""\
        policy: t
        currency: CLP
        calendar: CL
        contact:
          compliance: [CL]
        rates:
          UF: {2026-01-01: "39000"}
        states:
          open:
            initial: true
            rules:
              - at: due + 15 days
                do: [{fee: {amount: 1000 CLP}}]
        """), name="p.yaml")
    [w] = compliance_warnings(p)
    assert w.code == "DC001" and w.severity == "warning" and "[DC" not in w.message
    assert w.render().splitlines()[0].endswith("so it is capped to zero and not charged "
                                               "[DC001 fee-before-allowed]")


# ------------------------------------------------------------------ one JSON shape


def _check_diagnostic(d: dict) -> None:
    assert list(d) == list(DIAGNOSTIC_KEYS), list(d)
    assert d["severity"] in SEVERITIES and d["code"] in CODES
    assert isinstance(d["message"], str) and d["message"] and "\n" not in d["message"]
    for key in ("file", "help", "field", "case"):
        assert d[key] is None or isinstance(d[key], str), key
    for key in ("line", "column", "end_line", "end_column"):
        assert d[key] is None or (isinstance(d[key], int) and d[key] >= 1), key
    if d["column"] is not None:
        assert d["line"] is not None and (d["end_line"], d["end_column"]) > (d["line"], d["column"])
    assert isinstance(d["notes"], list)
    for note in d["notes"]:
        _check_diagnostic(note)


def check_document(text: str, command: str, exit_code: int) -> dict:
    """The hand-written schema of docs/cli.md: parse ``text`` and check every key and type."""
    doc = json.loads(text)
    assert list(doc)[:5] == ["version", "command", "ok", "summary", "diagnostics"], list(doc)
    assert doc["version"] == 1 and doc["command"] == command
    assert doc["ok"] is (exit_code == 0), (doc["ok"], exit_code)
    summary = doc["summary"]
    assert isinstance(summary, dict) and all(isinstance(k, str) for k in summary)
    for d in doc["diagnostics"]:
        _check_diagnostic(d)
    for severity in SEVERITIES:
        assert summary[severity + "s"] == sum(1 for d in doc["diagnostics"] if d["severity"] == severity)
    if doc["diagnostics"] and any(d["severity"] == "error" for d in doc["diagnostics"]):
        assert doc["ok"] is False or command in ("validate", "lint")  # errors fail the command
    return doc


def invoke(*args: str, cwd: Path | None = None):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text("policy: bad\nstates: {a: {initial: tru}}\ncurrency: CLP\n")
    (tmp_path / "ugly.dunning").write_text(Path(DSL).read_text().replace("policy ", "policy  ", 1))
    shutil.copy(DEFECTS, tmp_path / "defects.yaml")
    (tmp_path / "neg.yaml").write_text("policy: neg\ncurrency: USD\ninvariants:\n  impossible: balance < 0\n"
                                       "states:\n  open: {initial: true}\n")
    # an invoice without an amount (an empty cell is an absent value)
    (tmp_path / "inv.csv").write_text((EX / "invoices.csv").read_text() + "F-9,C-ACME,,CLP,2026-01-01,2026-01-31,x\n")
    return tmp_path


EXPLAIN = ["explain", POLICY, *RECORDS, "--until", "2026-07-31"]

# (command, arguments, expected exit status, what the document must show)
CASES = [
    ("validate", [POLICY, DSL], 0, {"policies": 2}),
    ("validate", [POLICY, "bad.yaml"], 1, {"codes": {"wrong-type", "no-initial-state"}, "policies": 2}),
    ("validate", ["missing.yaml"], 1, {"codes": {"cannot-read"}}),
    ("lint", ["defects.yaml"], 1, {"codes": {"DL001", "DL005"}}),
    ("lint", ["bad.yaml"], 1, {"codes": {"wrong-type"}}),
    ("lint", [POLICY], 0, {"codes": set()}),
    ("fmt", ["--check", DSL, "ugly.dunning"], 1, {"codes": {"not-formatted"}, "files": 2}),
    ("fmt", [DSL], 0, {"files": 1}),
    ("fmt", ["bad.yaml"], 1, {"codes": {"wrong-type"}}),
    ("test", [SCENARIO], 0, {"codes": set()}),
    ("test", ["nowhere"], 1, {"codes": {"cannot-read"}}),
    ("check", [POLICY, "-n", "1", "--days", "40"], 0, {"codes": set()}),
    ("check", ["bad.yaml", "-n", "1"], 1, {"codes": {"wrong-type"}}),
    ("check", ["neg.yaml", "-n", "3"], 1, {"codes": {"invariant-violated"}}),
    ("explain", [*EXPLAIN[1:], "--case", "F-1002"], 0, {"trace": True}),
    ("explain", [*EXPLAIN[1:], "--case", "F-10"], 1, {"codes": {"unknown-case"}}),
    ("explain", ["bad.yaml", "--invoices", "inv.csv", "--until", "2026-07-31", "--case", "F-1"], 1,
     {"codes": {"wrong-type"}}),
    ("explain", [POLICY, "--invoices", "inv.csv", "--until", "2026-07-31", "--case", "F-1002"], 1,
     {"codes": {"missing-field"}}),
]


@pytest.mark.parametrize("command, args, status, shows", CASES,
                         ids=[f"{c}-{i}" for i, (c, *_) in enumerate(CASES)])
def test_every_command_prints_one_document_of_the_one_shape(work, command, args, status, shows):
    r = invoke(command, *args, "--format", "json")
    assert r.exit_code == status, r.output
    doc = check_document(r.stdout, command, r.exit_code)
    if "codes" in shows:
        assert {d["code"] for d in doc["diagnostics"]} >= shows["codes"]
        if not shows["codes"]:
            assert doc["diagnostics"] == []
    if "policies" in shows:
        assert len(doc["policies"]) == shows["policies"]
    if "files" in shows:
        assert len(doc["files"]) == shows["files"]
    if "trace" in shows:
        assert doc["trace"] and doc["summary"]["entries"] == len(doc["trace"])


def test_a_failing_scenario_and_a_broken_file_are_diagnostics(tmp_path):
    text = Path(SCENARIO).read_text().replace("policy: ../data/", f"policy: {ROOT}/tests/data/")
    (tmp_path / "bad.test.yaml").write_text(text.replace("template: first_notice", "template: second_notice"))
    (tmp_path / "broken.test.yaml").write_text(text.replace("until:", "untill:"))
    r = invoke("test", str(tmp_path), "--format", "json")
    doc = check_document(r.stdout, "test", r.exit_code)
    codes = sorted((d["code"], d["line"]) for d in doc["diagnostics"])
    assert codes == [("missing-key", 4), ("scenario-failed", 4), ("unknown-key", 8)]  # 'untill': and no 'until'
    failed = next(d for d in doc["diagnostics"] if d["code"] == "scenario-failed")
    assert failed["file"].endswith("bad.test.yaml") and failed["case"] == "pays after the first notice"
    assert doc["summary"]["failed"] == 1 and doc["summary"]["files_with_errors"] == 1


def test_run_reports_on_stderr_in_the_one_shape(work):
    r = CliRunner().invoke(cli, ["run", POLICY, "--invoices", "inv.csv", "--until", "2026-07-31",
                                                 "--format", "json"])
    assert r.exit_code == 1
    actions = [json.loads(line) for line in r.stdout.splitlines()]
    assert actions and all("key" in a for a in actions)  # stdout: the actions, as ever
    doc = check_document(r.stderr, "run", r.exit_code)
    [reject] = doc["diagnostics"]
    assert (reject["code"], reject["file"], reject["line"], reject["field"]) == ("missing-field", "inv.csv", 7,
                                                                                "amount")
    assert doc["summary"]["rejected"] == 1 and doc["summary"]["actions"] == len(actions)
    assert sum(doc["summary"]["actions_by_type"].values()) == len(actions)
    text = CliRunner().invoke(cli, ["run", POLICY, "--invoices", "inv.csv", "--until", "2026-07-31"])
    assert text.stdout == r.stdout  # the actions do not depend on --format
    broken = CliRunner().invoke(cli, ["run", "bad.yaml", "--invoices", "inv.csv", "--until",
                                                      "2026-07-31", "--format", "json"])
    assert broken.exit_code == 1 and broken.stdout == ""
    assert {d["code"] for d in check_document(broken.stderr, "run", 1)["diagnostics"]} == {"wrong-type",
                                                                                           "no-initial-state"}


def test_text_output_is_unchanged_by_the_json_work(work):
    r = CliRunner().invoke(cli, ["lint", "defects.yaml"])
    assert r.stdout.startswith("defects.yaml:7:3: warning: segment 'big' is never used [DL007 unused-segment]\n")
    assert r.stderr == "1 error(s), 7 warning(s)\n"
    v = CliRunner().invoke(cli, ["validate", "bad.yaml"])
    assert v.stdout == "" and v.stderr.endswith("1 of 1 policy file(s) invalid\n")
    f = CliRunner().invoke(cli, ["fmt", "--check", "ugly.dunning"])
    assert (f.exit_code, f.stdout, f.stderr) == (1, "ugly.dunning\n", "1 of 1 file(s) would be reformatted\n")


def test_the_example_of_the_docs_is_what_lint_prints(tmp_path, monkeypatch):
    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    example = doc.split("## An example", 1)[1]
    policy = example.split("```yaml\n", 1)[1].split("```", 1)[0]
    expected = example.split("```json\n", 1)[1].split("```", 1)[0]
    text = example.split("```text\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "policy.yaml").write_text(policy)
    r = CliRunner().invoke(cli, ["lint", "--format", "json", "policy.yaml"])
    assert r.exit_code == 0
    assert r.stdout == expected
    check_document(r.stdout, "lint", 0)
    assert CliRunner().invoke(cli, ["lint", "policy.yaml"]).stdout == text


def test_check_without_hypothesis_is_a_document_too():
    import os
    import subprocess
    import sys

    code = ("import sys; sys.modules['hypothesis'] = None; sys.argv = ['dunning', 'check', sys.argv[1], '--format', "
            "'json']; from dunning_engine.cli.main import main; main()")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    r = subprocess.run([sys.executable, "-c", code, POLICY], capture_output=True, text=True, env=env)
    doc = check_document(r.stdout, "check", r.returncode)
    assert [d["code"] for d in doc["diagnostics"]] == ["missing-extra"] and r.stderr == ""
