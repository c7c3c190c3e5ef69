"""The positioned node tree both policy forms are read into before they are checked.

The YAML reader (``yaml_source``) and the DSL reader (``dsl``) both produce a
tree of :class:`MapNode`, :class:`SeqNode` and :class:`ScalarNode`, in the
shape of the YAML form (SPEC §1), each node with the
:class:`~dunning_engine.errors.Location` where it starts. ``build`` then checks
the tree, whatever form it came from, so both forms give the same errors and
the same intermediate form.

:class:`NodeFactory` builds nodes over one text (a DSL reader uses it); a
scalar's :meth:`ScalarNode.origin` maps offsets in its text to the file, by
default for a scalar whose text is a verbatim slice of the file (or of a quoted
string in it).
"""

from __future__ import annotations

import bisect
import re
from typing import Callable, Iterator

from ..errors import Location, Source

__all__ = [
    "TextIndex",
    "Node",
    "MapNode",
    "SeqNode",
    "ScalarNode",
    "NodeFactory",
    "describe",
    "find_break",
    "NULLS",
]

NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_NULLS = NULLS

# ---------------------------------------------------------------------------
# positions
# ---------------------------------------------------------------------------


class TextIndex:
    """A text, its Source, and character index -> (line, column)."""

    __slots__ = ("source", "text", "starts")

    def __init__(self, source: Source) -> None:
        self.source = source
        self.text = source.text
        # Line starts, breaking where PyYAML's reader counts a new line:
        # '\r\n', '\n', '\r', '\x85', '\u2028', '\u2029'.
        self.starts = [0] + [m.end() for m in _BREAK_RE.finditer(self.text)]

    def line_col(self, index: int) -> tuple[int, int]:
        """1-based (line, column) of a 0-based character index (clamped)."""
        index = max(0, min(index, len(self.text)))
        line = bisect.bisect_right(self.starts, index) - 1
        return line + 1, index - self.starts[line] + 1

    def line_end(self, index: int) -> int:
        """Index of the line break (or end of text) ending the line of ``index``."""
        index = max(0, min(index, len(self.text)))
        line = bisect.bisect_right(self.starts, index) - 1
        if line + 1 >= len(self.starts):
            return len(self.text)
        nxt = self.starts[line + 1]
        return nxt - 2 if self.text.startswith("\r\n", nxt - 2) else nxt - 1

    def location(self, index: int, length: int = 1) -> Location:
        index = max(0, min(index, len(self.text)))
        if index == len(self.text) and index > 0 and self.starts[-1] == index:
            # The end of a file that ends with a line break: show it at the end
            # of the last line, which exists (there is no line after it).
            index = self.line_end(index - 1)
        line, column = self.line_col(index)
        return Location(self.source, line, column, max(1, length))

    def span(self, start: int, end: int) -> Location:
        """Location of ``start``; length = extent up to ``end`` on the first line."""
        start = max(0, min(start, len(self.text)))
        line_end = self.line_end(start)
        if end <= line_end:
            length = end - start
        else:
            length = len(self.text[start:line_end].rstrip())
        return self.location(start, max(1, length))


_BREAK_RE = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


def find_break(text: str, start: int, end: int | None = None) -> int:
    m = _BREAK_RE.search(text, start, len(text) if end is None else end)
    return -1 if m is None else m.start()


# ---------------------------------------------------------------------------
# nodes
# ---------------------------------------------------------------------------


class Node:
    """A node of the tree: where it starts (``location``) and in which ``source``."""

    __slots__ = ("location", "source", "_height")

    def __init__(self, location: Location, source: Source) -> None:
        self.location = location
        self.source = source
        self._height = 0


class MapNode(Node):
    """A mapping; ``items`` are ``(key, value)`` pairs in file order, keys are scalars."""

    __slots__ = ("items", "_index")

    def __init__(self, location: Location, source: Source) -> None:
        super().__init__(location, source)
        self.items: list[tuple[ScalarNode, Node]] = []
        self._index: dict[str, int] = {}

    def get(self, key: str) -> Node | None:
        """The value of ``key`` (as written), or None."""
        i = self._index.get(key)
        return None if i is None else self.items[i][1]

    def key_node(self, key: str) -> ScalarNode | None:
        """The key node of ``key`` (for error positions), or None."""
        i = self._index.get(key)
        return None if i is None else self.items[i][0]

    def keys(self) -> list[str]:
        """The keys in file order."""
        return [k.text for k, _ in self.items]

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def __len__(self) -> int:
        return len(self.items)

    def add(self, key: ScalarNode, value: Node) -> None:
        """Append ``key: value`` (a later duplicate key shadows the earlier one in :meth:`get`)."""
        self._index[key.text] = len(self.items)
        self.items.append((key, value))

    def __repr__(self) -> str:
        return f"MapNode({self.keys()!r} at {self.location})"


