"""Syntax errors of the DSL in words: what was found, what was expected, and how to fix it.

:class:`Syntax` turns Lark's exceptions (an unexpected token or character, a bad dedent) into
``PolicyError`` messages that name the place and what the line could take there, with an example
(docs/dsl.md, "Errors"). The words and the expected-set tables are in ``dsl_words`` and
``dsl_expected``.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from ..errors import PolicyError, did_you_mean
from ..expr.check import unknown_duration_unit
from ..vocabulary import ACTIONS, CHANNELS
from .dsl_expected import (ACTION_KEYWORDS, AFTER, EXPR_OPS, EXPR_START, KEYWORD_NAMES, LAYOUT, OPTION_KEYWORDS,
                           base, describe_expected, token_text)
from .dsl_lex import INDENT, BadDedent
from .dsl_words import (ACTION_ALIASES, ACTION_FIRST_WORDS, ACTION_WORDS, CONTACT_WORDS, RULE_WORDS, STATE_WORDS,
                        TOP_WORDS)
from .nodes import NodeFactory

__all__ = ["Syntax"]


class Syntax:
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
            if tok.start_pos is None or tok.start_pos > pos or (tok.start_pos == pos and tok.type not in LAYOUT):
                continue
            prev = tok
            if tok.type not in LAYOUT:
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
        kinds = {base(a) for a in allowed}
        if c == "-" and self.text.startswith("->", pos):
            shown = "'->'"
        help = helps.get(c)
        if help is None and kinds:
            help = f"expected {describe_expected(kinds)}"
        return self.error(f"unexpected character {shown}", pos, pos + 1, help=help)

    # -- Lark's UnexpectedToken --------------------------------------------------
    def token(self, tok: Any, expected: Iterable[str]) -> PolicyError:
        kind = base(tok.type)
        pos = tok.start_pos if tok.start_pos is not None else len(self.text)
        exp = self.narrow({base(x) for x in expected}, pos)
        exp_text = describe_expected(exp)
        prev, real = self.before(pos, tok)
        real_kind = base(real.type) if real is not None else None
        after = real.end_pos if real is not None else 0
        value = str(tok)
        at_line_end = kind in ("_NL", "$END", "_DEDENT") or (kind == "_INDENT")
        word = None
        if not at_line_end and re.match(r"[A-Za-z_]", value):
            word = self.word_at(pos)
            value = word
        length_end = pos + max(1, len(value)) if not at_line_end else None
        found = f"'{word if len(word) <= 30 else word[:27] + '...'}'" if word is not None else token_text(tok)
        # The contextual lexer reads '->' as '-' where an expression may go on: say so plainly.
        if real_kind == "MINUS" and self.text.startswith("->", real.start_pos):
            before, real2 = self.before(real.start_pos, real)
            del before
            k2 = base(real2.type) if real2 is not None else None
            if k2 in AFTER and k2 not in ("ARROW",):
                what, example = AFTER[k2]
                return self.error(f"expected {what} after '{real2}'", real2.end_pos, None,
                                  help=f"for example: {example}")
            shown = f" after '{real2}'" if real2 is not None else ""
            return self.error(f"the expression{shown} is incomplete before '->'", real.start_pos,
                              real.start_pos + 2, help="write the rest of the expression, or remove the operator")

        def here(message: str, help: str | None = None) -> PolicyError:  # noqa: E306
            if at_line_end:
                return self.error(message, after, None, help)
            return self.error(message, pos, length_end, help)

        if kind in ("WORD", "NAME") and real_kind == "NUMBER" and "." not in str(real) and exp & EXPR_OPS:
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
                        f"channels: {', '.join(CHANNELS)}")
        # Unclosed brackets at the end.
        if kind == "$END" and self._unbalanced(pos):
            return self.error("unexpected end of file", after, None, help="a '(' or '[' is not closed")

        state_items = {"AT", "AFTER", "EVERY", "WHEN", "RULE"} <= exp and "ENTER" not in exp
        # What starts a line.
        if word is not None and self.line_start_word(tok):
            if {"REMIND", "FEE", "SUSPEND"} <= exp:
                hint = self._hint(word, ACTION_WORDS, {**ACTION_ALIASES, "goto": None})
                return here(f"unknown action '{word}'", hint or f"actions: {', '.join(ACTION_WORDS)}")
            if {"AT", "AFTER", "WHEN"} <= exp:
                if word in ACTION_FIRST_WORDS:
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
                if word in ACTION_FIRST_WORDS:
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
        if "_RPAR" in exp and self._unbalanced(pos) and (at_line_end or kind not in EXPR_START):
            return here(f"unexpected {found}", "a '(' is not closed: add ')'")
        if real_kind in AFTER:
            what, example = self.after_keyword(real_kind, pos)
            keyword = "->" if real_kind == "ARROW" else str(real)
            wanted = exp - LAYOUT
            if wanted and not (kind in EXPR_OPS or kind in ("_NL", "$END", "_DEDENT")) or at_line_end:
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
        if "_NL" in exp and kind in ("WORD", "NAME", "STRING", "NUMBER") and not exp & (EXPR_OPS | {"WORD"}):
            return here(f"unexpected {found}", f"expected {exp_text}")
        help = f"expected {exp_text}"
        if (kind in EXPR_START - {"MINUS", "NOT"} or word is not None) and exp & EXPR_OPS and real is not None:
            help = f"an operator is missing between '{real}' and '{value}', or the word is misplaced; {help}"
        return here(f"unexpected {found}", help)

    def after_keyword(self, kind: str, pos: int) -> tuple[str, str]:
        """What follows keyword ``kind`` on this line: (what, example)."""
        kinds = [base(t.type) for t in self.line_tokens(pos)]
        action = next((ACTION_KEYWORDS[k] for k in kinds if k in ACTION_KEYWORDS), None)
        param = ACTIONS[action].param_after(kind.lower()) if action is not None else None
        if param is not None and param.expects is not None:
            return param.expects
        return AFTER[kind]

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
        kinds = [base(t.type) for t in self.line_tokens(pos)]
        action = next((ACTION_KEYWORDS[k] for k in kinds if k in ACTION_KEYWORDS), None)
        if action is not None:
            allowed = {w.upper() for w in ACTIONS[action].options}
            return exp - (OPTION_KEYWORDS - allowed)
        trigger = next((k for k in kinds if k in ("AT", "AFTER", "EVERY", "ON")), None)
        if exp & {"WHEN", "UNLESS"}:
            if trigger != "EVERY":
                exp = exp - {"MAX", "STARTING"}
            if trigger in (None, "ON"):
                exp = exp - {"EXPIRES"}
        return exp

    def _last_keyword(self, pos: int) -> str | None:
        for tok in reversed(self.history):
            if tok.start_pos is not None and tok.start_pos < pos and base(tok.type) in KEYWORD_NAMES:
                return base(tok.type)
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

    def dedent(self, err: BadDedent) -> PolicyError:
        tok = err.token
        start = tok.end_pos
        levels = sorted(set(err.levels[:-1]))
        shown = ", ".join(str(n) for n in levels)
        return PolicyError("the indentation of this line matches no enclosing block", self.f.location(start),
                           help=f"it is indented by {err.indent} spaces; the open blocks are indented by {shown} "
                           "spaces: line it up with the block it belongs to", code="syntax")


