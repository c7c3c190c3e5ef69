"""Reading policy YAML into a positioned node tree, every scalar kept as written.

Policy files are untrusted input. This module turns YAML text into a small tree
of :class:`MapNode`, :class:`SeqNode` and :class:`ScalarNode` objects, each
with the :class:`~dunning_engine.errors.Location` where it starts, so that every
later error can name the file, line and column.

Nothing is *resolved*: PyYAML's YAML 1.1 defaults would turn ``on`` into
``True``, ``09:00`` into 540 and ``19.90`` into a float. Here a scalar is
always the text the author wrote (:attr:`ScalarNode.text`), and the policy
compiler decides what it means. The tree is built directly from PyYAML's
pure-Python event stream (reader, scanner and parser only), so no resolver
and no constructor ever runs, and no tag can create a Python object.

The reader refuses, with a :class:`~dunning_engine.errors.PolicyError` and
never a traceback:

* documents larger than :data:`MAX_BYTES`, bytes that are not UTF-8, control
  characters, YAML syntax errors;
* empty files and files with more than one document;
* tags (``!!python/object``, ``!foo``, ``!!str`` ...), merge keys (``<<``),
  keys that are not text, duplicate keys;
* alias bombs: more than :data:`MAX_ALIASES` alias uses, or aliases that
  expand the tree by more than :data:`MAX_ALIAS_NODES` nodes, recursive
  aliases; nesting deeper than :data:`MAX_DEPTH`; more than :data:`MAX_NODES`
  nodes in all.
"""

from __future__ import annotations

import re

import yaml
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.scanner import Scanner
from yaml.tokens import ScalarToken, TagToken

from ..errors import Location, PolicyError, Source
from .nodes import MapNode, Node, ScalarNode, SeqNode, describe
from .nodes import TextIndex as _Text
from .nodes import find_break as _find_break

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_ALIASES",
    "MAX_ALIAS_NODES",
    "MAX_NODES",
    "Node",
    "MapNode",
    "SeqNode",
    "ScalarNode",
    "load_yaml",
    "describe",
]

MAX_BYTES = 1_000_000
"""Documents larger than this (in UTF-8 bytes) are refused before parsing."""

MAX_DEPTH = 64
"""Deepest nesting of mappings and lists, counted after alias expansion."""

MAX_ALIASES = 100
"""Most alias uses (``*name``) in one document."""

MAX_ALIAS_NODES = 10_000
"""Most nodes that alias expansion may add to the tree."""

MAX_NODES = 100_000
"""Most nodes in the expanded tree."""

_STYLES = {None: "plain", "": "plain", "'": "single", '"': "double", "|": "literal", ">": "folded"}

_BREAKS = "\n\r\x85\u2028\u2029"

_MINIMAL_POLICY = (
    "a policy needs at least a name and its states, for example:\n"
    "    policy: my_policy\n"
    "    states:\n"
    "      open:\n"
    "        initial: true\n"
    "      paid:\n"
    "        final: true"
)


# ---------------------------------------------------------------------------
# offsets in a scalar's text -> indices in the file
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


def _map_positions(node: ScalarNode) -> list[int]:
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


# ---------------------------------------------------------------------------
# the event source: PyYAML's reader, scanner and parser, and nothing else
# ---------------------------------------------------------------------------


class _TagFound(Exception):
    def __init__(self, mark) -> None:
        self.mark = mark


class _Events(Reader, Scanner, Parser):
    """PyYAML's pure-Python reader, scanner and parser (no composer, no resolver)."""

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        self.last_scalar: ScalarToken | None = None

    def get_token(self):  # noqa: D401 - PyYAML hook
        token = Scanner.get_token(self)
        if isinstance(token, ScalarToken):
            self.last_scalar = token
        elif isinstance(token, TagToken):
            raise _TagFound(token.start_mark)
        return token

    def next_event(self):
        self.last_scalar = None
        return self.get_event()


