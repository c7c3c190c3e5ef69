"""Where each character of a YAML scalar's text stands in the file.

YAML may fold lines, drop indentation and resolve escapes, so the text of a scalar is not a slice of
the file. :func:`map_positions` aligns the two (the ``mapper`` of ``ScalarNode``), so that an error
inside an expression written in YAML points at the right line and column.
"""

from __future__ import annotations

from yaml.scanner import Scanner

from .nodes import ScalarNode
from .nodes import find_break as _find_break

__all__ = ["map_positions"]

_BREAKS = "\n\r\x85\u2028\u2029"

# ---------------------------------------------------------------------------

# A unit is a piece of raw source that stands for (at most) one character of
# the scalar's text: (index in the file, the character it yields or None,
# skippable). Skippable units are raw white space and line breaks, which YAML
# may drop or fold; the others must appear in the text in order.
_Unit = tuple[int, "str | None", bool]


def _break_unit(raw: str, i: int, end: int) -> tuple[_Unit, int]:
    ch = raw[i]
    if ch == "\r" and i + 1 < end and raw[i + 1] == "\n":
        return (i, "\n", True), i + 2
    if ch in "\r\x85":
        return (i, "\n", True), i + 1
    return (i, ch, True), i + 1


def _units_plain(raw: str, start: int, end: int) -> list[_Unit]:
    units: list[_Unit] = []
    i = start
    while i < end:
        ch = raw[i]
        if ch in _BREAKS:
            unit, i = _break_unit(raw, i, end)
            units.append(unit)
            continue
        units.append((i, ch, ch in " \t"))
        i += 1
    return units


def _units_single(raw: str, start: int, end: int) -> list[_Unit]:
    units: list[_Unit] = []
    i = start
    while i < end:
        ch = raw[i]
        if ch == "'" and i + 1 < end and raw[i + 1] == "'":
            units.append((i, "'", False))
            i += 2
        elif ch in _BREAKS:
            unit, i = _break_unit(raw, i, end)
            units.append(unit)
        else:
            units.append((i, ch, ch in " \t"))
            i += 1
    return units


def _units_double(raw: str, start: int, end: int) -> list[_Unit]:
    replacements = Scanner.ESCAPE_REPLACEMENTS
    codes = Scanner.ESCAPE_CODES
    units: list[_Unit] = []
    i = start
    while i < end:
        ch = raw[i]
        if ch == "\\" and i + 1 < end:
            nxt = raw[i + 1]
            if nxt in _BREAKS:  # an escaped line break yields nothing
                units.append((i, None, True))
                _, i = _break_unit(raw, i + 1, end)
            elif nxt in replacements:
                units.append((i, replacements[nxt], False))
                i += 2
            elif nxt in codes:
                width = codes[nxt]
                digits = raw[i + 2:i + 2 + width]
                try:
                    value: str | None = chr(int(digits, 16))
                except (ValueError, OverflowError):
                    value = None
                units.append((i, value, False))
                i += 2 + width
            else:
                units.append((i, nxt, False))
                i += 2
        elif ch in _BREAKS:
            unit, i = _break_unit(raw, i, end)
            units.append(unit)
        else:
            units.append((i, ch, ch in " \t"))
            i += 1
    return units


def _units_block(raw: str, start: int, end: int, text: str) -> list[_Unit]:
    # Skip the header line ('|', indicators, comment).
    j = _find_break(raw, start)
    if j < 0 or j >= end:
        return []
    _, content = _break_unit(raw, j, end)
    # The content indentation n: the first non-blank line is raw[n:] of the
    # text after its leading line breaks.
    lines: list[tuple[int, int]] = []  # (line start, line end) of each raw line
    i = content
    while i < end:
        k = _find_break(raw, i)
        k = end if k < 0 or k > end else k
        lines.append((i, k))
        if k >= end:
            break
        _, i = _break_unit(raw, k, end)
    indent = 10**9
    body = text.lstrip(_BREAKS)
    lead = len(body) - len(body.lstrip(" "))
    for a, b in lines:
        line = raw[a:b]
        stripped = line.lstrip(" ")
        if stripped:
            indent = max(0, (len(line) - len(stripped)) - lead)
            break
    units: list[_Unit] = []
    for a, b in lines:
        i = a
        while i < b and i - a < indent and raw[i] == " ":
            i += 1
        for p in range(i, b):
            units.append((p, raw[p], raw[p] in " \t"))
        if b < end:
            unit, _ = _break_unit(raw, b, end)
            units.append(unit)
    return units


def map_positions(node: ScalarNode) -> list[int]:
    """File index of each character of ``node.text``, plus one past the end."""
    raw = node._doc.text
    start, end = node._start, min(node._end, len(raw))
    text = node.text
    style = node.style
    if style == "plain":
        units = _units_plain(raw, start, end)
        content_start = start
    elif style == "single":
        units = _units_single(raw, start + 1, end - 1)
        content_start = start + 1
    elif style == "double":
        units = _units_double(raw, start + 1, end - 1)
        content_start = start + 1
    else:
        units = _units_block(raw, start, end, text)
        content_start = units[0][0] if units else start

    # Greedy alignment of text characters with units.
    positions: list[int] = []
    u = 0
    nu = len(units)
    for ch in text:
        if u >= nu:
            positions.append(positions[-1] + 1 if positions else content_start)
            continue
        index, value, skippable = units[u]
        if value == ch:
            positions.append(index)
            u += 1
        elif ch not in " \t\n\u2028\u2029":
            # A character that must be in the source: skip white space to it.
            v = u
            while v < nu and units[v][2] and units[v][1] != ch:
                v += 1
            if v < nu and units[v][1] == ch:
                positions.append(units[v][0])
                u = v + 1
            else:
                positions.append(index)
        elif skippable:
            # White space made by folding a line break: map it to that break.
            positions.append(index)
            u += 1
        else:
            positions.append(index)
    if positions:
        after = positions[-1] + 1
    else:
        after = content_start
    positions.append(after)
    # Never outside the scalar (nor the file).
    lo, hi = min(start, len(raw)), max(min(end, len(raw)), min(start, len(raw)))
    return [min(max(p, lo), hi) for p in positions]
