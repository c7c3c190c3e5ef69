"""dunning migrate (SPEC §8): cases move to another version of their policy, keeping their entry
time and ledgers; timers past at the migration instant are dropped unless --catch-up."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dunning_engine import load_policy_text
from dunning_engine.errors import PolicyError
from dunning_engine.store import open_store
from dunning_engine.store.run import StoreRun

V1 = """policy: p
version: 1
currency: CLP
timezone: America/Santiago
states:
  open:
    initial: true
    rules:
      - at: due + 1 day
        goto: overdue
  overdue:
    rules:
      - after: 30 days
        goto: legal
  legal:
    final: true
"""

# Version 2: 'overdue' is now 'late' (a --map), with a reminder 5 days in and a daily nudge.
V2 = """policy: p
version: 2
currency: CLP
timezone: America/Santiago
states:
  open:
    initial: true
    rules:
      - at: due + 1 day
        goto: late
  late:
    rules:
      - name: nudge5
        after: 5 days
        do: [{remind: {template: nudge}}]
      - name: daily
        every: 1 day
        do: [{custom: {name: crm_sync}}]
      - after: 30 days
        goto: legal
  legal:
    final: true
"""

INVOICES = [{"id": "A1", "customer": "C1", "amount": "1000", "issued": "2026-01-01", "due": "2026-01-31"},
            {"id": "A2", "customer": "C2", "amount": "2000", "issued": "2026-03-01", "due": "2026-03-31"}]


def _store(tmp_path, until="2026-02-08"):
    url = str(tmp_path / "s.db")
    with open_store(url) as store, StoreRun(store, load_policy_text(V1, format="yaml")) as run:
        run.ingest(invoices=INVOICES)
        run.advance(until)
    return url


def _migrate(url, **kw):
    with open_store(url) as store, StoreRun(store, load_policy_text(V2, format="yaml"), migrating=True) as run:
        return run.migrate(**kw), run


def test_cases_move_by_name_or_map_and_old_versions_are_then_refused(tmp_path):
    url = _store(tmp_path)
    with pytest.raises(PolicyError, match="no state 'overdue'.*") as e:
        _migrate(url, mapping={})
    assert "--map OLD=NEW" in str(e.value)
    result, _ = _migrate(url, mapping={"overdue": "late"})
    assert result.moves == {(None, None): 1, ("overdue", "late"): 1}  # A2 starts in March
    with open_store(url) as store:
        assert store.meta().policy_version == 2
        with pytest.raises(PolicyError, match="runs version 2"):
            StoreRun(store, load_policy_text(V1, format="yaml"))
    with open_store(url) as store, StoreRun(store, load_policy_text(V2, format="yaml")) as run:
        actions = run.advance("2026-02-12").actions
    # entered 'overdue' on Feb 1: the daily ticks go on from the migration instant (Feb 8 is past,
    # dropped), the 5-day reminder (Feb 6) was past at the migration: dropped
    assert [(a["at"][:10], a["type"]) for a in actions] == [
        ("2026-02-09", "custom"), ("2026-02-10", "custom"), ("2026-02-11", "custom"), ("2026-02-12", "custom")]
    assert all(a["key"].startswith("p@2/A1/late#1/daily/") for a in actions)


def test_catch_up_fires_past_timers_at_the_migration_instant(tmp_path):
    url = _store(tmp_path)
    result, _ = _migrate(url, mapping={"overdue": "late"}, catch_up=True)
    fired = [(a["at"], a["type"], a["rule"]) for a in result.actions]
    assert ("2026-02-08T23:59:59-03:00", "remind", "nudge5") in fired
    # every missed tick of the daily rule (Feb 2 to 8) catches up, as timers armed late always do
    assert fired.count(("2026-02-08T23:59:59-03:00", "custom", "daily")) == 7


def test_a_dry_run_changes_nothing(tmp_path):
    url = _store(tmp_path)
    before = (tmp_path / "s.db").read_bytes()
    v2 = tmp_path / "v2.yaml"
    v2.write_text(V2)
    r = subprocess.run([sys.executable, "-m", "dunning_engine.cli.main", "migrate", "--policy", str(v2), "--store", url,
                        "--map", "overdue=late", "--dry-run", "--catch-up"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:3] == ["migration at 2026-02-08T23:59:59-03:00:", "  (not started) -> (not started): 1 case(s)",
                         "  overdue -> late: 1 case(s)"]
    assert json.loads(lines[-1])["key"].startswith("p@2/A1/late#1/")
    with open_store(url) as store:
        assert store.meta().policy_version == 1
    r = subprocess.run([sys.executable, "-m", "dunning_engine.cli.main", "migrate", "--policy", str(v2), "--store", url,
                        "--map", "overdue"], capture_output=True, text=True)
    assert r.returncode == 2 and "write OLD=NEW" in r.stderr