# ---------------------------------------------------------------------------
# building the tree
# ---------------------------------------------------------------------------


class _Frame:
    __slots__ = ("node", "start", "anchor", "count_at_start", "key", "first_keys")

    def __init__(self, node: MapNode | SeqNode, start: int, anchor: str | None, count: int) -> None:
        self.node = node
        self.start = start
        self.anchor = anchor
        self.count_at_start = count
        self.key: ScalarNode | None = None
        self.first_keys: dict[str, Location] = {}


class _Builder:
    def __init__(self, doc: _Text, events: _Events) -> None:
        self.doc = doc
        self.events = events
        self.anchors: dict[str, tuple[Node, int]] = {}  # name -> (node, expanded size)
        self.open_anchors: dict[str, int] = {}  # name -> index where it was set
        self.count = 0
        self.alias_nodes = 0
        self.alias_uses = 0
        self.stack: list[_Frame] = []

    # -- errors ----------------------------------------------------------
    def error(self, message: str, index: int, length: int = 1, help: str | None = None, *, code: str) -> PolicyError:
        return PolicyError(message, self.doc.location(index, length), help=help, code=code)

    # -- the document ------------------------------------------------------
    def build(self) -> Node:
        ev = self.events.next_event()
        if not isinstance(ev, StreamStartEvent):  # pragma: no cover - PyYAML invariant
            raise self.error("could not read the YAML", 0, code="yaml-syntax")
        ev = self.events.next_event()
        if isinstance(ev, StreamEndEvent):
            raise self.empty()
        if not isinstance(ev, DocumentStartEvent):  # pragma: no cover
            raise self.error("could not read the YAML", ev.start_mark.index, code="yaml-syntax")
        root = self.node_tree()
        ev = self.events.next_event()
        if not isinstance(ev, DocumentEndEvent):  # pragma: no cover
            raise self.error("could not read the YAML", ev.start_mark.index, code="yaml-syntax")
        ev = self.events.next_event()
        if isinstance(ev, DocumentStartEvent):
            raise self.error(
                "the file holds more than one YAML document", ev.start_mark.index, 3,
                help="a policy file holds one policy: remove this '---' and what follows, "
                "or move it to a file of its own",
                code="multiple-documents",
            )
        if isinstance(root, ScalarNode) and root.style == "plain" and root.text == "":
            raise self.empty()
        return root

    def empty(self) -> PolicyError:
        return PolicyError("the policy file is empty", self.doc.location(0), help=_MINIMAL_POLICY, code="empty-policy")

    def node_tree(self) -> Node:
        stack = self.stack
        while True:
            ev = self.events.next_event()
            if isinstance(ev, ScalarEvent):
                node = self.scalar(ev)
                self.add_count(1, ev.start_mark.index)
                if ev.anchor is not None:
                    self.set_anchor(ev.anchor, ev.start_mark.index)
                    self.anchors[ev.anchor] = (node, 1)
                    del self.open_anchors[ev.anchor]
            elif isinstance(ev, AliasEvent):
                node = self.alias(ev)
            elif isinstance(ev, (MappingStartEvent, SequenceStartEvent)):
                index = ev.start_mark.index
                if stack and isinstance(stack[-1].node, MapNode) and stack[-1].key is None:
                    what = "a mapping" if isinstance(ev, MappingStartEvent) else "a list"
                    raise self.error(
                        f"a key must be a text, not {what}", index,
                        help="write keys as plain words, e.g. 'name: value'",
                        code="invalid-key",
                    )
                if len(stack) + 1 > MAX_DEPTH:
                    raise self.error(
                        f"the document is nested too deeply (more than {MAX_DEPTH} levels)", index,
                        help="a policy never needs this much nesting; check the indentation and brackets",
                        code="policy-limit",
                    )
                self.add_count(1, index)
                if ev.anchor is not None:
                    self.set_anchor(ev.anchor, index)
                cls = MapNode if isinstance(ev, MappingStartEvent) else SeqNode
                # Location is fixed when the collection ends (its extent is known then).
                frame_node = cls(self.doc.location(index), self.doc.source)
                stack.append(_Frame(frame_node, index, ev.anchor, self.count))
                continue
            elif isinstance(ev, (MappingEndEvent, SequenceEndEvent)):
                frame = stack.pop()
                node = frame.node
                node.location = self.doc.span(frame.start, ev.end_mark.index)
                if frame.anchor is not None:
                    size = self.count - frame.count_at_start + 1
                    self.anchors[frame.anchor] = (node, size)
                    del self.open_anchors[frame.anchor]
            else:  # pragma: no cover - PyYAML invariant
                raise self.error("could not read the YAML", ev.start_mark.index, code="yaml-syntax")
            if not stack:
                return node
            self.attach(stack[-1], node, ev)

    def scalar(self, ev: ScalarEvent) -> ScalarNode:
        token = self.events.last_scalar
        end = ev.end_mark.index
        if token is not None and token.end_mark.index == end and token.value == ev.value:
            start = token.start_mark.index
        elif ev.anchor is not None or ev.value == "":
            # An empty value (possibly after an anchor): it sits at its end.
            start = end
        else:  # pragma: no cover - defensive
            start = ev.start_mark.index
        return ScalarNode(ev.value, _STYLES.get(ev.style, "plain"), self.doc, start, end, mapper=_map_positions)

    def set_anchor(self, name: str, index: int) -> None:
        if name in self.anchors or name in self.open_anchors:
            raise self.error(
                f"the anchor '&{name}' is defined twice", index, len(name) + 1,
                help="give each anchor its own name",
                code="yaml-anchor",
            )
        self.open_anchors[name] = index

    def alias(self, ev: AliasEvent) -> Node:
        name = ev.anchor
        index = ev.start_mark.index
        length = len(name) + 1
        if name in self.open_anchors:
            raise self.error(
                f"the alias '*{name}' is used inside its own anchor (a recursive alias)", index, length,
                help="an alias cannot refer to the node that contains it",
                code="yaml-anchor",
            )
        found = self.anchors.get(name)
        if found is None:
            raise self.error(
                f"unknown alias '*{name}'", index, length,
                help=f"define the anchor '&{name}' before using it",
                code="yaml-anchor",
            )
        node, size = found
        self.alias_uses += 1
        if self.alias_uses > MAX_ALIASES:
            raise self.error(
                f"too many aliases (more than {MAX_ALIASES})", index, length,
                help="write the repeated parts out, or use fewer aliases",
                code="policy-limit",
            )
        self.alias_nodes += size
        if self.alias_nodes > MAX_ALIAS_NODES:
            raise self.error(
                "the document expands to too many nodes (alias bomb?)", index, length,
                help=f"aliases may add at most {MAX_ALIAS_NODES} nodes to a policy",
                code="policy-limit",
            )
        self.add_count(size, index)
        if len(self.stack) + node._height > MAX_DEPTH:
            raise self.error(
                f"the document is nested too deeply (more than {MAX_DEPTH} levels, aliases included)",
                index, length,
                code="policy-limit",
            )
        return node

    def add_count(self, n: int, index: int) -> None:
        self.count += n
        if self.count > MAX_NODES:
            raise self.error(
                f"the document has too many nodes (more than {MAX_NODES})", index,
                help="a policy this large is surely a mistake",
                code="policy-limit",
            )

    def attach(self, frame: _Frame, node: Node, ev) -> None:
        parent = frame.node
        if parent._height < node._height + 1:
            parent._height = node._height + 1
        if isinstance(parent, SeqNode):
            parent.items.append(node)
            return
        assert isinstance(parent, MapNode)
        if frame.key is None:
            if not isinstance(node, ScalarNode):
                # Only an alias can get here: collection keys are refused at their start.
                index = ev.start_mark.index
                raise self.error(
                    f"a key must be a text, not {describe(node)}", index,
                    help="write keys as plain words, e.g. 'name: value'",
                    code="invalid-key",
                )
            key_loc = node.location
            if isinstance(ev, AliasEvent):
                key_loc = self.doc.span(ev.start_mark.index, ev.end_mark.index)
            if node.style == "plain" and node.text == "<<":
                raise PolicyError(
                    "merge keys ('<<') are not supported", key_loc,
                    help="write the keys out in this mapping instead of merging another one into it",
                    code="unsupported-yaml",
                )
            first = frame.first_keys.get(node.text)
            if first is not None:
                raise PolicyError(
                    f"duplicate key '{node.text}' (first at line {first.line})", key_loc,
                    help="each key may appear once in a mapping; remove or rename one of them",
                    code="duplicate-key",
                )
            frame.first_keys[node.text] = key_loc
            frame.key = node
        else:
            parent._index[frame.key.text] = len(parent.items)
            parent.items.append((frame.key, node))
            frame.key = None