class SeqNode(Node):
    """A list; ``items`` in file order."""

    __slots__ = ("items",)

    def __init__(self, location: Location, source: Source) -> None:
        super().__init__(location, source)
        self.items: list[Node] = []

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.items)

    def append(self, node: Node) -> None:
        self.items.append(node)

    def __repr__(self) -> str:
        return f"SeqNode({len(self.items)} items at {self.location})"


class ScalarNode(Node):
    """A scalar, kept as the text the author wrote.

    ``text`` has quotes removed, escapes decoded and block scalars folded as
    YAML does; ``style`` is ``'plain'``, ``'single'``, ``'double'``,
    ``'literal'`` or ``'folded'``. :meth:`origin` maps an offset in ``text``
    back to the file, so that an error inside an expression points at the
    right character.
    """

    __slots__ = ("text", "style", "_doc", "_start", "_end", "_map", "_mapper")

    def __init__(self, text: str, style: str, doc: TextIndex, start: int, end: int,
                 mapper: Callable[["ScalarNode"], list[int]] | None = None) -> None:
        super().__init__(doc.span(start, end), doc.source)
        self.text = text
        self.style = style
        self._doc = doc
        self._start = start
        self._end = end
        self._map: list[int] | None = None
        self._mapper = mapper

    @property
    def span(self) -> tuple[int, int]:
        """(start, end) character offsets of the scalar in its file, quotes and block included."""
        return self._start, self._end

    def is_null(self) -> bool:
        """True for a plain ``''``, ``~``, ``null``, ``Null`` or ``NULL``."""
        return self.style == "plain" and self.text in _NULLS

    def origin(self, offset: int, length: int = 1) -> Location:
        """The file location of character ``offset`` of ``text``.

        Exact for plain and quoted scalars on one line (escapes and ``''``
        included); for multi-line and block scalars the line and column of
        the character as far as it can be told, always inside the scalar.
        ``offset == len(text)`` is the place just after the last character.
        """
        positions = self._positions()
        n = len(self.text)
        offset = max(0, min(int(offset), n))
        start = positions[offset]
        length = max(1, int(length))
        last_off = min(offset + length, n) - 1
        if last_off < offset:
            return self._doc.location(start, 1)
        last = positions[last_off]
        line_end = self._doc.line_end(start)
        if last < line_end:
            extent = last - start + 1
        else:
            extent = line_end - start
        return self._doc.location(start, max(1, extent))

    __call__ = origin  # a ScalarNode is itself an ``Origin``

    def _positions(self) -> list[int]:
        if self._map is None:
            try:
                self._map = (self._mapper or _verbatim_positions)(self)
            except Exception:  # pragma: no cover - best effort, never fail
                self._map = [self._start] * (len(self.text) + 1)
        return self._map

    def __repr__(self) -> str:
        return f"ScalarNode({self.text!r}, {self.style} at {self.location})"


def describe(node: Node | None) -> str:
    """'a mapping', 'a list', 'a text' (or 'an empty value'), for error messages."""
    if isinstance(node, MapNode):
        return "a mapping"
    if isinstance(node, SeqNode):
        return "a list"
    if isinstance(node, ScalarNode):
        return "an empty value" if node.is_null() else "a text"
    return "nothing"


def _verbatim_positions(node: ScalarNode) -> list[int]:
    """Offsets for a scalar whose text is the file's text from ``_start`` (or inside quotes)."""
    raw = node._doc.text
    start, end = node._start, min(node._end, len(raw))
    n = len(node.text)
    if raw[start:end] != node.text and end - start >= 2 and raw[start:start + 1] in "\"'":
        start += 1  # a quoted string: its characters start after the quote
    hi = max(start, end)
    return [min(start + i, hi) for i in range(n + 1)]


class NodeFactory:
    """Builds positioned nodes over one text (``name`` names it in errors).

    Offsets are 0-based character indices into ``text``; a node's location is
    where it starts, underlining up to its end on that line.
    """

    def __init__(self, text: str, name: str | None = None) -> None:
        self.index = TextIndex(Source(name, text))

    @property
    def source(self) -> Source:
        return self.index.source

    def location(self, start: int, end: int | None = None) -> Location:
        return self.index.span(start, start + 1 if end is None else end)

    def scalar(self, text: str, start: int, end: int, style: str = "plain") -> ScalarNode:
        """A scalar: ``text`` as read, found at ``start:end`` of the file (quotes included)."""
        return ScalarNode(text, style, self.index, start, end)

    def mapping(self, start: int, end: int | None = None, items: list[tuple[ScalarNode, Node]] = ()) -> MapNode:
        node = MapNode(self.location(start, end), self.index.source)
        for key, value in items:
            node.add(key, value)
        return node

    def sequence(self, start: int, end: int | None = None, items: list[Node] = ()) -> SeqNode:
        node = SeqNode(self.location(start, end), self.index.source)
        for item in items:
            node.append(item)
        return node
