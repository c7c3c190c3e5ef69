"""Matching an expected action against an actual one (both JSON-shaped), field by field."""

from __future__ import annotations

import datetime as _dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from .model import Expected

__all__ = ["match_action", "decimal_of", "show", "same", "local_time"]


def decimal_of(text: Any) -> Decimal | None:
    """A decimal from text, ignoring a trailing currency code ('2000 CLP')."""
    if isinstance(text, bool) or text is None:
        return None
    s = str(text).strip()
    m = re.fullmatch(r"(-?[0-9][0-9_,]*(?:\.[0-9]+)?)(?:\s+[A-Z]{3})?", s)
    if not m:
        return None
    try:
        return Decimal(m.group(1).replace("_", "").replace(",", ""))
    except InvalidOperation:  # pragma: no cover
        return None


def show(value: Any) -> str:
    """A value as a scenario file would write it (``null``, ``true``, ``[a, b]``, ``{k: v}``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    return str(value)


def same(expected: Any, actual: Any) -> bool:
    """Whether ``actual`` matches ``expected``: amounts by value, a dict by the keys expected, one item as a list."""
    if expected is None:
        return actual is None
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(
            same(e, a) for e, a in zip(expected, actual))
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and same(v, actual[k]) for k, v in expected.items())
    if isinstance(actual, list):  # via: email matches ["email"]
        return len(actual) == 1 and same(expected, actual[0])
    if isinstance(actual, (dict,)) or actual is None:
        return False
    if isinstance(expected, bool) or isinstance(actual, bool):
        return show(expected) == show(actual)
    a, b = decimal_of(expected), decimal_of(actual)
    if a is not None and b is not None:
        if a != b:
            return False
        # '2000 USD' must also match the currency when the actual value says one.
        ce, ca = _code(expected), _code(actual)
        return ce is None or ca is None or ce == ca
    return str(expected) == str(actual)


def _code(value: Any) -> str | None:
    m = re.search(r"\s([A-Z]{3})\Z", str(value).strip())
    return m.group(1) if m else None


def local_time(at: str) -> _dt.datetime:
    """The local date-time an action's ``at`` (ISO text with its offset) names."""
    return _dt.datetime.fromisoformat(at)


def match_action(expected: Expected, actual: dict, tz: ZoneInfo | None = None) -> list[tuple[str, str, str]]:
    """The fields of ``expected`` that ``actual`` (a JSON-shaped action) does not match.

    Each as (field, expected text, actual text); an empty list is a match.
    ``date`` and ``time`` match the local date and HH:MM of ``at``; ``at``
    matches the same instant; ``params`` matches a subset of the params;
    other keys match a top-level field of the action, else a param.
    """
    out = []
    params = actual.get("params") or {}
    for key, want in expected.fields.items():
        got: Any
        if key == "date":
            got = local_time(actual["at"]).date().isoformat()
            ok = str(want) == got
        elif key == "time":
            got = local_time(actual["at"]).strftime("%H:%M")
            ok = str(want) == got
        elif key in ("at", "deferred_from") and want is not None:
            got = actual.get(key)
            ok = got is not None and _same_instant(str(want), got, tz)
        elif key == "amount":
            got = actual.get("amount")
            if got is None and "amount" in params:
                got = params["amount"]
            cur = actual.get("currency")
            if got is not None and cur:
                got = f"{got} {cur}"
            ok = same(want, got)
        elif key == "params":
            got = params
            ok = same(want, got)
            if not ok and isinstance(params.get("params"), dict):  # a custom action's own params
                got = params["params"]
                ok = same(want, got)
        elif key in actual and key != "params":
            got = actual[key]
            ok = same(want, got)
        elif key in params:
            got = params[key]
            ok = same(want, got)
        else:
            got = "(no such field)"
            ok = want is None
        if not ok:
            out.append((key, show(want), show(got)))
    return out


def _same_instant(want: str, got: str, tz: ZoneInfo | None) -> bool:
    from ...io.readers import parse_instant

    try:
        return parse_instant(want, tz or ZoneInfo("UTC")) == local_time(got)
    except ValueError:
        return False