# ---------------------------------------------------------------------------
# errors from PyYAML
# ---------------------------------------------------------------------------

_TOKEN_NAMES = {
    "'<block end>'": "the end of the indented block",
    "<block end>": "the end of the indented block",
    "'<stream end>'": "the end of the file",
    "'<document start>'": "'---'",
    "'<document end>'": "'...'",
    "'<block mapping start>'": "a new mapping",
    "'<block sequence start>'": "a new list",
    "'<scalar>'": "a value",
    "'<alias>'": "an alias",
    "'<anchor>'": "an anchor",
    "'<tag>'": "a tag",
    "'<directive>'": "a directive",
    "'<stream start>'": "the start of the file",
}


_CANNOT_START = re.compile(r"found character '(.*)' that cannot start any token")


def _readable(problem: str) -> str:
    text = problem.strip()
    m = _CANNOT_START.fullmatch(text)
    if m:
        ch = m.group(1)
        if ch == "\\t":
            return "a tab character cannot be used here"
        return f"a value cannot start with '{ch}'"
    for raw, nice in _TOKEN_NAMES.items():
        text = text.replace(raw, nice)
    text = text.replace("'\\t'", "a tab")
    text = text.replace("expected the node content", "expected a value")
    return text


def _hint(problem: str, context: str | None) -> str | None:
    p = problem.lower()
    if "'\\t'" in problem or " tab" in p:
        return "YAML is indented with spaces; replace the tabs with spaces"
    if "mapping values are not allowed here" in p:
        return ("a ': ' inside a value must be quoted, e.g. note: \"a: b\"; "
                "or the indentation of this line is wrong")
    if "could not find expected ':'" in p:
        return "write 'key: value' (a space after ':'), quote text that contains ':', or check the indentation"
    if "did not find expected key" in p or "block end" in p or "indented block" in p:
        return "check the indentation: items of one mapping or list must start in the same column"
    if "found unexpected end of stream" in p or "end of the file" in p:
        return "a quote or bracket is not closed"
    if "cannot start any token" in p:
        return "quote the value, e.g. note: \"@name\""
    return None


