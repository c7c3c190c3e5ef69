"""The record types, where the engine has always offered them (they live in ``dunning_engine.records``)."""

from ..records.types import CUSTOMER_FIELDS, EVENT_FIELDS, INVOICE_FIELDS, Customer, Event, Invoice

__all__ = ["Invoice", "Customer", "Event", "CUSTOMER_FIELDS", "INVOICE_FIELDS", "EVENT_FIELDS"]
