"""The pytest plugin: scenario files as test items (one per case), same report, nothing else.

Each test runs pytest in a subprocess on a small project in tmp_path, with the
plugin loaded the way users get it: through the ``pytest11`` entry point.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT

B2B = ROOT / "policies" / "b2b_friendly_cl.yaml"

GOOD = """\
policy: b2b_friendly_cl.yaml
cases:
  - name: first notice
    invoices: [{id: A1, customer: C1, amount: "100000", issued: 2026-02-02, due: 2026-03-02}]
    until: 2026-03-04
    expect:
      actions:
        - {date: 2026-02-27, template: pre_due}
        - {date: 2026-03-03, template: first_notice}
  - name: paid
    invoices: [{id: A1, customer: C1, amount: "100000", issued: 2026-02-02, due: 2026-03-02}]
    events: [{at: 2026-02-10, type: payment, invoice: A1, amount: "100000"}]
    until: 2026-04-01
    expect: {actions: [], states: {A1: paid}}
"""
BAD = GOOD.replace("{date: 2026-03-03, template: first_notice}", "{date: 2026-03-04, template: first_notice}")


def pytest_in(path, *args):
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args], cwd=path,
                          capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout + proc.stderr


def project(tmp_path, files: dict[str, str], ini: str = "") -> None:
    shutil.copy(B2B, tmp_path / B2B.name)
    (tmp_path / "pytest.ini").write_text("[pytest]\n" + ini)
    for name, text in files.items():
        (tmp_path / name).write_text(textwrap.dedent(text))


def test_the_plugin_is_registered_through_its_entry_point():
    from importlib.metadata import entry_points

    eps = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert eps.get("dunning_engine") == "dunning_engine.testing.pytest_plugin"


@pytest.mark.slow
def test_cases_are_items_and_failures_show_the_diff(tmp_path):
    project(tmp_path, {"good.test.yaml": GOOD, "bad.test.yaml": BAD,
                       "other.test.yaml": "steps:\n  - run: not a dunning file\n",
                       "test_plain.py": "def test_plain():\n    assert True\n"})
    code, out = pytest_in(tmp_path, "--collect-only")
    assert code == 0, out
    for item in ("bad.test.yaml::first notice", "bad.test.yaml::paid", "good.test.yaml::first notice",
                 "good.test.yaml::paid", "test_plain.py::test_plain"):
        assert item in out
    assert "other.test.yaml" not in out  # not a scenario file: left alone
    code, out = pytest_in(tmp_path, "--dunning-coverage")
    assert code == 1
    assert "1 failed, 4 passed" in out
    assert "bad.test.yaml:3: case 'first notice' failed" in out
    assert "  ~ L9 2026-03-04 template=first_notice" in out and "date: expected 2026-03-04, got 2026-03-03" in out
    assert "FAILED bad.test.yaml::first notice" in out
    assert "dunning-engine policy coverage" in out and "coverage of b2b_friendly_cl@4" in out
    assert "Traceback" not in out


@pytest.mark.slow
def test_a_bad_scenario_file_is_a_collection_error_with_positions(tmp_path):
    project(tmp_path, {"broken.test.yaml": GOOD.replace("until: 2026-03-04", "untill: 2026-03-04")})
    code, out = pytest_in(tmp_path)
    assert code != 0
    assert "ERROR collecting broken.test.yaml" in out
    assert "broken.test.yaml:5:5: error: unknown key 'untill' in a case" in out
    assert "help: did you mean 'until'?" in out
    assert "Traceback" not in out


@pytest.mark.slow
def test_collection_can_be_turned_off_and_projects_without_scenarios_see_nothing(tmp_path):
    project(tmp_path, {"good.test.yaml": GOOD, "test_plain.py": "def test_plain():\n    assert True\n"},
            ini="dunning_scenarios = false\n")
    code, out = pytest_in(tmp_path)
    assert code == 0 and "1 passed" in out and "test.yaml" not in out
    (tmp_path / "good.test.yaml").unlink()
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    code, out = pytest_in(tmp_path)
    assert code == 0 and "1 passed" in out and "dunning" not in out


def test_the_plugin_module_is_cheap_to_import():
    code = ("import sys; import dunning_engine.testing.pytest_plugin; "
            "heavy = [m for m in ('dunning_engine.testing.scenarios', 'dunning_engine.policy.build', 'hypothesis', "
            "'lark') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
