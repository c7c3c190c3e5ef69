"""The DSL form of a policy (SPEC §3): indentation-based text, same meaning as YAML.

One path to the intermediate form: the DSL text is parsed (Lark, LALR, with
an indenter; ``grammar/dsl.lark``, which imports the expression grammar) and
turned into the *same positioned node tree* the YAML reader produces — a
:class:`~.nodes.MapNode` with the keys of SPEC §1 — and then
:func:`~.build.build_policy` does every semantic check. Each expression is
kept as the slice of the DSL file it spans, so an error inside
``when balanse > 5`` points at the DSL line and column.

Errors are :class:`~dunning_engine.errors.PolicyError` with the position, the
source line, a caret and a human explanation of what was expected; any text
gives a policy or a PolicyError, never another exception.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from typing import Any, Iterable

from ..errors import Location, PolicyError, PolicyErrors, did_you_mean
from ..expr.check import unknown_duration_unit
from . import ir
from .nodes import MapNode, Node, NodeFactory, ScalarNode, SeqNode

__all__ = ["load_dsl", "parse_dsl", "build_dsl", "DSL_KEYWORDS", "ACTION_WORDS", "MAX_BYTES", "INDENT"]

MAX_BYTES = 1_000_000
INDENT = 4  # spaces per level in the canonical layout (any consistent indentation is read)

GRAMMAR_PACKAGE = "dunning_engine"
GRAMMAR_RESOURCE = "grammar/dsl.lark"

# What may start a line, by place (for messages and did-you-mean hints).
TOP_WORDS = ("policy", "version", "description", "scope", "timezone", "calendar", "currency", "send at",
             "allocation", "segment", "invariant", "state", "any state", "contact", "rate")
RULE_WORDS = ("at", "after", "every", "on", "when", "unless", "rule")
STATE_WORDS = ("on enter", "on exit") + RULE_WORDS
ACTION_WORDS = ("remind", "fee", "interest", "discount", "offer plan", "escalate", "task", "suspend", "resume",
                "write off", "custom")
CONTACT_WORDS = ("window", "no contact on holidays", "limit", "gap", "compliance")

DSL_KEYWORDS = frozenset(
    "policy version description scope timezone calendar currency send at allocation segment invariant state initial final "
    "any except on enter exit rule after every max starting when unless expires remind via to fee of min interest "
    "per year basis discount until offer plan installments first down escalate note task assign suspend resume "
    "write off custom with contact window no holidays limit gap compliance rate".split())

# Options of each action: DSL word -> parameter name (SPEC §1).
ACTION_OPTIONS: dict[str, dict[str, str]] = {
    "remind": {"via": "via", "to": "to"},
    "fee": {"of": "of", "min": "min", "max": "max"},
    "interest": {"basis": "basis", "on": "on"},
    "discount": {},
    "offer_plan": {"every": "every", "first": "first", "down": "down_payment"},
    "escalate": {"note": "note"},
    "task": {"assign": "assign", "note": "note"},
    "custom": {},
}
_OPTION_FORMS = {"via": "via CHANNEL, ...", "to": "to EXPR", "of": "of balance|principal|amount", "min": "min MONEY",
                 "max": "max MONEY", "basis": "basis 360", "on": "on balance", "every": "every DURATION",
                 "first": "first DATE", "down": "down PERCENT|MONEY", "assign": 'assign "TEAM"', "note": 'note "TEXT"'}

_MINIMAL_POLICY = (
    "a policy needs at least a name and its states, for example:\n"
    "    policy my_policy version 1\n"
    "    currency USD\n"
    "    state open initial:\n"
    "        on payment when balance <= 0 -> paid\n"
    "    state paid final"
)

_lock = threading.Lock()


# ---------------------------------------------------------------------------
# the parser
# ---------------------------------------------------------------------------


class _BadDedent(Exception):
    def __init__(self, token: Any, indent: int, levels: list[int]) -> None:
        self.token = token
        self.indent = indent
        self.levels = list(levels)


def _indenter_class():
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

        def process(self, stream):
            self.history = []
            self.paren_level = 0
            self.indent_level = [0]
            return self._process(stream)

        def remember(self, token: Any) -> None:
            self.history.append(token)
            if len(self.history) > 256:
                del self.history[:128]

        def handle_NL(self, token):
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
                    raise _BadDedent(token, indent, self.indent_level + [indent])

        def _process(self, stream):
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
    from .yaml_source import _decode as decode_utf8

    return decode_utf8(data, name)


def _too_large(name: str | None) -> PolicyError:
    from ..errors import Source

    return PolicyError(f"the policy file is too large; the limit is {MAX_BYTES} bytes",
                       Location(Source(name, ""), 1, 1, 1),
                       help="a policy this large is surely a mistake; split it or check that this is the right file",
                       code="too-large")


def _prepare(data: str | bytes, name: str | None) -> str:
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


def _check_text(f: NodeFactory, text: str) -> None:
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
                          help="remove it; a policy is plain text with ordinary line breaks (is this a binary file?)",
                          code="invalid-character")
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
                          help="top-level lines (policy, state, any state, contact, ...) start at column 1",
                          code="indentation")


# ---------------------------------------------------------------------------
# syntax errors
# ---------------------------------------------------------------------------

_KEYWORD_NAMES = {w.upper(): w for w in DSL_KEYWORDS}
_EXPR_START = {"NAME", "NUMBER", "STRING", "DATE", "DATETIME", "DURATION", "PERCENT", "MONEY", "TRUE", "FALSE",
               "NULL", "_LPAR", "_LSQB", "MINUS", "NOT"}
_EXPR_OPS = {"OR", "AND", "IN", "EQ", "NE", "LT", "LE", "GT", "GE", "PLUS", "STAR", "SLASH", "DOT"}
_PUNCT = {"ARROW": "'->'", "_COLON": "':'", "_EQUAL": "'='", "_COMMA": "','", "_RPAR": "')'", "_RSQB": "']'",
          "_LPAR": "'('", "_LSQB": "'['", "DOT": "'.'"}
_LAYOUT = {"_NL", "_INDENT", "_DEDENT", "$END"}

# What follows a keyword: (what, example).
_AFTER = {
    "POLICY": ("the policy id", "policy my_policy version 1"),
    "VERSION": ("a whole number", "version 3"),
    "DESCRIPTION": ("a quoted text", 'description "Friendly collections"'),
    "SCOPE": ("invoice or customer", "scope customer"),
    "TIMEZONE": ("a time zone", 'timezone "America/Santiago"'),
    "CALENDAR": ("a calendar code", "calendar CL"),
    "CURRENCY": ("a currency code", "currency CLP"),
    "SEND": ("'at' and a time", "send at 09:00"),
    "ALLOCATION": ("the parts in order", "allocation interest, fees, principal"),
    "SEGMENT": ("a segment name, ':' and a condition", 'segment vip: customer.segment == "vip"'),
    "INVARIANT": ("an invariant name, ':' and a condition", "invariant never_negative_fees: fees >= 0"),
    "STATE": ("a state name", "state overdue:"),
    "ANY": ("'state'", "any state except disputed:"),
    "EXCEPT": ("state names", "any state except disputed, paid:"),
    "RULE": ("a rule name and its trigger", "rule first_notice at due + 1 day:"),
    "AT": ("a date expression", "at due + 1 day"),
    "AFTER": ("a duration", "after 7 days"),
    "EVERY": ("a duration", "every 7 days max 4"),
    "MAX": ("a number", "every 7 days max 4  /  fee 2% of balance max 100000 CLP"),
    "MIN": ("an amount", "fee 2% of balance min 1000 CLP"),
    "STARTING": ("a date expression", "every 7 days starting due + 30 days"),
    "WHEN": ("a condition", "when balance > 0"),
    "UNLESS": ("a condition", "unless vip"),
    "EXPIRES": ("a duration", "expires 2 days"),
    "ON": ("an event", "on payment, credit_note"),
    "REMIND": ("the template in quotes", 'remind "first_notice" via email'),
    "VIA": ("a channel", "via email, sms"),
    "TO": ("a value", 'escalate to legal  /  remind "x" to customer.email'),
    "FEE": ("an amount or a percent", "fee 5000 CLP  /  fee 2% of balance max 100000 CLP"),
    "OF": ("balance, principal or amount", "fee 2% of balance"),
    "INTEREST": ("a yearly rate", "interest 24% per year basis 360"),
    "PER": ("'year' (interest) or a duration (limit)", "interest 24% per year  /  limit 2 per 7 days"),
    "BASIS": ("360 or 365", "interest 24% per year basis 360"),
    "DISCOUNT": ("a percent or an amount, then 'until' and a date", "discount 10% until due + 30 days"),
    "UNTIL": ("a date expression", "discount 10% until due + 30 days"),
    "OFFER": ("'plan' and the number of installments", "offer plan 3 installments every 30 days"),
    "PLAN": ("the number of installments", "offer plan 3 installments every 30 days"),
    "FIRST": ("a date expression", "offer plan 3 installments first today + 7 days"),
    "DOWN": ("a percent or an amount", "offer plan 3 installments down 10%"),
    "ESCALATE": ("'to' and who", "escalate to legal"),
    "TASK": ("the kind of task", 'task call assign "collections"'),
    "ASSIGN": ("a quoted text", 'task call assign "collections"'),
    "NOTE": ("a quoted text", 'escalate to agency note "over 60 days"'),
    "WRITE": ("'off'", "write off"),
    "CUSTOM": ("the adapter name in quotes", 'custom "cancel" with account = customer.id'),
    "WITH": ("parameters NAME = EXPR", 'custom "cancel" with account = customer.id'),
    "WINDOW": ("days and hours", "window mon-fri 08:00-20:00"),
    "NO": ("'contact on holidays'", "no contact on holidays"),
    "LIMIT": ("a number, 'per' and a duration", "limit 2 per 7 days via email, sms"),
    "GAP": ("a duration", "gap 2 days via email"),
    "COMPLIANCE": ("compliance packs", "compliance CL"),
    "RATE": ("a rate name and its file", 'rate UF "rates/uf.csv"'),
    "ARROW": ("a state name", "-> overdue"),
}


_AFTER_IN_ACTION = {
    ("MAX", "fee"): ("an amount", "fee 2% of balance max 100000 CLP"),
    ("ON", "interest"): ("balance or principal", "interest 24% per year on balance"),
    ("EVERY", "offer_plan"): ("a duration", "offer plan 3 installments every 30 days"),
    ("TO", "remind"): ("an expression giving the address", 'remind "x" to customer.email'),
    ("TO", "escalate"): ("who to escalate to", "escalate to legal"),
}


def _accepted(e: Any) -> set[str]:
    """The terminals the parser could really take where it stopped (LALR's expected set is wider)."""
    try:
        from copy import copy

        from lark import Token
        from lark.exceptions import UnexpectedToken

        ip = e.interactive_parser
        conf = copy(ip.parser_state.parse_conf)
        conf.callbacks = {}  # no tree building while trying
        accepts = set()
        for t in ip.choices():
            # Terminals, including the imported ones ('expr__EQ'); Lark's own accepts() skips those.
            if not (t == "$END" or _base(t).lstrip("_").isupper()):
                continue
            cursor = ip.copy(deepcopy_values=False)
            cursor.parser_state.parse_conf = conf
            try:
                cursor.feed_token(Token(t, ""))
            except UnexpectedToken:
                continue
            accepts.add(t)
        if accepts:
            return accepts
    except Exception:  # pragma: no cover - fall back on Lark's own set
        pass
    return set(e.expected or ())


def _base(name: str) -> str:
    """'expr__NAME' -> 'NAME', '_expr__DOT' -> 'DOT'."""
    return name.rsplit("__", 1)[1] if "__" in name and not name.startswith("__") else name


def _token_text(tok: Any) -> str:
    kind = _base(tok.type)
    value = str(tok)
    if kind == "_NL":
        return "the end of the line"
    if kind == "_INDENT":
        return "an indented line"
    if kind == "_DEDENT":
        return "the end of the block"
    if kind == "$END":
        return "the end of the file"
    if kind == "STRING":
        return f"the text {value if len(value) <= 30 else value[:27] + '...'}"
    shown = value if len(value) <= 30 else value[:27] + "..."
    return f"'{shown}'"


def _describe_expected(expected: Iterable[str]) -> str:
    kinds = {_base(x) for x in expected}
    parts: list[str] = []
    if "NAME" in kinds or ("NUMBER" in kinds and "STRING" in kinds and "_LPAR" in kinds):
        parts.append("an expression")
    else:
        for k, what in (("NUMBER", "a number"), ("STRING", "a quoted text"), ("DATE", "a date")):
            if k in kinds:
                parts.append(what)
    if "WORD" in kinds:
        parts.append("a name")
    if kinds & _EXPR_OPS:
        parts.append("an operator")
    for k, what in (("TIME", "a time such as 09:00"), ("HOURS", "hours such as 08:00-20:00"),
                    ("DAYS", "days such as mon-fri")):
        if k in kinds:
            parts.append(what)
    words = sorted((_KEYWORD_NAMES[k] for k in kinds if k in _KEYWORD_NAMES),
                   key=lambda w: (_KEYWORD_ORDER.get(w, 99), w))
    words = [_SHOWN.get(w, w) for w in words]
    if len(words) > 15:
        words = words[:14] + ["..."]
    parts += [f"'{w}'" if w != "..." else w for w in words]
    parts += [_PUNCT[k] for k in ("ARROW", "_COLON", "_EQUAL", "_COMMA", "_RPAR", "_RSQB") if k in kinds]
    if "_NL" in kinds:
        parts.append("the end of the line")
    if "_INDENT" in kinds:
        parts.append("an indented block")
    if "$END" in kinds:
        parts.append("the end of the file")
    if not parts:
        return "something else"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


_ACTION_KEYWORDS = {"REMIND": "remind", "FEE": "fee", "INTEREST": "interest", "DISCOUNT": "discount",
                    "OFFER": "offer_plan", "ESCALATE": "escalate", "TASK": "task", "CUSTOM": "custom"}
_OPTION_KEYWORDS = {"VIA", "TO", "OF", "MIN", "MAX", "BASIS", "ON", "EVERY", "FIRST", "DOWN", "ASSIGN", "NOTE"}

_KEYWORD_ORDER = {w: i for i, w in enumerate(
    "rule at after every on when unless expires max starting via to of min basis first down assign note with "
    "initial final except remind fee interest discount offer escalate task suspend resume write custom "
    "policy version description scope timezone calendar currency send allocation segment invariant state any contact rate "
    "window no limit gap compliance".split())}
_SHOWN = {"offer": "offer plan", "write": "write off", "send": "send at", "any": "any state",
          "no": "no contact on holidays"}


class _Syntax:
    """Turns Lark's exceptions into PolicyErrors that say what was expected."""

    def __init__(self, f: NodeFactory, text: str, history: list[Any]) -> None:
        self.f = f
        self.text = text
        self.history = history

    def error(self, message: str, start: int, end: int | None = None, help: str | None = None) -> PolicyError:
        return PolicyError(message, self.f.location(start, end), help=help, code="syntax")

    def before(self, pos: int, bad: Any = None) -> tuple[Any, Any]:
        """(last token before ``pos``, last token before ``pos`` that is not layout)."""
        prev = real = None
        for tok in self.history:
            if tok is bad:
                break
            if tok.start_pos is None or tok.start_pos > pos or (tok.start_pos == pos and tok.type not in _LAYOUT):
                continue
            prev = tok
            if tok.type not in _LAYOUT:
                real = tok
        return prev, real

    def line_start_word(self, tok: Any) -> bool:
        """True when ``tok`` is the first thing on its line."""
        start = self.text.rfind("\n", 0, tok.start_pos) + 1
        return not self.text[start:tok.start_pos].strip()

    def word_at(self, pos: int) -> str:
        m = re.compile(r"[A-Za-z0-9_\-]+").match(self.text, pos)
        return m.group() if m else self.text[pos:pos + 1]

    # -- Lark's UnexpectedCharacters ---------------------------------------------
    def characters(self, pos: int, allowed: Iterable[str]) -> PolicyError:
        c = self.text[pos] if pos < len(self.text) else ""
        if c in "\"'":
            return self.error("unterminated string", pos, None,
                              help=f"close the text with {c} on the same line (a text cannot span lines)")
        helps = {"=": "use '==' to compare", "!": "use 'not' for negation, '!=' for 'not equal'",
                 "&": "use 'and'", "|": "use 'or'", "%": "write a percent right after its number: 2%",
                 "{": "the DSL has no braces: write actions on their own lines under a line ending with ':'",
                 "}": "the DSL has no braces", ";": "write one statement per line",
                 "@": "quote the text: \"@name\"", "$": "write money as 50000 CLP"}
        shown = repr(c) if not c.isprintable() or c == " " else f"'{c}'"
        kinds = {_base(a) for a in allowed}
        if c == "-" and self.text.startswith("->", pos):
            shown = "'->'"
        help = helps.get(c)
        if help is None and kinds:
            help = f"expected {_describe_expected(kinds)}"
        return self.error(f"unexpected character {shown}", pos, pos + 1, help=help)

    # -- Lark's UnexpectedToken --------------------------------------------------
    def token(self, tok: Any, expected: Iterable[str]) -> PolicyError:
        kind = _base(tok.type)
        pos = tok.start_pos if tok.start_pos is not None else len(self.text)
        exp = self.narrow({_base(x) for x in expected}, pos)
        exp_text = _describe_expected(exp)
        prev, real = self.before(pos, tok)
        real_kind = _base(real.type) if real is not None else None
        after = real.end_pos if real is not None else 0
        value = str(tok)
        at_line_end = kind in ("_NL", "$END", "_DEDENT") or (kind == "_INDENT")
        word = None
        if not at_line_end and re.match(r"[A-Za-z_]", value):
            word = self.word_at(pos)
            value = word
        length_end = pos + max(1, len(value)) if not at_line_end else None
        found = f"'{word}'" if word is not None else _token_text(tok)
        # The contextual lexer reads '->' as '-' where an expression may go on: say so plainly.
        if real_kind == "MINUS" and self.text.startswith("->", real.start_pos):
            before, real2 = self.before(real.start_pos, real)
            del before
            k2 = _base(real2.type) if real2 is not None else None
            if k2 in _AFTER and k2 not in ("ARROW",):
                what, example = _AFTER[k2]
                return self.error(f"expected {what} after '{real2}'", real2.end_pos, None,
                                  help=f"for example: {example}")
            shown = f" after '{real2}'" if real2 is not None else ""
            return self.error(f"the expression{shown} is incomplete before '->'", real.start_pos,
                              real.start_pos + 2, help="write the rest of the expression, or remove the operator")

        def here(message: str, help: str | None = None) -> PolicyError:  # noqa: E306
            if at_line_end:
                return self.error(message, after, None, help)
            return self.error(message, pos, length_end, help)

        if kind in ("WORD", "NAME") and real_kind == "NUMBER" and "." not in str(real) and exp & _EXPR_OPS:
            unit = unknown_duration_unit(self.text, pos)  # due - 5 dias
            if unit is not None:
                return self.error(unit[0], pos, pos + unit[2], help=unit[1])
        # Indentation.
        if kind == "_INDENT":
            nxt = tok.end_pos if tok.end_pos is not None else pos
            return self.error("unexpected indentation", nxt, None,
                              help="this line is indented more than the line before, which does not end with ':'; "
                              "only a line ending with ':' (state, rule with actions, 'on enter', 'any state', "
                              "'contact') opens an indented block")
        if kind == "_EQUAL" or (value == "=" and "EQ" in exp):
            return here("unexpected '='", "use '==' to compare" if "EQ" in exp else f"expected {exp_text}")
        if "_INDENT" in exp and exp <= {"_INDENT"}:
            where = pos if kind not in ("_DEDENT", "$END") else after
            return self.error("expected an indented block after ':'", where, None if kind in ("_DEDENT", "$END")
                              else length_end,
                              help=f"indent the lines that belong to it (by {INDENT} spaces), "
                              "or remove the ':' at the end of the line before")
        # A state name after '->'.
        if real_kind == "ARROW" and "WORD" in exp:
            if at_line_end or kind == "_COLON":
                return self.error("a state name is missing after ->", after if at_line_end else pos, None,
                                  help="write the state to go to, e.g. '-> overdue', or '-> previous'")
            return here(f"expected a state name after ->, found {found}",
                        "state names are lower case: letters, digits and '_'")
        # Channels after 'via'.
        if real_kind == "VIA" or (real_kind == "_COMMA" and "WORD" in exp and self._last_keyword(pos) == "VIA"):
            return here("a channel is missing after 'via'" if at_line_end else
                        f"expected a channel after 'via', found {found}",
                        f"channels: {', '.join(ir.CHANNELS)}")
        # Unclosed brackets at the end.
        if kind == "$END" and self._unbalanced(pos):
            return self.error("unexpected end of file", after, None, help="a '(' or '[' is not closed")

        state_items = {"AT", "AFTER", "EVERY", "WHEN", "RULE"} <= exp and "ENTER" not in exp
        # What starts a line.
        if word is not None and self.line_start_word(tok):
            if {"REMIND", "FEE", "SUSPEND"} <= exp:
                hint = self._hint(word, ACTION_WORDS, {"offer_plan": "offer plan", "write_off": "write off",
                                                       "goto": None})
                return here(f"unknown action '{word}'", hint or f"actions: {', '.join(ACTION_WORDS)}")
            if {"AT", "AFTER", "WHEN"} <= exp:
                if word in ("remind", "fee", "interest", "discount", "offer", "escalate", "task", "suspend",
                            "resume", "write", "custom"):
                    return here(f"an action cannot stand here: '{word}'",
                                "put actions under 'on enter:', 'on exit:' or a rule ending with ':', "
                                "indented one level more")
                if word == "state" or word in ("policy", "segment", "contact", "rate", "any"):
                    return here(f"'{word}' cannot be indented here",
                                f"'{word}' starts a top-level line: remove its indentation")
                hint = self._hint(word, STATE_WORDS, {"goto": None})
                return here(f"unknown rule '{word}'",
                            (hint + "; " if hint else "") + "a rule starts with at, after, every, on, when, "
                            "unless or 'rule NAME'" + ("" if "ON" not in exp else "; 'on enter:' and 'on exit:' "
                                                         "hold actions"))
            if {"WINDOW", "LIMIT", "GAP"} <= exp:
                hint = self._hint(word, CONTACT_WORDS, {})
                return here(f"unknown contact rule '{word}'", hint or f"contact rules: {', '.join(CONTACT_WORDS)}")
            if {"POLICY", "STATE", "SEGMENT"} <= exp:
                if word in RULE_WORDS:
                    return here(f"a rule cannot stand at the top level: '{word}'",
                                "put rules under a 'state NAME:' or 'any state:' line, indented")
                if word in ("remind", "fee", "interest", "discount", "offer", "escalate", "task", "suspend",
                            "resume", "write", "custom"):
                    return here(f"an action cannot stand at the top level: '{word}'",
                                "put actions under a rule or 'on enter:' inside a state, indented")
                if word in ("window", "limit", "gap", "compliance", "no"):
                    return here(f"'{word}' belongs in the contact block",
                                "write it indented under a 'contact:' line")
                hint = self._hint(word, TOP_WORDS, {"states": "state", "segments": "segment", "send_at": "send at",
                                                    "any_state": "any state", "rates": "rate"})
                return here(f"unknown statement '{word}'", hint or f"a top-level line starts with one of: "
                            f"{', '.join(TOP_WORDS)}")
        # A second trigger.
        if kind in ("AT", "AFTER", "EVERY", "ON") and "WHEN" in exp and not state_items:
            return here(f"a rule has at most one trigger; '{value}' starts another",
                        "split it into two rules, one per line")
        if word == "goto" or kind == "WORD" and value == "goto":
            return here("unexpected 'goto'", "in the DSL, write '-> STATE' to go to a state")
        if kind in ("WORD", "NAME") and value in ("do", "then") and ("_COLON" in exp or "_NL" in exp):
            return here(f"unexpected '{value}'", "end the line with ':' and write the actions indented below it")
        # Something missing after a keyword.
        if real_kind == "AT" and "TIME" in exp:
            return here("expected a time after 'send at'" + ("" if at_line_end else f", found {found}"),
                        "for example: send at 09:00")
        if "_RPAR" in exp and self._unbalanced(pos) and (at_line_end or kind not in _EXPR_START):
            return here(f"unexpected {found}", "a '(' is not closed: add ')'")
        if real_kind in _AFTER:
            what, example = self.after_keyword(real_kind, pos)
            keyword = "->" if real_kind == "ARROW" else str(real)
            wanted = exp - _LAYOUT
            if wanted and not (kind in _EXPR_OPS or kind in ("_NL", "$END", "_DEDENT")) or at_line_end:
                if at_line_end:
                    return self.error(f"expected {what} after '{keyword}'", after, None, help=f"for example: {example}")
                return here(f"expected {what} after '{keyword}', found {found}",
                            f"for example: {example}")
        if at_line_end:
            if exp & {"_COLON"} and not exp & {"_NL"}:
                return self.error("expected ':' at the end of the line", after, None,
                                  help="a line that opens an indented block ends with ':'")
            last = f" after '{real}'" if real is not None and str(real) else ""
            return self.error(f"the line ends too early{last}", after, None, help=f"expected {exp_text}")
        if kind == "_COLON" and "_COLON" not in exp:
            return here("unexpected ':'", f"expected {exp_text}")
        if "_NL" in exp and kind in ("WORD", "NAME", "STRING", "NUMBER") and not exp & (_EXPR_OPS | {"WORD"}):
            return here(f"unexpected {found}", f"expected {exp_text}")
        help = f"expected {exp_text}"
        if (kind in _EXPR_START - {"MINUS", "NOT"} or word is not None) and exp & _EXPR_OPS and real is not None:
            help = f"an operator is missing between '{real}' and '{value}', or the word is misplaced; {help}"
        return here(f"unexpected {found}", help)

    def after_keyword(self, kind: str, pos: int) -> tuple[str, str]:
        """What follows keyword ``kind`` on this line: (what, example)."""
        kinds = [_base(t.type) for t in self.line_tokens(pos)]
        action = next((_ACTION_KEYWORDS[k] for k in kinds if k in _ACTION_KEYWORDS), None)
        if action is not None and (kind, action) in _AFTER_IN_ACTION:
            return _AFTER_IN_ACTION[(kind, action)]
        return _AFTER[kind]

    def line_tokens(self, pos: int) -> list[Any]:
        """The tokens read on the line of ``pos`` before ``pos``."""
        toks = []
        for tok in reversed(self.history):
            if tok.start_pos is None or tok.start_pos >= pos:
                continue
            if tok.type == "_NL":
                break
            toks.append(tok)
        return list(reversed(toks))

    def narrow(self, exp: set[str], pos: int) -> set[str]:
        """Drop what the grammar allows but the line cannot take (another action's options, say)."""
        kinds = [_base(t.type) for t in self.line_tokens(pos)]
        action = next((_ACTION_KEYWORDS[k] for k in kinds if k in _ACTION_KEYWORDS), None)
        if action is not None:
            allowed = {w.upper() for w in ACTION_OPTIONS.get(action, {})}
            return exp - (_OPTION_KEYWORDS - allowed)
        trigger = next((k for k in kinds if k in ("AT", "AFTER", "EVERY", "ON")), None)
        if exp & {"WHEN", "UNLESS"}:
            if trigger != "EVERY":
                exp = exp - {"MAX", "STARTING"}
            if trigger in (None, "ON"):
                exp = exp - {"EXPIRES"}
        return exp

    def _last_keyword(self, pos: int) -> str | None:
        for tok in reversed(self.history):
            if tok.start_pos is not None and tok.start_pos < pos and _base(tok.type) in _KEYWORD_NAMES:
                return _base(tok.type)
            if tok.type in ("_NL",):
                return None
        return None

    def _unbalanced(self, pos: int) -> bool:
        depth = 0
        for tok in self.history:
            if tok.type in ("_LPAR", "_LSQB"):
                depth += 1
            elif tok.type in ("_RPAR", "_RSQB"):
                depth -= 1
        return depth > 0

    @staticmethod
    def _hint(word: str, choices: Iterable[str], aliases: dict[str, str | None]) -> str | None:
        if word in aliases:
            alias = aliases[word]
            if alias is None:
                return "in the DSL, write '-> STATE' to go to a state"
            return f"in the DSL, write '{alias}'"
        return did_you_mean(word, choices)

    def dedent(self, err: _BadDedent) -> PolicyError:
        tok = err.token
        start = tok.end_pos
        levels = sorted(set(err.levels[:-1]))
        shown = ", ".join(str(n) for n in levels)
        return PolicyError("the indentation of this line matches no enclosing block", self.f.location(start),
                           help=f"it is indented by {err.indent} spaces; the open blocks are indented by {shown} "
                           "spaces: line it up with the block it belongs to", code="syntax")


# ---------------------------------------------------------------------------
# parse tree -> node tree
# ---------------------------------------------------------------------------

_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t"}


class _Reader:
    """Reads Lark's parse tree into the positioned node tree of the YAML shape."""

    def __init__(self, f: NodeFactory, text: str) -> None:
        self.f = f
        self.text = text
        self.errors: list[PolicyError] = []
        self.root = f.mapping(0, 1)
        self.first: dict[Any, tuple[Location, str]] = {}
        self.scope = "invoice"
        self.currency: str | None = None
        self.segment_names: list[str] = []
        self._schema: Any = None

    # -- helpers -------------------------------------------------------------------
    def error(self, message: str, start: int, end: int | None = None, help: str | None = None, *, code: str) -> None:
        self.errors.append(PolicyError(message, self.f.location(start, end), help=help, code=code))

    def once(self, scope: Any, key: str, tok: Any, what: str | None = None) -> bool:
        """False (and an error) when ``key`` was already given in ``scope``."""
        loc = self.f.location(tok.start_pos, tok.end_pos)
        first = self.first.get((id(scope), key))
        if first is not None:
            self.error(f"{what or repr(key)} is given twice (first at line {first[0].line})", tok.start_pos,
                       tok.end_pos, help="keep one of them", code="duplicate-key")
            return False
        self.first[(id(scope), key)] = (loc, key)
        return True

    def key(self, name: str, tok: Any) -> ScalarNode:
        return self.f.scalar(name, tok.start_pos, tok.end_pos)

    def word(self, tree: Any) -> ScalarNode:
        tok = tree.children[0] if hasattr(tree, "children") else tree
        return self.f.scalar(str(tok), tok.start_pos, tok.end_pos)

    def string(self, tok: Any) -> ScalarNode:
        raw = str(tok)
        body = raw[1:-1]
        out: list[str] = []
        i = 0
        while i < len(body):
            c = body[i]
            if c != "\\":
                out.append(c)
                i += 1
                continue
            nxt = body[i + 1] if i + 1 < len(body) else ""
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
            elif nxt in ("u", "U"):
                width = 4 if nxt == "u" else 8
                digits = body[i + 2:i + 2 + width]
                try:
                    if len(digits) != width or not re.fullmatch(r"[0-9A-Fa-f]+", digits):
                        raise ValueError
                    out.append(chr(int(digits, 16)))
                except (ValueError, OverflowError):
                    self.error(f"invalid escape '\\{nxt}{digits}' in text", tok.start_pos + 1 + i,
                               tok.start_pos + 3 + i + len(digits),
                               help=f"write \\{nxt} and {width} hexadecimal digits", code="invalid-escape")
                i += 2 + width
            else:
                self.error(f"unknown escape '\\{nxt}' in text", tok.start_pos + 1 + i, tok.start_pos + 3 + i,
                           help='the escapes are \\" \\\' \\\\ \\n \\t and \\uXXXX', code="invalid-escape")
                i += 2
        return self.f.scalar("".join(out), tok.start_pos, tok.end_pos, "double")

    def text_node(self, item: Any) -> ScalarNode:
        if hasattr(item, "data"):  # word
            return self.word(item)
        if item.type == "STRING":
            return self.string(item)
        return self.f.scalar(str(item), item.start_pos, item.end_pos)

    def exp(self, tree: Any) -> ScalarNode:
        m = tree.meta
        return self.f.scalar(self.text[m.start_pos:m.end_pos], m.start_pos, m.end_pos, "expr")

    def words(self, tree: Any) -> SeqNode:
        items = [self.word(w) for w in tree.children]
        return self.f.sequence(tree.meta.start_pos, tree.meta.end_pos, items)

    def scalar_tok(self, tok: Any) -> ScalarNode:
        return self.f.scalar(str(tok), tok.start_pos, tok.end_pos)

    def flag(self, tok: Any, value: str = "true") -> ScalarNode:
        return self.f.scalar(value, tok.start_pos, tok.end_pos)

    def value(self, item: Any) -> Node:
        """A node for an option's value: an expression, a word, a list of words, a text, a number."""
        if hasattr(item, "data"):
            if item.data == "exp":
                return self.exp(item)
            if item.data == "words":
                return self.words(item)
            if item.data == "word":
                return self.word(item)
        return self.text_node(item)

    def child_map(self, parent: MapNode, key: str, tok: Any) -> MapNode:
        node = parent.get(key)
        if isinstance(node, MapNode):
            return node
        node = self.f.mapping(tok.start_pos, tok.end_pos)
        parent.add(self.key(key, tok), node)
        return node

    def child_seq(self, parent: MapNode, key: str, tok: Any) -> SeqNode:
        node = parent.get(key)
        if isinstance(node, SeqNode):
            return node
        node = self.f.sequence(tok.start_pos, tok.end_pos)
        parent.add(self.key(key, tok), node)
        return node

    # -- the schema (to tell a percent from an amount) --------------------------------
    def prescan(self, items: list[Any]) -> None:
        for item in items:
            if item.data == "setting":
                kw, val = item.children[0], item.children[1]
                text = self.text_node(val).text
                if kw.type == "SCOPE":
                    self.scope = text
                elif kw.type == "CURRENCY":
                    self.currency = text
            elif item.data == "segment":
                self.segment_names.append(str(item.children[1].children[0]))

    def is_percent(self, node: ScalarNode) -> bool:
        from .. import expr as _expr

        try:
            if self._schema is None:
                try:
                    self._schema = _expr.policy_schema(self.scope, self.currency, self.segment_names, event=True)
                except Exception:
                    self._schema = _expr.policy_schema("invoice", "USD", (), event=True)
            t = _expr.check(_expr.parse(node.text), self._schema)
            return getattr(t, "kind", None) == "percent"
        except Exception:
            return bool(re.search(r"[0-9]%", re.sub(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'", "", node.text)))

    # -- the policy ----------------------------------------------------------------------
    def read(self, tree: Any) -> MapNode:
        items = [c for c in tree.children if hasattr(c, "data")]
        self.prescan(items)
        root = self.root
        for item in items:
            getattr(self, "item_" + item.data)(item)
        return root

    def item_policy_line(self, t: Any) -> None:
        kw, word = t.children[0], t.children[1]
        if self.once(self.root, "policy", kw, "the 'policy' line"):
            self.root.add(self.key("policy", kw), self.word(word))
        if len(t.children) > 2:
            self.version(t.children[2], t.children[3])

    def item_version_line(self, t: Any) -> None:
        self.version(t.children[0], t.children[1])

    def version(self, kw: Any, number: Any) -> None:
        if self.once(self.root, "version", kw, "'version'"):
            self.root.add(self.key("version", kw), self.scalar_tok(number))

    def item_setting(self, t: Any) -> None:
        kw, val = t.children[0], t.children[1]
        name = str(kw)
        if self.once(self.root, name, kw, f"'{name}'"):
            self.root.add(self.key(name, kw), self.text_node(val))

    def item_send_at(self, t: Any) -> None:
        kw, val = t.children[0], t.children[2]
        if self.once(self.root, "send_at", kw, "'send at'"):
            self.root.add(self.key("send_at", kw), self.text_node(val))

    def item_allocation(self, t: Any) -> None:
        kw, words = t.children
        if self.once(self.root, "allocation", kw, "'allocation'"):
            self.root.add(self.key("allocation", kw), self.words(words))

    def item_segment(self, t: Any) -> None:
        kw, word, exp = t.children
        segments = self.child_map(self.root, "segments", kw)
        name = self.word(word)
        if self.once(segments, name.text, word.children[0], f"segment '{name.text}'"):
            segments.add(name, self.exp(exp))

    def item_invariant(self, t: Any) -> None:
        kw, word, exp = t.children
        invariants = self.child_map(self.root, "invariants", kw)
        name = self.word(word)
        if self.once(invariants, name.text, word.children[0], f"invariant '{name.text}'"):
            invariants.add(name, self.exp(exp))

    def item_state(self, t: Any) -> None:
        kw, word = t.children[0], t.children[1]
        states = self.child_map(self.root, "states", kw)
        name = self.word(word)
        body = self.f.mapping(kw.start_pos, kw.end_pos)
        for c in t.children[2:]:
            if c.data == "state_flag":
                flag = c.children[0]
                if self.once(body, str(flag), flag, f"'{flag}'"):
                    body.add(self.key(str(flag), flag), self.flag(flag))
            elif c.data in ("on_enter", "on_exit"):
                on = c.children[0]
                key = str(c.data)
                if self.once(body, key, on, f"'on {key[3:]}'"):
                    actions = self.f.sequence(on.start_pos, on.end_pos,
                                              [self.action(a) for a in c.children[2:]])
                    body.add(self.key(key, on), actions)
            elif c.data == "rule":
                rules = self.child_seq(body, "rules", c.meta)
                rules.append(self.rule(c))
        states.add(name, body)

    def item_any_state(self, t: Any) -> None:
        kw = t.children[0]
        seq = self.child_seq(self.root, "any_state", kw)
        excepts = None
        for c in t.children[2:]:
            if hasattr(c, "data") and c.data == "words":
                excepts = c
        for c in t.children:
            if hasattr(c, "data") and c.data == "rule":
                rule = self.rule(c)
                if excepts is not None:
                    except_kw = t.children[2]
                    rule.add(self.key("except", except_kw), self.words(excepts))
                seq.append(rule)

    def item_contact(self, t: Any) -> None:
        kw = t.children[0]
        if not self.once(self.root, "contact", kw, "the 'contact' block"):
            return
        contact = self.f.mapping(kw.start_pos, kw.end_pos)
        self.root.add(self.key("contact", kw), contact)
        for c in t.children[1:]:
            head = c.children[0]
            if c.data == "window":
                windows = self.child_map(contact, "windows", head)
                days = self.text_node(c.children[1])
                if self.once(windows, days.text, head, f"the window '{days.text}'"):
                    windows.add(days, self.text_node(c.children[2]))
            elif c.data == "no_holidays":
                if self.once(contact, "holidays", head, "'no contact on holidays'"):
                    contact.add(self.key("holidays", head), self.flag(head, "false"))
            elif c.data in ("limit", "gap"):
                limits = self.child_seq(contact, "limits", head)
                kids = c.children
                limit = self.f.mapping(head.start_pos, c.meta.end_pos)
                if c.data == "limit":
                    limit.add(self.key("max", head), self.scalar_tok(kids[1]))
                    limit.add(self.key("per", kids[2]), self.exp(kids[3]))
                    rest = kids[4:]
                else:
                    limit.add(self.key("gap", head), self.exp(kids[1]))
                    rest = kids[2:]
                if rest:
                    limit.add(self.key("via", rest[0]), self.words(rest[1]))
                limits.append(limit)
            elif c.data == "compliance":
                if self.once(contact, "compliance", head, "'compliance'"):
                    contact.add(self.key("compliance", head), self.words(c.children[1]))

    def item_rate(self, t: Any) -> None:
        kw, word = t.children[0], t.children[1]
        rates = self.child_map(self.root, "rates", kw)
        name = self.word(word)
        if not self.once(rates, name.text, word.children[0], f"rate '{name.text}'"):
            return
        rest = t.children[2:]
        if rest and not hasattr(rest[0], "data"):
            rates.add(name, self.string(rest[0]))
            return
        table = self.f.mapping(kw.start_pos, kw.end_pos)
        for row in rest:
            date = row.children[0]
            number = row.children[-1]
            value = self.text[row.children[1].start_pos if len(row.children) == 3 else number.start_pos:number.end_pos]
            start = row.children[1].start_pos if len(row.children) == 3 else number.start_pos
            if self.once(table, str(date), date, f"the date {date}"):
                table.add(self.scalar_tok(date), self.f.scalar(value.replace(" ", ""), start, number.end_pos))
        rates.add(name, table)

    # -- rules ---------------------------------------------------------------------------
    def rule(self, t: Any) -> MapNode:
        m = t.meta
        rule = self.f.mapping(m.start_pos, m.end_pos)
        do: SeqNode | None = None
        kids = t.children
        i = 0
        while i < len(kids):
            c = kids[i]
            if not hasattr(c, "data"):
                if c.type == "RULE":
                    word = kids[i + 1]
                    if self.once(rule, "name", c, "the rule name"):
                        rule.add(self.key("name", c), self.word(word))
                    i += 2
                    continue
                if c.type == "ARROW":
                    word = kids[i + 1]
                    if self.once(rule, "goto", c, "'->'"):
                        rule.add(self.key("goto", c), self.word(word))
                    i += 2
                    continue
                i += 1  # pragma: no cover - every other token is filtered out
                continue
            if c.data in ("trigger", "clause"):
                kw, val = c.children
                name = str(kw)
                if self.once(rule, name, kw, f"'{name}'"):
                    rule.add(self.key(name, kw), self.value(val))
            else:  # an action
                if do is None:
                    do = self.f.sequence(c.meta.start_pos, c.meta.end_pos)
                    rule.add(self.f.scalar("do", c.meta.start_pos, c.meta.end_pos), do)
                do.append(self.action(c))
            i += 1
        return rule

    # -- actions -------------------------------------------------------------------------
    def action(self, t: Any) -> Node:
        kind = str(t.data)
        kids = t.children
        head = kids[0]
        if kind in ("suspend", "resume", "write_off"):
            end = kids[-1].end_pos
            return self.f.scalar(kind, head.start_pos, end)
        params = self.f.mapping(head.start_pos, t.meta.end_pos)
        node = self.f.mapping(head.start_pos, t.meta.end_pos)
        node.add(self.f.scalar(kind, head.start_pos, kids[1].end_pos if kind == "offer_plan" else head.end_pos),
                 params)
        options: list[Any] = []
        if kind == "remind":
            params.add(self.key("template", head), self.text_node(kids[1]))
            options = kids[2:]
        elif kind == "fee":
            value = self.exp(kids[1])
            params.add(self.key("percent" if self.is_percent(value) else "amount", head), value)
            options = kids[2:]
        elif kind == "interest":
            params.add(self.key("annual_rate", head), self.exp(kids[1]))
            options = kids[4:]
        elif kind == "discount":
            value = self.exp(kids[1])
            params.add(self.key("percent" if self.is_percent(value) else "amount", head), value)
            params.add(self.key("until", kids[2]), self.exp(kids[3]))
        elif kind == "offer_plan":
            params.add(self.key("installments", kids[2]), self.scalar_tok(kids[2]))
            options = kids[4:]
        elif kind == "escalate":
            params.add(self.key("to", kids[1]), self.text_node(kids[2]))
            options = kids[3:]
        elif kind == "task":
            params.add(self.key("kind", head), self.text_node(kids[1]))
            options = kids[2:]
        elif kind == "custom":
            params.add(self.key("name", head), self.text_node(kids[1]))
            rest = [c for c in kids[2:] if hasattr(c, "data")]
            if rest:
                with_kw = kids[2]
                custom = self.f.mapping(with_kw.start_pos, with_kw.end_pos)
                for p in rest:
                    pname = self.word(p.children[0])
                    if self.once(custom, pname.text, p.children[0].children[0], f"the parameter '{pname.text}'"):
                        custom.add(pname, self.exp(p.children[1]))
                params.add(self.key("params", with_kw), custom)
        allowed = ACTION_OPTIONS.get(kind, {})
        label = kind.replace("_", " ")
        for opt in options:
            kw, val = opt.children
            word = str(kw)
            if word not in allowed:
                takes = ", ".join(_OPTION_FORMS[w] for w in allowed) or "no options"
                self.error(f"'{word}' does not go with '{label}'", kw.start_pos, kw.end_pos,
                           help=f"'{label}' takes: {takes}", code="misplaced-option")
                continue
            param = allowed[word]
            if self.once(params, param, kw, f"'{word}'"):
                params.add(self.key(param, kw), self.value(val))
        return node


# ---------------------------------------------------------------------------
# build's messages, in the DSL's words
# ---------------------------------------------------------------------------

_REWORD: list[tuple[re.Pattern, str, str | None]] = [
    (re.compile(r"the policy has no 'policy:' id"), "the policy has no 'policy NAME' line",
     "start the file with 'policy my_policy version 1'"),
    (re.compile(r"the policy has no 'currency:'"), "the policy has no 'currency' line",
     "add 'currency CLP' (or USD, MXN...): the currency of money written without a code"),
    (re.compile(r"the policy has no 'states:'"), "the policy has no states",
     "add the states, one marked initial: 'state open initial:'"),
    (re.compile(r"no state is marked 'initial: true'"), "no state is marked 'initial'",
     "mark the state where every case starts: 'state NAME initial:'"),
    (re.compile(r"this rule does nothing: it has no 'do' and no 'goto'"),
     "this rule does nothing: it has no actions and no '-> STATE'",
     "end the line with ':' and write its actions indented below, or add '-> STATE'"),
    (re.compile(r"final state '(.*)' cannot have rules or on_exit"), r"final state '\1' cannot have rules or 'on exit'",
     "a final state runs no rule; remove 'final' or the rules"),
    (re.compile(r"^goto: undefined state"), "undefined state", None),
    (re.compile(r"^except: undefined state"), "'except' names an undefined state", None),
    (re.compile(r"'of' only goes with 'percent'"), "'of' only goes with a percent fee",
     "for example: fee 2% of balance"),
    (re.compile(r"a rule needs a trigger \(at, after, every, on\) or a condition \(when\)"),
     "a rule needs a trigger (at, after, every, on) or a condition (when)",
     "for example 'at due + 1 day -> overdue', 'on payment -> paid' or 'when balance <= 0 -> paid'"),
]


def _reword(err: PolicyError) -> PolicyError:
    message, help = err.message, err.help
    for pattern, text, new_help in _REWORD:
        if pattern.search(message):
            message = pattern.sub(text, message)
            if new_help is not None:
                help = new_help
            break
    if help:
        help = help.replace("'initial: true'", "'initial'").replace("'goto:'", "'->'")
    if message == err.message and help == err.help:
        return err
    return PolicyError(message, err.location, help=help, code=err.code, severity=err.severity)


# ---------------------------------------------------------------------------
# entry points
# ---------------------------------------------------------------------------


def _parse_text(padded: str, f: Any, text: str) -> Any:
    """Lark's tree of ``padded`` (DSL text ending with a newline); a PolicyError located through
    ``f.location`` on bad syntax, its message read in ``text``. Call it holding ``_lock``."""
    from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

    parser = dsl_parser()
    postlex = parser.options.postlex
    try:
        return parser.parse(padded)
    except UnexpectedToken as e:
        raise _Syntax(f, text, list(postlex.history)).token(e.token, _accepted(e)) from None
    except UnexpectedCharacters as e:
        raise _Syntax(f, text, list(postlex.history)).characters(e.pos_in_stream, e.allowed or ()) from None
    except _BadDedent as e:
        raise _Syntax(f, text, list(postlex.history)).dedent(e) from None
    except (UnexpectedInput, LarkError) as e:  # pragma: no cover - defensive
        raise PolicyError("could not read the policy", f.location(0), help=str(e).split("\n")[0],
                          code="syntax") from None


def _read(data: str | bytes, name: str | None) -> tuple[MapNode, list[PolicyError], Any]:
    """The node tree of what parses, the syntax and structural errors, and what a syntax error lost
    (None when the whole file parses; see ``dsl_recover``)."""
    text = _prepare(data, name)
    f = NodeFactory(text, name)
    _check_text(f, text)
    if not any(line.strip() and not line.lstrip().startswith("#") for line in text.split("\n")):
        raise PolicyError("the policy file is empty", f.location(0), help=_MINIMAL_POLICY, code="empty-policy")
    padded = text if text.endswith("\n") else text + "\n"
    errors: list[PolicyError] = []
    lost = None
    with _lock:
        try:
            tree = _parse_text(padded, f, text)
        except PolicyError as first:
            from lark import Tree

            from .dsl_recover import recover

            items, errors, lost = recover(text, f, first, lambda piece, where: _parse_text(piece, where, piece))
            tree = Tree("start", items)
    reader = _Reader(f, text)
    root = reader.read(tree)
    return root, errors + reader.errors, lost


def parse_dsl(data: str | bytes, name: str | None = None) -> MapNode:
    """Read DSL text into the positioned node tree (the YAML shape); PolicyError on bad syntax.

    Raises :class:`PolicyErrors` listing every syntax error (the parts of the file that parse are
    read on, see ``dsl_recover``) and structural problem (such as a setting given twice); semantic
    checks are left to ``build``.
    """
    root, errors, _ = _read(data, name)
    if errors:
        raise PolicyErrors(errors)
    return root


def build_dsl(root: MapNode, name: str | None = None) -> ir.Policy:
    """Check and build the tree of a DSL file (``build_policy``, with its messages in the DSL's words)."""
    from .build import build_policy

    try:
        return build_policy(root, path=name)
    except PolicyError as e:
        raise PolicyErrors([_reword(err) for err in e.errors]) from None


def load_dsl(data: str | bytes, name: str | None = None) -> ir.Policy:
    """Load a policy written in the DSL: parse, then check and build it like a YAML policy."""
    try:
        root, errors, lost = _read(data, name)
        try:
            policy = build_dsl(root, name)
        except PolicyError as e:
            # With syntax errors, the checks that may fail only because of a lost part are left out.
            errors += [err for err in e.errors if lost is None or not lost.explains(err)]
            raise PolicyErrors(errors or list(e.errors)) from None
        if errors:
            raise PolicyErrors(errors)
        return policy
    except RecursionError:  # pragma: no cover - depths are bounded before this could happen
        raise PolicyError("the policy is nested too deeply", None,
                          help="a policy never needs this much nesting; check the brackets",
                          code="policy-limit") from None
