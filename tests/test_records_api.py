"""Records built in code (``Invoice``, ``Event``, ``Customer``, or dicts) are checked like file records.

A float amount, a naive datetime, an unknown currency, a date out of range, None where a field
is required or a value of the wrong type raise a ``RecordError`` naming the field, with the
message the readers give for the same value in a file (SPEC §8, last paragraph).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from conftest import policy, run

from dunning_engine import Customer, Engine, Event, Invoice, RecordError, simulate
from dunning_engine.io import Rejects, read_events, read_invoices
from dunning_engine.records import Checked, check_event, check_invoice

SCL = ZoneInfo("America/Santiago")
POLICY = """
policy: p
version: 1
currency: CLP
timezone: America/Santiago
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
D1, D31 = dt.date(2026, 1, 1), dt.date(2026, 1, 31)


def engine() -> Engine:
    return Engine(policy(POLICY))


def invoice(**changes) -> Invoice:
    fields = dict(id="A", customer="C", amount=Decimal(1000), currency="CLP", issued=D1, due=D31)
    fields.update(changes)
    return Invoice(**fields)


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SCL)


def rejected(call) -> RecordError:
    with pytest.raises(RecordError) as e:
        call()
    return e.value


def reader_message(kind: str, rec: dict) -> tuple[str | None, str]:
    """The (field, message) the readers give for ``rec`` written as a JSON line."""
    rejects = Rejects()
    text = json.dumps(rec)
    if kind == "invoice":
        list(read_invoices([text], default_currency="CLP", rejects=rejects))
    else:
        list(read_events([text], tz=SCL, default_currency="CLP", rejects=rejects))
    (r,) = rejects
    return r.field, r.message


GOOD_JSON = {"id": "A", "customer": "C", "amount": "1000", "currency": "CLP", "issued": "2026-01-01", "due": "2026-01-31"}


# --------------------------------------------------------------------------- invoices


@pytest.mark.parametrize("change, json_change, field", [
    ({"amount": 1000.5}, {"amount": 1000.5}, "amount"),
    ({"amount": 19.0}, {"amount": 19.0}, "amount"),
    ({"amount": True}, {"amount": True}, "amount"),
    ({"amount": Decimal("10.5")}, {"amount": "10.5"}, "amount"),
    ({"amount": Decimal("-5")}, {"amount": "-5"}, "amount"),
    ({"amount": Decimal("1e20")}, {"amount": "100000000000000000000"}, "amount"),
    ({"currency": "XYZ"}, {"currency": "XYZ"}, "currency"),
    ({"currency": "clp"}, {"currency": "clp"}, "currency"),
    ({"currency": 152}, {"currency": 152}, "currency"),
    ({"issued": dt.date(1, 1, 1)}, {"issued": "0001-01-01"}, "issued"),
    ({"due": dt.date(9999, 12, 31)}, {"due": "9999-12-31"}, "due"),
    ({"due": dt.date(2025, 12, 1)}, {"due": "2025-12-01"}, "due"),
    ({"id": None}, {"id": None}, "id"),
    ({"id": ""}, {"id": ""}, "id"),
    ({"id": ["A"]}, {"id": ["A"]}, "id"),
    ({"customer": None}, {"customer": None}, "customer"),
    ({"amount": None}, {"amount": None}, "amount"),
    ({"issued": None}, {"issued": None}, "issued"),
    ({"due": "31/01/2026"}, {"due": "31/01/2026"}, "due"),
], ids=lambda v: repr(v) if not isinstance(v, dict) else "-".join(f"{k}={v[k]!r}" for k in v)[:40])
def test_a_bad_invoice_is_refused_by_the_engine_with_the_readers_message(change, json_change, field):
    e = rejected(lambda: engine().add_invoice(invoice(**change)))
    assert (e.field, e.message) == reader_message("invoice", {**GOOD_JSON, **json_change})
    assert e.field == field


def test_a_datetime_is_not_a_date():
    e = rejected(lambda: engine().add_invoice(invoice(issued=dt.datetime(2026, 1, 1, 9, 0))))
    assert (e.field, e.message) == ("issued", "expected a date as text YYYY-MM-DD, got a datetime")


