"""Limits on input records (SPEC §4, §5, §12): line length, repeated JSON keys, money, dates.

Each limit is a rejected record naming its line and field, never a traceback, a blow-up of
memory or a lost good record; and the quick paths of the readers agree with the full checks.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from decimal import Decimal
from zoneinfo import ZoneInfo

import orjson
import pytest
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conftest import ROOT, run

from dunning_engine import PolicyError, load_policy_text
from dunning_engine.cli.main import cli
from dunning_engine.io import Rejects, read_customers, read_events, read_invoices
from dunning_engine.io.readers import LINE_LIMIT
from dunning_engine.records.rules import EventRules, InvoiceRules
from dunning_engine.values import AmountTooLarge, check_amount, quantize

SCL = ZoneInfo("America/Santiago")
GOOD = {"id": "I-1", "customer": "C-1", "amount": "100", "currency": "USD", "issued": "2026-01-01", "due": "2026-01-31"}


def line(obj) -> str:
    return json.dumps(obj) + "\n"


def good(i: int, **changes) -> dict:
    return {**GOOD, "id": f"I-{i}", **changes}


def read_inv(source, *, default_currency="USD", name=None):
    rejects = Rejects()
    got = list(read_invoices(source, default_currency=default_currency, rejects=rejects, name=name))
    return got, rejects


def read_ev(source, *, name="ev.jsonl"):
    rejects = Rejects()
    return list(read_events(source, tz=SCL, default_currency="USD", rejects=rejects, name=name)), rejects


def reasons(rejects) -> list[tuple[int, str | None, str]]:
    return [(r.line, r.field, r.message) for r in rejects]


# --------------------------------------------------------------------------- 1 MB a line


def test_a_5_mb_line_is_rejected_with_its_number_and_later_lines_are_read(tmp_path):
    path = tmp_path / "inv.jsonl"
    big = json.dumps(good(2, note="x" * (5 << 20)))
    path.write_text(line(good(1)) + big + "\n" + line(good(3)))
    got, rejects = read_inv(str(path))
    assert [i.id for i in got] == ["I-1", "I-3"]
    (r,) = rejects
    assert r.line == 2 and r.file == str(path)
    assert r.message == f"the line is {len(big):,} bytes long, over the limit of {LINE_LIMIT:,} (1 MB) for one record"
    assert len(r.record) <= 500 and r.record.startswith('{"id": "I-2"')


def test_a_line_of_exactly_1_mb_is_read_and_one_byte_more_is_not(tmp_path):
    base = json.dumps(good(1))
    exact = base[:-1] + " " * (LINE_LIMIT - len(base)) + "}"
    over = base[:-1] + " " * (LINE_LIMIT + 1 - len(base)) + "}"
    assert len(exact) == LINE_LIMIT
    path = tmp_path / "inv.jsonl"
    path.write_text(exact + "\n" + over.replace("I-1", "I-2") + "\r\n" + line(good(3)))
    got, rejects = read_inv(str(path))
    assert [i.id for i in got] == ["I-1", "I-3"] and [r.line for r in rejects] == [2]


_MEMORY_PROBE = textwrap.dedent("""
    import json, resource, sys, time
    from dunning_engine.io import Rejects, read_invoices
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    rejects = Rejects()
    ids = [i.id for i in read_invoices(sys.argv[1], default_currency="USD", rejects=rejects)]
    grew_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    print(json.dumps({"ids": ids, "rejected": [r.line for r in rejects], "grew_mb": grew_kb / 1024,
                      "seconds": time.perf_counter() - t}))
