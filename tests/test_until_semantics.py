"""SPEC §5: `--until D` / `until: D` with a date means through the end of that local day; `--since D`
from 00:00 of that day; an instant means exactly that instant (both bounds inclusive). So daily
windows written as dates never overlap and leave no gap, in `dunning run`, `dunning explain`,
`simulate` and scenario files."""

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from conftest import ROOT

from dunning_engine import load_policy, simulate
from dunning_engine.cli.main import cli
from dunning_engine.run import bound
from dunning_engine.testing.scenarios import run_scenarios

EX = ROOT / "examples" / "b2b_chile"
POLICY = str(ROOT / "policies" / "b2b_friendly_cl.yaml")
RECORDS = ["--invoices", str(EX / "invoices.csv"), "--customers", str(EX / "customers.csv"),
           "--events", str(EX / "events.jsonl")]
BASE = ["--policy", POLICY, *RECORDS]
SANTIAGO = ZoneInfo("America/Santiago")
SPEC_POLICY = ROOT / "tests" / "data" / "spec_example.yaml"
# SPEC §7's portfolio: the pre-due reminder fires on 2026-01-28 at 09:00 (send_at), the first
# notice on 2026-02-01 at 09:00.
INVOICES = [{"id": "A1", "customer": "C1", "amount": "100000", "issued": "2026-01-01", "due": "2026-01-31"}]
CUSTOMERS = [{"id": "C1", "segment": "smb"}]


def ts(*args, tz=SANTIAGO) -> int:
    return int(dt.datetime(*args, tzinfo=tz).timestamp())


def run_cli(*args) -> str:
    r = CliRunner().invoke(cli, ["run", *args, "-q"])
    assert r.exit_code == 0, r.output
    return r.stdout


# ------------------------------------------------------------------ bound(): what a value names


def test_a_date_as_until_is_the_last_second_of_that_local_day():
    assert bound("2026-03-31", SANTIAGO, end=True) == ts(2026, 4, 1) - 1
    assert bound(dt.date(2026, 3, 31), SANTIAGO, end=True) == ts(2026, 4, 1) - 1
    assert bound(" 2026-03-31 ", SANTIAGO, end=True) == ts(2026, 4, 1) - 1


def test_a_date_as_since_is_midnight_of_that_day():
    assert bound("2026-03-01", SANTIAGO, end=False) == ts(2026, 3, 1)
    assert bound(dt.date(2026, 3, 1), SANTIAGO, end=False) == ts(2026, 3, 1)


def test_an_instant_is_exactly_that_instant_for_both_bounds():
    for end in (True, False):
        assert bound("2026-03-31T09:00", SANTIAGO, end=end) == ts(2026, 3, 31, 9)
        assert bound("2026-03-31T09:00:00-03:00", SANTIAGO, end=end) == ts(2026, 3, 31, 12, tz=dt.timezone.utc)
        assert bound(dt.datetime(2026, 3, 31, 0, 0), SANTIAGO, end=end) == ts(2026, 3, 31)
        assert bound(dt.datetime(2026, 3, 31, 0, 0, tzinfo=dt.timezone.utc), SANTIAGO, end=end) == \
            ts(2026, 3, 31, tz=dt.timezone.utc)


def test_days_of_a_daylight_saving_change_end_where_the_next_day_starts():
    # Chile: 2026-04-05 00:00 -03:00 becomes 2026-04-04 23:00 -04:00 (a 25-hour 4 April), and on
    # 2026-09-06 00:00 -04:00 clocks jump to 01:00 -03:00 (6 September has no midnight).
    for day in (dt.date(2026, 4, 4), dt.date(2026, 9, 5), dt.date(2026, 9, 6)):
        end = bound(day, SANTIAGO, end=True)
        start_next = bound(day + dt.timedelta(days=1), SANTIAGO, end=False)
        assert end + 1 == start_next
        assert dt.datetime.fromtimestamp(end, SANTIAGO).date() == day
        assert dt.datetime.fromtimestamp(start_next, SANTIAGO).date() == day + dt.timedelta(days=1)
    assert bound("2026-04-04", SANTIAGO, end=True) - bound("2026-04-04", SANTIAGO, end=False) == 25 * 3600 - 1


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59", "1899-12-31", "2201-01-01", dt.date(1, 1, 1),
                                   dt.datetime(9999, 12, 31, 23, 59)])
def test_dates_outside_1900_2200_are_refused(value):
    with pytest.raises(ValueError, match="outside the supported years 1900–2200"):
        bound(value, SANTIAGO, end=True)


def test_the_last_supported_day_can_be_named():
    assert bound("2200-12-31", SANTIAGO, end=True) == ts(2201, 1, 1) - 1


# ------------------------------------------------------------------ the Python API and scenario files


def test_simulate_until_a_date_includes_that_day():
    policy = load_policy(SPEC_POLICY)
    for until in ("2026-01-28", dt.date(2026, 1, 28)):
        r = simulate(policy, invoices=INVOICES, customers=CUSTOMERS, until=until)
        assert [a["params"]["template"] for a in r.actions] == ["pre_due"], until
    # An instant is exactly that instant: midnight is before the 09:00 reminder, 09:00 includes it.
    assert simulate(policy, invoices=INVOICES, customers=CUSTOMERS, until=dt.datetime(2026, 1, 28)).actions == []
    assert simulate(policy, invoices=INVOICES, customers=CUSTOMERS, until="2026-01-28T00:00").actions == []
    assert len(simulate(policy, invoices=INVOICES, customers=CUSTOMERS, until="2026-01-28T09:00").actions) == 1
    assert simulate(policy, invoices=INVOICES, customers=CUSTOMERS, until="2026-01-28T08:59:59").actions == []