def test_a_float_amount_says_how_to_write_it():
    e = rejected(lambda: engine().add_invoice(invoice(amount=19.9)))
    assert e.field == "amount" and "a float" in e.message and 'Decimal("19.90")' in e.help


def test_good_invoices_in_code_are_normalised_like_file_records():
    eng = engine()
    eng.add_invoice(invoice(id=" A ", amount=Decimal("1000.00"), currency=None, attrs={"po": 1.5}))
    eng.add_invoice(invoice(id=7, issued="2026-01-01", due="2026-01-31"))  # text and integers, as in JSON
    eng.add_invoice({"id": "B", "customer": "C", "amount": "5", "issued": "2026-01-01", "due": "2026-01-02"})
    led = eng.invoice_case["A"].ledger.invoice
    assert (led.id, str(led.amount), led.currency, led.attrs) == ("A", "1000", "CLP", {"po": Decimal("1.5")})
    assert set(eng.invoice_case) == {"A", "7", "B"}


def test_what_is_not_a_record_is_refused():
    e = rejected(lambda: engine().add_invoice("A,C,1000"))
    assert e.message == "expected an Invoice or a dict, not str"
    e = rejected(lambda: engine().add_invoice(invoice(attrs=["po"])))
    assert e.field == "attrs"


# --------------------------------------------------------------------------- events


def with_invoice() -> Engine:
    eng = engine()
    eng.add_invoice(invoice())
    return eng


@pytest.mark.parametrize("event, json_event, field", [
    (Event("payment", dt.datetime(2026, 2, 1, 10, 0), invoice="A", amount=Decimal(10)), None, "at"),
    (Event("payment", at(2026, 2, 1), invoice="A", amount=10.5),
     {"type": "payment", "at": "2026-02-01", "invoice": "A", "amount": 10.5}, "amount"),
    (Event("payment", at(2026, 2, 1), invoice="A", amount=None),
     {"type": "payment", "at": "2026-02-01", "invoice": "A"}, "amount"),
    (Event("payment", at(2026, 2, 1), invoice="A", amount=Decimal(10), currency="EURO"),
     {"type": "payment", "at": "2026-02-01", "invoice": "A", "amount": "10", "currency": "EURO"}, "currency"),
    (Event("payment", dt.datetime(9999, 1, 1, tzinfo=dt.timezone.utc), invoice="A", amount=Decimal(1)),
     {"type": "payment", "at": "9999-01-01T00:00:00+00:00", "invoice": "A", "amount": "1"}, "at"),
    (Event("promise_to_pay", at(2026, 2, 1), invoice="A", date=dt.date(9999, 12, 31)),
     {"type": "promise_to_pay", "at": "2026-02-01", "invoice": "A", "date": "9999-12-31"}, "date"),
    (Event(None, at(2026, 2, 1), invoice="A"), {"at": "2026-02-01", "invoice": "A"}, "type"),
    (Event("paymnet", at(2026, 2, 1), invoice="A"), {"type": "paymnet", "at": "2026-02-01", "invoice": "A"}, "type"),
    (Event("payment", None, invoice="A", amount=Decimal(1)), {"type": "payment", "invoice": "A", "amount": "1"}, "at"),
    (Event("contact_outcome", at(2026, 2, 1), invoice="A", fields={"channel": "fax", "outcome": "sent"}),
     {"type": "contact_outcome", "at": "2026-02-01", "invoice": "A", "channel": "fax", "outcome": "sent"}, "channel"),
    (Event("invoice_issued", at(2026, 2, 1), new_invoice=invoice(id="B", amount=12.5)),
     {"type": "invoice_issued", "at": "2026-02-01", "invoice": {**GOOD_JSON, "id": "B", "amount": 12.5}}, "invoice.amount"),
], ids=["naive-at", "float", "no-amount", "currency", "at-9999", "promise-9999", "no-type", "unknown-type", "no-at",
        "channel", "issued-invoice"])
def test_a_bad_event_is_refused_by_the_engine_with_the_readers_message(event, json_event, field):
    e = rejected(lambda: with_invoice().add_event(event))
    assert e.field == field
    if json_event is not None:
        assert (e.field, e.message) == reader_message("event", json_event)
    else:
        assert "without a time zone" in e.message


