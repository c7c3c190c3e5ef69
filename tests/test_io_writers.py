"""JSONL writers: exact bytes, Decimal digits kept, custom types, streams."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import orjson
import pytest

from dunning_engine.records import Customer
from dunning_engine.io import JsonlWriter, Rejects, decimal_text, dumps_record, read_invoices
from dunning_engine.values import Duration, Money, Percent

SCL = ZoneInfo("America/Santiago")


def sample_action() -> dict:
    return {
        "key": "b2b_friendly@3/INV-7/overdue#1/overdue.1/1/0",
        "at": dt.datetime(2026, 2, 8, 9, 0, tzinfo=SCL),
        "type": "remind",
        "case": "INV-7",
        "invoice": "INV-7",
        "customer": "C-12",
        "state": "overdue",
        "rule": "overdue.1",
        "params": {"template": "second_notice", "via": ("email",)},
        "amount": None,
        "currency": "CLP",
    }


def test_dumps_record_exact_bytes_for_an_action():
    assert dumps_record(sample_action()) == (
        b'{"key":"b2b_friendly@3/INV-7/overdue#1/overdue.1/1/0","at":"2026-02-08T09:00:00-03:00",'
        b'"type":"remind","case":"INV-7","invoice":"INV-7","customer":"C-12","state":"overdue",'
        b'"rule":"overdue.1","params":{"template":"second_notice","via":["email"]},'
        b'"amount":null,"currency":"CLP"}\n'
    )


def test_dumps_record_custom_types():
    rec = {
        "z": Decimal("19.90"),
        "a": Money(Decimal("1500.00"), "USD"),
        "pct": Percent(Decimal("2.5")),
        "wait": Duration(3, "days"),
        "one": Duration(1, "business_days"),
        "due": dt.date(2026, 1, 31),
        "send_at": dt.time(9, 0),
        "utc": dt.datetime(2026, 1, 1, 12, 30, tzinfo=dt.timezone.utc),
        "tz": SCL,
        "tags": frozenset({"b", "a"}),
        "name": "Ñuñoa café",
        "n": 3,
        "ok": True,
    }
    assert dumps_record(rec) == (
        '{"z":"19.90","a":{"amount":"1500.00","currency":"USD"},"pct":"2.5%","wait":"3 days",'
        '"one":"1 business day","due":"2026-01-31","send_at":"09:00:00","utc":"2026-01-01T12:30:00+00:00",'
        '"tz":"America/Santiago","tags":["a","b"],"name":"Ñuñoa café","n":3,"ok":true}\n'
    ).encode("utf-8")


def test_key_order_is_kept_not_sorted():
    assert dumps_record({"b": 1, "a": 2, "c": {"z": 1, "y": 2}}) == b'{"b":1,"a":2,"c":{"z":1,"y":2}}\n'


@pytest.mark.parametrize("text", ["19.90", "0.00", "-5", "100", "0.001", "123456789012345678901234.5678", "-0"])
def test_decimal_digits_round_trip(text):
    line = dumps_record({"amount": Decimal(text)})
    assert line == b'{"amount":"' + text.encode() + b'"}\n'
    assert Decimal(orjson.loads(line)["amount"]) == Decimal(text)
    assert str(Decimal(orjson.loads(line)["amount"])) == text


def test_decimal_read_then_written_keeps_its_digits():
    inv = next(read_invoices([{"id": "A", "customer": "C", "amount": "19.90", "currency": "USD",
                               "issued": "2026-01-01", "due": "2026-01-02"}],
                             tz=SCL, default_currency=None, rejects=Rejects()))
    assert dumps_record({"amount": inv.amount}) == b'{"amount":"19.90"}\n'


def test_decimal_never_written_in_exponent_form():
    assert decimal_text(Decimal("1E-7")) == "0.0000001"
    assert decimal_text(Decimal("1E+3")) == "1000"
    assert dumps_record({"x": Decimal("12.5") * Decimal("0.0000001")}) == b'{"x":"0.00000125"}\n'
    with pytest.raises(TypeError):
        decimal_text(Decimal("NaN"))


def test_naive_datetime_is_refused():
    with pytest.raises(TypeError, match="without a time zone"):
        dumps_record({"at": dt.datetime(2026, 1, 1, 9)})


def test_unknown_type_is_refused():
    with pytest.raises(TypeError):
        dumps_record({"x": object()})


def test_other_dataclasses_become_objects():
    assert dumps_record({"c": Customer("C-1", {"seg": "vip"})}) == b'{"c":{"id":"C-1","attrs":{"seg":"vip"}}}\n'


def test_output_is_deterministic():
    assert dumps_record(sample_action()) == dumps_record(sample_action())


def test_jsonl_writer_to_path(tmp_path):
    out = tmp_path / "actions.jsonl"
    with JsonlWriter(out) as w:
        w.write({"a": Decimal("1.10")})
        assert w.write_many({"i": i} for i in range(3)) == 3
        assert w.count == 4
    assert w.closed
    assert out.read_bytes() == b'{"a":"1.10"}\n{"i":0}\n{"i":1}\n{"i":2}\n'
    with pytest.raises(ValueError):
        w.write({"late": True})


def test_jsonl_writer_large_batch_is_complete(tmp_path):
    out = tmp_path / "big.jsonl"
    with JsonlWriter(out) as w:
        w.write_many({"i": i, "amount": Decimal(i) / 100} for i in range(20000))
    lines = out.read_bytes().splitlines()
    assert len(lines) == 20000
    assert lines[12345] == b'{"i":12345,"amount":"123.45"}'


def test_jsonl_writer_to_binary_stream_leaves_it_open():
    buf = io.BytesIO()
    with JsonlWriter(buf) as w:
        w.write({"x": "é"})
    assert not buf.closed
    assert buf.getvalue() == '{"x":"é"}\n'.encode()


def test_jsonl_writer_to_text_stream_without_buffer():
    buf = io.StringIO()
    with JsonlWriter(buf) as w:
        w.write_many([{"x": "é"}, {"y": 1}])
    assert buf.getvalue() == '{"x":"é"}\n{"y":1}\n'


def test_jsonl_writer_dash_is_stdout(capsysbinary):
    with JsonlWriter("-") as w:
        w.write({"ok": True})
    assert capsysbinary.readouterr().out == b'{"ok":true}\n'
