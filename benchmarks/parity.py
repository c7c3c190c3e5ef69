"""Parity check: every shipped policy over one seeded, varied portfolio.

    python benchmarks/parity.py OUTDIR            # write actions/states/rejects per policy
    diff -r BEFORE_DIR AFTER_DIR                  # byte-identical before and after a change

The portfolio has partial and full payments, credit notes, promises (kept and broken),
disputes opened and resolved, plan acceptances, holds and releases, cancellations and
customer updates, in three currencies (each policy reads the invoices in its own
currency: the `currency` column is left out). `--until` is an instant, so the check
does not depend on how a date bound is read. Used to show that a refactor changes no
output byte (issue 11).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNTIL = "2027-03-31T23:00:00+00:00"


def portfolio(n: int = 400, seed: int = 11):
    rnd = random.Random(seed)
    customers = []
    for c in range(n // 4):
        customers.append({"id": f"C{c:04d}", "name": f"Cliente {c}", "email": f"c{c}@example.com",
                          "phone": f"+5691234{c:04d}", "segment": rnd.choice(["vip", "smb", "new", "retail"]),
                          "language": rnd.choice(["es", "en"]), "country": rnd.choice(["CL", "MX", "US"])})
    invoices, events = [], []
    start = dt.date(2026, 1, 1)
    for i in range(n):
        cid = customers[rnd.randrange(len(customers))]["id"]
        issued = start + dt.timedelta(days=rnd.randrange(0, 200))
        due = issued + dt.timedelta(days=rnd.choice((0, 10, 30, 30, 45, 60)))
        amount = rnd.randrange(1, 2000) * 1000
        iid = f"INV{i:05d}"
        invoices.append({"id": iid, "customer": cid, "amount": str(amount), "issued": issued.isoformat(),
                         "due": due.isoformat(), "project": rnd.choice(["a", "b"])})
        t = dt.datetime.combine(due, dt.time(10, 0)) + dt.timedelta(days=rnd.randrange(-20, 120),
                                                                   minutes=rnd.randrange(0, 600))
        kind = rnd.random()
        def ev(typ, at, **f):
            events.append({"type": typ, "at": at.isoformat(), "id": f"E{len(events):06d}", **f})
        if kind < 0.35:
            ev("payment", t, invoice=iid, amount=str(amount))
        elif kind < 0.45:
            ev("payment", t, invoice=iid, amount=str(amount // 2))
            ev("payment", t + dt.timedelta(days=rnd.randrange(1, 40)), invoice=iid, amount=str(amount - amount // 2))
        elif kind < 0.55:
            d = t.date() + dt.timedelta(days=rnd.randrange(1, 20))
            ev("promise_to_pay", t, invoice=iid, date=d.isoformat())
            if rnd.random() < 0.5:
                ev("payment", t + dt.timedelta(days=rnd.randrange(0, 25)), invoice=iid, amount=str(amount))
        elif kind < 0.63:
            ev("dispute_opened", t, invoice=iid, reason="no recibido")
            if rnd.random() < 0.7:
                ev("dispute_resolved", t + dt.timedelta(days=rnd.randrange(1, 50)), invoice=iid, outcome="upheld")
        elif kind < 0.70:
            ev("plan_accepted", t, invoice=iid)
            for k in range(rnd.randrange(0, 4)):
                ev("payment", t + dt.timedelta(days=10 + 30 * k), invoice=iid, amount=str(amount // 3))
        elif kind < 0.75:
            ev("credit_note", t, invoice=iid, amount=str(amount // 4))
        elif kind < 0.79:
            ev("hold", t, invoice=iid)
            ev("release", t + dt.timedelta(days=rnd.randrange(1, 30)), invoice=iid)
        elif kind < 0.82:
            ev("invoice_cancelled", t, invoice=iid)
        elif kind < 0.85:
            ev("customer_updated", t, customer=cid, fields={"segment": "vip"})
        elif kind < 0.88:
            ev("payment_failed", t, invoice=iid, reason="insufficient funds")
    events.sort(key=lambda e: e["at"])
    return customers, invoices, events


def write_jsonl(path: Path, rows) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    customers, invoices, events = portfolio()
    data = out / "input"
    data.mkdir(exist_ok=True)
    write_jsonl(data / "customers.jsonl", customers)
    write_jsonl(data / "invoices.jsonl", invoices)
    write_jsonl(data / "events.jsonl", events)
    dunning = [sys.executable, "-m", "dunning_engine.cli.main"]
    for policy in sorted((ROOT / "policies").glob("*")):
        if policy.suffix not in (".yaml", ".dunning"):
            continue
        name = policy.name
        for extra, tag in (([], "plain"), (["--explain"], "explain")):
            cmd = dunning + ["run", "--policy", str(policy), "--invoices", str(data / "invoices.jsonl"),
                             "--customers", str(data / "customers.jsonl"), "--events", str(data / "events.jsonl"),
                             "--until", UNTIL, "--out", str(out / f"{name}.{tag}.actions.jsonl"),
                             "--states", str(out / f"{name}.{tag}.states.jsonl"),
                             "--rejects", str(out / f"{name}.{tag}.rejects.jsonl")] + extra
            r = subprocess.run(cmd, capture_output=True, text=True)
            (out / f"{name}.{tag}.exit").write_text(f"{r.returncode}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
