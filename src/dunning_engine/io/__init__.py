"""Reading input records and writing output records (SPEC §4).

- :func:`read_invoices`, :func:`read_customers`, :func:`read_events`: lazy,
  validating readers for CSV and JSONL; invalid records go to a :class:`Rejects`.
- :func:`dumps_record` and :class:`JsonlWriter`: deterministic JSONL output.
"""

from .readers import Rejects, parse_date, parse_instant, read_customers, read_events, read_invoices
from .writers import JsonlWriter, decimal_text, dumps_record

__all__ = [
    "Rejects",
    "read_invoices",
    "read_customers",
    "read_events",
    "parse_instant",
    "parse_date",
    "dumps_record",
    "decimal_text",
    "JsonlWriter",
]
