"""The one JSON shape of ``--format json`` (docs/cli.md).

Every command that takes ``--format json`` prints one JSON document on standard output::

    {"version": 1, "command": "lint", "ok": false,
     "summary": {"errors": 1, "warnings": 7, "notes": 0, ...},
     "diagnostics": [{"severity", "code", "message", "file", "line", "column", "end_line",
                      "end_column", "help", "field", "case", "notes"}, ...],
     ...what the command found (policies, results, trace...)}

``ok`` is true exactly when the command exits 0. ``diagnostics`` lists everything that went wrong
or deserves a look, each a :class:`~dunning_engine.errors.Diagnostic`; ``summary`` counts them by
severity, next to the command's own counts. An error that stops a command (a policy that does not
load, a file that cannot be read) is printed the same way, with ``ok`` false.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from ..errors import Diagnostic

__all__ = ["VERSION", "DIAGNOSTIC_KEYS", "counts", "document", "render"]

VERSION = 1

# The keys of every diagnostic, in order (Diagnostic.to_dict).
DIAGNOSTIC_KEYS = ("severity", "code", "message", "file", "line", "column", "end_line", "end_column", "help",
                   "field", "case", "notes")


def counts(diagnostics: Iterable[Diagnostic]) -> dict[str, int]:
    """How many diagnostics of each severity: ``errors``, ``warnings``, ``notes``."""
    out = {"errors": 0, "warnings": 0, "notes": 0}
    for d in diagnostics:
        out[d.severity + "s"] += 1
    return out


def document(command: str, diagnostics: Iterable[Diagnostic], *, ok: bool, summary: dict[str, Any] | None = None,
             **fields: Any) -> dict[str, Any]:
    """The document of ``command``: the common keys, then the command's own ``fields``."""
    diagnostics = list(diagnostics)
    doc: dict[str, Any] = {"version": VERSION, "command": command, "ok": ok,
                           "summary": {**counts(diagnostics), **(summary or {})},
                           "diagnostics": [d.to_dict() for d in diagnostics]}
    for key, value in fields.items():
        if key in doc:
            raise ValueError(f"'{key}' is a key every document has")
        doc[key] = value
    return doc


def render(doc: dict[str, Any]) -> str:
    """The document as text (indented; record values written as in actions: decimals as strings)."""
    from ..io.writers import json_value

    def default(obj: Any) -> Any:
        try:
            return json_value(obj)
        except TypeError:  # anything else a command's result holds: as text
            return str(obj)

    return json.dumps(doc, ensure_ascii=False, indent=2, default=default)
