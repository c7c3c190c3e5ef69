"""Where records come from: files, standard input, or iterables; and their JSONL and CSV streams.

A source yields numbered items: a line of text, a ``dict`` (an already-parsed record), a record
object built in code (``Invoice``, ``Customer``, ``Event``), or a marker for a line that cannot
be a record (not UTF-8, or longer than :data:`LINE_LIMIT`). Files are read a bounded piece at a
time: a line without an end (a newline-less file of 50 MB, say) never takes more than about
1 MB of memory; it is rejected with its line number and reading goes on with the next line.

A record stream turns items into ``(line, raw, record, text)``: ``record`` is the parsed dict
(or record object), or a :class:`~dunning_engine.records.fields.Reject` saying why the line is
not a record at all; ``text`` is the JSON line it was parsed from, as bytes (None otherwise),
for the check of repeated keys.
"""

from __future__ import annotations

import csv
import difflib
import os
from functools import partial
from itertools import chain
from typing import Any, Iterable, Iterator

import orjson

from ..errors import RecordError
from ..records.fields import Reject, json_type
from ..records.types import Customer, Event, Invoice

__all__ = ["LINE_LIMIT", "RECORD_TEXT_LIMIT", "open_source", "record_stream", "raw_record", "display_name"]

LINE_LIMIT = 1 << 20  # bytes of one line of a file (characters of a line given as text), end excluded
RECORD_TEXT_LIMIT = 500  # characters of a rejected record kept in its RecordError

_JSONL_SUFFIXES = (".jsonl", ".ndjson")
_CSV_SUFFIXES = (".csv",)


class _Unreadable:
    """A line that cannot be a record: ``reason`` says why (``code``: its diagnostic code), ``text`` is
    the line as far as it can be shown."""

    __slots__ = ("text", "reason", "code")

    def __init__(self, text: str, reason: str, code: str) -> None:
        self.text = text
        self.reason = reason
        self.code = code


class _Overlong(_Unreadable):
    """A line longer than LINE_LIMIT: ``text`` is only its start."""

    __slots__ = ()


def _undecodable(raw: bytes) -> _Unreadable:
    try:
        raw.decode("utf-8")
        reason = "invalid UTF-8"  # pragma: no cover - only built for undecodable bytes
    except UnicodeDecodeError as e:
        reason = (f"invalid UTF-8 (byte 0x{raw[e.start]:02x} at byte {e.start + 1} of the line); "
                  "save the file as UTF-8")
    return _Unreadable(raw.decode("utf-8", errors="replace").rstrip("\r\n"), reason, code="not-utf8")


def _overlong(start: str | bytes, size: int) -> _Overlong:
    """The marker of a line of ``size`` bytes (characters, for text) that starts with ``start``."""
    unit = "characters" if isinstance(start, str) else "bytes"
    if not isinstance(start, str):
        start = bytes(start[:RECORD_TEXT_LIMIT]).decode("utf-8", errors="replace")
    return _Overlong(start[:RECORD_TEXT_LIMIT],
                     f"the line is {size:,} {unit} long, over the limit of {LINE_LIMIT:,} (1 MB) for one record",
                     code="line-too-long")


# --------------------------------------------------------------------------- sources


def display_name(path_or_lines: Any, name: str | None) -> str | None:
    if name is not None:
        return name
    if isinstance(path_or_lines, (str, bytes, os.PathLike)):
        p = os.fsdecode(path_or_lines)
        return "<stdin>" if p == "-" else p
    n = getattr(path_or_lines, "name", None)
    return n if isinstance(n, str) else None


def _suffix_format(name: str | None) -> str | None:
    if not name:
        return None
    low = name.lower()
    if low.endswith(_JSONL_SUFFIXES):
        return "jsonl"
    if low.endswith(_CSV_SUFFIXES):
        return "csv"
    return None


def _check_openable(path: str, shown: str | None) -> None:
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        raise RecordError(f"cannot open the file: {e.strerror or e}", file=shown, code="cannot-read") from None


def _iter_path(path: str, shown: str | None) -> Iterator[tuple[int, Any]]:
    import sys

    try:
        f = sys.stdin.buffer if path == "-" else open(path, "rb")
    except OSError as e:
        raise RecordError(f"cannot open the file: {e.strerror or e}", file=shown, code="cannot-read") from None
    try:
        yield from _iter_items(_bounded_lines(f), pieces=True)
    except OSError as e:
        raise RecordError(f"cannot read the file: {e.strerror or e}", file=shown, code="cannot-read") from None
    finally:
        if f is not sys.stdin.buffer:
            f.close()


