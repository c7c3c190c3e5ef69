"""Scenario files (``*.test.yaml``, SPEC §7): load, run, compare, and explain a failure.

A scenario file names a policy (relative to the file) and lists cases; each
case is a small portfolio (invoices, customers, events), a horizon (``until``,
optional ``since``) and what must come out (``expect``)::

    policy: ../policies/b2b_friendly_cl.yaml
    cases:
      - name: pays after the first notice
        invoices: [{id: A1, customer: C1, amount: "100000", issued: 2026-01-01, due: 2026-01-31}]
        customers: [{id: C1, segment: smb}]
        events: [{at: 2026-02-05, type: payment, invoice: A1, amount: "100000"}]
        until: 2026-04-01
        expect:
          actions:
            - {date: 2026-01-28, type: remind, template: pre_due}
            - {date: 2026-02-01, type: remind, template: first_notice}
          states: {A1: paid}
          balances: {A1: "0"}

The parts, each a module of this package:

* :mod:`.files` — finding scenario files;
* :mod:`.loader` (with :mod:`.reader` and :mod:`.expect`) — reading and
  checking a file, every mistake reported as ``file:line:col`` with a help line;
* :mod:`.run` — running a case and telling how it differs from its expectation;
* :mod:`.match` — matching an expected action against an actual one;
* :mod:`.diff` — the side-by-side diff of the expected and actual timelines;
* :mod:`.model` — the scenario file, its cases and the case results.
"""

from __future__ import annotations

from .files import SCENARIO_SUFFIX, find_scenario_files, looks_like_scenario
from .loader import load_scenario_file, load_scenarios
from .match import match_action
from .model import CaseResult, Expectation, Expected, ScenarioCase, ScenarioFile
from .run import run_case, run_scenarios

__all__ = [
    "SCENARIO_SUFFIX",
    "ScenarioFile",
    "ScenarioCase",
    "Expected",
    "Expectation",
    "CaseResult",
    "looks_like_scenario",
    "find_scenario_files",
    "load_scenario_file",
    "load_scenarios",
    "run_case",
    "run_scenarios",
    "match_action",
]

