"""Reading DSL text up to Lark's parse tree: the text's checks, the indenter and the parser.

The text is decoded and refused when it cannot be a policy (too large, control characters, tabs in
the indentation, an indented first line) before it is parsed; the parser is LALR with the contextual
lexer and an indenter as post-lexer (``_NL``, ``_INDENT``, ``_DEDENT``), built once from
``grammar/dsl.lark``. The indenter keeps the last tokens it passed on (``history``), which the
syntax messages read (``dsl_syntax``).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any, Iterator

from ..errors import Location, PolicyError
from .nodes import NodeFactory

__all__ = ["dsl_parser", "prepare", "check_text", "BadDedent", "MAX_BYTES", "INDENT"]

MAX_BYTES = 1_000_000
INDENT = 4  # spaces per level in the canonical layout (any consistent indentation is read)

GRAMMAR_PACKAGE = "dunning_engine"
GRAMMAR_RESOURCE = "grammar/dsl.lark"


class BadDedent(Exception):
    def __init__(self, token: Any, indent: int, levels: list[int]) -> None:
        self.token = token
        self.indent = indent
        self.levels = list(levels)


def _indenter_class() -> type:
    from lark import Token
    from lark.indenter import Indenter

    class DslIndenter(Indenter):
        NL_type = "_NL"
        OPEN_PAREN_types = ["_LPAR", "_LSQB"]
        CLOSE_PAREN_types = ["_RPAR", "_RSQB"]
        INDENT_type = "_INDENT"
        DEDENT_type = "_DEDENT"
        tab_len = 8

        def __init__(self) -> None:
            super().__init__()
            self.history: list[Any] = []

        def process(self, stream: Iterator[Token]) -> Iterator[Token]:
            self.history = []
            self.paren_level = 0
            self.indent_level = [0]
            return self._process(stream)

        def remember(self, token: Any) -> None:
            self.history.append(token)
            if len(self.history) > 256:
                del self.history[:128]

        def handle_NL(self, token: Token) -> Iterator[Token]:
            if self.paren_level > 0:
                return
            self.remember(token)
            yield token
            indent = len(token.rsplit("\n", 1)[1])  # tabs in indentation are refused before parsing
            if indent > self.indent_level[-1]:
                self.indent_level.append(indent)
                yield Token.new_borrow_pos(self.INDENT_type, "", token)
            else:
                while indent < self.indent_level[-1]:
                    self.indent_level.pop()
                    yield Token.new_borrow_pos(self.DEDENT_type, "", token)
                if indent != self.indent_level[-1]:
                    raise BadDedent(token, indent, self.indent_level + [indent])

        def _process(self, stream: Iterator[Token]) -> Iterator[Token]:
            token = None
            for token in stream:
                if token.type == self.NL_type:
                    yield from self.handle_NL(token)
                else:
                    self.remember(token)
                    yield token
                if token.type in self.OPEN_PAREN_types:
                    self.paren_level += 1
                elif token.type in self.CLOSE_PAREN_types:
                    self.paren_level = max(0, self.paren_level - 1)
            while len(self.indent_level) > 1:
                self.indent_level.pop()
                if token is not None:
                    yield Token.new_borrow_pos(self.DEDENT_type, "", token)
                else:  # pragma: no cover - an empty file has no indentation
                    yield Token(self.DEDENT_type, "", 0, 1, 1, 1, 1, 0)

    return DslIndenter


@functools.cache
def dsl_parser() -> Any:
    """The LALR parser of the DSL grammar, built once (imports Lark lazily)."""
    from lark import Lark

    return Lark.open_from_package(
        GRAMMAR_PACKAGE, GRAMMAR_RESOURCE, ("",), parser="lalr", lexer="contextual",
        postlex=_indenter_class()(), propagate_positions=True, maybe_placeholders=False,
    )


# ---------------------------------------------------------------------------
# reading the text
# ---------------------------------------------------------------------------


def _decode(data: bytes, name: str | None) -> str:
    from .yaml_errors import decode_utf8

    return decode_utf8(data, name)


def _too_large(name: str | None) -> PolicyError:
    from ..errors import Source

    return PolicyError(f"the policy file is too large; the limit is {MAX_BYTES} bytes",
                       Location(Source(name, ""), 1, 1, 1),
                       help="a policy this large is surely a mistake; split it or check that this is the right file", code="too-large")


def prepare(data: str | bytes, name: str | None) -> str:
    """The text to parse: decoded, BOM removed, '\\r\\n' read as '\\n'; refuses what cannot be a policy."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data)
        if len(data) > MAX_BYTES:
            raise _too_large(name)
        text = _decode(data, name)
    elif isinstance(data, str):
        if len(data) > MAX_BYTES or (len(data) * 4 > MAX_BYTES
                                     and len(data.encode("utf-8", "surrogatepass")) > MAX_BYTES):
            raise _too_large(name)
        text = data
    else:
        raise TypeError(f"load_dsl() takes str or bytes, not {type(data).__name__}")
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n")


_BAD_CHAR = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff]")


def check_text(f: NodeFactory, text: str) -> None:
    m = _BAD_CHAR.search(text)
    if m:
        ch = m.group()
        what = f"the character U+{ord(ch):04X}"
        if ch == "\r":
            what += " (a carriage return without a line feed)"
        elif ch == "\x00":
            what += " (NUL)"
        else:
            name = unicodedata.name(ch, "")
            what += f" ({name.lower()})" if name else ""
        raise PolicyError(f"the file contains {what}, which a policy cannot hold", f.location(m.start()),
                          help="remove it; a policy is plain text with ordinary line breaks (is this a binary file?)", code="invalid-character")
    tabs = [m.start() + len(m.group(1)) for m in re.finditer(r"^([ ]*)\t", text, re.M)]
    if tabs:
        # 'dunning fmt -w' cannot help: it needs a file that parses.
        lines = [f.location(start).line for start in tabs]
        also = ""
        if len(lines) > 1:
            rest = [str(n) for n in lines[1:6]]
            shown = ", ".join(rest) + ", ..." if len(lines) > 6 else " and ".join(", ".join(rest).rsplit(", ", 1))
            also = f"; line{'s' if len(rest) > 1 else ''} {shown} {'have' if len(rest) > 1 else 'has'} tabs too"
        raise PolicyError("a tab character in the indentation", f.location(tabs[0]),
                          help=f"replace the tabs in the indentation of line {lines[0]} with spaces ({INDENT} per level "
                          f"in the canonical layout){also}", code="tab-indentation")
    # The first line holding something (not a comment) must not be indented.
    m = re.search(r"^([ ]*)[^ \n#]", text, re.M)
    if m is not None and m.group(1):
        raise PolicyError("the first line of the policy is indented", f.location(m.end(1)),
                          help="top-level lines (policy, state, any state, contact, ...) start at column 1", code="indentation")