def _bounded_lines(f: Any) -> Iterator[Any]:
    """The lines of file ``f`` (binary or text) read at most LINE_LIMIT + 1 units at a time (a C-level
    iterator: as fast as iterating the file); a longer line comes in several pieces."""
    try:
        end = f.read(0)  # b"" or "": what readline gives at the end
    except (AttributeError, OSError, ValueError):
        end = b"" if "b" in str(getattr(f, "mode", "")) else ""
    return iter(partial(f.readline, LINE_LIMIT + 1), end)


def _iter_items(items: Iterable[Any], pieces: bool = False) -> Iterator[tuple[int, Any]]:
    """(line number, item) for each item, without the BOM of the first line.

    Lines of bytes stay bytes (orjson reads them as they are; see ``_decoded``). A line longer
    than LINE_LIMIT becomes an ``_Overlong``, under the number of its line. With ``pieces``,
    items come from ``_bounded_lines``: a long line comes in pieces, only one held at a time.
    """
    limit = LINE_LIMIT
    items = iter(items)
    lineno = 0
    for item in items:
        lineno += 1
        t = type(item)
        if t is bytes or t is str or isinstance(item, (bytes, bytearray, memoryview, str)):
            if isinstance(item, (bytearray, memoryview)):
                item = bytes(item)
            if len(item) > limit:
                nl = "\n" if isinstance(item, str) else b"\n"
                size = len(item)
                end = item[-1:] == nl
                if pieces and size == limit + 1 and not end:
                    for piece in items:  # the rest of a line read in pieces
                        size += len(piece)
                        if piece[-1:] == nl:
                            end = True
                            break
                size -= end
                if size > limit:
                    yield lineno, _overlong(item[:RECORD_TEXT_LIMIT], size)
                    continue
            if lineno == 1:
                item = item.removeprefix("\ufeff" if isinstance(item, str) else b"\xef\xbb\xbf")
        yield lineno, item


def _decoded(item: Any) -> Any:
    """A line of bytes as text, or an ``_Unreadable`` if it is not UTF-8; anything else as it is."""
    if isinstance(item, (bytes, bytearray, memoryview)):
        raw = bytes(item)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return _undecodable(raw)
    return item


def open_source(path_or_lines: Any, shown: str | None) -> tuple[str | None, Iterator[tuple[int, Any]]]:
    """The format told by the file name (or None) and the numbered items; raises RecordError if unopenable."""
    fmt = _suffix_format(shown)
    if isinstance(path_or_lines, (str, bytes, os.PathLike)):
        path = os.fsdecode(path_or_lines)
        fmt = fmt or _suffix_format(path)
        if path != "-":
            if fmt is None:
                raise RecordError("cannot tell the format of the file from its name: use a .csv, .jsonl or "
                                  ".ndjson file", file=shown, code="unknown-file-format")
            _check_openable(path, shown)
        return fmt, _iter_path(path, shown)
    if isinstance(path_or_lines, dict):
        raise TypeError("expected a path or an iterable of lines or records, not a single dict")
    if callable(getattr(path_or_lines, "readline", None)):  # an open file: read it a bounded line at a time
        return fmt, _iter_items(_bounded_lines(path_or_lines), pieces=True)
    try:
        items = iter(path_or_lines)
    except TypeError:
        raise TypeError(f"expected a path or an iterable of lines or records, not {type(path_or_lines).__name__}") from None
    return fmt, _iter_items(items)


def _is_record(item: Any) -> bool:
    """True for a record given already parsed: a dict, or an object built in code."""
    return isinstance(item, (dict, Invoice, Customer, Event))


def _sniff(items: Iterator[tuple[int, Any]]) -> tuple[str, Iterator[tuple[int, Any]]]:
    """Guess JSONL or CSV from the first non-blank item (for stdin and iterables without a file name)."""
    seen: list[tuple[int, Any]] = []
    fmt = "jsonl"
    for pair in items:
        seen.append(pair)
        item = _decoded(pair[1])
        if _is_record(item):
            break
        text = item.text if isinstance(item, _Unreadable) else item
        if isinstance(text, str) and text.strip():
            fmt = "jsonl" if text.lstrip().startswith("{") else "csv"
            break
    return fmt, chain(seen, items)