""")


@pytest.mark.parametrize("after", ["", "\n" + json.dumps(good(3))], ids=["at-end", "then-a-good-line"])
def test_a_50_mb_line_without_newline_is_read_in_bounded_memory(tmp_path, after):
    path = tmp_path / "inv.jsonl"
    with path.open("w") as f:
        f.write(line(good(1)))
        chunk = "x" * (1 << 20)
        for _ in range(50):
            f.write(chunk)  # 50 MB, no newline
        f.write(after)
    # A fresh process, so that its peak memory is this read's.
    out = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(path)], capture_output=True, text=True,
                         timeout=120, env={"PYTHONPATH": str(ROOT / "src")})
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["ids"] == (["I-1", "I-3"] if after else ["I-1"]) and got["rejected"] == [2]
    assert got["grew_mb"] < 20, f"peak memory grew by {got['grew_mb']:.0f} MB reading a 50 MB line"
    assert got["seconds"] < 20


def test_lines_given_in_memory_are_limited_too():
    got, rejects = read_inv([line(good(1)), json.dumps(good(2, note="x" * (2 << 20))), line(good(3))])
    assert [i.id for i in got] == ["I-1", "I-3"] and [r.line for r in rejects] == [2]
    got, rejects = read_inv([line(good(1)).encode(), json.dumps(good(2, note="y" * (2 << 20))).encode()])
    assert [i.id for i in got] == ["I-1"] and [r.line for r in rejects] == [2]


def test_an_open_text_file_is_read_a_bounded_line_at_a_time(tmp_path):
    path = tmp_path / "ev.jsonl"
    pay = {"type": "payment", "at": "2026-02-01", "invoice": "I-1", "amount": "1"}
    path.write_text(line(pay) + "z" * (3 << 20) + "\n" + line({**pay, "amount": "2"}))
    with path.open() as f:
        got, rejects = read_ev(f)
    assert [e.amount for e in got] == [Decimal(1), Decimal(2)] and [r.line for r in rejects] == [2]


def test_a_long_csv_row_is_rejected_and_the_next_rows_are_read(tmp_path):
    path = tmp_path / "inv.csv"
    header = "id,customer,amount,currency,issued,due,note\n"
    path.write_text(header + "I-1,C-1,100,USD,2026-01-01,2026-01-31,a\n"
                    + "I-2,C-1,100,USD,2026-01-01,2026-01-31," + "n" * (2 << 20) + "\n"
                    + "I-3,C-1,100,USD,2026-01-01,2026-01-31,c\n")
    got, rejects = read_inv(str(path))
    assert [i.id for i in got] == ["I-1", "I-3"] and [r.line for r in rejects] == [3]
    assert "over the limit of 1,048,576 (1 MB)" in rejects[0].message


def test_a_csv_row_spread_over_many_lines_is_limited_to_1_mb(tmp_path):
    path = tmp_path / "inv.csv"
    cells = ",".join(['"' + "q" * 50_000 + "\n" + "q" * 50_000 + '"'] * 12)  # 1.2 MB over 13 lines
    path.write_text("id,customer,amount,currency,issued,due,note\n"
                    "I-1,C-1,100,USD,2026-01-01,2026-01-31,a\n"
                    f"I-2,C-1,100,USD,2026-01-01,2026-01-31,{cells}\n"
                    "I-3,C-1,100,USD,2026-01-01,2026-01-31,c\n")
    got, rejects = read_inv(str(path))
    assert [i.id for i in got] == ["I-1", "I-3"]
    assert rejects[0].line == 3 and "the row is longer than 1,048,576 characters" in rejects[0].message
    assert all(len(r.record) <= 500 for r in rejects)


# --------------------------------------------------------------------------- repeated keys


def test_a_repeated_key_is_rejected_naming_it_not_read_as_the_last_value():
    text = '{"id": "I-1", "customer": "C-1", "amount": "1", "amount": "100", "currency": "USD", "issued": "2026-01-01", "due": "2026-01-31"}'
    got, rejects = read_inv([text, line(good(2))], name="inv.jsonl")
    assert [i.id for i in got] == ["I-2"]
    assert reasons(rejects) == [(1, "amount", "the key 'amount' appears twice")]
    assert rejects[0].help == "a JSON object names each field once: keep the value you mean"


@pytest.mark.parametrize("text, field, message", [
    ('{"type": "payment", "at": "2026-02-01", "invoice": "I-1", "amount": "1", "amount": "100"}',
     "amount", "the key 'amount' appears twice"),
    ('{"type": "payment", "type": "credit_note", "at": "2026-02-01", "invoice": "I-1", "amount": "1"}',
     "type", "the key 'type' appears twice"),
    ('{"type": "payment", "at": "2026-02-01", "invoice": "I-1", "amount": "1", "id": null, "id": "P-1"}',
     "id", "the key 'id' appears twice"),
    ('{"type": "invoice_issued", "at": "2026-02-01", "invoice": {"id": "I-9", "customer": "C", "amount": "1", '
     '"amount": "100", "issued": "2026-02-01", "due": "2026-03-01"}}',
     "invoice.amount", "the key 'amount' appears twice in 'invoice'"),
    ('{"type": "customer_updated", "at": "2026-02-01", "customer": "C", "fields": {"segment": "a", "segment": "vip"}}',
     "fields.segment", "the key 'segment' appears twice in 'fields'"),
    ('{"type": "hold", "at": "2026-02-01", "customer": "C", "tags": [{"k": 1}, {"k": 1, "k": 2}]}',
     "tags[1].k", "the key 'k' appears twice in 'tags[1]'"),
    # escaped quotes, and quotes written \\u0022 that make up for the lost ones, hide nothing
    ('{"type": "payment", "at": "2026-02-01", "invoice": "I-1", "amount": "1", "note": "a \\"b\\"", "amount": "2"}',
     "amount", "the key 'amount' appears twice"),
    ('{"type": "payment", "at": "2026-02-01", "invoice": "I-1", "amount": "1", "n": "1", '
     '"n": "\\u0022\\u0022\\u0022\\u0022"}', "n", "the key 'n' appears twice"),
], ids=["payment", "type", "null-id", "nested-invoice", "customer-fields", "in-a-list", "escaped", "u0022"])
def test_repeated_keys_in_events_are_rejected_at_any_depth(text, field, message):
    got, rejects = read_ev([text])
    assert got == [] and reasons(rejects) == [(1, field, message)]


def test_repeated_keys_in_customers_are_rejected():
    rejects = Rejects()
    custs = list(read_customers(['{"id": "C-1", "segment": "smb", "segment": "vip"}', '{"id": "C-2"}'],
                                rejects=rejects, name="c.jsonl"))
    assert [c.id for c in custs] == ["C-2"] and reasons(rejects) == [(1, "segment", "the key 'segment' appears twice")]


def test_records_without_repeated_keys_are_read_whatever_their_quotes():
    recs = [
        '{"type": "payment", "at": "2026-02-01", "invoice": "I-1", "amount": "1", "note": "say \\"hi\\""}',
        '{"type": "payment", "at": "2026-02-01", "invoice": "I-1", "amount": "1", "id": null}',
        '{"type": "payment", "at": "2026-02-01", "invoice": "I-\\u0031", "amount": "1", "id": "P\\"1"}',
        '{"type":"payment","at":"2026-02-01","invoice":"I-1","amount":"1","n":{"a":[1,{"b":"\\u0022"}]}}',
    ]
    got, rejects = read_ev(recs)
    assert not rejects and [e.invoice for e in got] == ["I-1", "I-1", "I-1", "I-1"]
    assert got[0].fields["note"] == 'say "hi"' and got[2].id == 'P"1'


@pytest.mark.parametrize("kind", ['{"x": 1}', '["payment"]'])
def test_an_event_type_that_is_an_object_or_a_list_is_rejected_not_a_crash(kind):
    got, rejects = read_ev(['{"type": %s, "at": "2026-02-01", "invoice": "I-1"}' % kind])
    assert got == [] and [(r.field, r.message.startswith("'type' must be text")) for r in rejects] == [("type", True)]


_KEYS = st.sampled_from(["type", "at", "invoice", "amount", "id", "note"])
_VALUES = st.sampled_from(['"payment"', '"2026-02-01"', '"I-1"', '"10"', 'null', '1', '"a\\"b"', '"\\u0022"',
                           '{"x": 1}', '{"x": 1, "x": 2}', '["q", {"y": "\\""}]'])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_KEYS, _VALUES), min_size=1, max_size=8), st.sampled_from([", ", ",", " , "]))
@example([("type", '"payment"'), ("at", '"2026-02-01"'), ("invoice", '"I-1"'), ("amount", '"10"'),
          ("amount", '"10"')], ", ")
def test_a_record_is_refused_for_a_repeated_key_exactly_when_its_text_repeats_one(pairs, sep):
    text = "{" + sep.join(f'"{k}": {v}' for k, v in pairs) + "}"
    repeated = []
    def hook(items):
        keys = [k for k, _ in items]
        repeated.extend(k for i, k in enumerate(keys) if k in keys[:i])
        return dict(items)
    json.loads(text, object_pairs_hook=hook)
    got, rejects = read_ev([text])
    said = [r for r in rejects if "appears twice" in r.message]
    assert bool(said) == bool(repeated), (text, reasons(rejects))
    if not repeated:  # then the record is what any JSON parser reads
        full = EventRules(SCL, "USD").full(orjson.loads(text)) if not rejects else None
        assert [(e.type, e.invoice, e.amount) for e in got] == ([(full.type, full.invoice, full.amount)] if full else [])


# --------------------------------------------------------------------------- money


@pytest.mark.parametrize("amount, ok", [
    ("999999999999999999", True), ("999999999999999999.99", True), ("1000000000000000000", False),
    ("12345678901234567890123456789", False), ("0.01", True),
])
def test_invoice_amounts_have_at_most_18_digits_before_the_point(amount, ok):
    got, rejects = read_inv([line(good(1, amount=amount))], name="inv.jsonl")
    if ok:
        assert got[0].amount == Decimal(amount) and not rejects
    else:
        assert reasons(rejects) == [(1, "amount", f"{amount} has more than 18 digits before the decimal point")]


def test_a_huge_json_integer_amount_is_rejected_not_a_crash():
    got, rejects = read_inv(['{"id": "I-1", "customer": "C", "amount": 1234567890123456789, "currency": "USD", '
                             '"issued": "2026-01-01", "due": "2026-01-31"}'], name="inv.jsonl")
    assert reasons(rejects) == [(1, "amount", "1234567890123456789 has more than 18 digits before the decimal point")]


CLP_POLICY = """
policy: p
version: 1
currency: CLP
states:
  open:
    initial: true
    rules:
      - at: due + 1 day
        do:
          - remind: {template: late}
      - on: payment
        when: balance <= 0
        goto: paid
  paid:
    final: true
