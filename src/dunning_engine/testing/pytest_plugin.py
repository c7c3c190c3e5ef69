"""pytest plugin: ``*.test.yaml`` scenario files become test items, one per case.

Registered through the ``pytest11`` entry point ``dunning_engine``, so a plain
``pytest`` run checks policies too. What it does, and nothing else:

* it collects files named ``*.test.yaml`` that have a top-level ``policy:``
  or ``cases:`` key (other ``*.test.yaml`` files are left alone), one item
  per case, named after the case;
* a failing case shows the same report as ``dunning test`` (side-by-side
  timeline diff, states, balances, invariants); a scenario file with
  mistakes is a collection error showing ``file:line:col`` and the source line;
* ``--dunning-coverage`` prints the rule coverage of the scenarios that ran.

Turn collection off with ``dunning_scenarios = false`` in the pytest ini
options, or disable the plugin with ``-p no:dunning_engine``. Importing this
module is cheap: the engine is imported only when a scenario file is found.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr, TracebackStyle

    from .scenarios import CaseResult, ScenarioCase

SUFFIX = ".test.yaml"

# The case results of the run, kept when --dunning-coverage asks for a report.
_RESULTS = pytest.StashKey["list[CaseResult]"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("dunning_scenarios", type="bool", default=True,
                  help="collect dunning-engine scenario files (*.test.yaml) as tests (default: true)")
    group = parser.getgroup("dunning-engine")
    group.addoption("--dunning-coverage", action="store_true", default=False,
                    help="report which policy states, rules and actions the scenario files exercised")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ScenarioFileItem | None:
    if not file_path.name.endswith(SUFFIX):
        return None
    if not parent.config.getini("dunning_scenarios"):
        return None
    from .scenarios import looks_like_scenario

    if not looks_like_scenario(file_path):
        return None
    return ScenarioFileItem.from_parent(parent, path=file_path)


class ScenarioLoadError(Exception):
    """A scenario file that cannot be loaded (the text is the positioned report)."""


class ScenarioFailed(AssertionError):
    def __init__(self, result: CaseResult) -> None:
        super().__init__(result.report())
        self.result = result


class ScenarioFileItem(pytest.File):
    def collect(self) -> Iterator[ScenarioItem]:
        from ..errors import PolicyError
        from .scenarios import load_scenario_file

        try:
            sf = load_scenario_file(self.path, display=self._shown())
        except PolicyError as e:
            raise ScenarioLoadError(e.render()) from None
        for case in sf.cases:
            yield ScenarioItem.from_parent(self, name=case.name, case=case)

    def _shown(self) -> str:
        try:
            return str(self.path.relative_to(self.config.rootpath))
        except ValueError:
            return str(self.path)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: TracebackStyle | None = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, ScenarioLoadError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class ScenarioItem(pytest.Item):
    def __init__(self, *, case: ScenarioCase, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.result: CaseResult | None = None

    def runtest(self) -> None:
        from .scenarios import run_case

        self.result = run_case(self.case)
        store = self.config.stash.get(_RESULTS, None)
        if store is not None:
            store.append(self.result)
        if not self.result.passed:
            raise ScenarioFailed(self.result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: TracebackStyle | None = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, ScenarioFailed):
            return excinfo.value.result.report()
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        line = (self.case.line or 1) - 1
        return self.path, line, f"scenario: {self.case.name}"


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("dunning_coverage", default=False):
        config.stash[_RESULTS] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    results = config.stash.get(_RESULTS, None)
    if results is None:
        return
    from .coverage import Coverage

    terminalreporter.section("dunning-engine policy coverage")
    text = Coverage().extend(results).render()
    terminalreporter.write_line(text or "no scenario case ran")
