"""The vocabulary of policies and records, in one place: action kinds, channels, events, packs.

Every part of the library that names an action kind, a parameter, a channel, an event type or a
compliance pack reads it here: the policy builder (which parameters an action takes, of which type,
which are required), the DSL reader and its messages (how an action is spelled, which option words
go with it), the printers (how each parameter is written back), the IR, the compiler and the engine
(which actions carry money, which contact the customer), the record readers (event types and their
fields, channels) and the test strategies. ``tests/test_vocabulary.py`` checks that the grammar
and the docs' tables agree with it.

Adding an action kind: an :class:`ActionKind` below (its parameters, their types, its DSL head and
option words), its rule in ``grammar/dsl.lark`` (the head as written here, then ``option*``), its
rows in the actions tables of ``docs/policy-language.md`` and ``docs/dsl.md``, and what it does in
``engine/actions.py``. Checking, reading, printing and describing it need nothing more, but the
checks of amounts that are particular to a kind (``policy/build_actions.py``). Adding an input event:
an :class:`EventType`, its row in the events table of ``docs/policy-language.md``, its handling in
the engine (``engine/core.py``) and, when it has fields of its own, in ``records/rules.py``.

This module imports nothing of the library but ``values``, so ``policy``, ``engine``, ``io`` and
``compliance`` may all import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from .values import Duration

if TYPE_CHECKING:  # pragma: no cover
    from .compliance.base import Pack

__all__ = [
    "CHANNELS",
    "DEFAULT_CHANNELS",
    "VOICE_CHANNELS",
    "CONTACT_TASKS",
    "CONTACT_OUTCOMES",
    "WEEKDAYS",
    "EventType",
    "EVENTS",
    "EVENT_TYPES",
    "DERIVED_EVENTS",
    "EVENT_FIELDS",
    "Param",
    "ActionKind",
    "ACTIONS",
    "ACTION_KINDS",
    "MONEY_ACTIONS",
    "PARAM_TYPES",
    "EXPRESSION_TYPES",
    "action_kind",
    "contact_channels",
    "needs_case_values",
    "compliance_packs",
    "compliance_pack_names",
]


# ---------------------------------------------------------------------------
# channels
# ---------------------------------------------------------------------------

CHANNELS: tuple[str, ...] = ("email", "sms", "whatsapp", "letter", "call", "portal")
"""The channels of ``remind: {via: ...}``, of contact limits and of ``contact_outcome`` events."""

DEFAULT_CHANNELS: tuple[str, ...] = ("email",)
"""The channels of a ``remind`` that gives no ``via``."""

VOICE_CHANNELS: tuple[str, ...] = ("call",)
"""The channels that are a conversation rather than a written message (compliance packs)."""

CONTACT_TASKS: tuple[str, ...] = ("call", "visit")
"""Task kinds that contact the customer; such a task counts as a contact through a channel of its name."""

CONTACT_OUTCOMES: tuple[str, ...] = ("delivered", "bounced", "opened", "replied")
"""The outcomes SPEC §4 names for ``contact_outcome`` events (any text is accepted)."""

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Day names of contact windows, Monday first (0 = Monday, as ``datetime.weekday``)."""


# ---------------------------------------------------------------------------
# events (SPEC §4)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EventType:
    """An event type: its fields besides ``type``, ``at`` and ``id``.

    A ``derived`` event is raised by the engine itself and never read from input; its ``optional``
    fields are the ones the engine gives it (``event.<field>`` in an ``on:`` rule).
    """

    name: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    derived: bool = False

    @property
    def fields(self) -> tuple[str, ...]:
        return self.required + self.optional