"""


def test_a_payment_with_30_decimals_on_a_clp_invoice_is_rejected_and_the_ledger_kept():
    invs = [{"id": "A", "customer": "C", "amount": "100", "issued": "2026-01-01", "due": "2026-01-10"}]
    evs = [{"type": "payment", "at": "2026-01-05T10:00", "invoice": "A", "amount": "0.000000000000000000000000000001"},
           {"type": "credit_note", "at": "2026-01-05T10:00", "invoice": "A", "amount": "99.5"},
           {"type": "promise_to_pay", "at": "2026-01-05T10:00", "invoice": "A", "date": "2026-02-01", "amount": "50.5"},
           {"type": "payment", "at": "2026-01-06T10:00", "invoice": "A", "amount": "40"}]
    r = run(CLP_POLICY, invs, evs)
    assert [(e.line, e.field, e.message) for e in r.rejects] == [
        (1, "amount", "0.000000000000000000000000000001 has more decimal places than CLP allows (0)"),
        (2, "amount", "99.5 has more decimal places than CLP allows (0)"),
        (3, "amount", "50.5 has more decimal places than CLP allows (0)")]
    assert r.balance_of("A") == Decimal(60) and r.state_of("A") == "open"


def test_an_event_amount_in_its_own_currency_and_an_issued_invoice_are_checked_too():
    evs = [{"type": "invoice_issued", "at": "2026-01-02", "invoice": {"id": "B", "customer": "C",
                                                                      "amount": "12345678901234567890123456789",
                                                                      "issued": "2026-01-02", "due": "2026-01-20"}},
           {"type": "payment", "at": "2026-01-05", "invoice": "A", "amount": "1.5", "currency": "CLP"}]
    r = run(CLP_POLICY, [{"id": "A", "customer": "C", "amount": "100", "issued": "2026-01-01", "due": "2026-01-10"}], evs)
    assert [(e.line, e.field) for e in r.rejects] == [(1, "invoice.amount"), (2, "amount")]
    assert "more than 18 digits" in r.rejects[0].message and r.balance_of("A") == Decimal(100)


def test_an_event_currency_is_checked_for_an_invoice_that_joins_its_customer_case_later():
    invs = [{"id": "A", "customer": "C", "amount": "10", "issued": "2026-01-01", "due": "2026-01-31"},
            {"id": "B", "customer": "C", "amount": "10", "issued": "2026-03-01", "due": "2026-03-31"}]
    evs = [{"type": "payment", "at": "2026-01-05", "invoice": "B", "amount": "5", "currency": "EUR"},
           {"type": "payment", "at": "2026-01-05", "invoice": "B", "amount": "5.001"},
           {"type": "payment", "at": "2026-01-06", "invoice": "B", "amount": "5", "currency": "USD"}]
    r = run((ROOT / "policies" / "saas_overdue_usd.yaml").read_text(), invs, evs, until="2026-05-01")
    assert [(e.line, e.field, e.message) for e in r.rejects] == [
        (1, "currency", "currency EUR does not match invoice B in USD"),
        (2, "amount", "5.001 has more decimal places than USD allows (2)")]
    assert r.balance_of("C") == Decimal(15)


def test_check_amount_is_the_one_limit():
    assert check_amount(Decimal("19.900"), "USD") == Decimal("19.90")
    assert str(check_amount(Decimal("19.900"), "USD")) == "19.90"
    with pytest.raises(ValueError, match="more decimal places than USD allows"):
        check_amount(Decimal("19.905"), "USD")
    with pytest.raises(ValueError, match="more than 18 digits"):
        check_amount(Decimal("-1e18"))
    with pytest.raises(ValueError, match="not a decimal number"):
        check_amount(Decimal("NaN"))


def test_an_amount_too_large_to_compute_fails_its_case_not_the_run():
    with pytest.raises(AmountTooLarge, match="too large to compute exactly"):
        quantize(Decimal("9" * 27) * Decimal("9" * 18), "USD")
    policy = """
    policy: p
    version: 1
    currency: USD
    states:
      open:
        initial: true
        rules:
          - at: due + 1 day
            do:
              - fee: {percent: 999999999999999999%, of: balance}
              - remind: {template: late}
    """
    big = {"id": "BIG", "customer": "C", "amount": "999999999999999999", "issued": "2026-01-01", "due": "2026-01-10"}
    small = {"id": "S", "customer": "C", "amount": "100", "issued": "2026-01-01", "due": "2026-01-10"}
    r = run(policy, [big, small], until="2026-02-01")
    assert [(a["case"], a["type"]) for a in r.actions] == [("S", "fee"), ("S", "remind")]
    assert [e.case for e in r.errors] == ["BIG"] and "too large to compute exactly" in str(r.errors[0])


_POLICY_LITERALS = """
policy: p
version: 1
currency: USD
states:
  open:
    initial: true
    rules:
      - at: due + 1 day
        when: balance > {guard}
        do:
          - fee: {fee}
