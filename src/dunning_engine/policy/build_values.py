"""The checks every part of the policy builder shares: errors, and reading values from nodes.

:class:`Checker` collects errors (``PolicyErrors`` is raised once, with all of them, by
``build.build_policy``) and reads scalars, names, numbers, choices, times, expressions and durations
from the positioned node tree, reporting each problem at its node. The parts of the builder
(``build_actions``, ``build_rules``, ``build_contact``, ``build``) extend it.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any, Iterable

from .. import expr as _expr
from ..errors import Location, PolicyError, PolicyErrors, did_you_mean
from ..expr.check import duration_too_long
from ..values import Duration
from ..vocabulary import CHANNELS
from .nodes import MapNode, Node, ScalarNode, SeqNode, describe

__all__ = ["Checker", "MAX_ERRORS", "NAME", "WORD"]

NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")  # names of templates, tasks, escalation targets
TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)\Z")

MAX_ERRORS = 100
"""Errors reported for one policy at most (checking stops there; SPEC §12)."""



MAX_NAME = 200  # characters in a name (state, rule, segment...): YAML keys past 1,024 do not read back

class Checker:
    """Errors and value readers of the policy builder."""

    def __init__(self, root: Node, path: str | None) -> None:
        self.root = root
        self.path = path
        self.errors: list[PolicyError] = []
        self.currency: str | None = None
        self.scope = "invoice"
        self.segment_names: list[str] = []
        self._schema: tuple[tuple[Any, ...], Any] | None = None
        # 'goto' targets and 'except' lists, with their nodes, checked once every state is known.
        self.gotos: list[tuple[str, Node | None]] = []
        self.except_nodes: list[tuple[tuple[str, ...], Node | None]] = []

    # -- error helpers ---------------------------------------------------------
    def error(self, node: Node | Location | None, message: str, help: str | None = None, *, code: str) -> None:
        loc = node.location if isinstance(node, Node) else node
        self.errors.append(PolicyError(message, loc, help=help, code=code))
        self.stop_if_too_many()

    def stop_if_too_many(self) -> None:
        """Stop checking after MAX_ERRORS errors: each may cost a 'did you mean' over every name of
        the policy, and a hostile file could otherwise make checking it quadratic (SPEC §12)."""
        if len(self.errors) >= MAX_ERRORS:
            first = min((e.location for e in self.errors if e.location), key=lambda l: (l.line, l.column), default=None)
            stop = PolicyError(f"too many errors: checking stopped after {len(self.errors)}", first,
                               help="fix these and check the policy again", code="too-many-errors")
            raise PolicyErrors([*self.errors, stop])

    def check_keys(self, node: MapNode, allowed: Iterable[str], what: str) -> None:
        allowed = tuple(allowed)
        for key, _ in node.items:
            if key.text not in allowed:
                hint = did_you_mean(key.text, allowed) or f"{what} takes: {', '.join(allowed)}"
                self.error(key, f"unknown key '{key.text}' in {what}", hint, code="unknown-key")

    def expect_map(self, node: Node | None, what: str, allow_null: bool = True) -> MapNode | None:
        if node is None:
            return None
        if isinstance(node, ScalarNode) and node.is_null() and allow_null:
            return None
        if isinstance(node, MapNode):
            return node
        self.error(node, f"{what} must be a mapping of keys and values, found {describe(node)}", code="wrong-type")
        return None

    def expect_list(self, node: Node | None, what: str) -> list[Node]:
        if node is None or (isinstance(node, ScalarNode) and node.is_null()):
            return []
        if isinstance(node, SeqNode):
            return list(node.items)
        self.error(node, f"{what} must be a list, found {describe(node)}", help="write each item on its own line starting with '- '", code="wrong-type")
        return []

    def scalar(self, node: Node | None, what: str) -> ScalarNode | None:
        if node is None:
            return None
        if isinstance(node, ScalarNode):
            return node
        self.error(node, f"{what} must be a single value, found {describe(node)}", code="wrong-type")
        return None

    def text(self, node: Node | None, what: str) -> str | None:
        s = self.scalar(node, what)
        return None if s is None or s.is_null() else s.text

    def name(self, node: Node | None, what: str, pattern: re.Pattern[str] = NAME) -> str | None:
        s = self.scalar(node, what)
        if s is None:
            return None
        if len(s.text) > MAX_NAME:
            self.error(s, f"{what} is {len(s.text):,} characters long; a name has at most {MAX_NAME}",
                       help="choose a shorter name", code="invalid-name")
            return None
        if not pattern.match(s.text):
            self.error(s, f"{what} '{s.text}' is not a valid name",
                       help="use lower-case letters, digits and '_', starting with a letter", code="invalid-name")
            return None
        return s.text

    def boolean(self, node: Node | None, what: str) -> bool | None:
        s = self.scalar(node, what)
        if s is None:
            return None
        if s.text in ("true", "false"):
            return s.text == "true"
        self.error(s, f"{what} must be true or false, found '{s.text}'", code="wrong-type")
        return None

    def integer(self, node: Node | None, what: str, minimum: int | None = None) -> int | None:
        s = self.scalar(node, what)
        if s is None:
            return None
        if not re.fullmatch(r"-?\d{1,18}", s.text):
            self.error(s, f"{what} must be a whole number, found '{s.text}'", code="wrong-type")
            return None
        value = int(s.text)
        if minimum is not None and value < minimum:
            self.error(s, f"{what} must be at least {minimum}, found {value}", code="out-of-range")
            return None
        return value

    def one_of(self, node: Node | None, what: str, choices: Iterable[str]) -> str | None:
        s = self.scalar(node, what)
        if s is None:
            return None
        choices = tuple(choices)
        if s.text not in choices:
            hint = did_you_mean(s.text, choices) or f"choose one of: {', '.join(choices)}"
            self.error(s, f"{what} '{s.text}' is not one of {', '.join(choices)}", hint, code="unknown-value")
            return None
        return s.text

    def channels(self, node: Node | None, what: str) -> tuple[str, ...] | None:
        """One channel or a list of them (None when none is valid)."""
        items = [node] if isinstance(node, ScalarNode) else self.expect_list(node, what)
        channels = []
        for item in items:
            c = self.one_of(item, "channel", CHANNELS)
            if c is not None:
                channels.append(c)
        return tuple(channels) or None

    def time_of_day(self, node: Node | None, what: str) -> _dt.time | None:
        s = self.scalar(node, what)
        if s is None:
            return None
        m = TIME.match(s.text)
        if not m:
            self.error(s, f"{what} must be a time HH:MM, found '{s.text}'", help='for example "09:00"', code="wrong-type")
            return None
        return _dt.time(int(m.group(1)), int(m.group(2)))

    # -- expressions -----------------------------------------------------------
    def schema(self, event: bool = False) -> Any:
        # With a missing or invalid currency (already reported), check the rest against a stand-in.
        # One schema per (scope, currency, segments, event): building it costs as much as the policy
        # has segments, so not once per expression (that made large policies quadratic).
        key = (self.scope, self.currency, len(self.segment_names), event)
        if self._schema is None or self._schema[0] != key:
            self._schema = (key, _expr.policy_schema(self.scope, self.currency or "USD", self.segment_names, event=event))
        return self._schema[1]

    def expression(self, node: Node | None, what: str, expect: Any = None, event: bool = False,
                   null: bool = True) -> Any:
        """The compiled expression of ``node``; with ``null=False`` a constant null is refused too
        (a date that is always null never fires, an amount that is always null fails every case)."""
        s = self.scalar(node, what)
        if s is None:
            return None
        if s.is_null() or not s.text.strip():
            self.error(s, f"{what} is empty", help="write an expression", code="empty-expression")
            return None
        try:
            e = _expr.compile_expression(s.text, self.schema(event), origin=s.origin, expect=expect, what=what)
        except PolicyError as err:
            self.errors.extend(err.errors)
            self.stop_if_too_many()
            return None
        if not null and e.is_constant() and e.constant_value() is None:
            self.error(s, f"{what} is null", help="write a value; null here would never give one", code="null-value")
            return None
        return e

    def duration(self, node: Node | None, what: str, positive: bool = False) -> Duration | None:
        e = self.expression(node, what, expect=_expr.types.DURATION)
        if e is None:
            return None
        if not e.is_constant():
            self.error(node, f"{what} must be a fixed duration such as '7 days'", help="durations of timers cannot depend on the case", code="invalid-duration")
            return None
        value = e.constant_value()
        if not isinstance(value, Duration):  # null
            self.error(node, f"{what} must be a duration such as '7 days', not null", code="invalid-duration")
            return None
        too_long = duration_too_long(value)
        if too_long is not None:
            self.error(node, f"{what}: {too_long.message}", help=too_long.help, code="duration-too-long")
            return None
        if positive and value.amount <= 0:
            self.error(node, f"{what} must be longer than zero, found '{value}'", code="out-of-range")
            return None
        if value.amount < 0:
            self.error(node, f"{what} cannot be negative, found '{value}'", code="out-of-range")
            return None
        return value

