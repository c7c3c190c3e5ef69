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
from typing import Any

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
from .yaml_errors import decode_utf8, reader_error, syntax_error
from .yaml_positions import map_positions

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

_STYLES: dict[str | None, str] = {None: "plain", "": "plain", "'": "single", '"': "double", "|": "literal", ">": "folded"}

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


def _at(mark: Any) -> int:
    """The file index of a PyYAML mark (the parser gives every event its marks)."""
    return int(mark.index)


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
            raise self.error("could not read the YAML", _at(ev.start_mark), code="yaml-syntax")
        root = self.node_tree()
        ev = self.events.next_event()
        if not isinstance(ev, DocumentEndEvent):  # pragma: no cover
            raise self.error("could not read the YAML", _at(ev.start_mark), code="yaml-syntax")
        ev = self.events.next_event()
        if isinstance(ev, DocumentStartEvent):
            raise self.error(
                "the file holds more than one YAML document", _at(ev.start_mark), 3,
                help="a policy file holds one policy: remove this '---' and what follows, "
                "or move it to a file of its own",
                code="multiple-documents")
        if isinstance(root, ScalarNode) and root.style == "plain" and root.text == "":
            raise self.empty()
        return root

    def empty(self) -> PolicyError:
        return PolicyError("the policy file is empty", self.doc.location(0), help=_MINIMAL_POLICY, code="empty-policy")

    def node_tree(self) -> Node:
        stack = self.stack
        node: Node
        while True:
            ev = self.events.next_event()
            if isinstance(ev, ScalarEvent):
                node = self.scalar(ev)
                self.add_count(1, _at(ev.start_mark))
                if ev.anchor is not None:
                    self.set_anchor(ev.anchor, _at(ev.start_mark))
                    self.anchors[ev.anchor] = (node, 1)
                    del self.open_anchors[ev.anchor]
            elif isinstance(ev, AliasEvent):
                node = self.alias(ev)
            elif isinstance(ev, (MappingStartEvent, SequenceStartEvent)):
                index = _at(ev.start_mark)
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
                node.location = self.doc.span(frame.start, _at(ev.end_mark))
                if frame.anchor is not None:
                    size = self.count - frame.count_at_start + 1
                    self.anchors[frame.anchor] = (node, size)
                    del self.open_anchors[frame.anchor]
            else:  # pragma: no cover - PyYAML invariant
                raise self.error("could not read the YAML", _at(ev.start_mark), code="yaml-syntax")
            if not stack:
                return node
            self.attach(stack[-1], node, ev)

    def scalar(self, ev: ScalarEvent) -> ScalarNode:
        token = self.events.last_scalar
        end = _at(ev.end_mark)
        if token is not None and _at(token.end_mark) == end and token.value == ev.value:
            start = _at(token.start_mark)
        elif ev.anchor is not None or ev.value == "":
            # An empty value (possibly after an anchor): it sits at its end.
            start = end
        else:  # pragma: no cover - defensive
            start = _at(ev.start_mark)
        return ScalarNode(ev.value, _STYLES.get(ev.style, "plain"), self.doc, start, end, mapper=map_positions)

    def set_anchor(self, name: str, index: int) -> None:
        if name in self.anchors or name in self.open_anchors:
            raise self.error(
                f"the anchor '&{name}' is defined twice", index, len(name) + 1,
                help="give each anchor its own name",
                code="yaml-anchor")
        self.open_anchors[name] = index

    def alias(self, ev: AliasEvent) -> Node:
        name = ev.anchor
        assert name is not None  # an alias always names its anchor
        index = _at(ev.start_mark)
        length = len(name) + 1
        if name in self.open_anchors:
            raise self.error(
                f"the alias '*{name}' is used inside its own anchor (a recursive alias)", index, length,
                help="an alias cannot refer to the node that contains it",
                code="yaml-anchor")
        found = self.anchors.get(name)
        if found is None:
            raise self.error(
                f"unknown alias '*{name}'", index, length,
                help=f"define the anchor '&{name}' before using it",
                code="yaml-anchor")
        node, size = found
        self.alias_uses += 1
        if self.alias_uses > MAX_ALIASES:
            raise self.error(
                f"too many aliases (more than {MAX_ALIASES})", index, length,
                help="write the repeated parts out, or use fewer aliases",
                code="policy-limit")
        self.alias_nodes += size
        if self.alias_nodes > MAX_ALIAS_NODES:
            raise self.error(
                "the document expands to too many nodes (alias bomb?)", index, length,
                help=f"aliases may add at most {MAX_ALIAS_NODES} nodes to a policy",
                code="policy-limit")
        self.add_count(size, index)
        if len(self.stack) + node._height > MAX_DEPTH:
            raise self.error(
                f"the document is nested too deeply (more than {MAX_DEPTH} levels, aliases included)",
                index, length,
                code="policy-limit")
        return node

    def add_count(self, n: int, index: int) -> None:
        self.count += n
        if self.count > MAX_NODES:
            raise self.error(
                f"the document has too many nodes (more than {MAX_NODES})", index,
                help="a policy this large is surely a mistake",
                code="policy-limit")

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
                index = _at(ev.start_mark)
                raise self.error(
                    f"a key must be a text, not {describe(node)}", index,
                    help="write keys as plain words, e.g. 'name: value'",
                    code="invalid-key")
            key_loc = node.location
            if isinstance(ev, AliasEvent):
                key_loc = self.doc.span(_at(ev.start_mark), _at(ev.end_mark))
            if node.style == "plain" and node.text == "<<":
                raise PolicyError(
                    "merge keys ('<<') are not supported", key_loc,
                    help="write the keys out in this mapping instead of merging another one into it",
                    code="unsupported-yaml")
            first = frame.first_keys.get(node.text)
            if first is not None:
                raise PolicyError(
                    f"duplicate key '{node.text}' (first at line {first.line})", key_loc,
                    help="each key may appear once in a mapping; remove or rename one of them",
                    code="duplicate-key")
            frame.first_keys[node.text] = key_loc
            frame.key = node
        else:
            parent._index[frame.key.text] = len(parent.items)
            parent.items.append((frame.key, node))
            frame.key = None


# ---------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------


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
        text = decode_utf8(data, name)
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
    if "\r" in text:
        # YAML reads CR LF and a lone CR as one line break each; reading them as LF keeps every
        # line and column number and lets comments and snippets split on LF (docs/decisions.md)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
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
            code="unsupported-yaml") from None
    except yaml.reader.ReaderError as exc:
        raise reader_error(exc, doc) from None
    except yaml.MarkedYAMLError as exc:
        raise syntax_error(exc, doc) from None
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
        code="too-large")

