"""A week of daily runs on a store, as an application would do it (SPEC §8; docs/store.md).

Each day the application gives the store what happened that day (new invoices, payments), advances
the clock to the end of the day and gets back what to send; here it prints it and marks it delivered.
Run it with ``python examples/store_week.py [STORE_PATH]`` (a temporary store when none is given).
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

from dunning_engine import load_policy
from dunning_engine.store import open_store
from dunning_engine.store.run import StoreRun

ROOT = Path(__file__).resolve().parent.parent
POLICY = load_policy(ROOT / "policies" / "b2b_friendly_cl.yaml")

# What the billing system hands over each day (in a real application: a query of that day's rows).
INVOICES = {
    dt.date(2026, 3, 2): [{"id": "F-1001", "customer": "ACME", "amount": "1250000", "issued": "2026-02-01",
                           "due": "2026-03-03"},
                          {"id": "F-1002", "customer": "SUR", "amount": "480000", "issued": "2026-02-05",
                           "due": "2026-03-07"}],
}
PAYMENTS = {
    dt.date(2026, 3, 5): [{"id": "PAY-77", "type": "payment", "at": "2026-03-05T16:20:00", "invoice": "F-1001",
                           "amount": "1250000"}],
}
CUSTOMERS = [{"id": "ACME", "name": "Acme Ltda.", "email": "pagos@acme.cl", "segment": "smb"},
             {"id": "SUR", "name": "Comercial Sur", "email": "finanzas@sur.cl", "segment": "smb"}]


def main(path: str) -> None:
    day = dt.date(2026, 3, 2)
    for n in range(7):
        with open_store(path) as store:
            with StoreRun(store, POLICY) as run:  # holds the store's lock for the run
                run.ingest(invoices=INVOICES.get(day, ()), events=PAYMENTS.get(day, ()),
                           customers=CUSTOMERS if n == 0 else ())
                report = run.advance(day)  # through the end of that day
            print(f"{day}: {report.line()}")
            for row in store.outbox(status="pending"):
                print(f"  send {row['type']} {row['case']} at {row['at']}: {row['key']}")
                store.mark(row["key"], "delivered")  # after the message really went out
        day += dt.timedelta(days=1)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(sys.argv[1])
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(str(Path(tmp) / "store.db"))
