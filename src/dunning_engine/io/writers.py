"""JSONL output (SPEC §4): actions, states, rejects. Fast (orjson) and byte-for-byte deterministic.

One record is one line: keys in the order given (never sorted), UTF-8 text as
is, no spaces. Values that JSON has no type for are written as text:

==================  ======================================================
``Decimal``         ``"19.90"``: its digits exactly, never in exponent form
``date``            ``"2026-02-08"``
``datetime``        ``"2026-02-08T09:00:00-03:00"`` (must be timezone-aware)
``time``            ``"09:00:00"``
``Money``           ``{"amount": "19.90", "currency": "USD"}``
``Percent``         ``"2.5%"``
``Duration``        ``"3 days"``
tuple, set          a list (a set sorted, for determinism)
``ZoneInfo``        its IANA name
other dataclasses   an object of their fields (not those left out of their repr,
                    such as a record's ``origin``)
==================  ======================================================
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import io
import os
import sys
from decimal import Decimal
from typing import Any, BinaryIO, Iterable
from zoneinfo import ZoneInfo

import orjson

from ..values import Duration, Money, Percent

__all__ = ["dumps_record", "decimal_text", "json_value", "JsonlWriter"]

_OPTIONS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_BUFFER = 1 << 16


def decimal_text(d: Decimal) -> str:
    """A Decimal as plain decimal text with exactly its digits: ``19.90`` stays ``"19.90"``.

    Same as ``str(d)`` except that it never uses exponent notation
    (``Decimal("1E-7")`` is ``"0.0000001"``). Non-finite values are refused.
    """
    if not d.is_finite():
        raise TypeError(f"cannot write the non-finite Decimal {d}")
    text = str(d)
    if "E" in text:
        text = format(d, "f")
    return text


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return decimal_text(obj)
    if isinstance(obj, _dt.datetime):
        if obj.utcoffset() is None:
            raise TypeError(f"cannot write a datetime without a time zone: {obj.isoformat()}")
        return obj.isoformat()
    if isinstance(obj, (_dt.date, _dt.time)):
        return obj.isoformat()
    if isinstance(obj, Money):
        return {"amount": decimal_text(obj.amount), "currency": obj.currency}
    if isinstance(obj, Percent):
        return f"{decimal_text(obj.value)}%"
    if isinstance(obj, Duration):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if isinstance(obj, ZoneInfo):
        return obj.key
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.repr}
    raise TypeError(f"cannot write a {type(obj).__name__} as JSON")


def json_value(obj: Any) -> Any:
    """``obj`` (a Decimal, datetime, Money, ...) as the JSON value records are written with: the
    ``default`` for ``json.dumps`` of documents that hold record values (``--format json``)."""
    return _default(obj)


def dumps_record(rec: dict) -> bytes:
    """One record as a JSON line ending in ``\\n`` (see the module docstring for the types)."""
    try:
        return orjson.dumps(rec, default=_default, option=_OPTIONS)
    except TypeError as e:  # orjson.JSONEncodeError; say why, not just "not JSON serializable"
        cause = e.__cause__
        if isinstance(cause, TypeError) and str(cause):
            raise TypeError(str(cause)) from cause
        raise


class JsonlWriter:
    """Writes records as JSON lines to a path, ``"-"`` (standard output) or a stream.

    Use as a context manager; ``write(rec)`` and ``write_many(records)`` add
    lines and ``count`` says how many were written. A file is opened for
    writing (truncated) when the writer is created, and closed on exit; a stream
    given by the caller (and standard output) is flushed but left open. A text
    stream is accepted too (its underlying binary buffer is used if it has one).
    """

    def __init__(self, target: str | os.PathLike | BinaryIO | Any) -> None:
        self.count = 0
        self._owned = False
        self.name: str | None
        if isinstance(target, (str, bytes, os.PathLike)) and os.fsdecode(target) == "-":
            stream: Any = sys.stdout
            self.name = "<stdout>"
        elif isinstance(target, (str, bytes, os.PathLike)):
            self.name = os.fsdecode(target)
            stream = open(target, "wb", buffering=_BUFFER)
            self._owned = True
        else:
            stream = target
            n = getattr(target, "name", None)
            self.name = n if isinstance(n, str) else None
        self._text = False
        if isinstance(stream, io.TextIOBase):
            buffer = getattr(stream, "buffer", None)
            if buffer is not None:
                stream.flush()
                stream = buffer
            else:
                self._text = True
        self._stream = stream
        self._closed = False

    def write(self, rec: dict) -> None:
        if self._closed:
            raise ValueError("write to a closed JsonlWriter")
        line = dumps_record(rec)
        self._stream.write(line.decode("utf-8") if self._text else line)
        self.count += 1

    def write_many(self, records: Iterable[dict]) -> int:
        """Writes every record; returns how many."""
        if self._closed:
            raise ValueError("write to a closed JsonlWriter")
        stream, text, n = self._stream, self._text, 0
        chunk: list[bytes] = []
        size = 0
        for rec in records:
            line = dumps_record(rec)
            chunk.append(line)
            size += len(line)
            n += 1
            if size >= _BUFFER:
                data = b"".join(chunk)
                stream.write(data.decode("utf-8") if text else data)
                chunk.clear()
                size = 0
        if chunk:
            data = b"".join(chunk)
            stream.write(data.decode("utf-8") if text else data)
        self.count += n
        return n

    def flush(self) -> None:
        if not self._closed:
            self._stream.flush()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._stream.flush()
        finally:
            if self._owned:
                self._stream.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> "JsonlWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"JsonlWriter({self.name!r}, count={self.count})"
