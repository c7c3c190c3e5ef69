"""Shared helpers for the test suite."""

from __future__ import annotations

import datetime as dt
import os
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from dunning_engine import load_policy_text
from dunning_engine.run import simulate

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

ROOT = Path(__file__).resolve().parent.parent


def policy(text: str):
    """A policy from YAML text written inline in a test (dedented)."""
    return load_policy_text(textwrap.dedent(text), format="yaml")


def run(policy_text, invoices, events=(), until="2026-12-31", customers=(), **kw):
    p = policy(policy_text) if isinstance(policy_text, str) else policy_text
    return simulate(p, invoices=invoices, events=events, customers=customers, until=until, **kw)


def local_date(action) -> str:
    return dt.datetime.fromisoformat(action["at"]).date().isoformat()


def timeline(result, *fields):
    """Compact (date, case, type, rule) rows, plus any param fields asked for."""
    rows = []
    for a in result.actions:
        row = (local_date(a), a["case"], a["type"], a["rule"])
        row += tuple(a["params"].get(f) if f in a["params"] else a.get(f) for f in fields)
        rows.append(row)
    return rows


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def postgres_server_url():
    """A PostgreSQL server for this test session (tests/pg_server.py): skipped, with the reason, when
    none can be started; a failure under CI=true."""
    from pg_server import postgres_server

    yield from postgres_server()


@pytest.fixture
def postgres_url(postgres_server_url):
    """A new empty database on the session's PostgreSQL server."""
    from pg_server import new_database

    return new_database(postgres_server_url)