def _context_help(err: yaml.MarkedYAMLError, doc: _Text) -> str | None:
    ctx = err.context
    problem = err.problem or ""
    hint = _hint(problem + " " + _readable(problem), ctx)
    parts = []
    mark = err.context_mark
    if ctx and mark is not None:
        ctx_text = _readable(ctx)
        if err.problem_mark is None or mark.index != err.problem_mark.index:
            line, column = doc.line_col(mark.index)
            ctx_text += f" that starts at line {line}, column {column}"
        parts.append(ctx_text)
    if hint:
        parts.append(hint)
    return "; ".join(parts) if parts else None


def _syntax_error(err: yaml.MarkedYAMLError, doc: _Text) -> PolicyError:
    mark = err.problem_mark or err.context_mark
    index = mark.index if mark is not None else 0
    problem = err.problem or err.context or "the YAML is not valid"
    return PolicyError(f"invalid YAML: {_readable(problem)}", doc.location(index), help=_context_help(err, doc),
                       code="yaml-syntax")


def _reader_error(err: yaml.reader.ReaderError, doc: _Text) -> PolicyError:
    ch = err.character
    code = ch if isinstance(ch, int) else (ord(ch) if isinstance(ch, str) and len(ch) == 1 else None)
    what = f"the character U+{code:04X}" if code is not None else "a character"
    if code == 0:
        what += " (NUL)"
    return PolicyError(
        f"the file contains {what}, which YAML does not allow",
        doc.location(int(err.position or 0)),
        help="remove it; a policy is plain text (is this a binary file?)",
        code="invalid-character",
    )