_EVENTS = (
    EventType("invoice_issued", ("invoice",)),
    EventType("payment", ("invoice", "amount"), ("method", "currency")),
    EventType("payment_failed", ("invoice",), ("reason",)),
    EventType("credit_note", ("invoice", "amount"), ("currency", "reason")),
    EventType("promise_to_pay", ("invoice", "date"), ("amount", "currency")),
    EventType("dispute_opened", ("invoice",), ("reason",)),
    EventType("dispute_resolved", ("invoice",), ("outcome",)),
    EventType("plan_accepted", ("invoice",)),
    EventType("contact_outcome", ("channel", "outcome"), ("invoice", "customer")),
    EventType("customer_updated", ("customer", "fields")),
    EventType("hold", (), ("invoice", "customer", "reason")),
    EventType("release", (), ("invoice", "customer")),
    EventType("invoice_cancelled", ("invoice",), ("reason",)),
    EventType("promise_kept", (), ("invoice", "customer", "date", "amount"), derived=True),
    EventType("promise_broken", (), ("invoice", "customer", "date", "amount"), derived=True),
    EventType("plan_installment_missed", (), ("invoice", "customer", "installment", "date", "amount"), derived=True),
    EventType("plan_completed", (), ("invoice", "customer", "installments", "paid_count", "missed_count"),
              derived=True),
)

EVENTS: Mapping[str, EventType] = MappingProxyType({e.name: e for e in _EVENTS})
"""Every event type by name, input events first (in the order of SPEC §4), then the derived ones."""

EVENT_TYPES: tuple[str, ...] = tuple(e.name for e in _EVENTS if not e.derived)
"""The event types read from input."""

DERIVED_EVENTS: tuple[str, ...] = tuple(e.name for e in _EVENTS if e.derived)
"""The event types the engine raises itself (``on:`` may name them; input may not)."""

EVENT_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    e.name: (e.required, e.optional) for e in _EVENTS if not e.derived}
"""Input event type -> (required fields, optional fields), besides type, at and id."""


# ---------------------------------------------------------------------------
# action kinds (SPEC §1 "Actions")
# ---------------------------------------------------------------------------

# The types of action parameters. Expression types are compiled against the policy's variables.
MONEY = "money"  # an expression giving money, in the policy's currency (or the case's)
PERCENT = "percent"  # an expression giving a percent
MONEY_OR_PERCENT = "money or percent"
DATE = "date"  # an expression giving a date or a datetime
TEXT_EXPRESSION = "text expression"  # an expression giving text (null allowed)
NAME = "name"  # a name: letters, digits, '_', '.', '-'
TEXT = "text"  # any text
CHANNEL_LIST = "channel list"  # one channel or a list of CHANNELS
INT = "int"  # a whole number (``minimum``, or one of ``choices``)
ENUM = "enum"  # one of ``choices``
DURATION = "duration"  # a fixed duration longer than zero
EXPRESSION_MAP = "expression map"  # NAME -> expression (custom parameters)

EXPRESSION_TYPES = frozenset({MONEY, PERCENT, MONEY_OR_PERCENT, DATE, TEXT_EXPRESSION})
PARAM_TYPES = EXPRESSION_TYPES | {NAME, TEXT, CHANNEL_LIST, INT, ENUM, DURATION, EXPRESSION_MAP}


@dataclass(frozen=True)
class Param:
    """A parameter of an action kind.

    ``option`` is its DSL option word (``via``, ``of``, ...), written after the action's head in
    any order (an expression map, after its word: ``with NAME = EXPR, ...``); a parameter without
    one is written in the head (``ActionKind.head``). ``form`` is the option as messages show it.
    ``expects`` is what a message says is missing after the parameter's DSL word (``(what,
    example)``) where that differs from the word's meaning elsewhere (``max`` of a fee is an
    amount, of ``every`` a count). ``default`` is what the engine uses when it is not written.
    """

    name: str
    type: str
    required: bool = False
    choices: tuple[Any, ...] = ()
    minimum: int | None = None
    default: Any = None
    option: str | None = None
    form: str | None = None
    expects: tuple[str, str] | None = None
    only_with: str | None = None  # given only together with this parameter
    dsl_quoted: bool = False  # a NAME the DSL writes as a quoted text (remind "first_notice")
    yaml_quoted: bool = False  # a TEXT the YAML printer always quotes

    @property
    def is_expression(self) -> bool:
        return self.type in EXPRESSION_TYPES


