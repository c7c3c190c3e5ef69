"""Benchmark: a daily run on a store against a full run (issue 12, SPEC §8).

    python benchmarks/store_daily.py                       # 100,000 invoices, SQLite
    python benchmarks/store_daily.py --invoices 1000000    # the issue's size (needs ~20 minutes)
    python benchmarks/store_daily.py --store postgresql://postgres@127.0.0.1:5432/bench

The ladder policy of benchmarks/run.py over its portfolio. A store is brought to day D-1 (every
invoice and the payments up to then), then one daily run ingests day D's payments and advances to
the end of day D. Reported side by side, in one run: a full run of the engine over everything to day
D (records in memory, no store), the first store run (what bringing a store up costs), and the daily
run, with the share of the store's cases it loaded. A daily run should cost about that share of a
full run: it loads, runs and writes only the cases due that day or touched by a new record.

Not a test: numbers depend on the machine. --json FILE writes the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import POLICY, START, bench_core, portfolio  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--invoices", type=int, default=100_000)
    ap.add_argument("--day", type=int, default=120, help="the day of the daily run, counted from the first invoice")
    ap.add_argument("--store", help="a store URL (default: a new SQLite file in a temporary folder)")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args()

    from dunning_engine import load_policy
    from dunning_engine.store import open_store
    from dunning_engine.store.run import StoreRun

    invoices, events = portfolio(args.invoices)
    day = START + dt.timedelta(days=args.day)
    before = [e for e in events if e["at"][:10] < day.isoformat()]
    today = [e for e in events if e["at"][:10] == day.isoformat()]
    policy = load_policy(POLICY)
    figures: dict = {"invoices": len(invoices), "day": day.isoformat(), "payments_that_day": len(today)}

    full = bench_core(invoices, [e for e in events if e["at"][:10] <= day.isoformat()], day.isoformat() + "T23:59:59")
    figures["full_run_s"] = full["seconds"]

    with tempfile.TemporaryDirectory() as tmp:
        url = args.store or str(Path(tmp) / "bench.db")
        gc.disable()
        t0 = time.perf_counter()
        with open_store(url) as store, StoreRun(store, policy) as run:
            run.ingest(invoices=invoices, events=before)
            first = run.advance((day - dt.timedelta(days=1)).isoformat())
        figures["first_store_run_s"] = round(time.perf_counter() - t0, 3)
        with open_store(url) as store:
            figures["cases"] = sum(store.counts()["cases_by_state"].values())
        t0 = time.perf_counter()
        with open_store(url) as store, StoreRun(store, policy) as run:
            run.ingest(events=today)
            daily = run.advance(day.isoformat())
        figures["daily_run_s"] = round(time.perf_counter() - t0, 3)
        gc.enable()
        figures["daily_cases_loaded"] = daily.loaded
        figures["daily_actions"] = len(daily.actions)
        if not args.store:
            figures["store_mb"] = round((Path(tmp) / "bench.db").stat().st_size / 2 ** 20, 1)
    figures["loaded_share"] = round(daily.loaded / max(1, figures["cases"]), 4)
    figures["daily_over_full"] = round(figures["daily_run_s"] / figures["full_run_s"], 4)
    width = max(len(k) for k in figures)
    for k, v in figures.items():
        print(f"{k:<{width}}  {v}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
