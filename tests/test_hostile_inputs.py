"""Hostile input never escapes as anything but the project's own errors (issue 11, SPEC §12).

Three parts:

* the harness itself (``dunning_engine.testing.hostile``): it sees a foreign exception, a hang
  (in Python code and outside it), a blow-up of memory and a crash, draws the same cases from
  the same seed, and shrinks a finding to the lines that matter;
* a small fuzz run (200 policies, 50 record files) that must find nothing;
* the regression corpus ``tests/data/hostile/``: one reproducer per finding group of the full
  run (20,000 policies, 2,000 record files, seed 0); each must end in the project's own error
  or run clean, in a worker process under a time and a memory limit.

The full run is ``make fuzz`` (see docs/testing.md).
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

from dunning_engine.errors import PolicyError
from dunning_engine.testing import hostile
from dunning_engine.testing.hostile import Case, check_case, load_case, run_fuzz, save_case
from dunning_engine.testing.hostile import pool as pool_module
from dunning_engine.testing.hostile import worker as worker_module
from dunning_engine.testing.hostile.generate import load_seeds, policy_case, records_case
from dunning_engine.testing.hostile.harness import shrink

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "hostile"
SEEDS = [str(ROOT / "policies"), str(ROOT / "tests" / "data"), str(ROOT / "docs")]
POLICY = (ROOT / "policies" / "consumer_mx.yaml").read_bytes()


def policy(text: bytes = POLICY) -> Case:
    return Case("policy", {"policy.yaml": text})


# -- the harness sees what it must see ------------------------------------------------------------------


def _replace_policy_stage(monkeypatch, fn) -> None:
    """Make the worker run ``fn(case)`` instead of the policy stages (the pool forks: the child sees it)."""
    monkeypatch.setattr(worker_module, "_policy_case", lambda case, folder, state: fn(case))


def test_a_clean_policy_runs_clean_and_a_project_error_is_not_a_finding():
    assert check_case(policy()).status == "ok"
    assert check_case(policy()).loaded
    broken = check_case(policy(POLICY.replace(b"initial: true", b"initial: maybe")))
    assert broken.status == "refused" and not broken.loaded


def test_a_foreign_exception_is_a_finding_named_by_its_innermost_project_frame(monkeypatch):
    from dunning_engine.errors import did_you_mean

    _replace_policy_stage(monkeypatch, lambda case: did_you_mean(1, ["a"]))  # fails inside difflib
    outcome = check_case(policy())
    assert outcome.status == "finding"
    assert outcome.type == "TypeError"
    assert outcome.where == "errors.py:did_you_mean"
    assert "difflib" in outcome.traceback


def test_a_dunning_error_is_not_a_finding(monkeypatch):
    def refuse(case):
        raise PolicyError("no")

    _replace_policy_stage(monkeypatch, refuse)
    assert check_case(policy()).status == "refused"


def test_a_hang_in_python_code_is_a_finding_with_its_place(monkeypatch):
    def spin(case):
        while True:
            pass

    _replace_policy_stage(monkeypatch, spin)
    started = time.monotonic()
    outcome = check_case(policy(), time_limit=0.5)
    assert outcome.type == "Hang" and outcome.status == "finding"
    assert "spin" in outcome.traceback and "CPU time" in outcome.message
    assert time.monotonic() - started < 5


def test_a_case_that_waits_is_a_hang_on_the_wall_clock(monkeypatch):
    _replace_policy_stage(monkeypatch, lambda case: time.sleep(60))  # no CPU time: the wall clock ends it
    outcome = check_case(policy(), time_limit=0.5)
    assert outcome.type == "Hang"
    assert "wall-clock" in outcome.message


@pytest.mark.slow
def test_a_hang_outside_python_code_is_a_finding(monkeypatch):
    import signal

    def stuck(case):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM, signal.SIGPROF})  # the timers cannot end it
        time.sleep(60)

    _replace_policy_stage(monkeypatch, stuck)
    monkeypatch.setattr(pool_module, "WATCHDOG", 2)
    outcome = check_case(policy(), time_limit=0.5)
    assert outcome.type == "Hang"
    assert "outside Python code" in outcome.message


def test_a_blow_up_of_memory_is_a_finding(monkeypatch):
    _replace_policy_stage(monkeypatch, lambda case: bytearray(400 * 1024 * 1024))
    outcome = check_case(policy(), memory_mb=100)
    assert outcome.type == "MemoryError"


def test_a_crash_is_a_finding(monkeypatch):
    _replace_policy_stage(monkeypatch, lambda case: os.abort())
    outcome = check_case(policy())
    assert outcome.type.startswith("Crash")
    assert outcome.status == "finding"


def test_a_worker_replaced_after_a_hang_serves_the_next_cases(monkeypatch):
    def maybe_spin(case):
        while b"spin" in case.files["policy.yaml"]:
            pass

    _replace_policy_stage(monkeypatch, maybe_spin)
    cases = [(0, policy(b"spin")), (1, policy(b"ok")), (2, policy(b"spin")), (3, policy(b"ok"))]
    with pool_module.Pool(1, time_limit=0.5) as pool:
        got = {key: o.type or o.status for key, _, o in pool.map(cases)}
    assert got == {0: "Hang", 1: "ok", 2: "Hang", 3: "ok"}


def test_a_rate_path_outside_the_policy_folder_is_a_finding_even_when_it_loads():
    text = POLICY + b"\nrates:\n  UF: ../outside.csv\n"
    outcome = check_case(policy(text))
    if outcome.status != "refused":  # refused at load is what SPEC §12 asks for
        assert (outcome.type, outcome.where) == ("RatePathAccepted", "rates: path out of the policy folder")


def test_shrinking_keeps_only_the_lines_that_matter(monkeypatch):
    def boom(case):
        if b"BOOM" in case.files["policy.yaml"]:
            raise KeyError("boom")

    _replace_policy_stage(monkeypatch, boom)
    lines = [f"line {i}\n".encode() for i in range(40)]
    lines[23] = b"BOOM\n"
    case = policy(b"".join(lines))
    with pool_module.Pool(2, time_limit=5) as pool:
        first = next(o for _, _, o in pool.map([(0, case)]))
        assert first.type == "KeyError"
        small, outcome = shrink(case, first, pool, budget=100)
    assert small.files["policy.yaml"] == b"BOOM\n"
    assert outcome.signature == first.signature


# -- inputs: deterministic, and kept byte for byte ------------------------------------------------------


def test_cases_are_a_function_of_seed_and_index():
    seeds = load_seeds([ROOT / "policies"], ROOT / "policies", random_count=2)
    assert [s.name for s in seeds if s.shipped] == sorted(p.name for p in (ROOT / "policies").iterdir()
                                                           if p.suffix in (".yaml", ".dunning"))
    for i in (0, 7, 99):
        assert policy_case(3, i, seeds) == policy_case(3, i, seeds)
        assert records_case(3, i, seeds) == records_case(3, i, seeds)
    assert policy_case(3, 1, seeds) != policy_case(4, 1, seeds)


def test_a_saved_case_reads_back_byte_for_byte(tmp_path):
    rng = random.Random(1)
    data = bytes(rng.randrange(256) for _ in range(5000)) + b"\r\n\xef\xbb\xbf"
    case = Case("records", {"consumer_mx.yaml": POLICY, "invoices.csv": data}, via="cli", until="9999-12-31",
                args=["run", "--policy", "consumer_mx.yaml"], seed=5, origin="test")
    assert load_case(save_case(case, tmp_path / "a")) == case
    assert load_case(save_case(case, tmp_path / "b", compress_over=1000)) == case
    assert (tmp_path / "b" / "input" / "invoices.csv.gz").exists()


# -- the small run --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_small_fuzz_run_finds_nothing(tmp_path):
    report = run_fuzz(policies=200, records=50, seed=0, workers=2, time_limit=10, memory_mb=1024, seeds=SEEDS,
                      shipped=str(ROOT / "policies"), out=tmp_path, shrink_budget=0, hang_shrink_budget=0)
    assert sum(report.run.values()) == 250
    assert not report.groups, report.table()


# -- the regression corpus ------------------------------------------------------------------------------

# Reproducers that fail on today's code (issue 11), by folder name, with the finding. Remove an
# entry when its fix is merged (the test then passes: strict=False keeps an early fix green).
KNOWN: dict[str, str] = {}

CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "case.json").exists()) if CORPUS.exists() else []


def _marks(name: str) -> list:
    marks = []
    if name in KNOWN:
        marks.append(pytest.mark.xfail(strict=False, reason=KNOWN[name]))
    if name.startswith("Hang"):
        marks.append(pytest.mark.slow)
    return marks


@pytest.mark.parametrize("name", [pytest.param(n, marks=_marks(n)) for n in CASES])
def test_hostile_reproducer_ends_in_the_projects_own_error(name):
    case = load_case(CORPUS / name)
    outcome = check_case(case, time_limit=10, memory_mb=1024)  # the fuzz run's own limits
    assert outcome.status != "finding", (
        f"{outcome.signature} (stage {outcome.stage}): {outcome.message}\n{outcome.traceback}\n"
        f"reproduce: cd {CORPUS / name / 'input'} && {case.command()}")


def test_the_corpus_is_there():
    assert len(CASES) >= 10
    assert set(KNOWN) <= set(CASES), "KNOWN names a reproducer that is not in tests/data/hostile/"
