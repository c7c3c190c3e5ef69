"""Benchmark: a dunning ladder over a synthetic portfolio (issue 3).

    python benchmarks/run.py                      # 100,000 invoices, core and end to end
    python benchmarks/run.py --invoices 1000000   # the goal size
    python benchmarks/run.py --only core|e2e|horizon

The ladder: a pre-due reminder, three reminders, a fee, an escalation; a
payment that settles the invoice ends it. Most invoices pay, at various delays.
Reports invoices/s and actions/s for the core (records in memory, no I/O) and
for `dunning run` end to end (JSONL in, JSONL out, in a child process), peak
memory (max RSS), and the cost of a 30-day versus a 365-day horizon over a
portfolio whose events all fall in the first 30 days.

Not a test: numbers depend on the machine. Results go to stdout and, with
--json FILE, to a JSON file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
POLICY = HERE / "ladder.yaml"
START = dt.date(2026, 1, 1)


def portfolio(n: int, seed: int = 7, horizon_days: int = 180, late: bool = True):
    """(invoices, events) as JSON-ready dicts. 60% pay before due, 25% up to 30 days late,
    10% 30-90 days late, 5% never (with ``late=False`` every invoice is issued in the first
    5 days, falls due 5-10 days later and is paid within 12 days of its due date, so that
    nothing is left to do after day 30)."""
    rnd = random.Random(seed)
    invoices, events = [], []
    for i in range(n):
        issued = START + dt.timedelta(days=rnd.randrange(0, max(1, horizon_days - 60) if late else 5))
        due = issued + dt.timedelta(days=rnd.choice((15, 30, 30, 45)) if late else rnd.randrange(5, 11))
        amount = rnd.randrange(50, 5000) * 10
        inv_id = f"INV-{i:07d}"
        invoices.append({"id": inv_id, "customer": f"C-{rnd.randrange(n // 3 + 1):07d}", "amount": str(amount),
                         "currency": "USD", "issued": issued.isoformat(), "due": due.isoformat()})
        r = rnd.random()
        if not late:
            delay = rnd.randrange(0, 13)
        elif r < 0.60:
            delay = -rnd.randrange(0, 10)
        elif r < 0.85:
            delay = rnd.randrange(1, 31)
        elif r < 0.95:
            delay = rnd.randrange(31, 91)
        else:
            continue
        at = dt.datetime.combine(due + dt.timedelta(days=delay), dt.time(rnd.randrange(8, 18), rnd.randrange(60)))
        events.append({"type": "payment", "at": at.isoformat(), "invoice": inv_id, "amount": str(amount),
                       "id": f"P-{i:07d}"})
    return invoices, events


def bench_core(invoices, events, until: str, pause_gc: bool = True) -> dict:
    from dunning_engine import Engine, load_policy
    from dunning_engine.io.readers import Rejects, parse_instant, read_events, read_invoices

    policy = load_policy(POLICY)
    engine = Engine(policy)
    tz = engine.clock.tz
    bad = Rejects()
    inv = list(read_invoices(invoices, tz=tz, default_currency="USD", rejects=bad))
    evs = list(read_events(events, tz=tz, default_currency="USD", rejects=bad))
    assert not bad, bad.errors[:3]
    gc.collect()
    if pause_gc:
        gc.disable()  # as `dunning run` does (see docs/engine.md)
    t0 = time.perf_counter()
    for i in inv:
        engine.add_invoice(i)
    for e in evs:
        engine.add_event(e)
    count = 0
    for _ in engine.run(parse_instant(until, tz)):
        count += 1
    elapsed = time.perf_counter() - t0
    gc.enable()
    return {"seconds": round(elapsed, 3), "invoices": len(inv), "events": len(evs), "actions": count,
            "invoices_per_s": round(len(inv) / elapsed), "actions_per_s": round(count / elapsed)}


def write_jsonl(path: Path, rows) -> None:
    with path.open("w") as f:
        for r in rows:
            f.write(json.dumps(r))
            f.write("\n")


def bench_e2e(invoices, events, until: str, workdir: Path) -> dict:
    inv_path, ev_path, out_path = workdir / "invoices.jsonl", workdir / "events.jsonl", workdir / "actions.jsonl"
    write_jsonl(inv_path, invoices)
    write_jsonl(ev_path, events)
    exe = Path(sys.executable).with_name("dunning")
    cmd = [str(exe), "run", "--policy", str(POLICY), "--invoices", str(inv_path), "--events", str(ev_path),
           "--until", until, "--out", str(out_path)]
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        raise SystemExit(f"dunning run failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    with out_path.open("rb") as f:
        actions = sum(1 for _ in f)
    return {"seconds": round(elapsed, 3), "invoices": len(invoices), "events": len(events), "actions": actions,
            "invoices_per_s": round(len(invoices) / elapsed), "actions_per_s": round(actions / elapsed),
            "peak_rss_mb": round(max(rss_kb, before) / 1024)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--invoices", type=int, default=100_000)
    ap.add_argument("--only", choices=["core", "e2e", "horizon"])
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    n = args.invoices
    until = (START + dt.timedelta(days=180)).isoformat()
    results: dict = {"invoices": n, "python": sys.version.split()[0]}
    invoices, events = portfolio(n)
    if args.only in (None, "core"):
        results["core"] = bench_core(invoices, events, until)
        results["core"]["peak_rss_mb_so_far"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print("core:", json.dumps(results["core"]), flush=True)
        results["core_with_gc"] = bench_core(invoices, events, until, pause_gc=False)
        print("core, cyclic GC left on:", json.dumps(results["core_with_gc"]), flush=True)
    if args.only in (None, "e2e"):
        with tempfile.TemporaryDirectory() as tmp:
            results["e2e"] = bench_e2e(invoices, events, until, Path(tmp))
        print("e2e: ", json.dumps(results["e2e"]), flush=True)
    if args.only in (None, "horizon"):
        early_inv, early_ev = portfolio(n, seed=11, late=False)
        short = bench_core(early_inv, early_ev, (START + dt.timedelta(days=30)).isoformat())
        long = bench_core(early_inv, early_ev, (START + dt.timedelta(days=365)).isoformat())
        results["horizon"] = {"30_days": short, "365_days": long,
                              "ratio_365_over_30": round(long["seconds"] / short["seconds"], 2)}
        print("horizon:", json.dumps(results["horizon"]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
