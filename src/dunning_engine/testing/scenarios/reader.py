"""Reading a scenario's positioned YAML nodes: every mistake is kept with its place, nothing is given up.

:class:`NodeReader` collects :class:`~dunning_engine.errors.PolicyError` s
(each pointing at its node) while a scenario file is read, so that one run
reports every problem of the file; :func:`plain` and :func:`written` turn a
node into a plain value and into its text as written.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

from ...errors import PolicyError, did_you_mean
from ...policy.nodes import MapNode, Node, ScalarNode, SeqNode, describe

__all__ = ["NodeReader", "plain", "written", "dicts", "valid_date"]

_PLAIN_INT = re.compile(r"-?(0|[1-9][0-9]{0,17})\Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


class NodeReader:
    """Checks the shape of nodes; each problem is added to ``errors`` and the caller goes on."""

    def __init__(self) -> None:
        self.errors: list[PolicyError] = []

    def error(self, node: Node | None, message: str, help: str | None = None, *, code: str) -> None:
        self.errors.append(PolicyError(message, node.location if node is not None else None, help=help, code=code))

    def keys(self, m: MapNode, allowed: tuple[str, ...], what: str) -> None:
        for k, _ in m.items:
            if k.text not in allowed:
                self.error(k, f"unknown key '{k.text}' in {what}",
                           did_you_mean(k.text, allowed) or f"{what} takes: {', '.join(allowed)}", code="unknown-key")

    def mapping(self, node: Node | None, what: str) -> MapNode | None:
        if isinstance(node, MapNode):
            return node
        self.error(node, f"{what} must be a mapping of keys and values, found {describe(node)}", code="wrong-type")
        return None

    def seq(self, node: Node | None, what: str) -> list[Node]:
        if node is None or (isinstance(node, ScalarNode) and node.is_null()):
            return []
        if isinstance(node, SeqNode):
            return list(node.items)
        self.error(node, f"{what} must be a list, found {describe(node)}",
                   help="write '[...]' or one item per line starting with '- '", code="wrong-type")
        return []

    def text(self, node: Node | None, what: str) -> str | None:
        if not isinstance(node, ScalarNode):
            self.error(node, f"{what} must be a single value, found {describe(node)}", code="wrong-type")
            return None
        if node.is_null() or not node.text.strip():
            self.error(node, f"{what} is empty", code="empty-value")
            return None
        return node.text

    def instant(self, node: Node | None, what: str, tz: _dt.tzinfo | None) -> str | None:
        """The text of ``until:``/``since:``, checked; the run reads it with ``engine.runner.bound``
        (a date as ``until`` means through the end of that local day, SPEC §5)."""
        from ...engine.runner import bound

        text = self.text(node, what)
        if text is None:
            return None
        if tz is not None:
            try:
                bound(text, tz, end=what == "until")
            except ValueError as e:
                self.error(node, f"{what}: {e}", help="write a date (2026-04-01) or a date-time (2026-04-01T09:00)",
                           code="invalid-date")
                return None
        return text


def plain(node: Node) -> Any:
    """A node as a plain value, the way JSON would give it.

    Plain (unquoted) ``null``/``~``/empty are None, ``true``/``false`` are
    booleans and whole numbers without leading zeros are ints; every other
    scalar, quoted or not, is its text (so ``19.90`` stays the text
    ``"19.90"`` and money keeps its digits).
    """
    if isinstance(node, MapNode):
        return {k.text: plain(v) for k, v in node.items}
    if isinstance(node, SeqNode):
        return [plain(x) for x in node.items]
    assert isinstance(node, ScalarNode)  # the only other kind of node
    if node.style != "plain":
        return node.text
    if node.is_null():
        return None
    if node.text in ("true", "false"):
        return node.text == "true"
    if _PLAIN_INT.match(node.text):
        return int(node.text)
    return node.text


def written(node: Node) -> str:
    """Compact text of a node as written (for diffs)."""
    if isinstance(node, MapNode):
        return ", ".join(f"{k.text}: {written(v)}" for k, v in node.items)
    if isinstance(node, SeqNode):
        return "[" + ", ".join(written(x) for x in node.items) + "]"
    assert isinstance(node, ScalarNode)  # the only other kind of node
    return node.text


def dicts(items: Any) -> list[dict]:
    """The dict records of an inline list (nothing for a records file)."""
    return [x for x in items if isinstance(x, dict)] if isinstance(items, list) else []


def valid_date(text: str) -> bool:
    if not _DATE.match(text):
        return False
    try:
        _dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True
