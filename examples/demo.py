"""`make demo`: validate and summarise every shipped policy, then run the Chilean
B2B example portfolio and print its action timeline."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from dunning_engine import PolicyError, load_policy, simulate
from dunning_engine.policy.describe import summarize

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "b2b_chile"


def describe_action(a: dict) -> str:
    p = a["params"]
    t = a["type"]
    if t == "remind":
        return f"remind '{p['template']}' via {', '.join(p['via'])}"
    if t == "offer_plan":
        return f"offer plan: {p['installments']} installments of {p['schedule'][0]['amount']} {a['currency']} from {p['first']}"
    if a.get("amount") is not None:
        return f"{t} {a['amount']} {a['currency']}"
    details = ", ".join(f"{k}={v}" for k, v in p.items())
    return f"{t} {details}".strip()


def main() -> int:
    paths = sorted(p for folder in ("policies", "examples") for p in (ROOT / folder).rglob("*")
                   if p.suffix in (".yaml", ".yml", ".dunning") and not p.name.endswith(".test.yaml"))
    failed = 0
    loaded: dict[str, list] = {}
    for path in paths:
        try:
            policy = load_policy(path)
        except PolicyError as e:
            failed += 1
            print(e.render(), file=sys.stderr)
            continue
        loaded.setdefault(policy.key, []).append((path, policy))
    for key, forms in loaded.items():
        names = " and ".join(str(p.relative_to(ROOT)) for p, _ in forms)
        same = all(pol == forms[0][1] for _, pol in forms)
        print(f"== {names}" + ("  (same policy in both forms)" if len(forms) > 1 and same else ""))
        print(summarize(forms[0][1]))
        print()
    print(f"{len(paths) - failed} of {len(paths)} policy files valid\n")

    print("== Run: policies/b2b_friendly_cl.yaml over examples/b2b_chile (until 2026-07-31)")
    result = simulate(ROOT / "policies" / "b2b_friendly_cl.yaml", invoices=EXAMPLE / "invoices.csv",
                      customers=EXAMPLE / "customers.csv", events=EXAMPLE / "events.jsonl", until="2026-07-31")
    for a in result.actions:
        at = dt.datetime.fromisoformat(a["at"])
        print(f"  {at:%Y-%m-%d %H:%M}  {a['case']:<7} {a['state']:<9} {describe_action(a)}")
    print("\n  final states:")
    for s in result.states:
        print(f"  {s['case']:<7} {s['state']:<7} balance {s['balance']:>9} {s['currency']}")
    problems = len(result.rejects) + len(result.errors)
    print(f"\n  {len(result.actions)} actions, {len(result.states)} cases, {problems} problems")
    problems += store_days()
    return 1 if failed or problems else 0


def store_days() -> int:
    """Two consecutive daily runs on a store (SPEC §8): the second writes only the new actions."""
    from dunning_engine.store import open_store
    from dunning_engine.store.run import StoreRun

    path = EXAMPLE / "store.db"  # the demo starts afresh each time
    for leftover in (path, path.with_name("store.db-wal"), path.with_name("store.db-shm"),
                     path.with_name("store.db.lock")):
        leftover.unlink(missing_ok=True)
    policy = load_policy(ROOT / "policies" / "b2b_friendly_cl.yaml")
    print(f"\n== Store: two daily runs on {path.relative_to(ROOT)} (SQLite)")
    problems = 0
    for n, day in enumerate(("2026-04-20", "2026-04-21")):
        with open_store(str(path)) as store, StoreRun(store, policy) as run:
            run.ingest(invoices=EXAMPLE / "invoices.csv", customers=EXAMPLE / "customers.csv",
                       events=EXAMPLE / "events.jsonl")  # the same files again: known records are skipped
            report = run.advance(day)
        print(f"  run to {day}: {report.line()}")
        for a in report.actions if n else report.actions[-3:]:
            print(f"    {a['at'][:16]}  {a['case']:<7} {describe_action(a)}")
        problems += len(report.rejected) + len(report.failed)
    return problems


if __name__ == "__main__":
    sys.exit(main())
