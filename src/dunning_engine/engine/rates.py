"""Reference rates (``rates:`` of a policy): dated tables read from CSV files or written inline.

A table maps dates to values; the value in force on a day is the latest on or before it
(``rate("UF")`` in expressions, and the compliance packs' caps). CSV files have two columns,
``date,value`` (ISO date, plain decimal), with an optional header line; blank lines and lines
starting with ``#`` are skipped. A relative path is read relative to the policy file (or, for a
policy given as text, to the current directory).

Loading is the engine's edge (I/O): ``simulate`` and ``run_files`` call :func:`install_rates`;
embedding code that builds an ``Engine`` itself calls it too, or ``engine.set_rate`` directly.
Every problem is a ``PolicyError`` naming the file and line.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..errors import Location, PolicyError, Source
from ..policy import ir
from ..values import check_amount, parse_decimal

__all__ = ["load_rates", "install_rates", "read_rate_csv"]


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
    """The rows of a ``date,value`` CSV file, sorted by date. Raises ``PolicyError`` with file and line."""
    shown = shown or os.fspath(path)
    what = f"rate table '{name}'" if name else "rate table"
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise PolicyError(f"cannot read {what} from '{shown}': {e.strerror or e}",
                          help="paths under 'rates:' are relative to the policy file") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise PolicyError(f"{what} '{shown}' is not UTF-8 text ({e.reason} at byte {e.start})") from None
    source = Source(shown, text)
    rows: dict[_dt.date, tuple[Decimal, int]] = {}

    def bad(line: int, col: int, msg: str, help: str | None = None, length: int = 1) -> PolicyError:
        return PolicyError(f"{what}: {msg}", Location(source, line, col, length), help=help)

    for lineno, cells in enumerate(csv.reader(io.StringIO(text)), start=1):
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
                          help="write one 'YYYY-MM-DD,value' per line")
    return sorted((d, v) for d, (v, _) in rows.items())


def _first_line(text: str) -> int:
    for i, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if s and not s.startswith("#"):
            return i
    return 1


def load_rates(policy: ir.Policy, base_dir: str | os.PathLike | None = None) -> dict[str, list[tuple[_dt.date, Any]]]:
    """Every table of ``policy.rates``: name -> sorted (date, value) rows.

    ``base_dir`` defaults to the directory of the policy file (the current directory for a policy
    given as text).
    """
    if base_dir is None:
        base_dir = os.path.dirname(os.path.abspath(policy.path)) if policy.path else os.getcwd()
    tables: dict[str, list[tuple[_dt.date, Any]]] = {}
    for table in policy.rates:
        if table.path is None:
            tables[table.name] = sorted(table.values)
            continue
        full = Path(base_dir) / table.path
        try:
            tables[table.name] = read_rate_csv(full, table.name, shown=_shown(full, table.path))
        except PolicyError as e:
            if e.location is None:  # the file itself is missing or unreadable: point at the policy line
                e = PolicyError(e.message, _policy_location(policy, table.path), help=e.help)
            raise e from None
    return tables


def _shown(full: Path, written: str) -> str:
    """The path as a user recognises it: relative to the current directory when it is below it."""
    try:
        return os.path.relpath(full)
    except ValueError:  # pragma: no cover - another drive on Windows
        return os.fspath(full)


def install_rates(engine: Any, policy: ir.Policy | None = None, base_dir: str | os.PathLike | None = None) -> None:
    """Load the policy's rate tables into ``engine`` (``engine.set_rate``)."""
    policy = policy or engine.cp.policy
    for name, rows in load_rates(policy, base_dir).items():
        engine.set_rate(name, rows)
