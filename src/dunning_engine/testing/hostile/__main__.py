"""``python -m dunning_engine.testing.hostile``: a fuzz run with a summary table (exit 1 on findings)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    from .harness import run_fuzz

    ap = argparse.ArgumentParser(prog="python -m dunning_engine.testing.hostile",
                                 description="Fuzz dunning-engine with hostile policies and record files.")
    ap.add_argument("--policies", type=int, default=20_000, help="policy cases (default 20000)")
    ap.add_argument("--records", type=int, default=2_000, help="record-file cases (default 2000)")
    ap.add_argument("--seed", type=int, default=0, help="the run's seed (default 0): same seed, same cases")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--time-limit", type=float, default=10.0, help="CPU seconds per stage of a case (load, lint, round trip, simulate...) and per 100 KB of "
                    "input before it is a hang (default 10; ten times that of wall-clock time)")
    ap.add_argument("--memory-mb", type=int, default=1024, help="address space a case may add, MB (default 1024)")
    ap.add_argument("--seeds", nargs="*", default=None,
                    help="policy files, folders and Markdown files to mutate (default: SHIPPED tests/data docs)")
    ap.add_argument("--shipped", default="policies", help="folder of the policies record cases run on (default policies)")
    ap.add_argument("--out", default="build/fuzz", help="where findings and the summary go (default build/fuzz)")
    ap.add_argument("--shrink-budget", type=int, default=150, help="runs to shrink each finding (0: no shrinking)")
    ap.add_argument("--hang-shrink-budget", type=int, default=12, help="runs to shrink each hang")
    ap.add_argument("--max-seconds", type=float, default=None, help="stop drawing cases after this long")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    ap.add_argument("--replay", nargs="+", metavar="FOLDER",
                    help="run saved cases (findings/GROUP or tests/data/hostile/NAME) and print what happened")
    args = ap.parse_args(argv)
    if args.replay:
        return _replay(args.replay, args.time_limit, args.memory_mb)
    progress = None if args.quiet else (lambda text: print(text, file=sys.stderr, flush=True))
    report = run_fuzz(policies=args.policies, records=args.records, seed=args.seed, workers=args.workers,
                      time_limit=args.time_limit, memory_mb=args.memory_mb, seeds=args.seeds, shipped=args.shipped,
                      out=args.out, shrink_budget=args.shrink_budget, hang_shrink_budget=args.hang_shrink_budget,
                      max_seconds=args.max_seconds, progress=progress)
    print(report.table())
    return 1 if report.groups else 0


def _replay(folders: list[str], time_limit: float, memory_mb: int) -> int:
    from . import check_case, load_case

    found = 0
    for folder in folders:
        outcome = check_case(load_case(folder), time_limit=time_limit, memory_mb=memory_mb)
        print(f"{folder}: {outcome.status}" + (f": {outcome.signature} (stage {outcome.stage})" if outcome.type else ""))
        if outcome.status == "finding":
            found += 1
            print(outcome.traceback or outcome.message)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