"""


@pytest.mark.parametrize("guard, fee, line, column, digits", [
    ("12345678901234567890123456789 USD", "{amount: 5 USD}", 10, 25, "12345678901234567890123456789"),
    ("0", "{amount: 12345678901234567890123456789012 USD}", 12, 27, "12345678901234567890123456789012"),
    ("0", "{percent: 123456789012345678901234567890%, of: balance}", 12, 28, "123456789012345678901234567890"),
    ("1234567890123456789", "{amount: 5 USD}", 10, 25, "1234567890123456789"),
], ids=["money", "fee-amount", "percent", "number"])
def test_policy_literals_beyond_18_digits_are_positioned_errors(guard, fee, line, column, digits):
    text = _POLICY_LITERALS.replace("{guard}", guard).replace("{fee}", fee)
    with pytest.raises(PolicyError) as e:
        load_policy_text(text, format="yaml", name="p.yaml")
    err = next(x for x in e.value.errors if "digits" in x.message)
    assert (err.line, err.column, err.message) == (line, column, f"{digits} has more than 18 digits before the decimal point")


def test_policy_literals_of_18_digits_load():
    text = _POLICY_LITERALS.replace("{guard}", "999999999999999999.99 USD").replace("{fee}", "{percent: 2.5%, of: balance}")
    assert load_policy_text(text, format="yaml").states


def test_a_dsl_policy_literal_beyond_18_digits_is_a_positioned_error():
    text = "policy p version 1\ncurrency USD\n\nstate a initial:\n    at due + 1 day -> b:\n" \
           "        fee 99999999999999999999 USD\nstate b final\n"
    with pytest.raises(PolicyError) as e:
        load_policy_text(text, format="dsl", name="p.dunning")
    assert (e.value.line, e.value.column) == (6, 13) and "more than 18 digits" in e.value.message


def test_rate_values_beyond_18_digits_are_positioned_errors(tmp_path):
    inline = "policy: p\nversion: 1\ncurrency: USD\nrates:\n  UF: {2026-01-01: 1234567890123456789012345}\n" \
             "states:\n  a: {initial: true}\n"
    with pytest.raises(PolicyError) as e:
        load_policy_text(inline, format="yaml", name="p.yaml")
    assert e.value.line == 5 and "more than 18 digits" in e.value.message


# --------------------------------------------------------------------------- dates 1900 to 2200


@pytest.mark.parametrize("field, value, ok", [
    ("due", "9999-12-31", False), ("issued", "0001-01-01", False), ("issued", "1899-12-31", False),
    ("issued", "1900-01-01", True), ("due", "2200-12-31", True), ("due", "2201-01-01", False),
])
def test_invoice_dates_are_within_1900_and_2200(field, value, ok):
    rec = good(1, **{field: value})
    got, rejects = read_inv([line(rec)], name="inv.jsonl")
    if ok:
        assert got and not rejects
    else:
        assert reasons(rejects) == [(1, field, f"'{value}' is out of the supported range of dates (years 1900 to 2200)")]


@pytest.mark.parametrize("rec, field", [
    ({"type": "promise_to_pay", "at": "2026-02-01", "invoice": "I-1", "date": "9999-12-31"}, "date"),
    ({"type": "payment", "at": "9999-12-31T23:59:59", "invoice": "I-1", "amount": "1"}, "at"),
    ({"type": "payment", "at": "0001-01-01T00:00:00+14:00", "invoice": "I-1", "amount": "1"}, "at"),
    ({"type": "payment", "at": "2200-12-31T23:30:00-05:00", "invoice": "I-1", "amount": "1"}, "at"),
    ({"type": "hold", "at": "1899-12-31", "customer": "C"}, "at"),
    ({"type": "invoice_issued", "at": "2026-02-01", "invoice": {**GOOD, "due": "9999-12-31"}}, "invoice.due"),
], ids=["promise-date", "at-9999", "at-year-1", "at-2201-in-santiago", "at-1899", "issued-invoice"])
def test_event_dates_are_within_1900_and_2200(rec, field):
    got, rejects = read_ev([json.dumps(rec)])
    assert got == [] and [(r.field, "out of the supported range" in r.message) for r in rejects] == [(field, True)]


def test_records_out_of_range_are_rejected_and_the_good_invoices_still_get_their_actions(tmp_path):
    policy = ROOT / "policies" / "early_pay_discount_usd.yaml"
    invoices, events = tmp_path / "inv.jsonl", tmp_path / "ev.jsonl"
    invoices.write_text(line(good(1)) + line(good(2, due="9999-12-31")) + line(good(3, issued="0001-01-01"))
                        + line(good(4, amount="12345678901234567890123456789")) + line(good(5)))
    events.write_text(line({"type": "promise_to_pay", "at": "2026-02-02", "invoice": "I-5", "date": "9999-12-31"})
                      + line({"type": "payment", "at": "9999-12-31T10:00:00", "invoice": "I-5", "amount": "1"}))
    out = tmp_path / "out.jsonl"
    r = CliRunner().invoke(cli, ["run", "--policy", str(policy), "--invoices", str(invoices), "--events", str(events),
                                 "--until", "2026-04-30", "--out", str(out)])
    assert r.exit_code == 1 and "Traceback" not in r.output
    for where in (f"{invoices}:2: rejected: field 'due'", f"{invoices}:3: rejected: field 'issued'",
                  f"{invoices}:4: rejected: field 'amount'", f"{events}:1: rejected: field 'date'",
                  f"{events}:2: rejected: field 'at'"):
        assert where in r.output
    invoices_with_actions = {json.loads(x)["case"] for x in out.read_text().splitlines()}
    assert invoices_with_actions == {"I-1", "I-5"}


# --------------------------------------------------------------------------- quick paths agree with the full checks


_LIMIT_AMOUNTS = st.sampled_from(["999999999999999999", "1000000000000000000", "12345678901234567890123456789",
                                  "0.000000000000000000000000000001", "19.90", "19.905", "19.900", "100"])
_LIMIT_DATES = st.sampled_from(["1899-12-31", "1900-01-01", "2026-01-01", "2200-12-31", "2201-01-01", "9999-12-31",
                                "0001-01-01"])
_LIMIT_ATS = st.sampled_from(["2026-02-01T10:00:00", "9999-12-31T23:59:59", "0001-01-01T00:00:00+14:00",
                              "2200-12-31T23:30:00-05:00", "1900-01-01", "2200-12-31T10:00:00"])


def _json_with(rec: dict, repeat: str | None) -> bytes:
    """The JSON text of ``rec``, with key ``repeat`` written twice (first with another value)."""
    parts = [f'"{repeat}": "0"'] if repeat is not None else []
    parts += [f'{json.dumps(k)}: {json.dumps(v)}' for k, v in rec.items()]
    return ("{" + ", ".join(parts) + "}").encode()


@settings(max_examples=300, deadline=None)
@given(_LIMIT_AMOUNTS, _LIMIT_DATES, _LIMIT_DATES, st.sampled_from(["USD", "CLP", "BHD"]),
       st.one_of(st.none(), st.sampled_from(["amount", "id", "due"])))
def test_the_quick_invoice_path_agrees_with_the_full_checks_at_the_limits(amount, issued, due, currency, repeat):
    rec = {"id": "I-1", "customer": "C-1", "amount": amount, "currency": currency, "issued": issued, "due": due}
    text = _json_with(rec, repeat)
    rules = InvoiceRules(None)
    quick = rules.quick(orjson.loads(text), text)
    if repeat is not None:
        assert quick is None  # a repeated key never takes the quick path
        return
    try:
        full = rules.full(dict(rec))
    except Exception as e:
        assert quick is None, f"the quick path took a record the full checks refuse: {e}"
        return
    if quick is not None:
        assert (quick.id, quick.currency, quick.issued, quick.due, str(quick.amount)) == \
               (full.id, full.currency, full.issued, full.due, str(full.amount))


@settings(max_examples=300, deadline=None)
@given(_LIMIT_AMOUNTS, _LIMIT_ATS, st.one_of(st.none(), st.sampled_from(["amount", "invoice", "at"])),
       st.sampled_from(["P-1", None]))
def test_the_quick_event_path_agrees_with_the_full_checks_at_the_limits(amount, at, repeat, id_):
    rec = {"type": "payment", "at": at, "id": id_, "invoice": "I-1", "amount": amount}
    text = _json_with(rec, repeat)
    rules = EventRules(ZoneInfo("America/New_York"), "USD")
    quick = rules.quick(orjson.loads(text), "payment", text)
    if repeat is not None:
        assert quick is None
        return
    try:
        full = rules.full(dict(rec))
    except Exception as e:
        assert quick is None, f"the quick path took a record the full checks refuse: {e}"
        return
    if quick is not None:
        assert (quick.at, quick.id, quick.invoice, str(quick.amount)) == (full.at, full.id, full.invoice, str(full.amount))


def test_well_formed_lines_take_the_quick_paths():
    inv = dict(GOOD)
    text = json.dumps(inv).encode()
    assert InvoiceRules(None).quick(orjson.loads(text), text) is not None
    pay = {"type": "payment", "at": "2026-02-01T10:00:00", "invoice": "I-1", "amount": "19.90", "id": None}
    text = json.dumps(pay).encode()
    assert EventRules(SCL, "USD").quick(orjson.loads(text), "payment", text) is not None
