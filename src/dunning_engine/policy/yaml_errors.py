"""PyYAML's errors, and bytes that are not UTF-8, as PolicyErrors an author can act on."""

from __future__ import annotations

import re

import yaml

from ..errors import Location, PolicyError, Source
from .nodes import TextIndex as _Text

__all__ = ["syntax_error", "reader_error", "decode_utf8"]

# ---------------------------------------------------------------------------

_TOKEN_NAMES = {
    "'<block end>'": "the end of the indented block",
    "<block end>": "the end of the indented block",
    "'<stream end>'": "the end of the file",
    "'<document start>'": "'---'",
    "'<document end>'": "'...'",
    "'<block mapping start>'": "a new mapping",
    "'<block sequence start>'": "a new list",
    "'<scalar>'": "a value",
    "'<alias>'": "an alias",
    "'<anchor>'": "an anchor",
    "'<tag>'": "a tag",
    "'<directive>'": "a directive",
    "'<stream start>'": "the start of the file",
}


_CANNOT_START = re.compile(r"found character '(.*)' that cannot start any token")


def _readable(problem: str) -> str:
    text = problem.strip()
    m = _CANNOT_START.fullmatch(text)
    if m:
        ch = m.group(1)
        if ch == "\\t":
            return "a tab character cannot be used here"
        return f"a value cannot start with '{ch}'"
    for raw, nice in _TOKEN_NAMES.items():
        text = text.replace(raw, nice)
    text = text.replace("'\\t'", "a tab")
    text = text.replace("expected the node content", "expected a value")
    return text


def _hint(problem: str, context: str | None) -> str | None:
    p = problem.lower()
    if "'\\t'" in problem or " tab" in p:
        return "YAML is indented with spaces; replace the tabs with spaces"
    if "mapping values are not allowed here" in p:
        return ("a ': ' inside a value must be quoted, e.g. note: \"a: b\"; "
                "or the indentation of this line is wrong")
    if "could not find expected ':'" in p:
        return "write 'key: value' (a space after ':'), quote text that contains ':', or check the indentation"
    if "did not find expected key" in p or "block end" in p or "indented block" in p:
        return "check the indentation: items of one mapping or list must start in the same column"
    if "found unexpected end of stream" in p or "end of the file" in p:
        return "a quote or bracket is not closed"
    if "cannot start any token" in p:
        return "quote the value, e.g. note: \"@name\""
    return None


def _context_help(err: yaml.MarkedYAMLError, doc: _Text) -> str | None:
    ctx = err.context
    problem = err.problem or ""
    hint = _hint(problem + " " + _readable(problem), ctx)
    parts = []
    mark = err.context_mark
    if ctx and mark is not None:
        ctx_text = _readable(ctx)
        if err.problem_mark is None or mark.index != err.problem_mark.index:
            line, column = doc.line_col(mark.index)
            ctx_text += f" that starts at line {line}, column {column}"
        parts.append(ctx_text)
    if hint:
        parts.append(hint)
    return "; ".join(parts) if parts else None


def syntax_error(err: yaml.MarkedYAMLError, doc: _Text) -> PolicyError:
    mark = err.problem_mark or err.context_mark
    index = mark.index if mark is not None else 0
    problem = err.problem or err.context or "the YAML is not valid"
    return PolicyError(f"invalid YAML: {_readable(problem)}", doc.location(index), help=_context_help(err, doc), code="yaml-syntax")


def reader_error(err: yaml.reader.ReaderError, doc: _Text) -> PolicyError:
    ch = err.character
    code = ch if isinstance(ch, int) else (ord(ch) if isinstance(ch, str) and len(ch) == 1 else None)
    what = f"the character U+{code:04X}" if code is not None else "a character"
    if code == 0:
        what += " (NUL)"
    return PolicyError(
        f"the file contains {what}, which YAML does not allow",
        doc.location(int(err.position or 0)),
        help="remove it; a policy is plain text (is this a binary file?)",
        code="invalid-character",
    )


def decode_utf8(data: bytes, name: str | None) -> str:
    """``data`` as text; a PolicyError naming the line and column of the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = exc.start
        line_start = data.rfind(b"\n", 0, bad) + 1
        line = data.count(b"\n", 0, bad) + 1
        column = len(data[line_start:bad].decode("utf-8", "replace")) + 1
        shown = data[:line_start].decode("utf-8", "replace") + data[line_start:].split(b"\n", 1)[0].decode(
            "utf-8", "replace")
        source = Source(name, shown)
        raise PolicyError(
            "the file is not UTF-8 text",
            Location(source, line, column, 1),
            help=f"byte 0x{data[bad]:02X} at byte offset {bad} is not valid UTF-8; "
            "save the policy as UTF-8 (a binary file is not a policy)",
            code="not-utf8") from None
