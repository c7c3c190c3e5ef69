"""Reference rates (``rates:`` of a policy): dated tables read from CSV files or written inline.

A table maps dates to values; the value in force on a day is the latest on or before it
(``rate("UF")`` in expressions, and the compliance packs' caps). CSV files have two columns,
``date,value`` (ISO date, plain decimal), with an optional header line; blank lines and lines
starting with ``#`` are skipped.

A policy is untrusted input, so the files it names are confined (SPEC §1, §12): a path is relative
to the policy's folder and must stay inside it (no absolute path, no ``..`` that leaves it, no link
that leads out of it: the resolved path is checked), and must name a regular file of at most
:data:`MAX_RATE_BYTES`. :func:`check_rate_files` applies these rules without opening anything
(``load_policy``, hence ``dunning validate``, calls it); :func:`load_rates` applies them again when
it reads the file, without blocking: a FIFO or a device is refused from its ``stat``, before any
``open``, and what was opened is checked again with ``fstat``. A policy given as text has no folder:
its file tables cannot be read unless the caller names one (docs/decisions.md). An error never
quotes a line of a file outside the policy's folder.

Loading is the engine's edge (I/O): ``simulate`` and ``run_files`` call :func:`install_rates`;
embedding code that builds an ``Engine`` itself calls it too, or ``engine.set_rate`` directly.
Every problem is a ``PolicyError`` naming the file and line.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import os
import stat
from decimal import Decimal
from pathlib import PureWindowsPath
from typing import Any

from ..errors import Location, PolicyError, PolicyErrors, Source
from ..policy import ir
from ..values import check_amount, parse_decimal

__all__ = ["load_rates", "install_rates", "read_rate_csv", "check_rate_files", "MAX_RATE_BYTES"]

MAX_RATE_BYTES = 10_000_000
"""Largest rate table file, in bytes (10 MB, in the decimal units of the policy's own 1 MB limit)."""

_WHERE_HELP = ("a rate table file lives in the policy's folder or below it; write its path relative to "
               "the policy file, e.g. rates/uf.csv")
_READ_HELP = "check the path and that the file is readable"


class _Refused(Exception):
    """A rate table file that may not be read: the message and help of the error to raise."""

    def __init__(self, message: str, help: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.help = help


def _policy_location(policy: ir.Policy, needle: str) -> Location | None:
    """Where ``needle`` (a table's path or name) is written in the policy file, to point errors at it."""
    src = policy.source
    text = getattr(src, "text", None)
    if not text or not isinstance(text, str):
        return None
    i = text.find(needle)
    if i < 0:
        return None
    return src.location(i, len(needle))


def read_rate_csv(path: str | os.PathLike, name: str = "", *, shown: str | None = None) -> list[tuple[_dt.date, Decimal]]:
    """The rows of a ``date,value`` CSV file, sorted by date. Raises ``PolicyError`` with file and line.

    ``path`` must name a regular file of at most :data:`MAX_RATE_BYTES` (a FIFO or a device is
    refused, not read). It is not confined to a folder: :func:`load_rates` confines a policy's
    paths before it calls this.
    """
    shown = shown or os.fspath(path)
    what = f"rate table '{name}'" if name else "rate table"
    try:
        raw = _read_regular_file(os.fspath(path))
    except _Refused as e:
        raise PolicyError(f"cannot read {what} from '{shown}': {e.message}", help=e.help, code="rate-file") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise PolicyError(f"{what} '{shown}' is not UTF-8 text ({e.reason} at byte {e.start})",
                          code="not-utf8") from None
    source = Source(shown, text)
    rows: dict[_dt.date, tuple[Decimal, int]] = {}

    def bad(line: int, col: int, msg: str, help: str | None = None, length: int = 1) -> PolicyError:
        return PolicyError(f"{what}: {msg}", Location(source, line, col, length), help=help, code="invalid-rate-table")

    reader = csv.reader(io.StringIO(text))
    for lineno, cells in enumerate(_records(reader, bad), start=1):
        if not cells or not "".join(cells).strip() or cells[0].lstrip().startswith("#"):
            continue
        first = cells[0].strip()
        if len(cells) != 2:
            raise bad(lineno, 1, f"expected two columns 'date,value', found {len(cells)}",
                      help="write one 'YYYY-MM-DD,value' per line, e.g. 2026-05-01,39145.12")
        try:
            day = _dt.date.fromisoformat(first)
        except ValueError:
            if not rows and lineno == _first_line(text):
                continue  # a header line
            raise bad(lineno, 1, f"'{first}' is not a date YYYY-MM-DD", length=max(1, len(first))) from None
        value_text = cells[1].strip()
        col = len(cells[0]) + 2
        try:
            value = parse_decimal(value_text)
        except ValueError:
            raise bad(lineno, col, f"'{value_text}' is not a decimal number",
                      help="write values with a dot and no thousands separator, e.g. 39145.12",
                      length=max(1, len(value_text))) from None
        try:
            check_amount(value)  # at most 18 digits before the point (SPEC §12)
        except ValueError as e:
            raise bad(lineno, col, str(e), length=max(1, len(value_text))) from None
        if day in rows:
            raise bad(lineno, 1, f"{day.isoformat()} appears twice (first on line {rows[day][1]})", length=len(first))
        rows[day] = (value, lineno)
    if not rows:
        raise PolicyError(f"{what} '{shown}' has no rows", Location(source, 1, 1),
                          help="write one 'YYYY-MM-DD,value' per line", code="invalid-rate-table")
    return sorted((d, v) for d, (v, _) in rows.items())


def _records(reader: Any, bad: Any):
    """The records of a csv reader; its own errors (a field over the csv module's size limit, say)
    become the table's error at the line where they happen."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise bad(reader.line_num or 1, 1, f"not a CSV line ({e})",
                      help="write one 'YYYY-MM-DD,value' per line, e.g. 2026-05-01,39145.12") from None


def _first_line(text: str) -> int:
    for i, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if s and not s.startswith("#"):
            return i
    return 1


def check_rate_files(policy: ir.Policy, folder: str | os.PathLike | None = None) -> None:
    """Refuse, with the position of each path in the policy, the rate table files that may not be read.

    Every path must be relative and must not climb out with ``..``; when ``folder`` (default: the
    policy's folder, ``policy.folder``) is known, the path must also resolve inside it, to an
    existing regular file of at most :data:`MAX_RATE_BYTES`. Nothing is opened. Raises
    ``PolicyErrors`` listing every problem.
    """
    folder = policy.folder if folder is None else os.fspath(folder)
    problems = []
    for table in policy.rates:
        if table.path is None:
            continue
        try:
            if folder is None:
                _check_written(table.path)
            else:
                _resolve(folder, table.path)
        except _Refused as e:
            problems.append(_table_error(policy, table, e))
    if problems:
        raise PolicyErrors(problems)


def load_rates(policy: ir.Policy, base_dir: str | os.PathLike | None = None) -> dict[str, list[tuple[_dt.date, Any]]]:
    """Every table of ``policy.rates``: name -> sorted (date, value) rows.

    File paths are read from, and confined to, ``base_dir`` (default: the policy's folder, set by
    ``load_policy``). A policy given as text has no folder: a file table is then an error that
    says what to do instead.
    """
    folder = policy.folder if base_dir is None else os.fspath(base_dir)
    tables: dict[str, list[tuple[_dt.date, Any]]] = {}
    for table in policy.rates:
        if table.path is None:
            tables[table.name] = sorted(table.values)
            continue
        try:
            if folder is None:
                _check_written(table.path)
                raise _Refused(
                    "the policy was given as text, so it has no folder to read the file from",
                    help="load the policy from its file (load_policy(path)), name its folder "
                         "(load_policy_text(text, folder=...)), or write the table inline, e.g. "
                         'rates: {%s: {2026-01-01: "39000"}}' % table.name)
            full = _resolve(folder, table.path)
        except _Refused as e:
            raise _table_error(policy, table, e) from None
        try:
            tables[table.name] = read_rate_csv(full, table.name, shown=_shown(full))
        except PolicyError as e:
            if e.location is None:  # the file itself could not be read: point at the policy line
                e = PolicyError(e.message, _where(policy, table), help=e.help, code=e.code)
            raise e from None
    return tables


def install_rates(engine: Any, policy: ir.Policy | None = None, base_dir: str | os.PathLike | None = None) -> None:
    """Load the policy's rate tables into ``engine`` (``engine.set_rate``)."""
    policy = policy or engine.cp.policy
    for name, rows in load_rates(policy, base_dir).items():
        engine.set_rate(name, rows)


# -- confinement -------------------------------------------------------------------------------------


def _where(policy: ir.Policy, table: ir.RateTable) -> Location | None:
    return table.location or _policy_location(policy, table.path or table.name)


def _table_error(policy: ir.Policy, table: ir.RateTable, refused: _Refused) -> PolicyError:
    return PolicyError(f"cannot read rate table '{table.name}' from '{table.path}': {refused.message}",
                       _where(policy, table), help=refused.help, code="rate-file")


def _check_written(written: str) -> None:
    """The checks that need no file system: a relative path that does not climb out with ``..``."""
    if not written.strip():
        raise _Refused("the path is empty", help=_WHERE_HELP)
    if "\0" in written:
        raise _Refused("the path contains a NUL character", help=_WHERE_HELP)
    # a leading '/' or '\' is absolute wherever the policy runs; a drive ('C:') only on Windows
    if os.path.isabs(written) or written.startswith(("/", "\\")) or (os.name == "nt" and PureWindowsPath(written).drive):
        raise _Refused("the path is absolute; rate table paths are relative to the policy file", help=_WHERE_HELP)
    normal = os.path.normpath(written.replace("\\", "/"))
    if normal == ".." or normal.startswith("../"):
        raise _Refused("the path leads out of the policy's folder", help=_WHERE_HELP)


def _resolve(folder: str, written: str) -> str:
    """The resolved path of ``written`` under ``folder``, after every check short of opening it."""
    _check_written(written)
    base = os.path.realpath(folder)
    real = os.path.realpath(os.path.join(base, written))
    if os.path.commonpath([base, real]) != base:
        raise _Refused("the path leads out of the policy's folder (through a symbolic link)", help=_WHERE_HELP)
    try:
        st = os.stat(real)
    except FileNotFoundError:
        raise _Refused("no such file", help="paths under 'rates:' are relative to the policy file") from None
    except (OSError, ValueError) as e:
        raise _Refused(f"{getattr(e, 'strerror', None) or e}", help=_READ_HELP) from None
    _check_stat(st)
    return real


def _check_stat(st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise _Refused(f"it is {_kind(st.st_mode)}, not a regular file",
                       help="a rate table is a CSV file of 'date,value' lines")
    if st.st_size > MAX_RATE_BYTES:
        raise _Refused(f"it has {st.st_size:,} bytes; the limit is {MAX_RATE_BYTES:,} (10 MB)",
                       help="keep the dates the policy needs, in one or several tables")


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"  # pragma: no cover - no other kind on the systems we run on


def _read_regular_file(path: str) -> bytes:
    """The bytes of ``path``, a regular file of at most MAX_RATE_BYTES; _Refused otherwise.

    ``stat`` first, so that a FIFO or a device is refused without being opened (opening a FIFO
    waits for a writer); then ``open`` without blocking and without following a final link, and
    ``fstat`` on what was opened, in case another file was put there in between."""
    try:
        _check_stat(os.stat(path))
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise _Refused("no such file", help="paths under 'rates:' are relative to the policy file") from None
    except (OSError, ValueError) as e:
        raise _Refused(f"{getattr(e, 'strerror', None) or e}", help=_READ_HELP) from None
    try:
        with os.fdopen(fd, "rb") as f:
            _check_stat(os.fstat(f.fileno()))
            data = f.read(MAX_RATE_BYTES + 1)
    except OSError as e:
        raise _Refused(f"{e.strerror or e}", help=_READ_HELP) from None
    if len(data) > MAX_RATE_BYTES:
        raise _Refused(f"it has more than {MAX_RATE_BYTES:,} bytes (10 MB)",
                       help="keep the dates the policy needs, in one or several tables")
    return data


def _shown(full: str) -> str:
    """The path as a user recognises it: relative to the current directory when it is below it."""
    try:
        rel = os.path.relpath(full)
    except ValueError:  # pragma: no cover - another drive on Windows
        return full
    return full if rel == ".." or rel.startswith(".." + os.sep) else rel
