"""Properties of the store on every shipped policy (issue 12; Hypothesis): split equivalence with
random cut points, idempotence of a run to the store's clock, snapshot round trips, and a migration
to the same policy under a new version."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dunning_engine import load_policy, load_policy_text, simulate
from dunning_engine.engine.core import Engine
from dunning_engine.engine.snapshot import decode_case, decode_customer, encode_case
from dunning_engine.io.writers import dumps_record
from dunning_engine.store import open_store
from dunning_engine.store.run import StoreRun

from portfolio import Portfolio
from test_store_run import ROOT, run_windows

POLICIES = sorted(p.name for p in (ROOT / "policies").glob("*.yaml"))
PORTFOLIO = Portfolio(48, 13)
CUSTOMERS, INVOICES, EVENTS = PORTFOLIO.customers, PORTFOLIO.invoices, PORTFOLIO.events
UNTIL = "2026-12-31"
DAYS = [(dt.date(2026, 1, 1) + dt.timedelta(days=d)).isoformat() for d in range(0, 364)]
SETTINGS = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                           HealthCheck.too_slow])


def windows(cuts: list[str]):
    return PORTFOLIO.windows(cuts + [UNTIL])


_ONE: dict[str, tuple] = {}


def one_run(name: str):
    if name not in _ONE:
        policy = load_policy(ROOT / "policies" / name)
        r = simulate(policy, invoices=INVOICES, customers=CUSTOMERS, events=EVENTS, until=UNTIL)
        _ONE[name] = ([dumps_record(a) for a in r.actions], r.states)
    return _ONE[name]


@pytest.mark.slow
@pytest.mark.parametrize("name", POLICIES)
@SETTINGS
@given(cuts=st.lists(st.sampled_from(DAYS), min_size=1, max_size=6, unique=True).map(sorted))
def test_split_runs_at_random_days_equal_one_run(tmp_path_factory, name, cuts):
    policy = load_policy(ROOT / "policies" / name)
    url = str(tmp_path_factory.mktemp("s") / "s.db")
    actions = run_windows(url, policy, windows(cuts))
    expected_actions, expected_states = one_run(name)
    assert actions == expected_actions
    with open_store(url) as store:
        # idempotence: running again to the store's clock emits nothing
        with StoreRun(store, policy) as run:
            assert run.advance(UNTIL).actions == []
        # snapshot round trip: store -> load -> store gives the same bytes
        engine = Engine(policy)
        rows = list(store.all_cases())
        for cid, text in store.customers({r.customer for r in rows}).items():
            engine.customers[cid] = decode_customer(json.loads(text))
        for row in rows:
            case, deferred = decode_case(engine, json.loads(row.snapshot), engine._customer(row.customer))
            again = json.dumps(encode_case(engine, case, [(at, i, rec) for i, (at, rec) in enumerate(deferred)]),
                               ensure_ascii=False, sort_keys=True)
            assert again == row.snapshot
            engine.adopt(case, deferred)
        assert engine.case_states() == expected_states


@pytest.mark.slow
@pytest.mark.parametrize("name", POLICIES)
@SETTINGS
@given(cut=st.sampled_from(DAYS[30:300]))
def test_migrating_to_the_same_policy_under_a_new_version_changes_only_the_keys(tmp_path_factory, name, cut):
    text = (ROOT / "policies" / name).read_text()
    policy = load_policy(ROOT / "policies" / name)
    bumped = load_policy_text(text.replace(f"\nversion: {policy.version}\n", f"\nversion: {policy.version + 1}\n"),
                              format="yaml", folder=ROOT / "policies")
    assert bumped.version == policy.version + 1
    wins = windows([cut])
    plain = str(tmp_path_factory.mktemp("a") / "s.db")
    moved = str(tmp_path_factory.mktemp("b") / "s.db")
    first = run_windows(plain, policy, wins[:1])
    assert run_windows(moved, policy, wins[:1]) == first
    with open_store(moved) as store, StoreRun(store, bumped, migrating=True) as run:
        assert run.migrate({}).actions == []
    later_plain = run_windows(plain, policy, wins[1:])
    later_moved = run_windows(moved, bumped, wins[1:])
    old, new = f"{policy.id}@{policy.version}/".encode(), f"{policy.id}@{bumped.version}/".encode()
    # the same actions, new ones under the new version (actions deferred before it keep their key)
    assert [a.replace(new, old) for a in later_moved] == later_plain
    assert not any(new in a for a in later_plain) and (not later_moved or any(new in a for a in later_moved))
