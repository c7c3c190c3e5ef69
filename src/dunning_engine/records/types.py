"""The records that flow into the engine: invoices, customers and events (SPEC §4).

They are plain slotted objects: the readers in ``dunning_engine.io`` build them
from CSV/JSONL with validation, and embedding code can build them directly
(the engine then checks them with the same rules, see ``records.rules``).
Money is ``Decimal``; times are timezone-aware ``datetime``; dates are local
to the policy.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..vocabulary import EVENT_FIELDS  # type -> (required, optional fields), besides type, at, id

__all__ = ["Invoice", "Customer", "Event", "Checked", "CUSTOMER_FIELDS", "INVOICE_FIELDS", "EVENT_FIELDS"]

INVOICE_FIELDS = ("id", "customer", "amount", "currency", "issued", "due")
CUSTOMER_FIELDS = ("id", "name", "email", "phone", "language", "country", "timezone", "segment")


class Checked(tuple):
    """The ``origin`` of a record that passed the checks of ``records.rules``: ``(file, line)``.

    The readers, and the checks of records built in code, give one to each record they accept:
    the engine takes a record whose ``origin`` is ``Checked`` as it is, and checks any other
    (built in code) first, so that a record is checked once.
    """

    __slots__ = ()


@dataclass(slots=True)
class Invoice:
    id: str
    customer: str
    amount: Decimal
    currency: str
    issued: _dt.date
    due: _dt.date
    attrs: dict[str, Any] = field(default_factory=dict)
    # (file, line) for messages; where a record came from is not part of its value
    origin: tuple[str | None, int | None] = field(default=(None, None), compare=False, repr=False)

    def as_record(self) -> dict[str, Any]:
        """The ``invoice`` variable of expressions: known fields plus extra attributes."""
        from ..values import Money

        rec = dict(self.attrs)
        rec.update(id=self.id, customer=self.customer, amount=Money(self.amount, self.currency),
                   currency=self.currency, issued=self.issued, due=self.due)
        return rec


@dataclass(slots=True)
class Customer:
    id: str
    attrs: dict[str, Any] = field(default_factory=dict)
    origin: tuple[str | None, int | None] = field(default=(None, None), compare=False, repr=False)

    def as_record(self) -> dict[str, Any]:
        rec = dict(self.attrs)
        rec["id"] = self.id
        return rec


@dataclass(slots=True)
class Event:
    """An event for a case. ``seq`` is its position in the input (ties at one instant keep it)."""

    type: str
    at: _dt.datetime
    id: str | None = None
    invoice: str | None = None
    customer: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    date: _dt.date | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    new_invoice: Invoice | None = None  # for invoice_issued
    seq: int = 0
    origin: tuple[str | None, int | None] = (None, None)  # (file, line) for messages
    # a store run: the event came after the store's clock had passed its 'at' and was applied at
    # that clock (SPEC §8 "Late records"); its ledger effect keeps its own date
    late: bool = False

    def as_record(self) -> dict[str, Any]:
        """The ``event`` variable of expressions."""
        from ..values import Money

        rec: dict[str, Any] = dict(self.fields)
        rec.update(type=self.type, at=self.at, id=self.id, invoice=self.invoice, customer=self.customer, date=self.date)
        if self.amount is not None and self.currency is not None:
            rec["amount"] = Money(self.amount, self.currency)
        return rec
