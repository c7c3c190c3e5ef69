"""Static types of the expression language.

Types are small immutable values. The scalar types are singletons
(``NUMBER``, ``DATE``...); ``MoneyType`` carries a currency (``None`` means
"the case's currency, known only at run time"), ``ListType`` an element type
and ``RecordType`` its known fields. ``ANY`` is the type of an attribute the
schema does not know: it is compatible with everything and the run time decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

__all__ = [
    "Type",
    "ScalarType",
    "MoneyType",
    "ListType",
    "RecordType",
    "NUMBER",
    "MONEY",
    "PERCENT",
    "DATE",
    "DATETIME",
    "DURATION",
    "TEXT",
    "BOOL",
    "NULL",
    "ANY",
    "money",
    "list_of",
    "record",
    "describe",
    "is_assignable",
]


class Type:
    """Base class of every expression type."""

    __slots__ = ()

    @property
    def kind(self) -> str:
        """The family of the type: number, money, percent, date, datetime, duration, text,
        bool, null, list, record or any."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class ScalarType(Type):
    """A type without parameters (number, date, text...)."""

    name: str

    @property
    def kind(self) -> str:
        return self.name

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class MoneyType(Type):
    """Money in ``currency``; ``None`` is the case's currency (known at run time)."""

    currency: str | None = None

    @property
    def kind(self) -> str:
        return "money"

    def __str__(self) -> str:
        return f"money ({self.currency})" if self.currency else "money"


@dataclass(frozen=True, slots=True)
class ListType(Type):
    """A list whose elements have type ``element``."""

    element: Type

    @property
    def kind(self) -> str:
        return "list"

    def __str__(self) -> str:
        return "list" if self.element is ANY else f"list of {self.element}"


@dataclass(frozen=True, slots=True)
class RecordType(Type):
    """A record (``invoice``, ``customer``...) with known typed fields.

    An ``open`` record also allows any other lower-case attribute, typed ``ANY``.
    ``fields`` is a tuple of ``(name, type)`` pairs, kept sorted.
    """

    name: str
    fields: tuple[tuple[str, Type], ...]
    open: bool = False

    @property
    def kind(self) -> str:
        return "record"

    def field(self, name: str) -> Type | None:
        """The type of field ``name``: its declared type, ANY for an unknown field of an
        open record, or None when a closed record has no such field."""
        for key, typ in self.fields:
            if key == name:
                return typ
        return ANY if self.open else None

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.fields)

    def __str__(self) -> str:
        return f"record '{self.name}'"


NUMBER = ScalarType("number")
PERCENT = ScalarType("percent")
DATE = ScalarType("date")
DATETIME = ScalarType("datetime")
DURATION = ScalarType("duration")
TEXT = ScalarType("text")
BOOL = ScalarType("bool")
NULL = ScalarType("null")
ANY = ScalarType("any")
#: Money of any currency (as an ``expect``), or of the case's currency (as a variable's type).
MONEY = MoneyType(None)


def money(currency: str | None = None) -> MoneyType:
    """``MoneyType(currency)``."""
    return MoneyType(currency)


def list_of(element: Type) -> ListType:
    """``ListType(element)``."""
    return ListType(element)


def record(name: str, fields: Mapping[str, Type] | Iterable[tuple[str, Type]], open: bool = False) -> RecordType:
    """A RecordType from a mapping or pairs of field names and types."""
    items = fields.items() if isinstance(fields, Mapping) else fields
    return RecordType(name, tuple(sorted(items)), open)


def describe(t: Type | tuple[Type, ...]) -> str:
    """A readable name for a type or an alternative of types: ``date or datetime``."""
    if isinstance(t, tuple):
        names = [str(x) for x in t]
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    return str(t)


def is_assignable(actual: Type, expected: Type) -> bool:
    """Whether a value of type ``actual`` may be used where ``expected`` is wanted.

    ANY and NULL fit everywhere (the run time decides); expected money without a
    currency accepts money of any currency.
    """
    if actual is ANY or actual is NULL or expected is ANY:
        return True
    if isinstance(expected, MoneyType):
        return isinstance(actual, MoneyType) and (
            expected.currency is None or actual.currency in (None, expected.currency))
    if isinstance(expected, ListType):
        return isinstance(actual, ListType) and is_assignable(actual.element, expected.element)
    if isinstance(expected, RecordType):
        return isinstance(actual, RecordType) and actual.name == expected.name
    return actual == expected
