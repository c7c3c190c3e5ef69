"""Text to syntax tree: ``parse(text, origin)``.

The Lark grammar (``grammar/expr.lark``) is read from package data and the
LALR parser is built once, on first use; importing this module does not import
Lark. Lark's errors become :class:`PolicyError` with a readable message, the
location of the offending token and a ``help:`` line. Any text gives a tree or
a PolicyError, never another exception: the text length and the nesting depth
are bounded so that nothing downstream can hit Python's recursion limit.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from decimal import Decimal
from importlib import resources
from typing import Any, Callable

from ..errors import Location, Origin, PolicyError, Source
from ..values import Duration, Percent, check_amount, is_currency
from . import ast as A

__all__ = [
    "parse",
    "node_from_tree",
    "lark_parser",
    "grammar_text",
    "make_locator",
    "KEYWORDS",
    "FUNCTIONS",
    "MAX_LENGTH",
    "MAX_DEPTH",
    "MAX_DURATION",
    "GRAMMAR_PACKAGE",
    "GRAMMAR_RESOURCE",
]

GRAMMAR_PACKAGE = "dunning_engine"
GRAMMAR_RESOURCE = "grammar/expr.lark"
KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null"})
FUNCTIONS = ("abs", "count", "max", "min", "rate", "round")
MAX_LENGTH = 10_000  # characters
MAX_DEPTH = 100  # nested operations
MAX_DURATION = 100_000  # units in one duration literal

Locator = Callable[[int, int], Location]


def make_locator(text: str, origin: Origin | None) -> Locator:
    """``origin`` itself, or locations in ``text`` read as a standalone source."""
    if origin is not None:
        return origin
    return Source(None, text).location


def grammar_text() -> str:
    """The text of ``grammar/expr.lark``, read from package data."""
    return resources.files(GRAMMAR_PACKAGE).joinpath(GRAMMAR_RESOURCE).read_text(encoding="utf-8")


@functools.cache
def lark_parser() -> Any:
    """The LALR parser of the expression grammar, built once (imports Lark lazily)."""
    from lark import Lark

    return Lark(grammar_text(), parser="lalr", lexer="basic", start="expr",
                propagate_positions=True, maybe_placeholders=False)


def parse(text: str, origin: Origin | None = None) -> A.Node:
    """Parse an expression; PolicyError (located through ``origin``) when it is not valid."""
    if not isinstance(text, str):
        where = origin(0, 1) if origin is not None else Location(None, 1, 1, 1)
        raise PolicyError(f"an expression must be text, not {type(text).__name__}", where, code="wrong-type")
    locate = make_locator(text, origin)
    if not text.strip():
        raise PolicyError("empty expression", locate(0, 1), help="write an expression, e.g. balance > 0",
                          code="empty-expression")
    if len(text) > MAX_LENGTH:
        raise PolicyError(f"expression too long ({len(text)} characters; the limit is {MAX_LENGTH})",
                          locate(MAX_LENGTH, 1), help="split it, e.g. into named segments", code="expression-too-long")
    from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

    parser = lark_parser()
    try:
        tree = parser.parse(text)
    except UnexpectedToken as e:
        raise _token_error(e, text, locate) from None
    except UnexpectedCharacters as e:
        # (lark declares pos_in_stream None on the base class; UnexpectedCharacters sets the offset)
        raise _char_error(text, e.pos_in_stream, locate) from None  # type: ignore[arg-type]
    except (UnexpectedInput, LarkError) as e:  # pragma: no cover - defensive
        raise PolicyError(f"invalid expression: {e}", locate(0, len(text)), code="expression-syntax") from None
    return node_from_tree(tree, locate)


# -- syntax errors ------------------------------------------------------------

_VALUE_STARTERS = {"NAME", "NUMBER", "STRING", "DATE", "DATETIME", "DURATION", "PERCENT", "MONEY",
                   "TRUE", "FALSE", "NULL", "_LSQB", "_LPAR", "MINUS"}
_OPERATORS = {"OR", "AND", "NOT", "IN", "EQ", "NE", "LT", "LE", "GT", "GE", "PLUS", "MINUS", "STAR", "SLASH"}
_COMPARISONS = {"EQ", "NE", "LT", "LE", "GT", "GE", "IN"}
_PUNCT = {"_RPAR": "')'", "_RSQB": "']'", "_COMMA": "','", "_DOT": "'.'", "_LPAR": "'('", "_LSQB": "'['"}
_KINDS = {"NAME": "name", "NUMBER": "number", "STRING": "string", "DATE": "date", "DATETIME": "datetime",
          "DURATION": "duration", "PERCENT": "percent", "MONEY": "money amount"}


def _base(name: str) -> str:
    return name.rsplit("__", 1)[-1] if not name.startswith("__") else name


def _describe_token(tok: Any) -> str:
    kind = _base(tok.type)
    if kind == "$END":
        return "end of expression"
    value = str(tok)
    if kind == "NAME":
        return f"name '{value}'"
    if kind in _KINDS:
        return f"{_KINDS[kind]} {value if len(value) <= 30 else value[:27] + '...'}"
    return f"'{value}'"


def _describe_expected(expected: set[str]) -> str:
    kinds = {_base(x) for x in expected}
    parts = []
    if "NAME" in kinds:
        parts.append("a value")
    if kinds & (_OPERATORS - {"MINUS"}) or ("MINUS" in kinds and "PLUS" in kinds):
        parts.append("an operator")
    if "_DOT" in kinds and "NAME" not in kinds:
        parts.append("'.'")
    parts += [_PUNCT[k] for k in ("_RPAR", "_RSQB", "_COMMA") if k in kinds]
    if "$END" in kinds:
        parts.append("the end of the expression")
    if not parts:
        return "something else"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _previous_token(text: str, pos: int) -> Any:
    """The last token that ends at or before ``pos`` (None at the start)."""
    last = None
    try:
        for tok in lark_parser().lex(text):
            if tok.end_pos is None or tok.end_pos > pos:
                break
            last = tok
    except Exception:  # lexing stops at the first bad character; keep what was read
        pass
    return last


def _unbalanced(text: str, pos: int, open_: str, close: str) -> int:
    depth = 0
    in_string: str | None = None
    escaped = False
    for c in text[:pos]:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == in_string:
                in_string = None
        elif c in "\"'":
            in_string = c
        elif c == open_:
            depth += 1
        elif c == close:
            depth -= 1
    return depth


def _token_error(e: Any, text: str, locate: Locator) -> PolicyError:
    tok = e.token
    kind = _base(tok.type)
    expected = {_base(x) for x in e.expected}
    at_end = kind == "$END"
    pos = len(text.rstrip()) if at_end else tok.start_pos
    length = 1 if at_end else max(1, len(str(tok)))
    prev = _previous_token(text, pos)
    prev_kind = _base(prev.type) if prev is not None else None
    prev_text = str(prev) if prev is not None else None
    wants_value = bool(expected & _VALUE_STARTERS)
    readable = _describe_expected(expected)

    def err(message: str, help: str | None) -> PolicyError:
        return PolicyError(message, locate(pos, length), help=help, code="expression-syntax")

    if prev_kind == "_DOT" and "NAME" in expected:
        found = "" if at_end else f", found {_describe_token(tok)}"
        return err(f"expected a field name after '.'{found}", "write a lower-case name, e.g. customer.segment")
    if wants_value and "NAME" in expected:
        after = f" after '{prev_text}'" if prev_text else ""
        if at_end:
            return err(f"expected a value{after}", "the expression is incomplete")
        help = None
        if kind in {"OR", "AND", "NOT", "IN", "TRUE", "FALSE", "NULL"}:
            help = f"'{tok}' is a reserved word and cannot be used as a name"
        elif kind == "_RPAR" and _unbalanced(text, pos, "(", ")") <= 0:
            help = "there is no '(' to close"
        return err(f"expected a value{after}, found {_describe_token(tok)}", help)
    if at_end:
        if _unbalanced(text, pos, "(", ")") > 0:
            return err("unexpected end of expression", "a '(' is not closed: add ')'")
        if _unbalanced(text, pos, "[", "]") > 0:
            return err("unexpected end of expression", "a '[' is not closed: add ']'")
        return err("unexpected end of expression", f"expected {readable}")
    if kind in _COMPARISONS and prev is not None and "EQ" not in expected and expected & {"AND", "$END"}:
        return err("comparisons cannot be chained", "combine them with 'and', e.g. 0 < balance and balance < 100")
    if kind == "_RPAR" and _unbalanced(text, pos, "(", ")") <= 0:
        return err("unexpected ')'", "there is no '(' to close")
    if kind == "_RSQB" and _unbalanced(text, pos, "[", "]") <= 0:
        return err("unexpected ']'", "there is no '[' to close")
    if kind == "NAME" and prev_kind == "NUMBER" and prev_text is not None and "." not in prev_text:
        from .check import unknown_duration_unit

        unit = unknown_duration_unit(text, pos)
        if unit is not None:
            return PolicyError(unit[0], locate(pos, unit[2]), help=unit[1], code="unknown-duration-unit")
    help = f"expected {readable}"
    if kind in _VALUE_STARTERS - {"MINUS"} and prev is not None:
        help = f"an operator is missing between '{prev_text}' and '{tok}'"
        if kind == "_LPAR":
            help = "only a function name can be called, e.g. max(balance, 0)"
    return err(f"unexpected {_describe_token(tok)}", help)


_WORD = re.compile(r"[A-Za-z0-9_]+")


def _char_error(text: str, pos: int, locate: Locator) -> PolicyError:
    c = text[pos] if pos < len(text) else ""
    word_match = _WORD.match(text, pos)
    word = word_match.group() if word_match else c
    before = text[:pos].rstrip(" \t")
    if c in "\"'":
        return PolicyError("unterminated string", locate(pos, 1),
                           help=f"close the string with {c} on the same line", code="expression-syntax")
    if c.isalpha() and c.isascii() and not c.islower():
        if re.search(r"[0-9]{4}-[0-9]{2}-[0-9]{2}$", before) and c == "T":
            return PolicyError(f"invalid datetime '{before[-10:]}{word}'", locate(pos, len(word)),
                               help="write a datetime as 2026-03-01T09:00, optionally with Z or -03:00",
                               code="invalid-date")
        if before[-1:].isdigit() and word.isupper() and word.isalpha():
            return PolicyError(f"unexpected '{word}'", locate(pos, len(word)),
                               help="a currency code is three upper-case letters, e.g. 50000 CLP",
                               code="expression-syntax")
        return PolicyError(f"unexpected '{word}'", locate(pos, len(word)),
                           help=f"names are lower case: write '{word.lower()}'", code="expression-syntax")
    helps = {"%": "write a percent right after its number: 2%", "=": "use '==' to compare",
             "!": "use 'not' for negation, '!=' for 'not equal'", "&": "use 'and'", "|": "use 'or'",
             ".": "write decimals with digits on both sides of the point: 0.5"}
    shown = repr(c) if not c.isprintable() or c in " " else f"'{c}'"
    return PolicyError(f"unexpected character {shown}", locate(pos, 1), help=helps.get(c), code="expression-syntax")


# -- parse tree to syntax tree --------------------------------------------------

_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t"}
_DATETIME = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?(Z|([+-])([0-9]{2}):([0-9]{2}))?$")
_DURATION = re.compile(r"([0-9]+)[ \t]+(business[ \t]+)?(day|week|month)s?$")
_MONEY = re.compile(r"([0-9.]+)[ \t]*([A-Z]{3})$")


def _tree_depth(tree: Any) -> tuple[int, Any]:
    from lark import Tree

    best, deepest = 0, tree
    stack = [(tree, 1)]
    while stack:
        t, d = stack.pop()
        if d > best:
            best, deepest = d, t
        stack.extend((c, d + 1) for c in t.children if isinstance(c, Tree))
    return best, deepest


def node_from_tree(tree: Any, locate: Locator, base: int = 0) -> A.Node:
    """Convert a Lark tree of the ``expr`` rule into a syntax tree.

    Also accepts trees parsed by a grammar that ``%import``-ed this one (rule
    names prefixed ``ns__``). ``base`` is subtracted from Lark's offsets so that
    node positions are relative to the expression's own text.
    """
    from lark import Token

    if isinstance(tree, Token):  # pragma: no cover - every alternative is aliased
        # (a token of this parser always has its start_pos, though lark types it Optional)
        raise PolicyError("invalid expression", locate(tree.start_pos - base, len(tree)),  # type: ignore[operator]
                          code="expression-syntax")
    d, deepest = _tree_depth(tree)
    if d > MAX_DEPTH:
        m = deepest.meta
        start = getattr(m, "start_pos", base) - base
        raise PolicyError(f"expression nested too deeply (more than {MAX_DEPTH} levels)",
                          locate(start, max(1, getattr(m, "end_pos", base) - base - start)),
                          help="split it, e.g. into named segments", code="expression-too-deep")
    return _Converter(locate, base).convert(tree)


class _Converter:
    def __init__(self, locate: Locator, base: int) -> None:
        self.locate = locate
        self.base = base

    def error(self, message: str, start: int, length: int, help: str | None = None, *, code: str) -> PolicyError:
        return PolicyError(message, self.locate(start, max(1, length)), help=help, code=code)

    def name(self, tok: Any) -> str:
        name = str(tok)
        if name.startswith("_"):
            raise self.error("names starting with '_' are not allowed", tok.start_pos - self.base, len(name),
                             help="use a name from the policy's variables, e.g. customer.segment", code="private-name")
        return name

    def convert(self, tree: Any) -> A.Node:
        rule = _base(str(tree.data))
        start = tree.meta.start_pos - self.base
        pos = {"start": start, "length": tree.meta.end_pos - tree.meta.start_pos}
        kids = tree.children
        if rule in _LITERAL_RULES:
            tok = kids[0] if kids else ""
            return _LITERAL_RULES[rule](self, str(tok), start, pos)
        if rule == "var":
            return A.Var(self.name(kids[0]), **pos)
        if rule == "member":
            return A.Member(self.convert(kids[0]), self.name(kids[1]), **pos,
                            name_start=kids[1].start_pos - self.base)
        if rule == "call":
            return A.Call(self.name(kids[0]), self.arguments(kids[1:]), **pos)
        if rule == "list":
            return A.ListExpr(self.arguments(kids), **pos)
        if rule in ("not_", "neg"):
            return A.Unary("not" if rule == "not_" else "-", self.convert(kids[-1]), **pos)
        if rule in ("or_", "and_", "in_"):
            return A.Binary(rule[:-1], self.convert(kids[0]), self.convert(kids[-1]), **pos)
        if rule == "not_in":
            return A.Binary("not in", self.convert(kids[0]), self.convert(kids[-1]), **pos)
        if rule in ("arith", "compare"):
            return A.Binary(str(kids[1]), self.convert(kids[0]), self.convert(kids[2]), **pos)
        raise self.error(f"unsupported syntax '{rule}'", start, pos["length"],
                         code="expression-syntax")  # pragma: no cover

    def arguments(self, kids: list[Any]) -> tuple[A.Node, ...]:
        if not kids:
            return ()
        return tuple(self.convert(k) for k in kids[0].children)

    # -- literals --------------------------------------------------------------
    def string(self, tok: str, start: int, pos: dict[str, int]) -> A.Node:
        out: list[str] = []
        body = tok[1:-1]
        i = 0
        while i < len(body):
            c = body[i]
            if c == "\\":
                nxt = body[i + 1] if i + 1 < len(body) else ""
                if nxt not in _ESCAPES:
                    raise self.error(f"unknown escape '\\{nxt}' in string", start + 1 + i, 2,
                                     help='the escapes are \\" \\\' \\\\ \\n \\t', code="invalid-escape")
                out.append(_ESCAPES[nxt])
                i += 2
            else:
                out.append(c)
                i += 1
        return A.Text("".join(out), **pos)

    def date(self, tok: str, start: int, pos: dict[str, int]) -> A.Node:
        try:
            return A.DateLit(_dt.date.fromisoformat(tok), **pos)
        except ValueError:
            raise self.error(f"'{tok}' is not a valid date", start, len(tok),
                             help="write a real date as YYYY-MM-DD, e.g. 2026-03-01", code="invalid-date") from None

    def datetime(self, tok: str, start: int, pos: dict[str, int]) -> A.Node:
        m = _DATETIME.match(tok)
        try:
            assert m is not None
            day = _dt.date.fromisoformat(m.group(1))
            tz: _dt.tzinfo | None = None
            if m.group(5) == "Z":
                tz = _dt.timezone.utc
            elif m.group(5):
                hours, minutes = int(m.group(7)), int(m.group(8))
                if hours > 23 or minutes > 59:
                    raise ValueError
                sign = -1 if m.group(6) == "-" else 1
                tz = _dt.timezone(sign * _dt.timedelta(hours=hours, minutes=minutes))
            value = _dt.datetime(day.year, day.month, day.day, int(m.group(2)), int(m.group(3)),
                                 int(m.group(4) or 0), tzinfo=tz)
        except (ValueError, AssertionError):
            raise self.error(f"'{tok}' is not a valid datetime", start, len(tok),
                             help="write a datetime as 2026-03-01T09:00, optionally with Z or -03:00",
                             code="invalid-date") from None
        return A.DateTimeLit(value, **pos)

    def duration(self, tok: str, start: int, pos: dict[str, int]) -> A.Node:
        m = _DURATION.match(tok)
        assert m is not None
        digits = m.group(1).lstrip("0") or "0"
        if len(digits) > 6 or int(digits) > MAX_DURATION:
            raise self.error(f"duration too long: '{tok}'", start, len(tok),
                             help=f"a duration counts at most {MAX_DURATION} units", code="duration-too-long")
        unit = "business_days" if m.group(2) else m.group(3) + "s"
        return A.DurationLit(Duration(int(digits), unit), **pos)

    def money(self, tok: str, start: int, pos: dict[str, int]) -> A.Node:
        m = _MONEY.match(tok)
        assert m is not None
        code = m.group(2)
        if not is_currency(code):
            raise self.error(f"unknown currency code '{code}'", start + m.start(2), 3,
                             help="write an ISO 4217 code, e.g. CLP, USD, EUR", code="unknown-currency")
        return A.MoneyLit(self.decimal(m.group(1), start), code, **pos)

    def decimal(self, text: str, start: int) -> Decimal:
        """The number written ``text`` (at ``start``), within the limits of SPEC §12."""
        try:
            return check_amount(Decimal(text))
        except ValueError as e:
            raise self.error(str(e), start, len(text), code="invalid-amount") from None


_LITERAL_RULES: dict[str, Callable[[_Converter, str, int, dict[str, int]], A.Node]] = {
    "number": lambda c, tok, start, pos: A.Number(c.decimal(tok, start), **pos),
    "string": _Converter.string,
    "date": _Converter.date,
    "datetime": _Converter.datetime,
    "duration": _Converter.duration,
    "percent": lambda c, tok, start, pos: A.PercentLit(Percent(c.decimal(tok[:-1], start)), **pos),
    "money": _Converter.money,
    "true": lambda c, tok, start, pos: A.Bool(True, **pos),
    "false": lambda c, tok, start, pos: A.Bool(False, **pos),
    "null": lambda c, tok, start, pos: A.Null(**pos),
}