def _clip(text: str) -> str:
    return text if len(text) <= RECORD_TEXT_LIMIT else text[: RECORD_TEXT_LIMIT - 1] + "…"


def raw_record(item: Any) -> Any:
    """The record kept with a reject: line text (clipped), or the dict given (as text if long)."""
    if isinstance(item, dict):
        try:
            text = orjson.dumps(item, default=str).decode()
        except Exception:
            text = repr(item)
        return item if len(text) <= RECORD_TEXT_LIMIT else _clip(text)
    if isinstance(item, _Unreadable):
        return _clip(item.text)
    if isinstance(item, (bytes, bytearray, memoryview)):
        item = bytes(item[:RECORD_TEXT_LIMIT * 4]).decode("utf-8", errors="replace")
    if isinstance(item, str):
        return _clip(item.rstrip("\r\n"))
    return _clip(repr(item))


# --------------------------------------------------------------------------- JSONL and CSV record streams


def record_stream(fmt: str | None, items: Iterator[tuple[int, Any]], kind: str,
                  required_columns: tuple[str, ...]) -> Iterator[tuple[int | None, Any, Any, bytes | None]]:
    """The records of a source (see the module's docstring); ``fmt`` None guesses it."""
    if fmt is None:
        # Events are JSONL whatever they look like; invoices and customers may be either.
        fmt, items = ("jsonl", items) if kind == "events" else _sniff(items)
    if kind == "events" and fmt == "csv":
        yield None, None, Reject("events must be JSONL (one JSON object per line), not CSV; "
                                 "nothing in this file was read", code="wrong-file-format"), None
        return
    if fmt == "csv":
        yield from _csv_records(items, required_columns)
    else:
        yield from _jsonl_records(items)


def _jsonl_records(items: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Any, Any, bytes | None]]:
    loads = orjson.loads
    for lineno, item in items:
        if type(item) is bytes or isinstance(item, (str, bytes)):
            try:
                value = loads(item)
            except orjson.JSONDecodeError as e:
                if not item.strip():
                    continue  # a blank line
                text = _decoded(item)
                if isinstance(text, _Unreadable):
                    yield lineno, text, Reject(text.reason, code=text.code), None
                    continue
                reason = str(e)
                if "surrogates not allowed" in reason:
                    reason = "the line contains characters that are not valid UTF-8"
                yield lineno, item, Reject(f"not valid JSON: {reason}", code="invalid-json"), None
                continue
            if type(value) is not dict:
                yield lineno, item, Reject(f"expected a JSON object {{...}}, got {json_type(value)}",
                                           code="invalid-json"), None
                continue
            yield lineno, item, value, item if isinstance(item, bytes) else item.encode()
        elif _is_record(item):
            yield lineno, item, item, None
        elif isinstance(item, _Unreadable):
            yield lineno, item, Reject(item.reason, code=item.code), None
        else:
            yield lineno, item, Reject(f"expected a line of text or a record, not {type(item).__name__}",
                                       code="wrong-type"), None


def _csv_reason(e: csv.Error) -> str:
    text = str(e)
    if "unexpected end of data" in text:
        return "not valid CSV: a quoted cell that starts on this line is never closed"
    if "expected after" in text:
        return f"not valid CSV: a quoted cell must end at a delimiter ({text})"
    if "field larger than field limit" in text:
        return f"not valid CSV: a cell is longer than {csv.field_size_limit():,} characters"
    return f"not valid CSV: {text}"


def _pick_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


class _RowTooLong(Exception):
    """A CSV row (its lines together) grew past LINE_LIMIT: the reader drops it."""


class _LineTap:
    """Feeds text lines to csv.reader and keeps the physical lines of the current row (at most
    about LINE_LIMIT characters of them: a longer row raises _RowTooLong)."""

    __slots__ = ("items", "lines", "size", "lineno", "bad", "records")

    def __init__(self, items: Iterator[tuple[int, Any]]) -> None:
        self.items = items
        self.lines: list[str] = []
        self.size = 0
        self.lineno = 0
        self.bad: _Unreadable | None = None
        self.records: list[tuple[int, Any]] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        lineno, item = next(self.items)
        self.lineno = lineno
        if isinstance(item, _Unreadable):
            self.bad = self.bad or item
            text = "" if isinstance(item, _Overlong) else item.text
        elif isinstance(item, str):
            text = item
        elif _is_record(item):
            # An already-parsed record among CSV lines: passed through as an empty line.
            self.records.append((lineno, item))
            text = ""
        else:
            text = str(item)
        self.size += len(text)
        if self.size > LINE_LIMIT and self.lines:
            self.lines = [self.lines[0][:RECORD_TEXT_LIMIT]]
            raise _RowTooLong
        self.lines.append(text)
        return text

    def take(self) -> tuple[str, _Unreadable | None]:
        raw = "\n".join(t.rstrip("\r\n") for t in self.lines)
        bad = self.bad
        self.lines = []
        self.size = 0
        self.bad = None
        return raw, bad


