"""What a scenario file is once read (its cases and their expectations), and what a case gives."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import Diagnostic, Location

if TYPE_CHECKING:
    from ...policy.ir import Policy
    from ...policy.nodes import MapNode

__all__ = ["Expected", "Expectation", "ScenarioCase", "ScenarioFile", "CaseResult"]


@dataclass
class Expected:
    """One expected action: the fields it names (plain values) and where it was written."""

    fields: dict[str, Any]
    location: Location | None = None
    text: str = ""  # the fields as written, for diffs

    @property
    def line(self) -> int | None:
        return self.location.line if self.location else None


@dataclass
class Expectation:
    actions: list[Expected] | None = None
    contains: list[Expected] = field(default_factory=list)
    excludes: list[Expected] = field(default_factory=list)
    states: list[tuple[str, str, Location | None]] = field(default_factory=list)
    balances: list[tuple[str, Decimal, str, Location | None]] = field(default_factory=list)
    errors: list[tuple[str, Location | None]] | None = None
    invariants: bool = True


@dataclass
class ScenarioCase:
    name: str
    file: ScenarioFile
    # Each a list of records as plain values, or the path of a records file (CSV or JSONL).
    invoices: list[dict] | str
    customers: list[dict] | str
    events: list[dict] | str
    until: str
    since: str | None = None
    description: str | None = None
    expect: Expectation = field(default_factory=Expectation)
    location: Location | None = None
    # (list, 1-based index) -> the mapping the record was written as, to point at a rejected record
    record_locations: dict[tuple[str, int], MapNode] = field(default_factory=dict, repr=False)

    @property
    def id(self) -> str:
        return f"{self.file.display}::{self.name}"

    @property
    def line(self) -> int | None:
        return self.location.line if self.location else None


@dataclass
class ScenarioFile:
    path: Path
    display: str
    policy_path: Path
    policy: Policy
    description: str | None = None
    cases: list[ScenarioCase] = field(default_factory=list)


@dataclass
class CaseResult:
    """The outcome of one case. ``status`` is 'passed', 'failed' or 'error' (the file could not be loaded)."""

    id: str
    file: str
    name: str
    status: str
    failures: list[str] = field(default_factory=list)
    line: int | None = None
    duration: float = 0.0
    policy: Policy | None = None
    policy_path: str | None = None
    fired: set[str] = field(default_factory=set)
    entered: set[str] = field(default_factory=set)
    emitted: set[str] = field(default_factory=set)
    actions: list[dict] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)  # status 'error': why the file could not load

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def report(self) -> str:
        """The failure text: every problem of the case, diffs included."""
        head = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        if self.status == "error":
            return "\n".join(self.failures)
        return head + f"case '{self.name}' failed\n" + "\n".join(self.failures)

    def to_dict(self) -> dict:
        return {"id": self.id, "file": self.file, "case": self.name, "line": self.line, "status": self.status,
                "duration": round(self.duration, 4), "failures": self.failures}
