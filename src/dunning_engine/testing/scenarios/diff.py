"""One line per action, and the side-by-side diff of an expected and an actual timeline."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from ...vocabulary import ACTIONS
from .match import local_time, match_action, same, show
from .model import Expected

__all__ = ["summarize_action", "summarize_expected", "align", "timeline_diff"]

_BULKY = {"schedule", "base", "computed", "total", "explain"}
_MAIN = {name: spec.main for name, spec in ACTIONS.items() if spec.main}  # the parameter shown first

# A row of the diff: (index of the expected item or None, index of the action or None, the fields that differ).
Row = tuple[int | None, int | None, list[tuple[str, str, str]]]


def summarize_action(a: dict) -> str:
    """One line for an action: local date and time, type, its main parameters, amount, rule."""
    at = local_time(a["at"])
    parts = [at.strftime("%Y-%m-%d %H:%M"), a.get("type", "?")]
    params = a.get("params") or {}
    main = _MAIN.get(a.get("type", ""))
    if main and main in params:
        parts.append(show(params[main]))
    for k, v in params.items():
        if k == main or k in _BULKY:
            continue
        parts.append(f"{k}={show(v)}")
    if a.get("amount") is not None:
        parts.append(f"amount={a['amount']}" + (f" {a['currency']}" if a.get("currency") else ""))
    parts.append(f"[{a.get('case')} {a.get('state')}/{a.get('rule')}]")
    return " ".join(parts)


def summarize_expected(e: Expected) -> str:
    f = dict(e.fields)
    parts = []
    for k in ("date", "time", "at", "type"):
        if k in f:
            parts.append(show(f.pop(k)))
    main = _MAIN.get(e.fields.get("type", ""))
    if main and main in f:
        parts.append(show(f.pop(main)))
    parts.extend(f"{k}={show(v)}" for k, v in f.items())
    return " ".join(parts)


def align(expected: list[Expected], actual: list[dict], tz: ZoneInfo | None) -> list[Row]:
    """Pair expected items with actions: the longest run of matches in order, then the rest side by side."""
    n, m = len(expected), len(actual)
    match = [[not match_action(e, a, tz) for a in actual] for e in expected]
    # LCS table (suffixes)
    L = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            L[i][j] = L[i + 1][j + 1] + 1 if match[i][j] else max(L[i + 1][j], L[i][j + 1])
    rows: list[Row] = []
    i = j = 0
    gap_e: list[int] = []
    gap_a: list[int] = []

    def flush() -> None:
        # Inside a gap, pair items in order while they share the type (or the expected names none).
        ge, ga = list(gap_e), list(gap_a)
        gap_e.clear()
        gap_a.clear()
        while ge or ga:
            if ge and ga:
                e, a = expected[ge[0]], actual[ga[0]]
                t = e.fields.get("type")
                if t is None or same(t, a.get("type")):
                    rows.append((ge.pop(0), ga.pop(0), match_action(e, a, tz)))
                    continue
                # not the same kind: whichever comes first in time goes alone
                if _before(e, a):
                    rows.append((ge.pop(0), None, []))
                else:
                    rows.append((None, ga.pop(0), []))
            elif ge:
                rows.append((ge.pop(0), None, []))
            else:
                rows.append((None, ga.pop(0), []))

    while i < n and j < m:
        if match[i][j] and L[i][j] == L[i + 1][j + 1] + 1:
            flush()
            rows.append((i, j, []))
            i += 1
            j += 1
        elif L[i + 1][j] >= L[i][j + 1]:
            gap_e.append(i)
            i += 1
        else:
            gap_a.append(j)
            j += 1
    gap_e.extend(range(i, n))
    gap_a.extend(range(j, m))
    flush()
    return rows


def _before(e: Expected, a: dict) -> bool:
    d = e.fields.get("date")
    if d is None:
        return True
    return str(d) <= local_time(a["at"]).date().isoformat()


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def timeline_diff(expected: list[Expected], actual: list[dict], tz: ZoneInfo | None = None, *,
                  title: str | None = None) -> str:
    """A side-by-side diff of expected and actual timelines.

    Markers: ``=`` same, ``~`` paired but different (the differing fields are
    listed below the row), ``-`` expected but missing, ``+`` not expected.
    """
    rows = align(expected, actual, tz)
    left = [(f"L{expected[i].line} " if expected[i].line else "") + summarize_expected(expected[i])
            if i is not None else "" for i, _, _ in rows]
    width = min(max([len(x) for x in left] + [len("expected")]), 64)
    lines = []
    if title:
        lines.append(title)
    lines.append(f"    {'expected'.ljust(width)} | actual")
    lines.append(f"    {'-' * width}-+-{'-' * 40}")
    for (i, j, diffs), l in zip(rows, left):
        right = summarize_action(actual[j]) if j is not None else ""
        if i is not None and j is not None:
            mark = "~" if diffs else "="
        elif i is not None:
            mark = "-"
        else:
            mark = "+"
        lines.append(f"  {mark} {_clip(l, width).ljust(width)} | {right}".rstrip())
        for key, want, got in diffs:
            lines.append(f"      {key}: expected {want}, got {got}")
    return "\n".join(lines)
