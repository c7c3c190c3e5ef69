"""dunning-engine: collection policies as readable, testable code.

The public API is what ``__all__`` lists; everything else is private and may change.
"""

from ._version import __version__
from .errors import Diagnostic, DunningError, EngineError, Location, PolicyError, PolicyErrors, RecordError, Source
from .policy.ir import Policy
from .policy.load import load_policy, load_policy_text
from .values import Duration, Money, Percent
from .engine.core import Engine
from .engine.records import Customer, Event, Invoice
from .engine.runner import Result, simulate

__all__ = [
    "__version__",
    "load_policy",
    "load_policy_text",
    "Policy",
    "Engine",
    "simulate",
    "Result",
    "Invoice",
    "Customer",
    "Event",
    "Money",
    "Percent",
    "Duration",
    "Diagnostic",
    "DunningError",
    "PolicyError",
    "PolicyErrors",
    "RecordError",
    "EngineError",
    "Location",
    "Source",
]
