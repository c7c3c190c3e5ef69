"""docs/money.md is executable: every YAML policy on the page loads, and each `# run:` block that
follows it is run and its expected amounts checked, so the examples cannot drift from the engine."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import yaml

from conftest import ROOT, local_date, policy, run

DOC = ROOT / "docs" / "money.md"
BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.S | re.M)


def _blocks() -> tuple[dict[str, str], list[tuple[str, dict]]]:
    policies: dict[str, str] = {}
    runs: list[tuple[str, dict]] = []
    for m in BLOCK.finditer(DOC.read_text(encoding="utf-8")):
        text = m.group(1)
        head = text.lstrip().splitlines()[0]
        if head.startswith("policy:"):
            policies[head.split(":", 1)[1].strip()] = text
        elif head.startswith("# run:"):
            runs.append((head.split(":", 1)[1].strip(), yaml.safe_load(text)))
    return policies, runs


POLICIES, RUNS = _blocks()


def _plain(value):
    """YAML dates and datetimes back to ISO text, as the record readers take them."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _same(actual, expected) -> bool:
    if isinstance(actual, Decimal):
        return actual == Decimal(str(expected))
    if isinstance(actual, (dt.date, dt.datetime)):
        return actual.isoformat() == str(expected)
    return actual == expected


def test_the_page_has_examples_and_every_policy_is_run():
    assert len(POLICIES) >= 6 and len(RUNS) >= 6
    assert sorted(POLICIES) == sorted(name for name, _ in RUNS)


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_every_policy_on_the_page_loads(name):
    p = policy(POLICIES[name])
    assert p.id == name


@pytest.mark.parametrize("name, spec", RUNS, ids=[name for name, _ in RUNS])
def test_every_example_gives_the_amounts_shown(name, spec):
    spec = _plain(spec)
    r = run(POLICIES[name], spec["invoices"], spec.get("events", ()), until=spec["until"])
    assert not r.rejects and not r.errors
    expect = spec["expect"]
    got = r.actions
    assert len(got) == len(expect["actions"]), [(local_date(a), a["type"], a["amount"]) for a in got]
    for a, want in zip(got, expect["actions"]):
        for key, value in want.items():
            if key == "date":
                actual = local_date(a)
            elif key in a and key != "params":
                actual = a[key]
            else:
                actual = a["params"].get(key)
            assert _same(actual, value), (a["key"], key, actual, value)
    states = {s["case"]: s for s in r.states}
    for case, fields in expect.get("states", {}).items():
        for key, value in fields.items():
            actual = states[case].get(key, Decimal(0))
            assert _same(actual, value), (case, key, actual, value)
    for case in r.engine.cases.values():
        assert all(led.balanced() for led in case.ledgers.values())
