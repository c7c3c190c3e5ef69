"""The typed intermediate form of a policy.

Both policy forms (YAML and DSL) load into these immutable dataclasses; the
compiler and every tool (graph, lint, convert) read only this form. Equality
ignores source positions, so the same policy written in YAML and in the DSL
compares equal.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Union

from ..errors import Location
from ..values import Duration
from ..vocabulary import ACTION_KINDS, CHANNELS, DERIVED_EVENTS, EVENT_TYPES

# The vocabulary (channels, events, action kinds) is ``dunning_engine.vocabulary``'s, named here too.
__all__ = [
    "CHANNELS",
    "EVENT_TYPES",
    "DERIVED_EVENTS",
    "ACTION_KINDS",
    "ALLOCATION_PARTS",
    "Policy",
    "State",
    "Rule",
    "At",
    "After",
    "Every",
    "On",
    "Trigger",
    "Action",
    "Contact",
    "Window",
    "Limit",
    "RateTable",
]

ALLOCATION_PARTS = ("interest", "fees", "principal")


def _loc() -> Any:
    return field(default=None, compare=False, repr=False)


# --- triggers -----------------------------------------------------------------


@dataclass(frozen=True)
class At:
    """``at: EXPR`` — once per state entry, when the clock reaches a date or datetime."""

    expr: Any  # dunning_engine.expr.Expression of type date or datetime


@dataclass(frozen=True)
class After:
    """``after: DURATION`` — same as ``at: entered + DURATION``."""

    duration: Duration


@dataclass(frozen=True)
class Every:
    """``every: DURATION`` with optional ``max`` and ``starting``."""

    duration: Duration
    max: int | None = None
    starting: Any = None  # Expression of type date/datetime, or None (entered + duration)


@dataclass(frozen=True)
class On:
    """``on: EVENT`` or ``on: [EVENT, ...]``."""

    events: tuple[str, ...]


Trigger = Union[At, After, Every, On]


# --- actions ------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One action of ``do``, ``on_enter`` or ``on_exit``.

    ``params`` maps each given parameter to its checked value: an
    ``Expression`` for expression-valued parameters (``amount``, ``percent``,
    ``min``, ``max``, ``until``, ``first``, ``down_payment``, ``to``, custom
    params), a ``str`` for names (``template``, ``of``, ``to`` of escalate,
    ``kind``, ``assign``, ``note``, ``name``), a ``tuple[str, ...]`` for
    ``via``, an ``int`` for ``installments`` and ``basis``, a ``Duration`` for
    ``every``, and for ``custom`` a ``tuple[tuple[str, Expression], ...]``.
    Parameters the author did not write are absent (defaults are applied by
    the compiler), so converting between forms never adds text.
    """

    kind: str
    params: tuple[tuple[str, Any], ...] = ()
    location: Location | None = _loc()

    def get(self, name: str, default: Any = None) -> Any:
        for key, value in self.params:
            if key == name:
                return value
        return default

    @cached_property
    def param_dict(self) -> dict[str, Any]:
        """The parameters as a dict (computed once; do not mutate)."""
        return dict(self.params)


# --- rules and states ---------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A rule of a state (or of ``any_state``).

    ``name`` is always set (``<state>.<index>`` when the author gave none;
    ``named`` tells whether the author wrote it). ``trigger`` is None for a
    condition rule. ``except_`` is only used by ``any_state`` rules.
    """

    name: str
    trigger: Trigger | None = None
    when: Any = None
    unless: Any = None
    do: tuple[Action, ...] = ()
    goto: str | None = None
    expires: Duration | None = None
    except_: tuple[str, ...] = ()
    named: bool = False
    location: Location | None = _loc()

    @property
    def is_condition(self) -> bool:
        return self.trigger is None


@dataclass(frozen=True)
class State:
    name: str
    initial: bool = False
    final: bool = False
    on_enter: tuple[Action, ...] = ()
    on_exit: tuple[Action, ...] = ()
    rules: tuple[Rule, ...] = ()
    location: Location | None = _loc()


# --- contact rules and rates --------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Contact allowed on ``days`` (0 = Monday ... 6 = Sunday) from ``start`` to ``end`` local time.

    ``spec`` keeps the day range as written (``mon-fri``) for printing.
    """

    spec: str
    days: tuple[int, ...]
    start: _dt.time
    end: _dt.time


@dataclass(frozen=True)
class Limit:
    """``{max: N, per: DURATION}`` or ``{gap: DURATION}``, for ``via`` channels (None: all channels)."""

    max: int | None = None
    per: Duration | None = None
    gap: Duration | None = None
    via: tuple[str, ...] | None = None
    location: Location | None = _loc()


@dataclass(frozen=True)
class Contact:
    windows: tuple[Window, ...] = ()
    holidays: bool = True  # False: no contact on the calendar's holidays
    limits: tuple[Limit, ...] = ()
    compliance: tuple[str, ...] = ()


@dataclass(frozen=True)
class RateTable:
    """A dated reference rate: a CSV path (relative to the policy file) or inline (date, value) pairs.

    ``location`` is where the path (or the inline table) is written, for errors about the file.
    """

    name: str
    path: str | None = None
    values: tuple[tuple[_dt.date, Any], ...] = ()
    location: Location | None = _loc()


# --- the policy ---------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    id: str
    version: int
    states: tuple[State, ...]
    description: str | None = None
    scope: str = "invoice"
    timezone: str = "UTC"
    calendar: str | None = None
    currency: str | None = None
    send_at: _dt.time = _dt.time(9, 0)
    allocation: tuple[str, ...] = ALLOCATION_PARTS
    segments: tuple[tuple[str, Any], ...] = ()
    any_state: tuple[Rule, ...] = ()
    contact: Contact | None = None
    rates: tuple[RateTable, ...] = ()
    # ``invariants:`` NAME -> boolean Expression that must hold after every step
    # (checked by ``dunning check`` and scenario tests; see docs/testing.md).
    invariants: tuple[tuple[str, Any], ...] = ()
    # Where the policy was read from (file path or None); not part of equality.
    path: str | None = field(default=None, compare=False)
    source: Any = field(default=None, compare=False, repr=False)
    # The folder that rate table files are read from and confined to (absolute; None for a policy
    # given as text: see docs/decisions.md). Set by ``load_policy``; not part of equality.
    folder: str | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    @cached_property
    def _states_by_name(self) -> dict[str, State]:
        by_name: dict[str, State] = {}
        for s in self.states:
            by_name.setdefault(s.name, s)  # the first of duplicates, as a scan would find
        return by_name

    def state(self, name: str) -> State:
        """The state named ``name`` (KeyError when there is none); a dict lookup, not a scan."""
        return self._states_by_name[name]

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states)

    @property
    def initial_state(self) -> State:
        return next(s for s in self.states if s.initial)

    def shared_rules(self, state: str) -> tuple[Rule, ...]:
        """The ``any_state`` rules that apply to ``state`` (all of them unless its name is in their
        ``except``). States named in no ``except`` share one tuple, so asking for every state of a
        large policy costs no more than the rules themselves."""
        if state not in self._excepted:
            return self.any_state
        return tuple(r for r in self.any_state if state not in r.except_)

    @cached_property
    def _excepted(self) -> frozenset[str]:
        return frozenset(name for r in self.any_state for name in r.except_)

    def rules_of(self, state: str) -> tuple[Rule, ...]:
        """The rules tried for ``state``: applicable ``any_state`` rules first, then its own."""
        s = self.state(state)
        if s.final:
            return ()
        shared = self.shared_rules(state)
        return shared + s.rules if s.rules else shared