@dataclass(frozen=True)
class ActionKind:
    """An action kind: its parameters (in canonical order) and how it is spelled and handled.

    ``dsl`` is how the DSL names it (``offer plan``); ``head`` what follows that name before any
    option, ``{param}`` standing for a parameter's value and ``{a|b}`` for one of two (the reader
    tells a percent from an amount). ``money``: its output carries ``amount`` (SPEC §4).
    ``reads_case``: building it reads the case's values. ``contact``: how it contacts the customer,
    ``"via"`` (through its channels) or ``"kind"`` (a task whose kind is one of CONTACT_TASKS).
    ``one_of``: exactly one of these parameters is given. ``main``: the parameter summaries show first.
    """

    name: str
    params: tuple[Param, ...] = ()
    dsl: str = ""
    head: str = ""
    money: bool = False
    reads_case: bool = False
    contact: str | None = None
    one_of: tuple[str, ...] = ()
    one_of_help: str | None = None
    main: str | None = None

    @cached_property
    def _by_name(self) -> dict[str, Param]:
        return {p.name: p for p in self.params}

    def param(self, name: str) -> Param | None:
        return self._by_name.get(name)

    def param_default(self, name: str) -> Any:
        """The default of parameter ``name`` (KeyError when the kind has no such parameter)."""
        return self._by_name[name].default

    @cached_property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @cached_property
    def required(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params if p.required)

    @cached_property
    def options(self) -> dict[str, Param]:
        """DSL option word -> its parameter, in canonical order."""
        return {p.option: p for p in self.params if p.option is not None}

    @property
    def keyword(self) -> str:
        """The first word of the DSL spelling (the grammar's keyword that starts the action)."""
        return self.dsl.split()[0]

    @cached_property
    def layout(self) -> tuple[tuple[bool, tuple[str, ...]], ...]:
        """The DSL name and head as pieces, in order: ``(False, (word,))`` for a keyword,
        ``(True, (param, ...))`` for a value, with its alternatives (``("percent", "amount")``)."""
        pieces: list[tuple[bool, tuple[str, ...]]] = [(False, (w,)) for w in self.dsl.split()]
        for part in self.head.split():
            if part.startswith("{"):
                pieces.append((True, tuple(part[1:-1].split("|"))))
            else:
                pieces.append((False, (part,)))
        return tuple(pieces)

    def param_after(self, word: str) -> Param | None:
        """The parameter whose value follows DSL ``word`` in this action (an option word, or the
        word of the head just before a value), or None."""
        option = self.options.get(word)
        if option is not None:
            return option
        before = None
        for is_value, names in self.layout:
            if is_value and before == word:
                return self.param(names[0])
            before = None if is_value else names[0]
        return None


def _p(name: str, type: str, **kw: Any) -> Param:
    return Param(name, type, **kw)


_NOTE = _p("note", TEXT, option="note", form='note "TEXT"', yaml_quoted=True)

