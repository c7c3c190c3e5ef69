"""docs/testing.md is executable: its scenario files pass or fail as the page says, with the report
it shows, and the lint example prints what the page shows. (Python blocks and policies on the page
are run by tests/test_docs.py.)"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from dunning_engine.cli.main import cli
from dunning_engine.testing.scenarios import run_scenarios

from conftest import ROOT

DOC = ROOT / "docs" / "testing.md"
MARKED = re.compile(r"<!-- test: ([a-z ]+) -->\n```[\w ]*\n(.*?)```", re.S)


def marked(kind: str) -> list[str]:
    return [m.group(2) for m in MARKED.finditer(DOC.read_text(encoding="utf-8")) if m.group(1) == kind]


def place(tmp_path, text: str):
    """Write a block whose first line is '# path' at that path, under tmp_path (with the real policies)."""
    first = text.splitlines()[0]
    assert first.startswith("# "), first
    path = tmp_path / first[2:].strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if not (tmp_path / "policies").exists():
        (tmp_path / "policies").symlink_to(ROOT / "policies")
    return path


def test_the_page_has_its_examples():
    assert len(marked("scenario passes")) == 1 and len(marked("scenario fails")) == 1
    assert len(marked("report")) == 1 and len(marked("lint policy")) == 1 and len(marked("lint output")) == 1


def test_the_passing_scenario_passes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    [text] = marked("scenario passes")
    path = place(tmp_path, text)
    results = list(run_scenarios([path.relative_to(tmp_path)]))
    assert results and all(r.passed for r in results), [r.report() for r in results]


def test_the_failing_scenario_fails_with_the_report_shown(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    [text] = marked("scenario fails")
    [report] = marked("report")
    path = place(tmp_path, text)
    [r] = list(run_scenarios([path.relative_to(tmp_path)]))
    assert r.status == "failed"
    assert r.report() == report.rstrip("\n")


def test_the_lint_example_prints_what_the_page_shows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    [text] = marked("lint policy")
    [output] = marked("lint output")
    place(tmp_path, text)
    r = CliRunner().invoke(cli, ["lint", "policy.yaml"])
    assert r.exit_code == 0
    assert r.stdout == output


@pytest.mark.parametrize("code", ["DL001", "DL002", "DL003", "DL004", "DL005", "DL006", "DL007"])
def test_every_lint_code_is_documented(code):
    assert f"| {code} |" in DOC.read_text(encoding="utf-8")
