"""Recovery from syntax errors in a DSL file, so that one run reports every error (docs/dsl.md, "Errors").

When the whole file does not parse, it is cut at its top-level lines (a line at column 1, outside
brackets, starts a block: ``state``, ``segment``, ``contact``...) and each block is parsed alone. A
block that fails is parsed again item by item (its header line with each item of its indented body),
so that one bad rule loses only that rule. What parses is read and checked as usual; the syntax errors
come with the others, in file order.

A block that is lost entirely may have defined something the rest of the file uses (a state, a
segment, the currency). :class:`Lost` records what, and the checks that could fail only because of
it (an undefined state, an unknown variable...) are left out, so that no error is reported only
because a part was lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import Location, PolicyError
from .dsl_words import ACTION_WORDS, CONTACT_WORDS, STATE_WORDS, TOP_WORDS
from .nodes import NodeFactory

__all__ = ["recover", "Lost", "MAX_SYNTAX_ERRORS"]

MAX_SYNTAX_ERRORS = 20  # then the rest of the file is not tried: the file is probably not a policy

# The checks that may fail because a part of the file was lost, by error code.
_CONSEQUENCES = frozenset({"undefined-state", "no-states", "no-initial-state", "unknown-variable", "no-policy-id",
                           "no-currency", "literal-currency"})
_TOP_WORDS = frozenset(w.split()[0] for w in TOP_WORDS)
_STATEMENT_WORDS = frozenset(w.split()[0] for w in TOP_WORDS + STATE_WORDS + ACTION_WORDS + CONTACT_WORDS)
_QUOTED = re.compile(r"'([^']*)'")
_HEAD = re.compile(r"(any[ \t]+state|send[ \t]+at|[a-z]+)(?:[ \t]+([A-Za-z0-9_]+))?")


@dataclass
class Lost:
    """What the blocks that could not be read may have defined."""

    everything: bool = False  # a block of unknown kind, or too many errors to go on
    states: set[str] = field(default_factory=set)
    segments: set[str] = field(default_factory=set)
    settings: set[str] = field(default_factory=set)  # policy, currency, scope, ...
    unnamed: set[str] = field(default_factory=set)  # 'state' / 'segment' blocks whose name could not be read

    def add_block(self, head: str) -> None:
        """Record the block whose first line is ``head``."""
        m = _HEAD.match(head)
        word = m.group(1) if m else ""
        name = m.group(2) if m else None
        if word in ("state", "segment"):
            if name:
                (self.states if word == "state" else self.segments).add(name)
            else:
                self.unnamed.add(word)
        elif word in ("policy", "version", "description", "scope", "timezone", "calendar", "currency",
                      "allocation", "invariant", "contact", "rate") or word.startswith(("any", "send")):
            self.settings.add(word)
        else:
            self.everything = True

    def explains(self, err: PolicyError) -> bool:
        """True when ``err`` may be only a consequence of what was lost."""
        code = err.code
        if code not in _CONSEQUENCES:
            return False
        if self.everything:
            return True
        quoted = _QUOTED.findall(err.message)  # the name is quoted last: "'except' names an undefined state 'x'"
        name = quoted[-1] if quoted else None
        if code == "undefined-state":
            return "state" in self.unnamed or name in self.states
        if code in ("no-states", "no-initial-state"):
            return bool(self.states) or "state" in self.unnamed
        if code == "unknown-variable":
            return "scope" in self.settings or "segment" in self.unnamed or name in self.segments
        if code == "no-policy-id":
            return "policy" in self.settings
        return "currency" in self.settings  # no-currency, literal-currency


class _Piece:
    """Some ranges of the file joined into one text to parse; maps its offsets back to the file."""

    def __init__(self, text: str, f: NodeFactory, ranges: list[tuple[int, int]]) -> None:
        self.f = f
        self.parts = []  # (offset in the piece, offset in the file)
        chunks = []
        at = 0
        for start, end in ranges:
            self.parts.append((at, start))
            chunks.append(text[start:end])
            at += end - start
        self.text = "".join(chunks)
        if not self.text.endswith("\n"):
            self.text += "\n"

    def to_file(self, pos: int) -> int:
        for at, start in reversed(self.parts):
            if pos >= at:
                return start + pos - at
        return pos  # pragma: no cover - offsets are never negative

    def location(self, start: int, end: int | None = None) -> Location:
        """Like ``NodeFactory.location``, for offsets in the piece."""
        if end is None:
            return self.f.location(self.to_file(start))
        return self.f.location(*self.span(start, end))

    def shift(self, tree: Any) -> Any:
        """Move the offsets of ``tree`` (tokens and rule positions) from the piece to the file."""
        from lark import Token

        for sub in tree.iter_subtrees():
            meta = sub.meta
            if not getattr(meta, "empty", True):
                meta.start_pos, meta.end_pos = self.span(meta.start_pos, meta.end_pos)
            for child in sub.children:
                if isinstance(child, Token) and child.start_pos is not None and child.end_pos is not None:
                    child.start_pos, child.end_pos = self.span(child.start_pos, child.end_pos)
        return tree

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.to_file(start), self.to_file(max(start, end - 1)) + (1 if end > start else 0)


# -- cutting the file ------------------------------------------------------------------------------


def _logical_lines(text: str, start: int, end: int) -> list[tuple[int, int, int]]:
    """The lines of ``text[start:end]`` that hold something, outside brackets: (start, end, indent).

    A line inside brackets belongs to the line that opened them (its end extends over it), unless it
    is indented no more than that line and starts with a word that starts a statement: then the
    bracket is taken as left open by mistake, so that it does not swallow the rest of the file."""
    lines: list[tuple[int, int, int]] = []
    depth = 0
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        line_end = end if nl < 0 else nl + 1
        body = text[pos:line_end]
        stripped = body.lstrip(" ")
        indent = len(body) - len(stripped)
        holds = bool(stripped.strip()) and not stripped.startswith("#")
        if depth and holds and lines and indent <= lines[-1][2] and _first_word(stripped) in _STATEMENT_WORDS:
            depth = 0
        if depth == 0 and holds:
            lines.append((pos, line_end, indent))
        elif lines:
            lines[-1] = (lines[-1][0], line_end, lines[-1][2])
        depth = _depth_after(body, depth)
        pos = line_end
    return lines


def _first_word(line: str) -> str:
    m = re.match(r"[a-z_]+", line)
    return m.group() if m else ""


def _depth_after(line: str, depth: int) -> int:
    """The bracket depth after ``line``, skipping texts and the comment."""
    quote = None
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#":
            break
        elif c in "([":
            depth += 1
        elif c in ")]":
            depth = max(0, depth - 1)
        i += 1
    return depth


def _blocks(text: str) -> list[tuple[int, int]]:
    """Top-level blocks: from a line at column 1 to the next one (the first takes what precedes it)."""
    # A rule or an action at column 1 is a line of the block before whose indentation was lost.
    starts = [s for s, e, indent in _logical_lines(text, 0, len(text))
              if indent == 0 and _first_word(text[s:e]) not in _STATEMENT_WORDS - _TOP_WORDS]
    if not starts:
        return [(0, len(text))]
    starts[0] = 0
    return list(zip(starts, starts[1:] + [len(text)]))


def _last_colon(text: str, start: int, end: int) -> int | None:
    """The offset of the last ':' of a header line outside texts and comments."""
    found = None
    quote = None
    i = start
    while i < end:
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#":
            break
        elif c == ":":
            found = i
        i += 1
    return found


# -- recovering ---------------------------------------------------------------------------------


class _Recovery:
    def __init__(self, text: str, f: NodeFactory, first: PolicyError,
                 parse: Callable[[str, Any], Any]) -> None:
        self.text = text
        self.f = f
        self.first = first
        self.parse = parse
        self.items: list[Any] = []
        self.errors: list[PolicyError] = []
        self.lost = Lost()

    def try_parse(self, ranges: list[tuple[int, int]]) -> tuple[Any, PolicyError | None]:
        """(the items of the parsed ranges, None) or (None, the syntax error)."""
        piece = _Piece(self.text, self.f, ranges)
        try:
            tree = self.parse(piece.text, piece)
        except PolicyError as e:
            return None, e
        return [c for c in piece.shift(tree).children if hasattr(c, "data")], None

    def fail(self, err: PolicyError, start: int, end: int) -> None:
        """Report a syntax error of ``text[start:end]``: the whole-file parse's own when it is there."""
        loc = self.first.location
        if loc is not None and self.f.location(start).line <= loc.line <= self.f.location(max(start, end - 1)).line:
            err = self.first
        elif not self.errors and err.message == self.first.message:  # the same error, seen from the whole file
            err = self.first
        if len(self.errors) < MAX_SYNTAX_ERRORS and all(
                e.location is None or err.location is None or e.location.line != err.location.line
                for e in self.errors):
            self.errors.append(err)

    def block(self, start: int, end: int) -> None:
        items, err = self.try_parse([(start, end)])
        if err is None:
            self.items.extend(items)
            return
        lines = _logical_lines(self.text, start, end)
        if not lines:  # pragma: no cover - a block starts at a line that holds something
            self.fail(err, start, end)
            return
        head_start, head_end = lines[0][0], lines[0][1]
        body = lines[1:]
        header, kept, item_errors, lost_from = self.items_of(head_start, head_end, body)
        if header is not None:  # some items parse: report the others
            for item_err, s, e in item_errors:
                self.fail(item_err, s, e)
        else:  # none does (or the header is wrong): one error for the block
            self.fail(err, start, end)
            header = self.header_alone(head_start, head_end)
            lost_from = 0 if header is None else lost_from
        for s, e, _ in body[lost_from:]:  # a top-level line indented by mistake is lost with them
            if _first_word(self.text[s:e].lstrip(" ")) in _TOP_WORDS:
                self.lost.add_block(self.text[s:e].lstrip(" "))
        if header is None:
            self.lost.add_block(self.text[head_start:head_end])
            return
        from lark import Tree

        children = [c for c in header.children if _position(c) < head_end] + kept
        self.items.append(Tree(header.data, children, header.meta))

    def items_of(self, head_start: int, head_end: int, body: list[tuple[int, int, int]]):
        """Parse the header with each item of ``body`` alone: (a tree of the header or None, the items
        that parse, [(error, start, end)] of those that do not, the index in ``body`` from which the
        lines that fail are lost)."""
        indent = body[0][2] if body else 0
        # An item starts at the indentation of the first one. A line indented less matches no block: it
        # and the rest go with the item before (one error), whatever they are (even 'state x:' indented).
        groups: list[list[int]] = []  # [start, end, index in body of its first line]
        stray = False
        for k, (s, e, ind) in enumerate(body):
            stray = stray or ind < indent
            if (ind == indent and not stray) or not groups:
                groups.append([s, e, k])
            else:
                groups[-1][1] = e
        header = None
        kept: list[Any] = []
        errors = []
        lost_from = len(body)
        head_line = self.f.location(head_start).line
        for s, e, k in groups:
            items, item_err = self.try_parse([(head_start, head_end), (s, e)])
            if item_err is not None or len(items) != 1:
                if item_err is None or (item_err.location is not None and item_err.location.line == head_line):
                    return None, [], [], 0  # the header itself is wrong
                errors.append((item_err, s, e))
                lost_from = min(lost_from, k)
                continue
            header = header or items[0]
            kept.extend(c for c in items[0].children if _position(c) >= head_end)
        return header, kept, errors, lost_from

    def header_alone(self, head_start: int, head_end: int) -> Any:
        """The header line parsed without its body and its ':' (a state without rules), or None."""
        colon = _last_colon(self.text, head_start, head_end)
        if colon is None:
            return None
        masked = self.text[:colon] + " " + self.text[colon + 1:]
        items, _ = _Recovery(masked, self.f, self.first, self.parse).try_parse([(head_start, head_end)])
        return items[0] if items and len(items) == 1 else None

    def run(self) -> None:
        for start, end in _blocks(self.text):
            if len(self.errors) >= MAX_SYNTAX_ERRORS:
                self.lost.everything = True
                return
            self.block(start, end)
        if not self.errors:  # every part parses alone, yet the whole did not: report what it said
            self.errors.append(self.first)
            self.lost.everything = True


def _position(child: Any) -> int:
    if hasattr(child, "meta"):
        return child.meta.start_pos if not getattr(child.meta, "empty", True) else -1
    return child.start_pos if child.start_pos is not None else -1


def recover(text: str, f: NodeFactory, first: PolicyError,
            parse: Callable[[str, Any], Any]) -> tuple[list[Any], list[PolicyError], Lost]:
    """The items of the parts of ``text`` that parse, the syntax errors of the others, and what was lost.

    ``first`` is the error of the whole-file parse; ``parse(piece_text, locator)`` parses a piece (a
    text ending with a newline) and raises a PolicyError located through ``locator.location``.
    """
    r = _Recovery(text, f, first, parse)
    r.run()
    return r.items, r.errors, r.lost