def _csv_header(tap: _LineTap, required_columns: tuple[str, ...]):
    """Yields what precedes the header, then returns (delimiter, columns) or None (the file is rejected)."""
    header_line = None
    for lineno, item in tap.items:
        if _is_record(item):
            yield lineno, item, item, None
            continue
        text = item.text if isinstance(item, _Unreadable) else item
        if isinstance(text, str) and text.strip():
            header_line = (lineno, item)
            break
    if header_line is None:
        return None
    h_lineno, h_item = header_line
    if isinstance(h_item, _Unreadable):
        yield h_lineno, h_item, Reject(f"header: {h_item.reason}; nothing in this file was read", code=h_item.code), None
        return None
    delimiter = _pick_delimiter(h_item)
    try:
        header = next(csv.reader([h_item], delimiter=delimiter, strict=True))
    except csv.Error as e:
        yield h_lineno, h_item, Reject(f"the header row: {_csv_reason(e)}; nothing in this file was read",
                                       code="invalid-csv"), None
        return None
    columns = [c.strip() for c in header]
    problem = None
    for i, c in enumerate(columns, 1):
        if not c:
            problem = Reject(f"column {i} of the header has no name; nothing in this file was read",
                             code="invalid-header")
            break
        if columns.index(c) != i - 1:
            problem = Reject(f"the header names column '{c}' twice; nothing in this file was read", c,
                             code="invalid-header")
            break
    if problem is None:
        for c in required_columns:
            if c not in columns:
                close = difflib.get_close_matches(c, columns, n=1, cutoff=0.6)
                help = f"the header has '{close[0]}': did you mean '{c}'?" if close else None
                problem = Reject(f"the header has no '{c}' column; nothing in this file was read", c, help,
                                 code="missing-column")
                break
    if problem is not None:
        yield h_lineno, h_item, problem, None
        return None
    return h_lineno, delimiter, columns


def _csv_records(items: Iterator[tuple[int, Any]], required_columns: tuple[str, ...]
                 ) -> Iterator[tuple[int, Any, Any, None]]:
    tap = _LineTap((lineno, _decoded(item)) for lineno, item in items)
    header = yield from _csv_header(tap, required_columns)
    if header is None:
        return
    last, delimiter, columns = header
    width = len(columns)
    reader = csv.reader(tap, delimiter=delimiter, strict=True)
    while True:
        tap.lines = []
        tap.size = 0
        tap.bad = None
        try:
            row = next(reader)
        except StopIteration:
            break
        except (csv.Error, _RowTooLong) as e:
            raw, _ = tap.take()
            if isinstance(e, csv.Error):
                yield last + 1, raw, Reject(_csv_reason(e), code="invalid-csv"), None
            else:
                yield last + 1, raw, Reject(f"the row is longer than {LINE_LIMIT:,} characters; a record is at most "
                                            "1 MB", code="line-too-long"), None
            if tap.lineno == last:
                break
            last = tap.lineno
            continue
        start = last + 1
        last = tap.lineno
        raw, bad = tap.take()
        while tap.records:
            r_lineno, r = tap.records.pop(0)
            yield r_lineno, r, r, None
        if not row or (len(row) == 1 and not row[0].strip()):
            if bad:
                yield start, raw, Reject(bad.reason, code=bad.code), None
            continue
        if bad:
            yield start, raw, Reject(bad.reason, code=bad.code), None
            continue
        if len(row) != width:
            yield start, raw, Reject(f"the row has {len(row)} cells but the header has {width} columns",
                                     code="invalid-csv"), None
            continue
        # An empty cell is an absent value.
        yield start, raw, {c: (v if v != "" else None) for c, v in zip(columns, row)}, None
