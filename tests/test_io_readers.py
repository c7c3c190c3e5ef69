"""Readers of invoices, customers and events: good paths, and one test per way a record is rejected."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dunning_engine.records import EVENT_FIELDS, Customer, Event, Invoice
from dunning_engine.errors import RecordError
from dunning_engine.io import Rejects, parse_date, parse_instant, read_customers, read_events, read_invoices

SCL = ZoneInfo("America/Santiago")
UTC = ZoneInfo("UTC")

INV_HEADER = "id,customer,amount,currency,issued,due\n"


def invoices(lines, *, default_currency="USD", name="inv.csv"):
    rejects = Rejects()
    got = list(read_invoices(lines, tz=SCL, default_currency=default_currency, rejects=rejects, name=name))
    return got, rejects


def customers(lines, *, name="cust.csv"):
    rejects = Rejects()
    return list(read_customers(lines, rejects=rejects, name=name)), rejects


def events(lines, *, default_currency="USD", name="ev.jsonl", tz=SCL):
    rejects = Rejects()
    got = list(read_events(lines, tz=tz, default_currency=default_currency, rejects=rejects, name=name))
    return got, rejects


def only_reject(rejects: Rejects) -> RecordError:
    assert len(rejects) == 1, [str(e) for e in rejects]
    return rejects[0]


def assert_reject(rejects, *, file, line, field, reason):
    e = only_reject(rejects)
    assert (e.file, e.line, e.field) == (file, line, field), str(e)
    assert e.message == reason
    return e


def jl(*objs) -> list[str]:
    return [o if isinstance(o, str) else orjson.dumps(o).decode() for o in objs]


GOOD_INV = {"id": "INV-1", "customer": "C-1", "amount": "19.90", "currency": "USD",
            "issued": "2026-01-01", "due": "2026-01-31"}


def inv(**changes):
    rec = dict(GOOD_INV)
    for k, v in changes.items():
        if v is ...:
            rec.pop(k, None)
        else:
            rec[k] = v
    return rec


def ev(type_, at="2026-02-01T10:00:00-03:00", **fields):
    return {"type": type_, "at": at, **fields}


# --------------------------------------------------------------------------- invoices: good paths


def test_invoices_csv_good_path_with_bom_attrs_and_default_currency(tmp_path):
    p = tmp_path / "invoices.csv"
    p.write_bytes(
        "\ufeffid,customer,amount,issued,due,po_number,note\r\n"
        "INV-1,C-1,19.90,2026-01-01,2026-01-31,PO-7,café\r\n"
        "\r\n"
        "INV-2,C-1,1500,2026-01-02,2026-02-01,,\"a, b\"\r\n".encode("utf-8")
    )
    rejects = Rejects()
    got = list(read_invoices(p, tz=SCL, default_currency="USD", rejects=rejects))
    assert not rejects
    assert got == [
        Invoice("INV-1", "C-1", Decimal("19.90"), "USD", dt.date(2026, 1, 1), dt.date(2026, 1, 31),
                {"po_number": "PO-7", "note": "café"}),
        Invoice("INV-2", "C-1", Decimal("1500.00"), "USD", dt.date(2026, 1, 2), dt.date(2026, 2, 1),
                {"po_number": None, "note": "a, b"}),
    ]
    assert all(type(i.amount) is Decimal for i in got)
    assert str(got[0].amount) == "19.90"


def test_invoices_csv_semicolon_delimiter_and_currency_column():
    got, rejects = invoices(["id;customer;amount;currency;issued;due", "A;C;25000;CLP;2026-01-01;2026-01-15"],
                            default_currency=None)
    assert not rejects
    assert got[0].amount == Decimal("25000") and got[0].currency == "CLP"


def test_invoices_jsonl_good_path_keeps_json_types_and_never_floats(tmp_path):
    p = tmp_path / "invoices.jsonl"
    lines = jl(inv(id="A", amount=1990, currency="CLP", tags=["x", 1], ratio=0.1, meta={"k": 2.5}, flag=True),
               "", "   ",
               inv(id="B", amount="19.9", currency=...))
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    got, rejects = invoices(p, default_currency="USD", name=None)
    assert not rejects
    a, b = got
    assert a.amount == Decimal(1990) and type(a.amount) is Decimal and a.currency == "CLP"
    assert a.attrs == {"tags": ["x", 1], "ratio": Decimal("0.1"), "meta": {"k": Decimal("2.5")}, "flag": True}
    assert type(a.attrs["tags"][1]) is int
    assert b.currency == "USD"
    assert str(b.amount) == "19.90"  # normalised to the currency's minor unit


def test_invoices_ndjson_suffix_and_dict_records():
    got, rejects = invoices([inv(id="X"), inv(id=7, customer=12)], name="feed.ndjson")
    assert not rejects
    assert [(i.id, i.customer) for i in got] == [("X", "C-1"), ("7", "12")]


def test_invoices_from_lines_without_name_sniffs_format():
    got, rejects = invoices([INV_HEADER, "A,C,1.00,USD,2026-01-01,2026-01-01\n"], name=None)
    assert not rejects and got[0].id == "A"
    got, rejects = invoices(jl(inv()), name=None)
    assert not rejects and got[0].id == "INV-1"


def test_invoices_csv_quoted_multiline_cell_reports_starting_line():
    lines = [INV_HEADER, 'A,C,1.00,USD,2026-01-01,2026-01-02\n', '"B\n', 'x",C,bad,USD,2026-01-01,2026-01-02\n',
             'D,C,1.00,USD,2026-01-01,2026-01-02\n']
    got, rejects = invoices(lines)
    assert [i.id for i in got] == ["A", "D"]
    assert_reject(rejects, file="inv.csv", line=3, field="amount", reason="'bad' is not a decimal number")
    assert rejects[0].record == '"B\nx",C,bad,USD,2026-01-01,2026-01-02'


def test_invoices_from_stdin(monkeypatch):
    import io
    import sys

    data = (INV_HEADER + "A,C,1.00,USD,2026-01-01,2026-01-02\n").encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    rejects = Rejects()
    got = list(read_invoices("-", tz=SCL, default_currency=None, rejects=rejects))
    assert [i.id for i in got] == ["A"] and not rejects


def test_readers_are_lazy():
    def endless():
        yield INV_HEADER
        for n in itertools.count():
            yield f"I{n},C,1.00,USD,2026-01-01,2026-01-02\n"

    it = read_invoices(endless(), tz=SCL, default_currency=None, rejects=Rejects(), name="x.csv")
    assert [i.id for i in itertools.islice(it, 3)] == ["I0", "I1", "I2"]

    def endless_events():
        for n in itertools.count():
            yield orjson.dumps(ev("hold", invoice=f"I{n}"))

    it = read_events(endless_events(), tz=SCL, default_currency=None, rejects=Rejects(), name="e.jsonl")
    assert [e.seq for e in itertools.islice(it, 3)] == [0, 1, 2]


# --------------------------------------------------------------------------- invoices: rejects


def test_invoice_malformed_json_line():
    got, rejects = invoices(jl(inv(id="A"), '{"id": "B", ', inv(id="C")), name="inv.jsonl")
    assert [i.id for i in got] == ["A", "C"]
    e = only_reject(rejects)
    assert (e.file, e.line, e.field) == ("inv.jsonl", 2, None)
    assert e.message.startswith("not valid JSON: ")
    assert e.record == '{"id": "B", '


def test_invoice_json_value_not_an_object():
    got, rejects = invoices(['["INV-1", 10]'], name="inv.jsonl")
    assert got == []
    assert_reject(rejects, file="inv.jsonl", line=1, field=None, reason="expected a JSON object {...}, got a list")


def test_invoice_csv_wrong_number_of_cells():
    got, rejects = invoices([INV_HEADER, "A,C,1.00,USD,2026-01-01\n", "B,C,1.00,USD,2026-01-01,2026-01-02\n"])
    assert [i.id for i in got] == ["B"]
    e = assert_reject(rejects, file="inv.csv", line=2, field=None,
                      reason="the row has 5 cells but the header has 6 columns")
    assert e.record == "A,C,1.00,USD,2026-01-01"


def test_invoice_csv_unclosed_quote():
    got, rejects = invoices([INV_HEADER, '"A,C,1.00,USD,2026-01-01,2026-01-02\n'])
    assert got == []
    assert_reject(rejects, file="inv.csv", line=2, field=None,
                  reason="not valid CSV: a quoted cell that starts on this line is never closed")


def test_invoice_csv_text_after_closing_quote():
    got, rejects = invoices([INV_HEADER, 'A,"C"x,1.00,USD,2026-01-01,2026-01-02\n',
                             "B,C,1.00,USD,2026-01-01,2026-01-02\n"])
    assert [i.id for i in got] == ["B"]
    e = only_reject(rejects)
    assert (e.file, e.line, e.field) == ("inv.csv", 2, None)
    assert e.message.startswith("not valid CSV: a quoted cell must end at a delimiter")


def test_invoice_missing_required_field_json():
    got, rejects = invoices(jl(inv(due=...)), name="inv.jsonl")
    assert got == []
    assert_reject(rejects, file="inv.jsonl", line=1, field="due", reason="missing required field 'due'")


def test_invoice_missing_field_suggests_misspelt_key():
    rec = inv(amount=...)
    rec["ammount"] = "10"
    _, rejects = invoices([rec], name="inv.jsonl")
    e = assert_reject(rejects, file="inv.jsonl", line=1, field="amount", reason="missing required field 'amount'")
    assert e.help == "the record has a field 'ammount': did you mean 'amount'?"


def test_invoice_empty_cell_in_required_csv_column():
    _, rejects = invoices([INV_HEADER, "A,,1.00,USD,2026-01-01,2026-01-02\n"])
    assert_reject(rejects, file="inv.csv", line=2, field="customer", reason="missing required field 'customer'")


def test_invoice_csv_header_missing_column_rejects_file_once():
    got, rejects = invoices(["id,customer,amount,currency,issued,deu\n", "A,C,1,USD,2026-01-01,2026-01-02\n"])
    assert got == []
    e = assert_reject(rejects, file="inv.csv", line=1, field="due",
                      reason="the header has no 'due' column; nothing in this file was read")
    assert e.help == "the header has 'deu': did you mean 'due'?"


def test_invoice_csv_header_duplicate_column():
    _, rejects = invoices(["id,customer,amount,currency,issued,due,id\n", "A,C,1,USD,2026-01-01,2026-01-02,B\n"])
    assert_reject(rejects, file="inv.csv", line=1, field="id",
                  reason="the header names column 'id' twice; nothing in this file was read")


def test_invoice_csv_header_without_currency_needs_a_default():
    _, rejects = invoices(["id,customer,amount,issued,due\n", "A,C,1,2026-01-01,2026-01-02\n"], default_currency=None)
    assert_reject(rejects, file="inv.csv", line=1, field="currency",
                  reason="the header has no 'currency' column; nothing in this file was read")


@pytest.mark.parametrize("value, reason", [
    ("2026-02-30", "'2026-02-30' is not a valid date"),
    ("01/02/2026", "'01/02/2026' is not a date in the form YYYY-MM-DD"),
    ("2026-02-01T00:00:00", "'2026-02-01T00:00:00' is not a date in the form YYYY-MM-DD"),
    (20260201, "expected a date as text YYYY-MM-DD, got a number"),
])
def test_invoice_bad_date(value, reason):
    _, rejects = invoices([inv(issued=value)], name="inv.jsonl")
    assert_reject(rejects, file="inv.jsonl", line=1, field="issued", reason=reason)


def test_invoice_due_before_issued():
    _, rejects = invoices([INV_HEADER, "A,C,1.00,USD,2026-01-10,2026-01-09\n"])
    assert_reject(rejects, file="inv.csv", line=2, field="due",
                  reason="due date 2026-01-09 is before the issue date 2026-01-10")


@pytest.mark.parametrize("value", ["", "   "])
def test_invoice_empty_id(value):
    _, rejects = invoices([inv(id=value)], name="inv.jsonl")
    assert_reject(rejects, file="inv.jsonl", line=1, field="id", reason="'id' is empty")


def test_invoice_id_of_wrong_type():
    _, rejects = invoices([inv(id={"a": 1})], name="inv.jsonl")
    assert_reject(rejects, file="inv.jsonl", line=1, field="id", reason="'id' must be text, not an object")


def test_invoice_amount_json_float_rejected():
    _, rejects = invoices(['{"id":"A","customer":"C","amount":19.90,"currency":"USD",'
                           '"issued":"2026-01-01","due":"2026-01-02"}'], name="inv.jsonl")
    assert_reject(rejects, file="inv.jsonl", line=1, field="amount",
                  reason='amount must be a decimal string such as "19.90", not a number with a fraction (a float)')


def test_invoice_amount_boolean_rejected():
    _, rejects = invoices([inv(amount=True)], name="inv.jsonl")
    assert_reject(rejects, file="inv.jsonl", line=1, field="amount",
                  reason='amount must be a decimal string such as "19.90", not a boolean')


@pytest.mark.parametrize("amount, currency, reason", [
    ("10.005", "USD", "10.005 has more decimal places than USD allows (2)"),
    ("100.5", "CLP", "100.5 has more decimal places than CLP allows (0)"),
])
def test_invoice_amount_beyond_minor_unit(amount, currency, reason):
    _, rejects = invoices([inv(amount=amount, currency=currency)], name="inv.jsonl")
    assert_reject(rejects, file="inv.jsonl", line=1, field="amount", reason=reason)


def test_invoice_amount_trailing_zeros_within_minor_unit_accepted():
    got, rejects = invoices([inv(amount="100.00", currency="CLP"), inv(id="B", amount="3.100", currency="BHD")],
                            name="inv.jsonl")
    assert not rejects
    assert str(got[0].amount) == "100" and str(got[1].amount) == "3.100"


@pytest.mark.parametrize("amount, reason", [
    ("0", "amount must be greater than zero"),
    ("-5.00", "amount must be greater than zero"),
    ("abc", "'abc' is not a decimal number"),
    ("1e3", "'1e3' is not a decimal number"),
    ("NaN", "'NaN' is not a decimal number"),
])
def test_invoice_amount_invalid(amount, reason):
    _, rejects = invoices([INV_HEADER, f"A,C,{amount},USD,2026-01-01,2026-01-02\n"])
    assert_reject(rejects, file="inv.csv", line=2, field="amount", reason=reason)


def test_invoice_amount_decimal_comma_gets_help():
    _, rejects = invoices([inv(amount="19,90")], name="inv.jsonl")
    e = assert_reject(rejects, file="inv.jsonl", line=1, field="amount", reason="'19,90' is not a decimal number")
    assert "decimal separator" in e.help


def test_invoice_missing_currency_without_default():
    _, rejects = invoices([inv(currency=...)], default_currency=None, name="inv.jsonl")
    assert_reject(rejects, file="inv.jsonl", line=1, field="currency",
                  reason="missing required field 'currency' (and no default currency is set)")


@pytest.mark.parametrize("code, reason, help", [
    ("usd", "'usd' is not a currency code", "currency codes are upper case: 'USD'"),
    ("ZZZ", "'ZZZ' is not an ISO 4217 currency code", None),
    ("XAU", "'XAU' is not an ISO 4217 currency code", None),
])
def test_invoice_invalid_currency(code, reason, help):
    _, rejects = invoices([inv(currency=code)], name="inv.jsonl")
    e = assert_reject(rejects, file="inv.jsonl", line=1, field="currency", reason=reason)
    assert e.help == help


def test_invoice_duplicate_id():
    got, rejects = invoices([INV_HEADER, "A,C,1.00,USD,2026-01-01,2026-01-02\n",
                             "B,C,1.00,USD,2026-01-01,2026-01-02\n", "A,D,2.00,USD,2026-01-01,2026-01-02\n"])
    assert [i.id for i in got] == ["A", "B"]
    assert_reject(rejects, file="inv.csv", line=4, field="id", reason="duplicate invoice id 'A' (first at line 2)")


def test_invoice_invalid_utf8_jsonl(tmp_path):
    p = tmp_path / "inv.jsonl"
    good = orjson.dumps(inv(id="OK"))
    p.write_bytes(b'{"id": "caf\xe9"}\n' + good + b"\n")
    got, rejects = invoices(p, name=None)
    assert [i.id for i in got] == ["OK"]
    e = assert_reject(rejects, file=str(p), line=1, field=None,
                      reason="invalid UTF-8 (byte 0xe9 at byte 12 of the line); save the file as UTF-8")
    assert e.record == '{"id": "caf\ufffd"}'


def test_invoice_invalid_utf8_csv(tmp_path):
    p = tmp_path / "inv.csv"
    p.write_bytes(INV_HEADER.encode() + b"A,Jos\xe9,1.00,USD,2026-01-01,2026-01-02\n"
                  + b"B,C,1.00,USD,2026-01-01,2026-01-02\n")
    got, rejects = invoices(p, name="inv.csv")
    assert [i.id for i in got] == ["B"]
    assert_reject(rejects, file="inv.csv", line=2, field=None,
                  reason="invalid UTF-8 (byte 0xe9 at byte 6 of the line); save the file as UTF-8")


def test_invoice_file_that_cannot_be_opened_raises_record_error(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(RecordError) as info:
        read_invoices(missing, tz=SCL, default_currency="USD", rejects=Rejects())
    assert info.value.file == str(missing)
    assert "cannot open the file" in info.value.message
    with pytest.raises(RecordError):
        read_invoices(tmp_path, tz=SCL, default_currency="USD", rejects=Rejects(), name="dir.csv")


def test_invoice_file_with_unknown_suffix_raises(tmp_path):
    p = tmp_path / "inv.txt"
    p.write_text(INV_HEADER)
    with pytest.raises(RecordError, match="cannot tell the format"):
        read_invoices(p, tz=SCL, default_currency="USD", rejects=Rejects())


def test_reject_record_is_clipped_to_500_characters():
    long_line = '{"id": "' + "x" * 2000
    _, rejects = invoices([long_line], name="inv.jsonl")
    rec = only_reject(rejects).record
    assert len(rec) == 500 and rec.endswith("…") and rec.startswith('{"id": "xxx')


# --------------------------------------------------------------------------- customers


def test_customers_csv_good_path():
    got, rejects = customers(["id,name,email,timezone,segment,credit_limit\n",
                              "C-1,Ana,ana@example.cl,America/Santiago,vip,500000\n",
                              "C-2,Bo,,,,\n"])
    assert not rejects
    assert got == [
        Customer("C-1", {"name": "Ana", "email": "ana@example.cl", "timezone": "America/Santiago",
                         "segment": "vip", "credit_limit": "500000"}),
        Customer("C-2", {"name": "Bo", "email": None, "timezone": None, "segment": None, "credit_limit": None}),
    ]


def test_customers_jsonl_good_path():
    got, rejects = customers(jl({"id": "C-1", "language": "es", "score": 0.75, "tags": ["a"]}), name="c.jsonl")
    assert not rejects
    assert got == [Customer("C-1", {"language": "es", "score": Decimal("0.75"), "tags": ["a"]})]


def test_customer_invalid_timezone():
    _, rejects = customers(jl({"id": "C-1", "timezone": "America/Santiagoo"}), name="c.jsonl")
    e = assert_reject(rejects, file="c.jsonl", line=1, field="timezone",
                      reason="'America/Santiagoo' is not an IANA time zone name (such as America/Santiago)")
    assert e.help == "did you mean 'America/Santiago'?"


def test_customer_duplicate_id():
    got, rejects = customers(["id,name\n", "C-1,A\n", "C-1,B\n"])
    assert [c.attrs["name"] for c in got] == ["A"]
    assert_reject(rejects, file="cust.csv", line=3, field="id", reason="duplicate customer id 'C-1' (first at line 2)")


def test_customer_empty_id():
    _, rejects = customers(["id,name\n", ",A\n"])
    assert_reject(rejects, file="cust.csv", line=2, field="id", reason="missing required field 'id'")
    _, rejects = customers(jl({"id": "", "name": "A"}), name="c.jsonl")
    assert_reject(rejects, file="c.jsonl", line=1, field="id", reason="'id' is empty")


def test_customer_known_field_must_be_text():
    _, rejects = customers(jl({"id": "C", "phone": 56912345678}), name="c.jsonl")
    assert_reject(rejects, file="c.jsonl", line=1, field="phone", reason="'phone' must be text, not a number")


# --------------------------------------------------------------------------- events: good paths


def test_events_good_path_all_types():
    lines = jl(
        ev("invoice_issued", at="2026-01-01", id="e1",
           invoice={"id": "I9", "customer": "C", "amount": "50000", "currency": "CLP",
                    "issued": "2026-01-01", "due": "2026-01-31", "po": "X"}),
        ev("payment", invoice="I9", amount="1000", currency="CLP", method="transfer"),
        ev("payment", invoice="I9", amount=250),
        ev("payment_failed", invoice="I9", reason="insufficient funds"),
        ev("credit_note", invoice="I9", amount="10"),
        ev("promise_to_pay", invoice="I9", date="2026-02-10", amount="5000"),
        ev("promise_to_pay", invoice="I9", date="2026-02-10"),
        ev("dispute_opened", invoice="I9", reason="wrong amount"),
        ev("dispute_resolved", invoice="I9", outcome="customer"),
        ev("plan_accepted", invoice="I9", installments=3),
        ev("contact_outcome", customer="C", channel="whatsapp", outcome="replied"),
        ev("customer_updated", customer="C", fields={"segment": "vip", "limit": 1.5}),
        ev("hold", customer="C", reason="legal"),
        ev("release", invoice="I9"),
        ev("invoice_cancelled", invoice="I9"),
    )
    got, rejects = events(lines, default_currency="CLP")
    assert not rejects
    assert [e.type for e in got] == [
        "invoice_issued", "payment", "payment", "payment_failed", "credit_note", "promise_to_pay", "promise_to_pay",
        "dispute_opened", "dispute_resolved", "plan_accepted", "contact_outcome", "customer_updated", "hold",
        "release", "invoice_cancelled"]
    assert set(EVENT_FIELDS) == {e.type for e in got}
    assert [e.seq for e in got] == list(range(15))
    assert [e.origin for e in got] == [("ev.jsonl", n) for n in range(1, 16)]

    issued = got[0]
    assert issued.id == "e1" and issued.invoice == "I9" and issued.customer == "C"
    assert issued.at == dt.datetime(2026, 1, 1, tzinfo=SCL) and issued.at.utcoffset() == dt.timedelta(hours=-3)
    assert issued.new_invoice == Invoice("I9", "C", Decimal("50000"), "CLP", dt.date(2026, 1, 1),
                                         dt.date(2026, 1, 31), {"po": "X"})
    pay = got[1]
    assert pay.amount == Decimal("1000") and pay.currency == "CLP" and pay.fields == {"method": "transfer"}
    assert got[2].amount == Decimal(250) and type(got[2].amount) is Decimal and got[2].currency is None
    assert got[3].fields == {"reason": "insufficient funds"}
    assert got[5].date == dt.date(2026, 2, 10) and got[5].amount == Decimal("5000")
    assert got[6].amount is None
    assert got[9].fields == {"installments": 3}
    assert got[10].customer == "C" and got[10].fields == {"channel": "whatsapp", "outcome": "replied"}
    assert got[11].fields == {"fields": {"segment": "vip", "limit": Decimal("1.5")}}
    assert got[12].customer == "C" and got[12].fields == {"reason": "legal"}


def test_event_seq_counts_accepted_events_only(tmp_path):
    p = tmp_path / "events.jsonl"
    p.write_text("\n".join(jl(ev("hold", invoice="A"), "{oops", "", ev("release", invoice="A"))) + "\n")
    got, rejects = events(p, name=None)
    assert [(e.seq, e.origin) for e in got] == [(0, (str(p), 1)), (1, (str(p), 4))]
    assert len(rejects) == 1 and rejects[0].line == 2


def test_event_at_with_offset_and_z_is_converted_to_policy_zone():
    got, _ = events(jl(ev("hold", at="2026-02-01T12:00:00Z", invoice="A"),
                       ev("hold", at="2026-02-01T09:00", invoice="A")))
    assert got[0].at == dt.datetime(2026, 2, 1, 12, tzinfo=dt.timezone.utc)
    assert got[0].at.tzinfo == SCL and got[0].at.hour == 9
    assert got[1].at.isoformat() == "2026-02-01T09:00:00-03:00"


# --------------------------------------------------------------------------- events: rejects


def test_events_csv_file_rejected_once_and_nothing_read(tmp_path):
    p = tmp_path / "events.csv"
    p.write_text("type,at,invoice\nhold,2026-01-01,A\n")
    got, rejects = events(p, name=None)
    assert got == []
    assert_reject(rejects, file=str(p), line=None, field=None,
                  reason="events must be JSONL (one JSON object per line), not CSV; nothing in this file was read")


def test_event_lines_without_a_name_are_always_jsonl():
    got, rejects = events(["type,at,invoice", orjson.dumps(ev("hold", invoice="A")).decode()], name=None)
    assert [e.invoice for e in got] == ["A"]
    e = only_reject(rejects)
    assert (e.file, e.line) == (None, 1) and e.message.startswith("not valid JSON")


def test_event_malformed_json():
    _, rejects = events(['{"type": "hold",'])
    e = only_reject(rejects)
    assert (e.file, e.line, e.field) == ("ev.jsonl", 1, None) and e.message.startswith("not valid JSON: ")


def test_event_not_an_object():
    _, rejects = events(["42"])
    assert_reject(rejects, file="ev.jsonl", line=1, field=None, reason="expected a JSON object {...}, got a number")


def test_event_unknown_type_with_did_you_mean():
    _, rejects = events(jl(ev("paymnet", invoice="A", amount="1")))
    e = assert_reject(rejects, file="ev.jsonl", line=1, field="type", reason="unknown event type 'paymnet'")
    assert e.help == "did you mean 'payment'?"


def test_event_derived_type_cannot_be_input():
    _, rejects = events(jl(ev("promise_kept", invoice="A")))
    assert_reject(rejects, file="ev.jsonl", line=1, field="type",
                  reason="'promise_kept' events are raised by the engine itself and cannot be given as input")


def test_event_missing_type():
    _, rejects = events(jl({"at": "2026-01-01", "invoice": "A"}))
    assert_reject(rejects, file="ev.jsonl", line=1, field="type", reason="missing required field 'type'")


def test_event_missing_at():
    _, rejects = events(jl({"type": "hold", "invoice": "A"}))
    assert_reject(rejects, file="ev.jsonl", line=1, field="at", reason="missing required field 'at' for a hold event")


@pytest.mark.parametrize("at, reason", [
    ("2026-13-01", "'2026-13-01' is not an ISO 8601 date or date-time (such as 2026-02-08 or 2026-02-08T09:00:00-03:00)"),
    ("yesterday", "'yesterday' is not an ISO 8601 date or date-time (such as 2026-02-08 or 2026-02-08T09:00:00-03:00)"),
    (1767225600, "expected an ISO 8601 date or date-time as text, got a number"),
])
def test_event_bad_at(at, reason):
    _, rejects = events(jl(ev("hold", at=at, invoice="A")))
    assert_reject(rejects, file="ev.jsonl", line=1, field="at", reason=reason)


def test_event_missing_required_field_for_type():
    _, rejects = events(jl(ev("payment", amount="10")))
    assert_reject(rejects, file="ev.jsonl", line=1, field="invoice",
                  reason="missing required field 'invoice' for a payment event")
    _, rejects = events(jl(ev("invoice_issued")))
    assert_reject(rejects, file="ev.jsonl", line=1, field="invoice",
                  reason="missing required field 'invoice' for an invoice_issued event")


@pytest.mark.parametrize("amount", ["-10", "0", 0, -3])
def test_event_payment_amount_not_positive(amount):
    _, rejects = events(jl(ev("payment", invoice="A", amount=amount)))
    assert_reject(rejects, file="ev.jsonl", line=1, field="amount", reason="a payment amount must be positive")


def test_event_credit_note_and_promise_amounts_must_be_positive():
    _, rejects = events(jl(ev("credit_note", invoice="A", amount="-1"),
                           ev("promise_to_pay", invoice="A", date="2026-03-01", amount="0")))
    assert [e.message for e in rejects] == ["a credit note amount must be positive",
                                            "a promise to pay amount must be positive"]


def test_event_payment_amount_json_float():
    _, rejects = events(['{"type":"payment","at":"2026-01-05","invoice":"A","amount":19.9}'])
    assert_reject(rejects, file="ev.jsonl", line=1, field="amount",
                  reason='amount must be a decimal string such as "19.90", not a number with a fraction (a float)')


def test_event_payment_amount_huge_json_integer():
    _, rejects = events(['{"type":"payment","at":"2026-01-05","invoice":"A","amount":123456789012345678901234}'])
    assert_reject(rejects, file="ev.jsonl", line=1, field="amount",
                  reason='amount is too large for a JSON number; write it as a decimal string such as "19.90"')


def test_event_payment_with_currency_checks_code_and_minor_unit():
    _, rejects = events(jl(ev("payment", invoice="A", amount="1", currency="EURO"),
                           ev("payment", invoice="A", amount="1.5", currency="JPY")))
    assert [(e.line, e.field, e.message) for e in rejects] == [
        (1, "currency", "'EURO' is not an ISO 4217 currency code"),
        (2, "amount", "1.5 has more decimal places than JPY allows (0)"),
    ]


def test_event_promise_bad_date():
    _, rejects = events(jl(ev("promise_to_pay", invoice="A", date="10/02/2026")))
    assert_reject(rejects, file="ev.jsonl", line=1, field="date",
                  reason="'10/02/2026' is not a date in the form YYYY-MM-DD")


def test_event_invoice_issued_nested_invoice_validated():
    bad = ev("invoice_issued", invoice=inv(issued="2026-02-01", due="2026-01-01"))
    _, rejects = events(jl(bad))
    assert_reject(rejects, file="ev.jsonl", line=1, field="invoice.due",
                  reason="due date 2026-01-01 is before the issue date 2026-02-01")


def test_event_invoice_issued_uses_default_currency_for_its_invoice():
    got, rejects = events(jl(ev("invoice_issued", invoice=inv(currency=..., amount="1990"))), default_currency="CLP")
    assert not rejects and got[0].new_invoice.currency == "CLP"
    _, rejects = events(jl(ev("invoice_issued", invoice=inv(currency=...))), default_currency=None)
    assert_reject(rejects, file="ev.jsonl", line=1, field="invoice.currency",
                  reason="missing required field 'currency' (and no default currency is set)")


def test_event_invoice_issued_needs_an_object():
    _, rejects = events(jl(ev("invoice_issued", invoice="I-1")))
    assert_reject(rejects, file="ev.jsonl", line=1, field="invoice",
                  reason="'invoice' must be an invoice object, not text")


def test_event_customer_updated_fields_must_be_an_object():
    _, rejects = events(jl(ev("customer_updated", customer="C", fields=["segment", "vip"])))
    assert_reject(rejects, file="ev.jsonl", line=1, field="fields",
                  reason="'fields' must be an object of customer fields, not a list")


def test_event_customer_updated_timezone_checked():
    _, rejects = events(jl(ev("customer_updated", customer="C", fields={"timezone": "Mars/Olympus"})))
    assert_reject(rejects, file="ev.jsonl", line=1, field="fields.timezone",
                  reason="'Mars/Olympus' is not an IANA time zone name (such as America/Santiago)")


def test_event_contact_outcome_bad_channel():
    _, rejects = events(jl(ev("contact_outcome", invoice="A", channel="emial", outcome="bounced")))
    e = assert_reject(rejects, file="ev.jsonl", line=1, field="channel",
                      reason="unknown channel 'emial' (one of email, sms, whatsapp, letter, call, portal)")
    assert e.help == "did you mean 'email'?"


def test_event_contact_outcome_needs_invoice_or_customer():
    _, rejects = events(jl(ev("contact_outcome", channel="sms", outcome="delivered")))
    assert_reject(rejects, file="ev.jsonl", line=1, field="invoice",
                  reason="a contact_outcome event needs 'invoice' or 'customer'")


@pytest.mark.parametrize("kind", ["hold", "release"])
def test_event_hold_release_need_invoice_or_customer(kind):
    _, rejects = events(jl(ev(kind, reason="x")))
    assert_reject(rejects, file="ev.jsonl", line=1, field="invoice",
                  reason=f"a {kind} event needs 'invoice' or 'customer'")


def test_event_empty_id():
    _, rejects = events(jl(ev("hold", invoice="A", id="")))
    assert_reject(rejects, file="ev.jsonl", line=1, field="id", reason="'id' is empty")


def test_event_invalid_utf8_bytes_line():
    got, rejects = events([b'{"type":"hold","at":"2026-01-01","invoice":"\xff"}',
                           orjson.dumps(ev("hold", invoice="B"))])
    assert [e.invoice for e in got] == ["B"]
    assert_reject(rejects, file="ev.jsonl", line=1, field=None,
                  reason="invalid UTF-8 (byte 0xff at byte 45 of the line); save the file as UTF-8")


def test_rejects_render_and_write_jsonl(tmp_path):
    _, rejects = events(jl(ev("payment", invoice="A", amount="-1")))
    assert str(rejects[0]) == "ev.jsonl:1: rejected: field 'amount': a payment amount must be positive"
    out = tmp_path / "rejects.jsonl"
    assert rejects.write_jsonl(out) == 1
    line = orjson.loads(out.read_bytes())
    assert line == {"file": "ev.jsonl", "line": 1, "field": "amount", "reason": "a payment amount must be positive",
                    "record": '{"type":"payment","at":"2026-02-01T10:00:00-03:00","invoice":"A","amount":"-1"}'}


def test_rejects_with_dict_input_keeps_the_dict_and_callback():
    seen = []
    rejects = Rejects(on_reject=seen.append)
    rec = {"type": "hold", "at": "2026-01-01"}
    assert list(read_events([rec], tz=SCL, default_currency=None, rejects=rejects)) == []
    assert rejects[0].record == rec and rejects[0].file is None and rejects[0].line == 1
    assert seen == list(rejects) and len(rejects) == 1 and bool(rejects)


# --------------------------------------------------------------------------- parse_instant, parse_date


def test_parse_instant_rules():
    assert parse_instant("2026-02-08", SCL).isoformat() == "2026-02-08T00:00:00-03:00"
    assert parse_instant("2026-07-08", SCL).isoformat() == "2026-07-08T00:00:00-04:00"
    assert parse_instant("2026-02-08T09:30:00", UTC).isoformat() == "2026-02-08T09:30:00+00:00"
    assert parse_instant(" 2026-02-08T12:00:00+00:00 ", SCL).isoformat() == "2026-02-08T09:00:00-03:00"
    # Chile skips 00:00 on 2025-09-07: the day starts at 01:00 -03:00.
    assert parse_instant("2025-09-07", SCL).isoformat() == "2025-09-07T01:00:00-03:00"
    for bad in ("", "tomorrow", "2026-02-30", "2026-02-08X09:00", "08/02/2026", "2026-W06-1"):
        with pytest.raises(ValueError, match="is not an ISO 8601 date or date-time"):
            parse_instant(bad, SCL)
    with pytest.raises(ValueError, match="as text"):
        parse_instant(None, SCL)  # type: ignore[arg-type]


def test_parse_date():
    assert parse_date("2026-02-28") == dt.date(2026, 2, 28)
    with pytest.raises(ValueError):
        parse_date("20260228")


# --------------------------------------------------------------------------- property


_event_like = st.builds(
    lambda kind, at, extra: json.dumps({"type": kind, "at": at, **extra}),
    st.sampled_from(sorted(EVENT_FIELDS) + ["paymnet", "", "promise_kept"]),
    st.one_of(st.just("2026-01-01"), st.just("2026-01-01T09:00:00Z"), st.text(max_size=12)),
    st.dictionaries(
        st.sampled_from(["invoice", "customer", "amount", "currency", "date", "channel", "outcome", "fields", "id"]),
        st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.text(max_size=8),
                  st.sampled_from(["A", "10.00", "-1", "USD", "2026-02-01", "email", "replied"]),
                  st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2)),
        max_size=6),
)


_TEMPLATES = [
    ev("payment", invoice="I", amount="10.00"),
    ev("credit_note", invoice="I", amount="5"),
    ev("promise_to_pay", invoice="I", date="2026-03-01"),
    ev("contact_outcome", invoice="I", channel="sms", outcome="delivered"),
    ev("customer_updated", customer="C", fields={"segment": "vip"}),
    ev("hold", customer="C"),
    ev("invoice_issued", invoice=inv()),
    ev("dispute_opened", invoice="I"),
]

# Valid events, some with one field dropped or replaced by an arbitrary value.
_valid_or_mutated = st.builds(
    lambda template, drop, key, value: json.dumps(
        {k: (value if k == key else v) for k, v in template.items() if k != drop}),
    st.sampled_from(_TEMPLATES),
    st.one_of(st.none(), st.sampled_from(["type", "at", "invoice", "customer", "amount", "date", "channel"])),
    st.one_of(st.none(), st.sampled_from(["at", "invoice", "amount", "date", "channel", "fields"])),
    st.one_of(st.text(max_size=6), st.integers(), st.floats(allow_nan=False), st.none(), st.booleans()),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(), _event_like, _valid_or_mutated), max_size=20))
def test_read_events_never_raises_and_accounts_for_every_line(lines):
    rejects = Rejects()
    got = list(read_events(lines, tz=SCL, default_currency="USD", rejects=rejects, name="p.jsonl"))
    non_blank = [i for i, line in enumerate(lines, 1) if line.strip()]
    assert len(got) + len(rejects) == len(non_blank)
    assert sorted([e.origin[1] for e in got] + [r.line for r in rejects]) == non_blank
    assert [e.seq for e in got] == list(range(len(got)))
    for e in got:
        assert isinstance(e, Event) and e.at.tzinfo is not None
        assert e.amount is None or type(e.amount) is Decimal
    for r in rejects:
        assert isinstance(r, RecordError) and r.message


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(), st.text(alphabet=',;"\n\r\x00 ab1-.')), max_size=12), st.booleans())
def test_read_invoices_csv_never_raises(lines, with_header):
    rejects = Rejects()
    source = ([INV_HEADER] if with_header else []) + lines
    got = list(read_invoices(source, tz=SCL, default_currency="USD", rejects=rejects, name="p.csv"))
    assert all(isinstance(i, Invoice) and type(i.amount) is Decimal for i in got)
    assert all(r.file == "p.csv" and r.line is not None and r.message for r in rejects)


def test_parse_decimal_accepts_plain_ascii_decimals_only():
    import pytest
    from decimal import Decimal
    from dunning_engine.values import parse_decimal

    assert [parse_decimal(t) for t in ("19.90", "-5", "+5", "5.", ".5", " 7 ")] == [
        Decimal("19.90"), Decimal(-5), Decimal(5), Decimal(5), Decimal("0.5"), Decimal(7)]
    assert str(parse_decimal("19.90")) == "19.90"
    for bad in ("1e3", "nan", "inf", "1_000", "1-2", ".", "", "+", "1.2.3", "--1", "\u0663", "\uff11"):
        with pytest.raises(ValueError):
            parse_decimal(bad)


# ---------------------------------------------------------------- the quick path gives what the full checks give

_TEXTS = st.sampled_from(["I-1", " I-1", "I-1 ", "", "C-9", "ñandú", "1"])
_AMOUNT_TEXTS = st.sampled_from(["100", "100.50", "100.5", "100.505", "0", "-5", " 7 ", "", "1e3", "1,000", "abc", "19.90",
                                  "999999999999999999", "1000000000000000000", "0.000000000000000000000000000001"])
_DATE_TEXTS = st.sampled_from(["2026-01-01", "2026-02-15", " 2026-01-10", "2026-13-01", "20260101", "",
                               "1899-12-31", "2200-12-31", "2201-01-01", "9999-12-31"])


_ODD = st.one_of(_TEXTS, _AMOUNT_TEXTS, _DATE_TEXTS, st.sampled_from(
    ["USD", "CLP", "usd", "XXX", "payment", "credit_note", "2026-03-08T02:30:00", "2026-03-09T10:00:00",
     "2026-11-01T01:30", "2026-02-01", "2026-02-01T10:00:00-03:00", "yesterday", "9999-12-31T23:59:59",
     "2200-12-31T23:30:00-05:00"]), st.none(), st.integers(-3, 3))


def _varied(base: dict, keys: list[str]):
    """Records close to a well-formed one: up to three fields replaced by odd values, dropped or added."""
    def vary(changes):
        rec = dict(base)
        for key, value, drop in changes:
            if drop:
                rec.pop(key, None)
            else:
                rec[key] = value
        return rec
    return st.lists(st.tuples(st.sampled_from(keys), _ODD, st.booleans()), max_size=3).map(vary)


_INVOICE = {"id": "I-1", "customer": "C-1", "amount": "19.90", "currency": "USD", "issued": "2026-01-01",
            "due": "2026-01-31"}


@settings(max_examples=400, deadline=None)
@given(_varied(_INVOICE, list(_INVOICE) + ["po"]), st.sampled_from(["USD", "CLP", None]))
@example({**_INVOICE, "id": " I-1"}, None)
@example({**_INVOICE, "customer": "C-1 "}, None)
@example({**_INVOICE, "amount": "19.905"}, None)
@example({**_INVOICE, "due": "2025-12-31"}, None)
def test_the_quick_invoice_path_agrees_with_the_full_checks(rec, default):
    from dunning_engine.io.readers import _InvoiceRules

    rules = _InvoiceRules(default)
    quick = rules.quick(dict(rec))
    if quick is None:
        return
    full = rules.full(dict(rec))  # raises if the quick path took a record the full checks refuse
    assert (quick.id, quick.customer, quick.currency, quick.issued, quick.due, dict(quick.attrs)) == \
           (full.id, full.customer, full.currency, full.issued, full.due, dict(full.attrs))
    assert str(quick.amount) == str(full.amount)


_PAYMENT = {"type": "payment", "at": "2026-02-01T10:00:00", "id": "P-1", "invoice": "I-1", "amount": "19.90"}


@settings(max_examples=400, deadline=None)
@given(_varied(_PAYMENT, list(_PAYMENT) + ["method", "currency"]))
@example({**_PAYMENT, "invoice": " I-1"})
@example({**_PAYMENT, "id": "P-1 "})
@example({**_PAYMENT, "amount": "-5"})
@example({**_PAYMENT, "at": "2026-03-08T02:30:00"})
def test_the_quick_event_path_agrees_with_the_full_checks(rec):
    from dunning_engine.io.readers import _EventRules

    rules = _EventRules(ZoneInfo("America/New_York"), "USD")
    kind = rec.get("type")
    quick = rules.quick(dict(rec), kind) if kind in ("payment", "credit_note") else None
    if quick is None:
        return
    full = rules.full(dict(rec))
    for name in ("type", "id", "invoice", "customer", "currency", "date", "new_invoice"):
        assert getattr(quick, name) == getattr(full, name), name
    assert quick.at == full.at and quick.at.utcoffset() == full.at.utcoffset() and quick.at.fold == full.at.fold
    assert str(quick.amount) == str(full.amount) and dict(quick.fields) == dict(full.fields)


def test_well_formed_records_take_the_quick_path():
    from zoneinfo import ZoneInfo

    from dunning_engine.io.readers import _EventRules, _InvoiceRules

    inv = {"id": "I-1", "customer": "C-1", "amount": "19.90", "currency": "USD", "issued": "2026-01-01", "due": "2026-01-31"}
    assert _InvoiceRules(None).quick(inv) is not None
    assert _InvoiceRules(None).quick({**inv, "po": "X"}) is None  # extra attributes: the full path
    ev = {"type": "payment", "at": "2026-02-01T10:00:00", "invoice": "I-1", "amount": "19.90", "id": "P-1"}
    assert _EventRules(ZoneInfo("America/New_York"), "USD").quick(ev, "payment") is not None
