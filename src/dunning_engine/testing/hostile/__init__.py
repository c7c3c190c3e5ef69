"""Hostile-input fuzzing: random and mutated policies and record files, run under time and memory limits.

The proof asked by issue 11: *a fuzz run of 20,000 random and mutated policies and 2,000 random
record files produces no exception other than the project's own*. ::

    python -m dunning_engine.testing.hostile --policies 20000 --records 2000 --seed 0 --out build/fuzz
    make fuzz                      # the same, FUZZ_POLICIES=... FUZZ_RECORDS=... FUZZ_SEED=... to change it

A *finding* is any exception that is not a ``DunningError`` (nor ``SystemExit`` with status 0, 1
or 2 from ``dunning``), a hang (a stage of a case over ``--time-limit`` seconds of CPU time), a
blow-up of memory (over
``--memory-mb``), a crash of the process, or an oracle's complaint (a rate path outside the
policy's folder accepted; a policy that does not print and read back as itself). Findings are
grouped by type and innermost project frame; each group's smallest case is shrunk and saved
as a folder that :func:`load_case` reads back and :func:`check_case` runs in isolation.

Modules: :mod:`.pools` (hostile values), :mod:`.policies` and :mod:`.records` (generators and
mutators), :mod:`.generate` (seeds and case ``i`` of a run), :mod:`.worker` (running one case,
the oracles), :mod:`.pool` (worker processes and limits), :mod:`.harness` (the run, grouping,
shrinking, the report).
"""

from __future__ import annotations

from .case import Case, Outcome, load_case, save_case
from .harness import Report, run_fuzz

__all__ = ["Case", "Outcome", "Report", "run_fuzz", "check_case", "load_case", "save_case", "main"]


def check_case(case: Case, *, time_limit: float = 10.0, memory_mb: int = 1024) -> Outcome:
    """Run one case in a fresh worker process under the limits; its :class:`Outcome`."""
    from .pool import Pool

    with Pool(1, time_limit, memory_mb) as pool:
        return next(o for _, _, o in pool.map([(0, case)]))


def main(argv: list[str] | None = None) -> int:
    from .__main__ import main as _main

    return _main(argv)
