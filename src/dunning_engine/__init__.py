"""dunning-engine: collection policies as readable, testable code."""
from ._version import __version__
from .errors import DunningError, EngineError, PolicyError, PolicyErrors, RecordError

__all__ = ["__version__", "DunningError", "PolicyError", "PolicyErrors", "RecordError", "EngineError"]
