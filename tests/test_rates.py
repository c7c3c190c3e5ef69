"""Reference rates: ``rates:`` tables from CSV files or inline, ``rate("UF")`` on the day in force (issue 6)."""

import datetime as dt
import json
from decimal import Decimal

import pytest

from conftest import policy, run

from dunning_engine.engine.core import Engine
from dunning_engine.io.rates import install_rates, load_rates, read_rate_csv
from dunning_engine.run import run_files, simulate
from dunning_engine.errors import PolicyError
from dunning_engine.policy.load import load_policy

POLICY = """policy: t
currency: CLP
timezone: America/Santiago
states:
  open:
    initial: true
    rules:
      - at: due
        do:
          - custom: {name: uf, params: {value: 'rate("UF")', eur: 'rate("EUR")'}}
      - at: due + 3 days
        when: rate("UF") > 39100
        do: [{remind: {template: high}}]
rates:
  UF: UF_TABLE
  EUR: {2026-01-01: "1000.5", 2026-05-02: "1010"}
"""


def policy_text(uf: str) -> str:
    return POLICY.replace("UF_TABLE", uf)

UF_CSV = """date,value
# UF in CLP (made-up values)
2026-04-29,39000.10

2026-05-01,39050.55
2026-05-03,39150
"""


def write(tmp_path, csv_text=UF_CSV, name="rates/uf.csv", policy_name="p.yaml"):
    (tmp_path / "rates").mkdir(exist_ok=True)
    (tmp_path / name).write_text(csv_text)
    p = tmp_path / policy_name
    p.write_text(policy_text(name))
    return p


INV = [{"id": "A1", "customer": "C1", "amount": "1000", "issued": "2026-04-01", "due": "2026-04-30"}]


def test_csv_rows_header_comments_and_blank_lines(tmp_path):
    write(tmp_path)
    rows = read_rate_csv(tmp_path / "rates/uf.csv", "UF")
    assert rows == [(dt.date(2026, 4, 29), Decimal("39000.10")), (dt.date(2026, 5, 1), Decimal("39050.55")),
                    (dt.date(2026, 5, 3), Decimal("39150"))]


def test_rate_reads_the_latest_value_on_or_before_today(tmp_path):
    p = write(tmp_path)
    r = simulate(str(p), invoices=INV, until="2026-05-10")
    uf = [a for a in r.actions if a["type"] == "custom"][0]
    # due 2026-04-30: UF of 04-29 is in force; EUR of 2026-01-01
    assert uf["params"]["params"] == {"value": Decimal("39000.10"), "eur": Decimal("1000.5")}
    # at due + 3 days (05-03) the UF is 39150 > 39100
    assert [a["at"] for a in r.actions if a["type"] == "remind"] == ["2026-05-03T09:00:00-04:00"]


def test_before_the_first_row_a_rate_is_null(tmp_path):
    p = write(tmp_path, "2026-06-01,39000\n")
    r = simulate(str(p), invoices=INV, until="2026-05-10")
    assert [a for a in r.actions if a["type"] == "custom"][0]["params"]["params"]["value"] is None
    assert not [a for a in r.actions if a["type"] == "remind"]


def test_paths_are_relative_to_the_policy_file(tmp_path, monkeypatch):
    p = write(tmp_path)
    monkeypatch.chdir("/")
    tables = load_rates(load_policy(str(p)))
    assert tables["UF"][0] == (dt.date(2026, 4, 29), Decimal("39000.10"))
    assert tables["EUR"] == [(dt.date(2026, 1, 1), Decimal("1000.5")), (dt.date(2026, 5, 2), Decimal("1010"))]


def test_run_files_loads_rates(tmp_path):
    p = write(tmp_path)
    (tmp_path / "inv.jsonl").write_text(json.dumps(INV[0]) + "\n")
    out = tmp_path / "out.jsonl"
    assert run_files(str(p), invoices=str(tmp_path / "inv.jsonl"), until="2026-05-10", out=str(out), report=lambda s: None) == 0
    first = json.loads(out.read_text().splitlines()[0])
    assert first["params"]["params"]["value"] == "39000.10"


def test_a_missing_file_names_the_file_and_the_policy_line(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text(policy_text("rates/nope.csv"))
    with pytest.raises(PolicyError) as e:
        simulate(str(p), invoices=INV, until="2026-05-10")
    err = e.value
    assert "cannot read rate table 'UF'" in err.message and "nope.csv" in err.message
    assert err.file == str(p) and err.line == 15
    assert "rates/nope.csv" in err.render()


@pytest.mark.parametrize("text, line, fragment", [
    ("date,value\n2026-05-01,39000\n2026-13-01,1\n", 3, "'2026-13-01' is not a date"),
    ("2026-05-01,39.000,5\n", 1, "expected two columns"),
    ("2026-05-01,39000\n2026-05-02,1e5\n", 2, "'1e5' is not a decimal number"),
    ("2026-05-01,39000\n2026-05-01,39001\n", 2, "2026-05-01 appears twice (first on line 1)"),
    ("date,value\n", 1, "has no rows"),
])
def test_a_bad_row_names_the_file_and_line(tmp_path, text, line, fragment):
    p = write(tmp_path, text)
    with pytest.raises(PolicyError) as e:
        simulate(str(p), invoices=INV, until="2026-05-10")
    err = e.value
    assert fragment in err.message, err.message
    assert err.file.endswith("uf.csv") and err.line == line
    assert "uf.csv:" in err.render()


def test_the_cli_reports_a_bad_rate_table_without_a_traceback(tmp_path):
    from click.testing import CliRunner

    from dunning_engine.cli.main import cli

    p = write(tmp_path, "2026-05-01,abc\n")
    (tmp_path / "inv.jsonl").write_text(json.dumps(INV[0]) + "\n")
    res = CliRunner().invoke(cli, ["run", "--policy", str(p), "--invoices", str(tmp_path / "inv.jsonl"), "--until", "2026-05-10"])
    assert res.exit_code == 1
    assert "uf.csv:1:12: error: rate table 'UF': 'abc' is not a decimal number" in res.output
    assert "Traceback" not in res.output


def test_inline_tables_need_no_file_and_embedding_code_installs_them():
    p = policy(policy_text('{2026-01-01: "38000"}'))
    engine = Engine(p)
    assert engine.rate("UF", dt.date(2026, 5, 1)) is None
    install_rates(engine, p)
    assert engine.rate("UF", dt.date(2026, 5, 1)) == Decimal("38000")
    r = run(p, INV, until="2026-05-01")
    assert r.actions[0]["params"]["params"]["value"] == Decimal("38000")