_ACTIONS = (
    ActionKind(
        "remind",
        (_p("template", NAME, required=True, dsl_quoted=True),
         _p("via", CHANNEL_LIST, default=DEFAULT_CHANNELS, option="via", form="via CHANNEL, ..."),
         _p("to", TEXT_EXPRESSION, option="to", form="to EXPR",
            expects=("an expression giving the address", 'remind "x" to customer.email'))),
        dsl="remind", head="{template}", contact="via", main="template"),
    ActionKind(
        "fee",
        (_p("amount", MONEY),
         _p("percent", PERCENT),
         _p("of", ENUM, choices=("balance", "principal", "amount"), default="balance", option="of",
            form="of balance|principal|amount", only_with="percent"),
         _p("min", MONEY, option="min", form="min MONEY"),
         _p("max", MONEY, option="max", form="max MONEY", expects=("an amount", "fee 2% of balance max 100000 CLP"))),
        dsl="fee", head="{amount|percent}", money=True, reads_case=True, one_of=("amount", "percent"),
        one_of_help="for example {amount: 5000 CLP} or {percent: 2%, of: balance}"),
    ActionKind(
        "interest",
        (_p("annual_rate", PERCENT, required=True),
         _p("basis", INT, choices=(365, 360), default=365, option="basis", form="basis 360"),
         _p("on", ENUM, choices=("principal", "balance"), default="principal", option="on", form="on balance",
            expects=("balance or principal", "interest 24% per year on balance"))),
        dsl="interest", head="{annual_rate} per year", money=True, reads_case=True),
    ActionKind(
        "discount",
        (_p("percent", PERCENT),
         _p("amount", MONEY),
         _p("until", DATE, required=True)),
        dsl="discount", head="{percent|amount} until {until}", money=True, reads_case=True,
        one_of=("amount", "percent")),
    ActionKind(
        "offer_plan",
        (_p("installments", INT, required=True, minimum=1),
         _p("every", DURATION, default=Duration(30, "days"), option="every", form="every DURATION",
            expects=("a duration", "offer plan 3 installments every 30 days")),
         _p("first", DATE, option="first", form="first DATE"),  # default: today + 7 days
         _p("down_payment", MONEY_OR_PERCENT, option="down", form="down PERCENT|MONEY")),
        dsl="offer plan", head="{installments} installments", money=True, reads_case=True),
    ActionKind(
        "escalate",
        (_p("to", NAME, required=True, expects=("who to escalate to", "escalate to legal")),
         _NOTE),
        dsl="escalate", head="to {to}", main="to"),
    ActionKind(
        "task",
        (_p("kind", NAME, required=True),
         _p("assign", TEXT, option="assign", form='assign "TEAM"'),
         _NOTE),
        dsl="task", head="{kind}", contact="kind", main="kind"),
    ActionKind("suspend", dsl="suspend"),
    ActionKind("resume", dsl="resume"),
    ActionKind("write_off", dsl="write off", money=True, reads_case=True),
    ActionKind(
        "custom",
        (_p("name", TEXT, required=True),
         _p("params", EXPRESSION_MAP, option="with", form="with NAME = EXPR, ...")),
        dsl="custom", head="{name}", reads_case=True, main="name"),
)

ACTIONS: Mapping[str, ActionKind] = MappingProxyType({a.name: a for a in _ACTIONS})
"""Every action kind by name, in the order of SPEC §1."""

ACTION_KINDS: tuple[str, ...] = tuple(ACTIONS)

MONEY_ACTIONS: frozenset[str] = frozenset(a.name for a in _ACTIONS if a.money)
"""The action kinds whose output carries ``amount``."""


def action_kind(name: str) -> ActionKind:
    """The action kind ``name`` (KeyError when there is none)."""
    return ACTIONS[name]


def needs_case_values(kind: str, params: Iterable[str]) -> bool:
    """True when building an action of ``kind`` with the parameters ``params`` reads the case."""
    spec = ACTIONS[kind]
    if spec.reads_case:
        return True
    return any((p := spec.param(name)) is not None and p.is_expression for name in params)


_CONTACT = {a.name: a.contact for a in _ACTIONS if a.contact is not None}


def contact_channels(kind: str, params: Mapping[str, Any]) -> list[str] | None:
    """The channels through which an action of ``kind`` with ``params`` contacts the customer
    (each once, in order), or None when it is no contact (``params``: the policy's or the output's)."""
    contact = _CONTACT.get(kind)
    if contact == "via":
        return list(dict.fromkeys(params.get("via") or DEFAULT_CHANNELS))
    if contact == "kind":
        task = params.get("kind")
        if task in CONTACT_TASKS:
            return [task]
    return None


# ---------------------------------------------------------------------------
# compliance packs
# ---------------------------------------------------------------------------


def compliance_packs() -> Mapping[str, "Pack"]:
    """The compliance packs by code (``contact: {compliance: [CODE, ...]}``): ``compliance.PACKS``,
    each defined in its own module of ``dunning_engine.compliance``."""
    from .compliance import PACKS

    return PACKS


def compliance_pack_names() -> tuple[str, ...]:
    """The codes of the compliance packs, in the order messages list them."""
    return tuple(compliance_packs())