def test_event_amounts_take_the_decimals_of_their_invoice_currency():
    e = rejected(lambda: with_invoice().add_event(Event("payment", at(2026, 2, 1), invoice="A", amount=Decimal("0.5"))))
    assert (e.field, e.message) == ("amount", "0.5 has more decimal places than CLP allows (0)")


def test_good_events_in_code_are_placed_and_run():
    eng = with_invoice()
    eng.add_event(Event("payment", dt.datetime(2026, 2, 1, 13, 0, tzinfo=dt.timezone.utc), invoice="A",
                        amount=Decimal(400), fields={"method": "card"}))
    eng.add_event(Event("payment", dt.date(2026, 2, 2), invoice="A", amount=600))  # a date: 00:00 local
    eng.add_event({"type": "hold", "at": "2026-02-03", "invoice": "A"})
    eng.add_event(Event("invoice_issued", at(2026, 2, 4), invoice=invoice(id="B", issued=dt.date(2026, 2, 4), due=dt.date(2026, 2, 10))))
    actions = list(eng.run(dt.date(2026, 3, 1)))
    assert [(a["case"], a["params"]["template"]) for a in actions] == [("A", "late"), ("B", "late")]
    assert [s["state"] for s in eng.case_states()] == ["paid", "open"]


def test_customers_in_code_are_checked():
    e = rejected(lambda: engine().add_customer(Customer("C", {"timezone": "Mars/Base"})))
    assert (e.field, e.message) == ("timezone", "'Mars/Base' is not an IANA time zone name (such as America/Santiago)")
    e = rejected(lambda: engine().add_customer(Customer(None)))
    assert (e.field, e.message) == ("id", "missing required field 'id'")
    e = rejected(lambda: engine().add_customer(Customer("C", {"email": 5})))
    assert (e.field, e.message) == ("email", "'email' must be text, not a number")
    eng = engine()
    eng.add_customer(Customer("C", {"segment": "vip", "limit": 2.5}))
    assert eng.customers["C"].attrs == {"segment": "vip", "limit": Decimal("2.5")}


# --------------------------------------------------------------------------- simulate and the readers


def test_simulate_takes_objects_and_dicts_and_rejects_the_bad_ones_by_position():
    r = simulate(policy(POLICY), until="2026-03-01",
                 invoices=[invoice(amount=1000.5), invoice(id="B"), GOOD_JSON | {"id": "D"},
                           invoice(id="E", due=dt.date(9999, 12, 31))],
                 events=[Event("payment", dt.datetime(2026, 2, 5, 10), invoice="B", amount=Decimal(1000)),
                         Event("payment", at(2026, 2, 5, 10), invoice="D", amount=Decimal(1000))])
    assert [(x.line, x.field) for x in r.rejects] == [(1, "amount"), (4, "due"), (1, "at")]
    assert [a["case"] for a in r.actions] == ["B", "D"] and r.state_of("D") == "paid" and r.state_of("B") == "open"


def test_objects_and_their_dicts_give_the_same_run():
    objects = run(POLICY, [invoice(), invoice(id="B", amount=Decimal(50))],
                  [Event("payment", at(2026, 2, 3, 10), invoice="A", amount=Decimal(1000))])
    dicts = run(POLICY, [GOOD_JSON, {**GOOD_JSON, "id": "B", "amount": "50"}],
                [{"type": "payment", "at": "2026-02-03T10:00", "invoice": "A", "amount": "1000"}])
    assert objects.actions == dicts.actions and objects.states == dicts.states and not objects.rejects


def test_a_record_is_checked_once():
    rejects = Rejects()
    (inv,) = read_invoices([json.dumps(GOOD_JSON)], default_currency="CLP", rejects=rejects)
    assert type(inv.origin) is Checked and check_invoice(inv, "CLP") is inv
    typed = invoice()
    checked = check_invoice(typed, "CLP")
    assert checked is not typed and type(checked.origin) is Checked and check_invoice(checked, "CLP") is checked
    ev = Event("payment", at(2026, 2, 1), invoice="A", amount=Decimal(1), seq=4)
    assert check_event(ev, SCL, "CLP").seq == 4