def test_simulate_since_an_instant_is_inclusive():
    policy = load_policy(SPEC_POLICY)
    r = simulate(policy, invoices=INVOICES, customers=CUSTOMERS, since="2026-01-28T09:00", until="2026-01-28")
    assert [a["params"]["template"] for a in r.actions] == ["pre_due"]
    r = simulate(policy, invoices=INVOICES, customers=CUSTOMERS, since="2026-01-28T09:00:01", until="2026-01-28")
    assert r.actions == []


SCENARIO = """\
policy: {policy}
cases:
  - name: until a date includes the actions of that day
    invoices: [{{id: A1, customer: C1, amount: "100000", issued: 2026-01-01, due: 2026-01-31}}]
    customers: [{{id: C1, segment: smb}}]
    until: 2026-02-01
    expect:
      actions:
        - {{date: 2026-01-28, type: remind, template: pre_due}}
        - {{date: 2026-02-01, type: remind, template: first_notice}}
  - name: since and until the same date is that day
    invoices: [{{id: A1, customer: C1, amount: "100000", issued: 2026-01-01, due: 2026-01-31}}]
    customers: [{{id: C1, segment: smb}}]
    since: 2026-02-01
    until: 2026-02-01
    expect:
      actions:
        - {{date: 2026-02-01, type: remind, template: first_notice}}
  - name: an instant is exactly that instant
    invoices: [{{id: A1, customer: C1, amount: "100000", issued: 2026-01-01, due: 2026-01-31}}]
    customers: [{{id: C1, segment: smb}}]
    until: 2026-02-01T08:59:59
    expect:
      actions:
        - {{date: 2026-01-28, type: remind, template: pre_due}}
"""


def test_scenario_until_a_date_runs_through_the_end_of_that_day(tmp_path):
    f = tmp_path / "until.test.yaml"
    f.write_text(SCENARIO.format(policy=SPEC_POLICY))
    results = list(run_scenarios([f]))
    assert [r.status for r in results] == ["passed"] * 3, [r.failures for r in results]


def test_scenario_until_outside_the_supported_years_is_positioned(tmp_path):
    f = tmp_path / "far.test.yaml"
    f.write_text(SCENARIO.format(policy=SPEC_POLICY).replace("until: 2026-02-01\n", "until: 9999-12-31\n", 1))
    (result,) = list(run_scenarios([f]))
    assert result.status == "error"
    assert f"{f}:6:12: error: until: '9999-12-31' is outside the supported years 1900–2200" in result.failures[0]


# ------------------------------------------------------------------ the command line


def test_run_until_a_date_writes_the_actions_of_that_day():
    out = [json.loads(line) for line in run_cli(*BASE, "--until", "2026-04-06").splitlines()]
    assert out[-1]["at"] == "2026-04-06T09:00:00-04:00" and out[-1]["case"] == "F-1002"
    # The instant 00:00 of that day stops before it (an instant is exactly that instant).
    assert "2026-04-06" not in run_cli(*BASE, "--until", "2026-04-06T00:00")


def test_explain_until_a_date_includes_that_day():
    r = CliRunner().invoke(cli, ["explain", *BASE, "--until", "2026-04-06", "--case", "F-1002"])
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[-1].startswith("2026-04-06 09:00-04:00    -> remind")


def test_daily_windows_written_as_dates_equal_one_run_byte_for_byte():
    # Consecutive days, each run on its own (--since D --until D), across Chile's DST change of
    # 2026-04-05, the dispute, the promise and the fees of the example: no action twice, none lost.
    first, last = dt.date(2026, 4, 1), dt.date(2026, 5, 10)
    windows, day = [], first
    while day <= last:
        windows.append(run_cli(*BASE, "--since", day.isoformat(), "--until", day.isoformat()))
        day += dt.timedelta(days=1)
    whole = run_cli(*BASE, "--since", first.isoformat(), "--until", last.isoformat())
    assert "".join(windows) == whole
    keys = [json.loads(line)["key"] for w in windows for line in w.splitlines()]
    assert len(keys) == len(set(keys)) >= 20
    # Each window holds exactly the actions whose local date is its day.
    for i, w in enumerate(windows):
        day = (first + dt.timedelta(days=i)).isoformat()
        assert all(json.loads(line)["at"][:10] == day for line in w.splitlines())
    # And the whole range is the tail of a run from the start.
    full = run_cli(*BASE, "--until", last.isoformat())
    assert whole == "".join(line for line in full.splitlines(keepends=True)
                            if json.loads(line)["at"][:10] >= first.isoformat())


def test_daily_windows_in_python_cover_every_day_of_the_example():
    policy = load_policy(POLICY)
    records = dict(invoices=str(EX / "invoices.csv"), customers=str(EX / "customers.csv"),
                   events=str(EX / "events.jsonl"))
    whole = simulate(policy, **records, until="2026-07-31").actions
    parts, day = [], dt.date(2026, 3, 1)
    while day <= dt.date(2026, 7, 31):
        parts.extend(simulate(policy, **records, since=day, until=day).actions)
        day += dt.timedelta(days=1)
    assert parts == whole and len(whole) == 28
