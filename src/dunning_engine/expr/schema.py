"""What an expression may read: the variables of a case and their types (SPEC §2).

A :class:`Schema` holds the variables (name to type), the policy's segment
names (bool variables), the policy currency (for money literals written
without a code), the scope and whether ``event`` is available (only inside
``on:`` rules). :func:`policy_schema` builds the schema of a policy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Iterable, Mapping

from ..errors import PolicyError
from ..values import is_currency
from .types import ANY, BOOL, DATE, DATETIME, MONEY, NUMBER, TEXT, Type, record

__all__ = [
    "Schema",
    "policy_schema",
    "SCOPES",
    "INVOICE",
    "CUSTOMER",
    "EVENT",
    "PROMISE",
    "PLAN",
    "COMMON_VARIABLES",
    "CUSTOMER_SCOPE_VARIABLES",
]

SCOPES = ("invoice", "customer")

INVOICE = record("invoice", {"id": TEXT, "amount": MONEY, "currency": TEXT, "issued": DATE, "due": DATE,
                             "customer": TEXT}, open=True)
CUSTOMER = record("customer", {k: TEXT for k in ("id", "name", "email", "phone", "language", "country",
                                                 "timezone", "segment")}, open=True)
EVENT = record("event", {"type": TEXT, "at": DATETIME, "id": TEXT, "invoice": TEXT, "customer": TEXT,
                         "amount": MONEY, "method": TEXT, "reason": TEXT, "outcome": TEXT, "channel": TEXT,
                         "date": DATE, "fields": ANY}, open=True)
PROMISE = record("promise", {"date": DATE, "amount": MONEY})
PLAN = record("plan", {"next_date": DATE, "next_amount": MONEY, "paid_count": NUMBER, "missed_count": NUMBER,
                       "installments": NUMBER})

COMMON_VARIABLES: Mapping[str, Type] = MappingProxyType({
    "now": DATETIME, "today": DATE, "state": TEXT, "entered": DATETIME, "days_in_state": NUMBER,
    "invoice": INVOICE, "due": DATE, "issued": DATE,
    "balance": MONEY, "principal": MONEY, "paid": MONEY, "fees": MONEY, "interest": MONEY,
    "days_overdue": NUMBER, "days_until_due": NUMBER,
    "customer": CUSTOMER, "event": EVENT, "promise": PROMISE, "plan": PLAN, "reminders": NUMBER,
})
CUSTOMER_SCOPE_VARIABLES: Mapping[str, Type] = MappingProxyType({
    "open_balance": MONEY, "overdue_balance": MONEY, "open_count": NUMBER, "overdue_count": NUMBER,
    "oldest_due": DATE, "oldest_days_overdue": NUMBER,
})

_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
_RESERVED = frozenset({"and", "or", "not", "in", "true", "false", "null"})


@dataclass(frozen=True)
class Schema:
    """The names an expression may read, with their types.

    ``variables`` includes the segments (typed bool) and ``event`` (which only
    resolves when ``event`` is True). Build one with :func:`policy_schema`.
    """

    variables: Mapping[str, Type]
    currency: str
    scope: str = "invoice"
    segments: frozenset[str] = frozenset()
    event: bool = False
    _key: tuple = field(init=False, repr=False, compare=True)

    def __post_init__(self) -> None:
        frozen = MappingProxyType(dict(self.variables))
        object.__setattr__(self, "variables", frozen)
        object.__setattr__(self, "segments", frozenset(self.segments))
        object.__setattr__(self, "_key", tuple(sorted((k, repr(v)) for k, v in frozen.items())))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Schema):
            return NotImplemented
        return (self._key, self.currency, self.scope, self.segments, self.event) == \
            (other._key, other.currency, other.scope, other.segments, other.event)

    def __hash__(self) -> int:
        return hash((self._key, self.currency, self.scope, self.segments, self.event))

    def lookup(self, name: str) -> Type | None:
        """The type of variable ``name`` (None when unknown; ``event`` regardless of availability)."""
        return self.variables.get(name)

    @property
    def names(self) -> frozenset[str]:
        """Every variable and segment name."""
        return frozenset(self.variables)

    def with_event(self) -> "Schema":
        """The same schema inside an ``on:`` rule, where ``event.*`` is available."""
        return Schema(self.variables, self.currency, self.scope, self.segments, True)

    def without_event(self) -> "Schema":
        """The same schema outside ``on:`` rules."""
        return Schema(self.variables, self.currency, self.scope, self.segments, False)

    def with_variables(self, variables: Mapping[str, Type]) -> "Schema":
        """A copy with more (or retyped) variables."""
        merged = dict(self.variables)
        merged.update(variables)
        return Schema(merged, self.currency, self.scope, self.segments, self.event)


def policy_schema(scope: str, currency: str, segments: Iterable[str] = (), event: bool = False) -> Schema:
    """The schema of a policy of ``scope`` ('invoice' or 'customer') in ``currency``.

    ``segments`` are the policy's segment names, each a bool variable. Raises
    PolicyError (without a location: the caller knows where the value was
    written) for an unknown scope or currency, or a segment name that is not a
    lower-case name or that hides a variable.
    """
    if scope not in SCOPES:
        raise PolicyError(f"unknown scope '{scope}'", help="scope is 'invoice' or 'customer'", code="unknown-scope")
    if not isinstance(currency, str) or not is_currency(currency):
        raise PolicyError(f"unknown currency code '{currency}'", help="write an ISO 4217 code, e.g. CLP, USD, EUR",
                          code="unknown-currency")
    variables = dict(COMMON_VARIABLES)
    if scope == "customer":
        variables.update(CUSTOMER_SCOPE_VARIABLES)
    names = []
    for name in segments:
        if not isinstance(name, str) or not _NAME.match(name) or name in _RESERVED:
            raise PolicyError(f"invalid segment name '{name}'",
                              help="a segment name is lower case: letters, digits and '_', starting with a letter,"
                                   " and not a reserved word", code="invalid-name")
        if name in variables:
            raise PolicyError(f"segment '{name}' would hide the variable '{name}'", help="rename the segment",
                              code="segment-hides-variable")
        names.append(name)
    variables.update({name: BOOL for name in names})
    return Schema(variables, currency, scope, frozenset(names), event)

