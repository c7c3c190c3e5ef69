"""The store on a real PostgreSQL server (SPEC §8): the same runs as on SQLite give the same actions,
states and outbox; the run lock between processes; kill -9 and rerun; clear errors for bad URLs."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from dunning_engine import load_policy, simulate
from dunning_engine.io.writers import dumps_record
from dunning_engine.store import StoreError, StoreLocked, open_store

from test_store_run import _RUNNER, CUSTOMERS, EVENTS, INVOICES, ROOT, parity, run_windows, store_states, windows


def dump(url: str) -> tuple:
    with open_store(url) as store:
        cases = store._run("SELECT id, customer, state, final, next_wake, snapshot FROM cases ORDER BY id")
        tables = [store._run(f"SELECT * FROM {t} ORDER BY 1, 2")
                  for t in ("invoices", "customers", "record_ids", "contact", "pending_events")]
        outbox = store._run("SELECT key, at, case_id, type, record, status FROM outbox ORDER BY key")
        return [tuple(r) for r in cases], [[tuple(r) for r in t] for t in tables], [tuple(r) for r in outbox], store.meta()


@pytest.mark.parametrize("name", ["consumer_mx.yaml", "b2b_friendly_cl.yaml"])
def test_runs_split_by_day_on_postgresql_equal_one_run_and_sqlite(postgres_url, tmp_path, name):
    policy = load_policy(ROOT / "policies" / name)
    one = simulate(policy, invoices=INVOICES, customers=CUSTOMERS, events=EVENTS, until="2027-01-31")
    actions = run_windows(postgres_url, policy, windows())
    assert actions == [dumps_record(a) for a in one.actions]
    assert store_states(postgres_url, policy) == one.states
    lite = str(tmp_path / "s.db")
    run_windows(lite, policy, windows())
    pg, sq = dump(postgres_url), dump(lite)
    assert pg[0] == sq[0] and pg[2] == sq[2] and pg[3] == sq[3]  # cases, outbox, meta: the same bytes


def test_a_second_run_on_postgresql_waits_for_the_advisory_lock(postgres_url):
    open_store(postgres_url).close()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import time\nfrom dunning_engine.store import open_store\n"
        f"s = open_store({postgres_url!r})\nwith s.lock(10):\n    print('held', flush=True)\n    time.sleep(3)\n")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with open_store(postgres_url) as store:
            started = time.monotonic()
            with pytest.raises(StoreLocked, match="another run holds the store"):
                with store.lock(0.5):
                    pass
            with store.lock(10):
                assert time.monotonic() - started >= 1
    finally:
        holder.wait(10)


def test_an_unreachable_postgresql_url_is_a_clear_error():
    with socket_port() as port:
        started = time.monotonic()
        with pytest.raises(StoreError, match="cannot connect to the store postgresql://u:\\*\\*\\*@127.0.0.1"):
            open_store(f"postgresql://u:secret@127.0.0.1:{port}/nowhere")
        assert time.monotonic() - started < 15


class socket_port:
    """A loopback port nothing listens on."""

    def __enter__(self) -> int:
        import socket

        self.s = socket.socket()
        self.s.bind(("127.0.0.1", 0))
        return self.s.getsockname()[1]

    def __exit__(self, *exc) -> None:
        self.s.close()


@pytest.mark.slow
def test_killed_runs_on_postgresql_rerun_to_the_same_store_and_outbox(postgres_server_url, tmp_path):
    from pg_server import new_database

    customers, invoices, events = parity.portfolio(n=800, seed=5)
    files = []
    for name, rows in (("invoices", invoices), ("customers", customers), ("events", events)):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        files.append(str(path))
    runner = tmp_path / "runner.py"
    runner.write_text(_RUNNER)
    policy = str(ROOT / "policies" / "b2b_friendly_cl.yaml")

    def command(url: str) -> list[str]:
        return [sys.executable, str(runner), policy, url, *files, "50", "2026-12-31"]

    clean = new_database(postgres_server_url)
    started = time.monotonic()
    subprocess.run(command(clean), check=True, capture_output=True)
    took = time.monotonic() - started
    crashed = new_database(postgres_server_url)
    rnd = random.Random(5)
    kills = 0
    for attempt in range(15):  # killed at a random instant, run again, until a run ends by itself
        proc = subprocess.Popen(command(crashed), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            proc.wait(timeout=rnd.uniform(0.1, 0.9) * took if attempt < 14 else None)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        _, err = proc.communicate()
        assert proc.returncode in (0, -signal.SIGKILL), err.decode()
        if proc.returncode == 0:
            break
    assert proc.returncode == 0 and kills >= 1
    assert dump(crashed) == dump(clean)