# ---------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------


def _decode(data: bytes, name: str | None) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = exc.start
        line_start = data.rfind(b"\n", 0, bad) + 1
        line = data.count(b"\n", 0, bad) + 1
        column = len(data[line_start:bad].decode("utf-8", "replace")) + 1
        shown = data[:line_start].decode("utf-8", "replace") + data[line_start:].split(b"\n", 1)[0].decode(
            "utf-8", "replace")
        source = Source(name, shown)
        raise PolicyError(
            "the file is not UTF-8 text",
            Location(source, line, column, 1),
            help=f"byte 0x{data[bad]:02X} at byte offset {bad} is not valid UTF-8; "
            "save the policy as UTF-8 (a binary file is not a policy)",
            code="not-utf8",
        ) from None


def load_yaml(data: str | bytes, name: str | None = None) -> Node:
    """Read one YAML document into a positioned node tree.

    ``data`` is the document (``bytes`` must be UTF-8, a BOM is allowed);
    ``name`` names it in errors (a file path, usually). Raises
    :class:`~dunning_engine.errors.PolicyError` for anything it refuses and
    never anything else.
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data)
        if len(data) > MAX_BYTES:
            raise _too_large(name, len(data))
        text = _decode(data, name)
    elif isinstance(data, str):
        if len(data) > MAX_BYTES or (
            len(data) * 4 > MAX_BYTES and len(data.encode("utf-8", "surrogatepass")) > MAX_BYTES
        ):
            raise _too_large(name, None)
        text = data
    else:
        raise TypeError(f"load_yaml() takes str or bytes, not {type(data).__name__}")
    if text.startswith("\ufeff"):
        text = text[1:]
    doc = _Text(Source(name, text))
    events: _Events | None = None
    try:
        events = _Events(text)
        return _Builder(doc, events).build()
    except PolicyError:
        raise
    except _TagFound as found:
        index = found.mark.index
        end = doc.line_end(index)
        raw = text[index:end]
        length = len(raw.split(" ", 1)[0]) or 1
        raise PolicyError(
            "tags are not allowed in policies", doc.location(index, length),
            help="remove the tag ('!...'); values are read as written and the policy decides what they mean",
            code="unsupported-yaml",
        ) from None
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, doc) from None
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, doc) from None
    except Exception as exc:  # anything else PyYAML (or we) trip over
        index = 0
        if events is not None:
            try:
                index = int(events.index)
            except Exception:  # pragma: no cover
                index = 0
        raise PolicyError(
            "could not read the YAML", doc.location(index),
            help=f"the YAML reader failed here ({type(exc).__name__}); check the syntax around this place",
            code="yaml-syntax",
        ) from None


def _too_large(name: str | None, size: int | None) -> PolicyError:
    what = f" ({size} bytes)" if size is not None else ""
    return PolicyError(
        f"the policy file is too large{what}; the limit is {MAX_BYTES} bytes",
        Location(Source(name, ""), 1, 1, 1),
        help="a policy this large is surely a mistake; split it or check that this is the right file",
        code="too-large",
    )
