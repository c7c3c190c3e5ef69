"""Input records (SPEC §4): their types and the rules they follow, whether read or built in code.

- :class:`Invoice`, :class:`Customer`, :class:`Event`: the record types (``types``).
- :func:`check_invoice`, :func:`check_event`, :func:`check_customer`: check a record built in
  code with the readers' rules (``rules``), raising a ``RecordError`` that names the field.
- :func:`parse_instant`, :func:`parse_date`: the readers' reading of times and dates (``fields``).

Nothing here reads files: that is ``dunning_engine.io``.
"""

from .fields import parse_date, parse_instant
from .rules import check_customer, check_event, check_invoice
from .types import CUSTOMER_FIELDS, EVENT_FIELDS, INVOICE_FIELDS, Checked, Customer, Event, Invoice

__all__ = [
    "Invoice",
    "Customer",
    "Event",
    "Checked",
    "CUSTOMER_FIELDS",
    "INVOICE_FIELDS",
    "EVENT_FIELDS",
    "check_invoice",
    "check_event",
    "check_customer",
    "parse_instant",
    "parse_date",
]
