"""Explanations: a case's timeline with why each action fired, and why other rules did not.

The engine keeps a trace per case when built with ``explain=True``; this module
turns it into text for people (``dunning explain``) or JSON for machines.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

__all__ = ["case_timeline", "render_timeline"]


def case_timeline(engine, case_id: str, key: str | None = None) -> list[dict]:
    """The trace entries of one case; with ``key``, only what led to that action (the rule firing and the action)."""
    case = engine.cases.get(case_id)
    if case is None:
        raise KeyError(case_id)
    entries = list(case.trace or [])
    if key is None:
        return entries
    for i, entry in enumerate(entries):
        if entry["what"] == "action" and entry.get("key") == key:
            start = i
            while start > 0 and entries[start - 1]["what"] in ("action", "fired", "enter", "return", "event") \
                    and entries[start - 1]["at"] == entry["at"]:
                start -= 1
            return entries[start:i + 1]
    return []


def _values(values: dict[str, Any] | None) -> str:
    if not values:
        return ""
    return "  [" + ", ".join(f"{k} = {v}" for k, v in values.items()) + "]"


def _when(at: str) -> str:
    return _dt.datetime.fromisoformat(at).strftime("%Y-%m-%d %H:%M")


def render_timeline(entries: list[dict]) -> str:
    lines = []
    for e in entries:
        when = _when(e["at"])
        what = e["what"]
        if what == "enter":
            text = f"enter state {e['state']}"
        elif what == "return":
            text = f"return to state {e['state']}, its timers moved {e['away']} later (the time away)"
        elif what == "ended":
            text = f"the paused entry of state {e['state']} ends: {e['why']}"
        elif what == "failed":
            text = f"case stopped: {e['why']}; its actions of this instant are dropped"
        elif what == "event":
            text = f"event {e['event']}" + (f" on {e['invoice']}" if e.get("invoice") else "")
        elif what == "invoice joined":
            text = f"invoice {e['invoice']} joins the case"
        elif what == "fired":
            guard = f" when {e['guard']}" if e.get("guard") else ""
            text = f"rule {e['rule']} fired: {e['trigger']}{guard}{_values(e.get('values'))}"
        elif what == "skipped":
            text = f"rule {e['rule']} did not fire: {e.get('why', 'its guard is false')} ({e['trigger']}){_values(e.get('values'))}"
        elif what == "action":
            amount = f" {e['amount']}" if e.get("amount") is not None else ""
            params = ", ".join(f"{k}={v}" for k, v in (e.get("params") or {}).items() if k != "schedule")
            text = f"  -> {e['type']}{amount} {params}  key {e['key']}"
        elif what == "dropped":
            text = f"  -> {e['type']} not sent: {e['why']}  key {e['key']}"
        elif what in ("expired", "not armed", "ignored", "catch-up"):
            text = f"rule {e.get('rule', '')} {what}: {e.get('why', '')}".replace("rule  ", "")
        else:
            text = f"{what} {e}"
        lines.append(f"{when}  {text}")
    return "\n".join(lines)
