"""Testing policies like code: scenario files, invariant checks, fuzzing and Hypothesis strategies.

What is here (see docs/testing.md):

* :func:`load_scenarios` / :func:`run_scenarios` — ``*.test.yaml`` scenario
  files (SPEC §7): a policy, cases of invoices, customers and events, and the
  timeline, states and balances each case must produce.
* :func:`check_policy` — Hypothesis-driven fuzzing of a policy against the
  built-in invariants and the policy's own ``invariants:``.
* Hypothesis strategies for your own property tests: :func:`invoices`,
  :func:`customers`, :func:`events`, :func:`portfolios`.

Importing this package is cheap: nothing heavy is imported, and Hypothesis is
imported only when one of the strategies (or :func:`check_policy`) is used.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "load_scenarios",
    "load_scenario_file",
    "find_scenario_files",
    "run_scenarios",
    "run_case",
    "ScenarioFile",
    "ScenarioCase",
    "CaseResult",
    "check_policy",
    "CheckResult",
    "invoices",
    "customers",
    "events",
    "portfolios",
    "Portfolio",
]

_LAZY = {
    "load_scenarios": "scenarios",
    "load_scenario_file": "scenarios",
    "find_scenario_files": "scenarios",
    "run_scenarios": "scenarios",
    "run_case": "scenarios",
    "ScenarioFile": "scenarios",
    "ScenarioCase": "scenarios",
    "CaseResult": "scenarios",
    "check_policy": "fuzz",
    "CheckResult": "fuzz",
    "invoices": "strategies",
    "customers": "strategies",
    "events": "strategies",
    "portfolios": "strategies",
    "Portfolio": "records",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dunning_engine.testing' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
