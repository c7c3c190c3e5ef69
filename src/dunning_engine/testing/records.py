"""Plain records for tests: a portfolio, and writing cases as a scenario file.

Nothing here imports Hypothesis.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

__all__ = ["Portfolio", "yaml_value", "scenario_text"]


@dataclass
class Portfolio:
    """Invoices, customers and events (dicts shaped like SPEC §4 records) and the horizon ``until``.

    ``simulate(policy, **portfolio.kwargs())`` runs it.
    """

    invoices: list[dict] = field(default_factory=list)
    customers: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    until: str = "2026-12-31"

    def kwargs(self) -> dict[str, Any]:
        return {"invoices": self.invoices, "customers": self.customers, "events": self.events, "until": self.until}


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_SPECIAL = frozenset({"null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "yes", "Yes", "YES",
                      "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N"})


def yaml_value(value: Any) -> str:
    """A value in YAML flow style, read back as written by the project's YAML reader (and by PyYAML)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{yaml_value(str(k))}: {yaml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_value(v) for v in value) + "]"
    text = str(value)
    if (_PLAIN.match(text) and text not in _SPECIAL) or _DATE.match(text):
        return text
    return json.dumps(text, ensure_ascii=False)


def scenario_text(policy: str, cases: Iterable[dict], comments: Iterable[str] = ()) -> str:
    """A scenario file: ``policy`` (path relative to where the file will live) and its cases.

    Each case is a dict with name, invoices, customers, events, until, optional
    since and expect (a dict written in block style, its values in flow style).
    """
    out = [f"# {c}".rstrip() for c in comments]
    out.append(f"policy: {yaml_value(policy)}")
    out.append("cases:")
    for case in cases:
        out.append(f"  - name: {yaml_value(case['name'])}")
        for key in ("invoices", "customers", "events"):
            items = case.get(key) or []
            if not items:
                continue
            out.append(f"    {key}:")
            out.extend(f"      - {yaml_value(item)}" for item in items)
        out.append(f"    until: {yaml_value(case['until'])}")
        if case.get("since"):
            out.append(f"    since: {yaml_value(case['since'])}")
        expect = case.get("expect") or {"invariants": True}
        out.append("    expect:")
        for k, v in expect.items():
            if isinstance(v, list):
                out.append(f"      {k}:")
                out.extend(f"        - {yaml_value(x)}" for x in v)
            else:
                out.append(f"      {k}: {yaml_value(v)}")
        for line in case.get("comments", ()):
            out.append(f"    # {line}".rstrip())
    return "\n".join(out) + "\n"
