"""The exception hierarchy of dunning-engine.

Every error a user can cause derives from :class:`DunningError`. Errors about a
policy file carry a :class:`Location` (file, line, column) and render like a
compiler diagnostic::

    policies/b2b.yaml:12:15: error: unknown variable 'balanse'
       12 |         when: balanse > 50000 CLP
          |               ^^^^^^^
    help: did you mean 'balance'?

Errors also subclass the matching built-in (``ValueError``, ``RuntimeError``)
so that embedding code can catch them without importing this module.

Everything the project tells a user about their input — a policy error, a
``validate`` warning, a ``lint`` finding, a compliance warning, a rejected
record, a failed case — is also one :class:`Diagnostic`: a severity, a stable
``code`` (listed in :mod:`dunning_engine.codes`), a message, where it is and a
help line. The exceptions carry theirs (``error.diagnostic``), and
``--format json`` prints them in one shape (docs/cli.md).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Literal, Sequence

__all__ = [
    "Source",
    "Location",
    "Origin",
    "Severity",
    "Diagnostic",
    "DunningError",
    "PolicyError",
    "PolicyErrors",
    "RecordError",
    "EngineError",
    "OutputError",
    "did_you_mean",
]


class Source:
    """A named text (a policy file, or text given directly) used to quote lines in errors."""

    __slots__ = ("name", "text", "_lines")

    def __init__(self, name: str | None, text: str) -> None:
        self.name = name
        self.text = text
        self._lines: list[str] | None = None

    def line(self, number: int) -> str | None:
        """The text of 1-based line ``number`` without its newline, or None."""
        if self._lines is None:
            self._lines = self.text.splitlines()
        if 1 <= number <= len(self._lines):
            return self._lines[number - 1]
        return None

    def location(self, offset: int, length: int = 1) -> "Location":
        """The location of a 0-based character offset in the text."""
        offset = max(0, min(offset, len(self.text)))
        line = self.text.count("\n", 0, offset) + 1
        start = self.text.rfind("\n", 0, offset) + 1
        return Location(self, line, offset - start + 1, length)

    def __repr__(self) -> str:
        return f"Source({self.name!r})"


@dataclass(frozen=True)
class Location:
    """A place in a source: 1-based line and column, and how many characters to underline."""

    source: Source | None
    line: int
    column: int
    length: int = 1

    @property
    def file(self) -> str:
        return (self.source.name if self.source else None) or "<text>"

    def shifted(self, columns: int, length: int | None = None) -> "Location":
        return Location(self.source, self.line, self.column + columns, self.length if length is None else length)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


# An Origin maps an offset inside some text (an expression inside a YAML scalar,
# say) to the Location of that character in the file it came from.
Origin = Callable[[int, int], Location]


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A 'did you mean ...?' help line for a misspelt ``word``, or None."""
    matches = difflib.get_close_matches(word, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None


Severity = Literal["error", "warning", "note"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "note")


@dataclass(frozen=True)
class Diagnostic:
    """One thing said about an input: an error, a warning or a note, with a stable ``code``.

    ``location`` places it in a policy (or scenario) file, with the source line to quote; a record
    has only ``file``, ``line`` and ``field``, a failed case its ``case``. ``file`` and ``line`` are
    taken from ``location`` when it is given. ``notes`` are related diagnostics (severity ``note``).
    The codes, with their meaning and severity, are listed in :mod:`dunning_engine.codes`.
    """

    code: str
    message: str
    severity: Severity = "error"
    location: Location | None = None
    help: str | None = None
    notes: tuple["Diagnostic", ...] = ()
    file: str | None = None
    line: int | None = None
    field: str | None = None
    case: str | None = None

    def __post_init__(self) -> None:
        loc = self.location
        if loc is not None:
            if self.file is None:
                object.__setattr__(self, "file", loc.file)
            if self.line is None:
                object.__setattr__(self, "line", loc.line)

    @property
    def column(self) -> int | None:
        return self.location.column if self.location is not None else None

    @property
    def end(self) -> tuple[int, int] | None:
        """(line, column) just after the last character the diagnostic points at, or None."""
        loc = self.location
        if loc is None:
            return None
        text = loc.source.line(loc.line) if loc.source is not None else None
        length = max(1, loc.length)
        if text is not None:
            width = len(text.expandtabs(1))
            if loc.column <= width:
                length = min(length, width - loc.column + 1)
        return loc.line, loc.column + length

    @property
    def title(self) -> str:
        """The message as text output shows it: numbered codes (``DL003``) add ``[code name]``."""
        from .codes import CODES

        name = CODES[self.code].name if self.code in CODES else None
        return f"{self.message} [{self.code} {name}]" if name else self.message

    def render(self, color: bool = False) -> str:
        """``file:line:col: severity: message``, the source line with a caret, ``help:``, then the notes."""
        out = render_diagnostic(self.title, self.location, self.help, self.severity, color)
        if self.location is None and self.file is not None:
            where = f"{self.file}:{self.line}" if self.line else self.file
            out = f"{where}: {out}"
        return "\n".join([out, *(n.render(color) for n in self.notes)])

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of a diagnostic (docs/cli.md): the same keys for every command."""
        end = self.end
        out: dict[str, Any] = {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "end_line": end[0] if end else None,
            "end_column": end[1] if end else None,
            "help": self.help,
            "field": self.field,
            "case": self.case,
            "notes": [n.to_dict() for n in self.notes],
        }
        return out


class DunningError(Exception):
    """Base class of every error raised by dunning-engine.

    ``code`` is the diagnostic code (:mod:`dunning_engine.codes`), ``diagnostic`` the error as a
    :class:`Diagnostic`; the subclasses say more (a position, a record's field, a case).
    """

    code: str | None = None

    @property
    def diagnostic(self) -> Diagnostic:
        """The error as a :class:`Diagnostic`: its first line (without ``error:``) and its ``help:`` line."""
        lines = str(self).splitlines() or [type(self).__name__]
        message = lines[0].removeprefix("error: ")
        help = next((x.removeprefix("help: ") for x in lines[1:] if x.startswith("help: ")), None)
        return Diagnostic(self.code or "invalid-input", message, "error", None, help)


class PolicyError(DunningError, ValueError):
    """A policy (YAML or DSL) or an expression is invalid.

    Attributes: ``message``, ``location`` (or None), ``help`` (or None), ``code`` (see
    :mod:`dunning_engine.codes`), ``severity``, ``notes``, and the shortcuts ``file``, ``line``,
    ``column``; ``diagnostic`` is all of it as one :class:`Diagnostic`.
    """

    def __init__(
        self,
        message: str,
        location: Location | None = None,
        *,
        help: str | None = None,
        code: str | None = None,
        severity: Severity = "error",
        notes: Sequence[Diagnostic] = (),
    ) -> None:
        self.message = message
        self.location = location
        self.help = help
        self.code = code
        self.severity: Severity = severity
        self.notes = tuple(notes)
        super().__init__(self.render(color=False))

    # -- shortcuts -------------------------------------------------------
    @property
    def file(self) -> str | None:
        return self.location.file if self.location else None

    @property
    def line(self) -> int | None:
        return self.location.line if self.location else None

    @property
    def column(self) -> int | None:
        return self.location.column if self.location else None

    @property
    def errors(self) -> Sequence["PolicyError"]:
        return [self]

    @property
    def diagnostic(self) -> Diagnostic:
        """This error as a :class:`Diagnostic` (code ``invalid-policy`` when it was raised without one)."""
        return Diagnostic(self.code or "invalid-policy", self.message, self.severity, self.location, self.help,
                          self.notes)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """Every error as a :class:`Diagnostic`, in the order of ``errors``."""
        return [e.diagnostic for e in self.errors]

    # -- rendering -------------------------------------------------------
    def render(self, color: bool = False) -> str:
        return self.diagnostic.render(color)

    def to_dict(self) -> dict[str, Any]:
        return self.diagnostic.to_dict()

    def __reduce__(self):  # pragma: no cover - pickling support
        return (PolicyError, (self.message, self.location), {"help": self.help, "code": self.code,
                                                              "severity": self.severity, "notes": self.notes})


class PolicyErrors(PolicyError):
    """Several policy errors found in one pass; ``errors`` lists them in source order."""

    def __init__(self, errors: Sequence[PolicyError]) -> None:
        def key(e: PolicyError) -> tuple[str, int, int]:
            loc = e.location
            return (loc.file, loc.line, loc.column) if loc else ("", 0, 0)

        self._errors = sorted(errors, key=key)
        first = self._errors[0]
        super().__init__(first.message, first.location, help=first.help, code=first.code, severity=first.severity,
                         notes=first.notes)

    @property
    def errors(self) -> Sequence[PolicyError]:
        return self._errors

    def render(self, color: bool = False) -> str:
        errors = getattr(self, "_errors", None)
        if not errors:
            return super().render(color)
        return "\n".join(e.render(color) for e in errors)


class RecordError(DunningError, ValueError):
    """An input record (invoice, customer, event) is invalid.

    Names the file, the line (1-based) and, where known, the field; ``code`` says what kind of
    problem it is (see :mod:`dunning_engine.codes`).
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None, record: Any = None, help: str | None = None,
                 code: str | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        self.record = record
        self.help = help
        self.code = code
        super().__init__(self.render())

    def render(self) -> str:
        where = f"{self.file or '<input>'}:{self.line}" if self.line else (self.file or "<input>")
        what = f" field '{self.field}':" if self.field else ""
        text = f"{where}: rejected:{what} {self.message}"
        if self.help:
            text += f"\nhelp: {self.help}"
        return text

    @property
    def diagnostic(self) -> Diagnostic:
        """This reject as a :class:`Diagnostic` (code ``invalid-record`` when it was raised without one)."""
        return Diagnostic(self.code or "invalid-record", self.message, "error", None, self.help,
                          file=self.file, line=self.line, field=self.field)

    def to_dict(self) -> dict[str, Any]:
        """The line of the rejects file (``--rejects``): the record with why it was rejected."""
        return {"file": self.file, "line": self.line, "field": self.field,
                "reason": self.message, "record": self.record}


class EngineError(DunningError, RuntimeError):
    """A case could not be advanced (for example, an endless chain of transitions).

    ``severity`` is ``warning`` for what the engine reports without failing the case
    (``Engine.warnings``); ``code`` says what happened (see :mod:`dunning_engine.codes`).
    """

    def __init__(self, message: str, *, case: str | None = None, help: str | None = None,
                 code: str | None = None, severity: Severity = "error") -> None:
        self.message = message
        self.case = case
        self.help = help
        self.code = code
        self.severity: Severity = severity
        text = f"case {case}: {message}" if case else message
        if help:
            text += f"\nhelp: {help}"
        super().__init__(text)

    @property
    def diagnostic(self) -> Diagnostic:
        """This error as a :class:`Diagnostic` (code ``case-failed`` when it was raised without one)."""
        return Diagnostic(self.code or "case-failed", self.message, self.severity, None, self.help, case=self.case)


class OutputError(DunningError, OSError):
    """An output cannot be written: a file, or standard output (``target`` ``"-"``) that is closed,
    full, or a pipe whose reader has gone. The message names it; ``errno`` is the system's code."""

    def __init__(self, target: str, reason: str, *, errno: int | None = None, help: str | None = None) -> None:
        self.target = target
        self.reason = reason
        self.help = help
        where = "standard output" if target == "-" else f"'{target}'"
        self.message = f"cannot write {where}: {reason}"
        super().__init__(errno, self.message)

    def __str__(self) -> str:
        return f"error: {self.message}" + (f"\nhelp: {self.help}" if self.help else "")

    @property
    def diagnostic(self) -> Diagnostic:
        return Diagnostic("cannot-write", self.message, "error", None, self.help,
                          file=None if self.target == "-" else self.target)

    @classmethod
    def from_os_error(cls, error: OSError, target: str) -> "OutputError":
        """``error``, raised while opening or writing ``target`` (a path, or ``"-"``), in plain words."""
        if isinstance(error, OutputError):
            return error
        import errno as codes

        reasons = {
            codes.EPIPE: ("the program reading it has stopped (broken pipe)",
                          "the output is incomplete: let the reading program read it all, or use a file"),
            codes.ENOSPC: ("no space left on the device", "free some space, or write somewhere else"),
            codes.EBADF: ("it is closed", "run the command with this output open (not closed with >&-), "
                                          "or write to a file"),
        }
        reason, help = reasons.get(error.errno or -1, (error.strerror or str(error) or type(error).__name__,
                                                 "check the path and its permissions"))
        return cls(target, reason, errno=error.errno, help=help)


_SNIPPET_WIDTH = 100  # characters of a long source line shown around the column


def render_diagnostic(message: str, location: Location | None, help: str | None,
                      severity: str = "error", color: bool = False) -> str:
    """``file:line:col: error: message``, the source line with a caret, and ``help:``."""

    def paint(text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if color else text

    sev = paint(f"{severity}:", "1;31" if severity == "error" else "1;33")
    if location is None:
        out = [f"{sev} {message}"]
    else:
        out = [f"{paint(str(location), '1')}: {sev} {message}"]
        text = location.source.line(location.line) if location.source else None
        if text is not None:
            num = str(location.line)
            pad = " " * len(num)
            shown = text.expandtabs(1)
            col = max(1, min(location.column, len(shown) + 1))
            length = max(1, min(location.length, len(shown) - col + 1 if len(shown) >= col else 1))
            if len(shown) > _SNIPPET_WIDTH:
                # a window of the line around the column, '...' where it is cut
                start = max(0, min(col - 1 - _SNIPPET_WIDTH // 3, len(shown) - _SNIPPET_WIDTH))
                end = start + _SNIPPET_WIDTH
                length = max(1, min(length, end - col + 1))
                head, tail = ("..." if start else ""), ("..." if end < len(shown) else "")
                shown, col = head + shown[start:end] + tail, col - start + len(head)
            out.append(f"{pad} |")
            out.append(f"{num} | {shown}")
            out.append(f"{pad} | {' ' * (col - 1)}{paint('^' * length, '1;31')}")
    if help:
        out.append(f"{paint('help:', '1;36')} {help}")
    return "\n".join(out)
