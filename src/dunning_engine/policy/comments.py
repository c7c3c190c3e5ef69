"""Comments of a policy file: found, attached to the places of the policy, and put back by the printers.

:func:`extract_comments` attaches each comment to the place of the policy it stands before (the file
header, a setting, a segment, a state, an ``on enter`` list, a rule, an action, a contact rule, a
rate) or to the end of such a line; :class:`Writer` writes the lines of a printed policy and puts
the comments back at the same places, whatever form the policy is printed in. A comment whose place
no longer exists is printed before the next place, or at the end of the file; nothing is dropped.
From YAML, comments at the end of a line are kept when the line holds no quotes, and only on lines
that start a place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .nodes import MapNode, Node, ScalarNode, SeqNode

__all__ = ["Comments", "extract_comments", "Writer", "Path_"]

Path_ = tuple[Any, ...]


@dataclass
class Comments:
    """Comments of a policy file, by the place (a path in the YAML shape) they belong to.

    ``before[path]`` are the comment lines (``"# ..."``; ``""`` for a blank
    line inside a block of comments) that stand before the place ``path``;
    ``trailing[path]`` the comment at the end of its first line; ``header``
    the comments that open the file (``header_gap``: a blank line followed
    them); ``footer`` the comments after the last place.
    """

    header: list[str] = field(default_factory=list)
    header_gap: bool = False
    before: dict[Path_, list[str]] = field(default_factory=dict)
    trailing: dict[Path_, str] = field(default_factory=dict)
    footer: list[str] = field(default_factory=list)

    def take_before(self, path: Path_) -> list[str]:
        return self.before.pop(path, [])

    def take_trailing(self, path: Path_) -> str | None:
        return self.trailing.pop(path, None)

    def leftovers(self) -> list[str]:
        """Comments whose place was not printed, in file order of their places, then the footer."""
        out: list[str] = []
        for lines in self.before.values():
            out += lines
        out += self.trailing.values()
        self.before.clear()
        self.trailing.clear()
        out += self.footer
        self.footer = []
        return out

    def __bool__(self) -> bool:
        return bool(self.header or self.before or self.trailing or self.footer)


def _anchors(root: Node) -> list[tuple[int, Path_]]:
    """(line, path) of every place of the node tree that a comment may stand before."""
    out: list[tuple[int, Path_]] = []

    def add(node: Node, path: Path_) -> None:
        if node is not None and node.location is not None:
            out.append((node.location.line, path))

    def rule(node: Node, path: Path_) -> None:
        add(node, path)
        if isinstance(node, MapNode):
            do = node.get("do")
            if isinstance(do, SeqNode):
                for j, a in enumerate(do.items):
                    add(a, path + ("do", j))

    if not isinstance(root, MapNode):
        return out
    for key, value in root.items:
        k = key.text
        add(key, (k,))
        if k in ("segments", "invariants") and isinstance(value, MapNode):
            for sk, _ in value.items:
                add(sk, (k, sk.text))
        elif k == "states" and isinstance(value, MapNode):
            for sk, sv in value.items:
                add(sk, ("states", sk.text))
                if not isinstance(sv, MapNode):
                    continue
                for k2, v2 in sv.items:
                    if k2.text in ("on_enter", "on_exit") and isinstance(v2, SeqNode):
                        add(k2, ("states", sk.text, k2.text))
                        for i, a in enumerate(v2.items):
                            add(a, ("states", sk.text, k2.text, i))
                    elif k2.text == "rules" and isinstance(v2, SeqNode):
                        for i, r in enumerate(v2.items):
                            rule(r, ("states", sk.text, "rules", i))
        elif k == "any_state" and isinstance(value, SeqNode):
            for i, r in enumerate(value.items):
                rule(r, ("any_state", i))
        elif k == "contact" and isinstance(value, MapNode):
            for k2, v2 in value.items:
                add(k2, ("contact", k2.text))
                if k2.text == "windows" and isinstance(v2, MapNode):
                    for wk, _ in v2.items:
                        add(wk, ("contact", "windows", wk.text))
                elif k2.text == "limits" and isinstance(v2, SeqNode):
                    for i, item in enumerate(v2.items):
                        add(item, ("contact", "limits", i))
        elif k == "rates" and isinstance(value, MapNode):
            for rk, _ in value.items:
                add(rk, ("rates", rk.text))
    out.sort(key=lambda a: a[0])  # stable: places on one line keep tree order
    return out


def _scalar_lines(root: Node) -> set[int]:
    """Lines strictly inside multi-line scalars (a '#' there is text, not a comment)."""
    inside: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, MapNode):
            for k, v in node.items:
                stack += [k, v]
        elif isinstance(node, SeqNode):
            stack += node.items
        elif isinstance(node, ScalarNode):
            start, end = node.span
            text = node.source.text if node.source is not None else ""
            first = text.count("\n", 0, start) + 1
            last = text.count("\n", 0, min(end, len(text))) + 1
            inside.update(range(first + 1, last + 1))
    return inside


def _dsl_comment_start(line: str) -> int:
    """Index of the '#' that starts a comment on a DSL line (strings are skipped), or -1."""
    quote = None
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#":
            return i
        i += 1
    return -1


def _yaml_comment_start(line: str) -> int:
    stripped = line.lstrip()
    if stripped.startswith("#"):
        return len(line) - len(stripped)
    if "'" in line or '"' in line:
        return -1
    m = re.search(r"[ \t]#", line)
    return m.start() + 1 if m else -1


def extract_comments(text: str, root: Node, fmt: str) -> Comments:
    """The comments of a policy file, attached to the places of its node tree."""
    comments = Comments()
    anchors = _anchors(root)
    anchor_lines: dict[int, Path_] = {}  # the first place on a line: comments above it go there
    last_on_line: dict[int, Path_] = {}  # the last (innermost) place: a comment at the end of the line goes there
    for at_line, path in anchors:
        anchor_lines.setdefault(at_line, path)
        last_on_line[at_line] = path
    skip = _scalar_lines(root) if fmt == "yaml" else set()
    find = _dsl_comment_start if fmt == "dsl" else _yaml_comment_start
    lines = text.replace("\r\n", "\n").split("\n")
    pending: list[tuple[int, str]] = []  # (line, comment or "" for a blank line)
    first_anchor = anchors[0][0] if anchors else None
    ai = 0

    def flush_to(path: Path_ | None) -> None:
        block = _trim([c for _, c in pending])
        if block:
            if path is None:
                comments.footer += block
            else:
                comments.before.setdefault(path, []).extend(block)
        pending.clear()

    for number, line in enumerate(lines, start=1):
        while ai < len(anchors) and anchors[ai][0] < number:
            ai += 1
        if number in anchor_lines:
            if first_anchor is not None and number == first_anchor and not comments.header and pending:
                block = [c for _, c in pending]
                gap = bool(block) and block[-1] == ""
                comments.header = _trim(block)
                comments.header_gap = gap and bool(comments.header)
                pending.clear()
            flush_to(anchor_lines[number])
            if number not in skip:
                at = find(line)
                if at > 0 and line[:at].strip():
                    comments.trailing[last_on_line[number]] = line[at:].rstrip()
            continue
        if number in skip:
            continue
        stripped = line.strip()
        if not stripped:
            if pending:
                pending.append((number, ""))
            continue
        at = find(line)
        if at >= 0 and not line[:at].strip():
            pending.append((number, line[at:].rstrip()))
        elif at > 0:
            pending.append((number, line[at:].rstrip()))  # a comment at the end of a line that is no place
    if pending:
        if first_anchor is None:
            comments.header = _trim([c for _, c in pending])
        else:
            flush_to(None)
    return comments


def _trim(block: list[str]) -> list[str]:
    out: list[str] = []
    for c in block:
        if c == "" and (not out or out[-1] == ""):
            continue
        out.append(c)
    while out and out[-1] == "":
        out.pop()
    return out




class Writer:
    """The lines of a printed policy, with the comments put back at their places."""

    def __init__(self, comments: Comments | None) -> None:
        self.lines: list[str] = []
        self.comments = comments

    def before(self, path: Path_, indent: str) -> None:
        if self.comments:
            for c in self.comments.take_before(path):
                self.lines.append(indent + c if c else "")

    def line(self, indent: str, text: str, path: Path_ | None = None) -> None:
        trailing = self.comments.take_trailing(path) if (self.comments and path is not None) else None
        self.lines.append(indent + text + (f"  {trailing}" if trailing else ""))

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def header(self) -> None:
        if self.comments and self.comments.header:
            self.lines += self.comments.header
            if self.comments.header_gap:
                self.lines.append("")

    def finish(self) -> str:
        if self.comments:
            rest = self.comments.leftovers()
            if rest:
                self.blank()
                self.lines += rest
        while self.lines and self.lines[-1] == "":
            self.lines.pop()
        return "\n".join(self.lines) + "\n"


