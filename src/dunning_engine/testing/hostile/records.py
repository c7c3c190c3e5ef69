"""Hostile record files: valid portfolios drawn from a ``random.Random``, then damaged.

:func:`portfolio` draws valid invoices, customers and events (dicts shaped like SPEC §4).
:func:`record_files` writes them as CSV or JSONL after damaging some records (fields deleted,
types confused, floats, huge numbers, dates out of range, naive and aware datetimes, unknown
event types...) and then the text (duplicate JSON keys, very long lines, a file without a
newline, binary garbage, BOMs, CRLF, NUL, deep nesting, broken CSV quoting and headers).
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import random
from typing import Any

from . import pools

__all__ = ["portfolio", "damage_record", "record_files", "DIGITS"]

DIGITS = {"CLP": 0, "JPY": 0, "USD": 2, "MXN": 2, "PEN": 2, "EUR": 2, "GBP": 2, "COP": 2}
_START = _dt.date(2026, 1, 1)
_SEGMENTS = ("smb", "vip", "new", "enterprise")
_SIMPLE_EVENTS = ("payment", "payment", "credit_note", "promise_to_pay", "dispute_opened", "dispute_resolved",
                  "payment_failed", "plan_accepted", "hold", "release", "invoice_cancelled", "contact_outcome",
                  "customer_updated", "invoice_issued")


def _amount(rng: random.Random, digits: int, top: int = 300_000) -> str:
    units = rng.randint(1, top)
    if digits == 0:
        return str(units * (1000 if top >= 10_000 else 1))
    return f"{units // 100}.{rng.randint(0, 99):02d}"


def _at(rng: random.Random, day: _dt.date) -> str:
    r = rng.random()
    if r < 0.5:
        return day.isoformat()
    if r < 0.8:
        return f"{day.isoformat()}T{rng.randint(0, 23):02d}:{rng.choice((0, 30)):02d}"
    return f"{day.isoformat()}T{rng.randint(0, 23):02d}:00{rng.choice(('-03:00', '+00:00', 'Z', '-06:00'))}"


def portfolio(rng: random.Random, currency: str, *, invoices: int = 3, events: int = 6) -> dict[str, list[dict]]:
    """Valid invoices, customers and events (in time order) in ``currency``."""
    digits = DIGITS.get(currency, 2)
    custs = [f"C{i}" for i in range(1, rng.randint(1, 3) + 1)]
    invs = []
    for i in range(rng.randint(1, invoices)):
        issued = _START + _dt.timedelta(days=rng.randint(0, 90))
        inv = {"id": f"I{i + 1}", "customer": rng.choice(custs), "amount": _amount(rng, digits),
               "issued": issued.isoformat(), "due": (issued + _dt.timedelta(days=rng.randint(0, 60))).isoformat()}
        if rng.random() < 0.3:
            inv["currency"] = currency
        if rng.random() < 0.2:
            inv["note"] = "x"
        invs.append(inv)
    customers = [{"id": c, "segment": rng.choice(_SEGMENTS)} for c in custs if rng.random() < 0.7]
    evs = []
    for n in range(rng.randint(0, events)):
        inv = rng.choice(invs)
        day = _dt.date.fromisoformat(inv["issued"]) + _dt.timedelta(days=rng.randint(0, 150))
        typ = rng.choice(_SIMPLE_EVENTS)
        ev: dict[str, Any] = {"at": _at(rng, day), "type": typ, "invoice": inv["id"]}
        if rng.random() < 0.3:
            ev["id"] = f"E{n}"
        if typ in ("payment", "credit_note"):
            ev["amount"] = _amount(rng, digits, top=int(float(inv["amount"])) or 1)
        elif typ == "promise_to_pay":
            ev["date"] = (day + _dt.timedelta(days=rng.randint(0, 30))).isoformat()
        elif typ == "contact_outcome":
            ev["channel"], ev["outcome"] = rng.choice(("email", "sms")), rng.choice(("delivered", "bounced"))
        elif typ == "customer_updated":
            del ev["invoice"]
            ev["customer"], ev["fields"] = inv["customer"], {"segment": rng.choice(_SEGMENTS)}
        elif typ == "invoice_issued":
            new = dict(inv, id=f"I{len(invs) + n + 1}")
            ev["invoice"] = new
        evs.append(ev)
    evs.sort(key=lambda e: e["at"] if "T" in e["at"] else e["at"] + "T00:00")
    return {"invoices": invs, "customers": customers, "events": evs}


_TYPED: tuple[object, ...] = (None, True, 0, -1, 19.9, 1e308, 10 ** 30, -(10 ** 30), [], [1], {}, {"a": {"b": None}}, "", " ",
          "1e400", "NaN", "-Infinity")
_AMOUNTS = ("1e400", "123456789012345678901234567890", "0.000000000000000000000000000001", "1.123456789", "-5",
            "0", "-0", "NaN", "Infinity", " 100 ", "1,000", "1_000", "١٢٣", "0x10", "1e5", "100 CLP", "100.", ".5",
            "99999999999999999999999999999999999999999999")
_DATES = ("9999-12-31", "0001-01-01", "1899-12-31", "2201-01-01", "2026-02-30", "2026-13-01", "20260101", "2026-1-1",
          "2026-01-01T00:00", "2026-01-01T00:00:00+14:00", "2026-01-01T00:00+99:00", "2026-01-01T24:00",
          "9999-12-31T23:59:59.999999", "0001-01-01T00:00:00Z", "2026-01-01 09:00", "2026-W01-1", "2026-001",
          "2026-01-01T09:00:00.123456789", " 2026-01-01", "tomorrow", "")


def damage_record(rng: random.Random, rec: dict, kind: str) -> dict:
    """A copy of ``rec`` with one field deleted, confused or pushed to an edge."""
    rec = dict(rec)
    if not rec:
        return rec
    key = rng.choice(list(rec))
    r = rng.random()
    if r < 0.15:
        del rec[key]
    elif r < 0.4:
        rec[key] = rng.choice(_TYPED)
    elif r < 0.55:
        rec[rng.choice(("amount", "amount", "date"))] = rng.choice(_AMOUNTS + _TYPED[3:7])
    elif r < 0.75:
        rec[rng.choice(("issued", "due", "at", "date", "at"))] = rng.choice(_DATES)
    elif r < 0.8:
        rec["currency"] = rng.choice(("XXX", "clp", "", "USD", "CLP", "EURO", "BTC", None, 1))
    elif r < 0.85 and kind == "events":
        rec["type"] = rng.choice(("unknown", "", "PAYMENT", "promise_kept", "payment ", None, "__class__"))
    elif r < 0.9 and kind == "events":
        rec["fields"] = rng.choice(({"segment": None}, {"id": "X"}, {"amount": "1"}, [], "vip", {"": ""},
                                    {"timezone": "Mars/Base"}))
    elif r < 0.95:
        rec[key] = pools.hostile_value(rng, pools.TEXTS + pools.NUMBERS)
    else:
        rec[rng.choice(("id", "customer", "invoice"))] = rng.choice(("", "I1", "C1", "x" * 100_000, "é☃", None, 7))
    return rec


def _csv_text(rows: list[dict], rng: random.Random) -> str:
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else (json.dumps(row[c]) if isinstance(row[c], (dict, list))
                         else row[c]) for c in columns])
    return out.getvalue()


def _jsonl_text(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def _damage_text(rng: random.Random, text: str, fmt: str) -> bytes:
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    r = rng.random()
    if r < 0.12 and fmt == "jsonl" and lines[i].startswith("{"):
        lines[i] = '{"id": "D1", "id": "D2", ' + lines[i][1:]           # duplicate keys
    elif r < 0.2:
        lines[i] = lines[i][:-1] + ', "pad": "' + "x" * rng.choice((200_000, 1_100_000, 2_000_000)) + '"}' \
            if fmt == "jsonl" and lines[i].endswith("}") else lines[i] + "x" * 1_100_000
    elif r < 0.25:
        return (text.replace("\n", " ") + "y" * rng.choice((1_100_000, 3_000_000))).encode()  # no newline at all
    elif r < 0.33:
        raw = [line.encode("utf-8", "surrogatepass") for line in lines]
        raw.insert(i, bytes(rng.randrange(256) for _ in range(rng.randint(1, 200))))   # binary garbage
        return b"\n".join(raw)
    elif r < 0.4:
        return b"\xef\xbb\xbf" + text.encode() if rng.random() < 0.6 else text.replace("\n", "\n\ufeff", 1).encode()
    elif r < 0.48:
        return text.replace("\n", rng.choice(("\r\n", "\r", "\n\n", "\x85", "\u2028"))).encode()
    elif r < 0.53:
        lines[i] = lines[i][:rng.randrange(len(lines[i]) + 1)] + rng.choice(("\x00", "\x00" * 50, "\x1a"))
    elif r < 0.58:
        n = rng.choice((100, 1000, 100_000))
        lines[i] = ('{"id": "N", "x": ' + "[" * n + "]" * n + "}") if fmt == "jsonl" else '"' * n
    elif r < 0.66:
        lines[i] = lines[i][:rng.randrange(len(lines[i]) + 1)]                   # truncated
    elif r < 0.74 and fmt == "csv":
        lines[0] = rng.choice((lines[0] + ",id", lines[0].replace(",", ";"), lines[0].upper(), "",
                               lines[0] + "," + ",".join(f"c{k}" for k in range(5000)), '"id,' + lines[0]))
    elif r < 0.8 and fmt == "csv":
        lines[i] = lines[i] + rng.choice((',"unterminated', ",extra,cells", '"', "\\", ",,,,,,,,"))
    elif r < 0.86:
        lines[i] = rng.choice(("[]", "null", "1", '"text"', "{", "}", "[{}]", "{}", "true", "1e400",
                               '{"__proto__": {}}', "\t", " " * 1000))
    elif r < 0.9:
        lines = lines * rng.choice((2, 50))
    elif r < 0.95:
        return b""
    else:
        lines = lines[:1]
    return "\n".join(lines).encode("utf-8", "surrogatepass")


def record_files(rng: random.Random, currency: str) -> dict[str, bytes]:
    """``invoices.*``, maybe ``customers.*`` and ``events.jsonl``: valid, damaged records, damaged text."""
    data = portfolio(rng, currency, invoices=rng.choice((2, 4, 8)), events=rng.choice((4, 10, 20)))
    files: dict[str, bytes] = {}
    for kind in ("invoices", "customers", "events"):
        rows = data[kind]
        if kind != "invoices" and rng.random() < 0.25:
            continue
        for _ in range(rng.choice((0, 1, 1, 2, 4))):
            if rows:
                j = rng.randrange(len(rows))
                rows[j] = damage_record(rng, rows[j], kind)
        if rows and rng.random() < 0.1:
            rows.insert(rng.randrange(len(rows)), dict(rng.choice(rows)))     # a duplicate record
        fmt = "jsonl" if kind == "events" or rng.random() < 0.5 else "csv"
        text = _jsonl_text(rows) if fmt == "jsonl" else _csv_text(rows, rng)
        suffix = fmt if rng.random() < 0.96 else rng.choice(("txt", "ndjson", "CSV", "json"))
        body = _damage_text(rng, text, fmt) if rng.random() < 0.6 else text.encode()
        files[f"{kind}.{suffix}"] = body
    return files
