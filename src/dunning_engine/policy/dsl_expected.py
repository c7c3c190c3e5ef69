"""What the DSL parser expected where it stopped, in words: the raw material of syntax messages.

Lark names terminals (``VIA``, ``_COLON``, ``expr__NAME``); these tables and functions turn the set
the parser could take into "an expression, 'via' or the end of the line", and say what follows each
keyword (``AFTER``). The actions' words come from the vocabulary.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..vocabulary import ACTIONS
from .dsl_words import ACTION_FIRST_WORDS, DSL_KEYWORDS

__all__ = ["AFTER", "ACTION_KEYWORDS", "OPTION_KEYWORDS", "EXPR_START", "EXPR_OPS", "PUNCT", "LAYOUT",
           "KEYWORD_NAMES", "accepted", "base", "token_text", "describe_expected"]

KEYWORD_NAMES = {w.upper(): w for w in DSL_KEYWORDS}
EXPR_START = {"NAME", "NUMBER", "STRING", "DATE", "DATETIME", "DURATION", "PERCENT", "MONEY", "TRUE", "FALSE",
               "NULL", "_LPAR", "_LSQB", "MINUS", "NOT"}
EXPR_OPS = {"OR", "AND", "IN", "EQ", "NE", "LT", "LE", "GT", "GE", "PLUS", "STAR", "SLASH", "DOT"}
PUNCT = {"ARROW": "'->'", "_COLON": "':'", "_EQUAL": "'='", "_COMMA": "','", "_RPAR": "')'", "_RSQB": "']'",
          "_LPAR": "'('", "_LSQB": "'['", "DOT": "'.'"}
LAYOUT = {"_NL", "_INDENT", "_DEDENT", "$END"}

# What follows a keyword: (what, example).
AFTER = {
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


def accepted(e: Any) -> set[str]:
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
            if not (t == "$END" or base(t).lstrip("_").isupper()):
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


def base(name: str) -> str:
    """'expr__NAME' -> 'NAME', '_expr__DOT' -> 'DOT'."""
    return name.rsplit("__", 1)[1] if "__" in name and not name.startswith("__") else name


def token_text(tok: Any) -> str:
    kind = base(tok.type)
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


def describe_expected(expected: Iterable[str]) -> str:
    kinds = {base(x) for x in expected}
    parts: list[str] = []
    if "NAME" in kinds or ("NUMBER" in kinds and "STRING" in kinds and "_LPAR" in kinds):
        parts.append("an expression")
    else:
        for k, what in (("NUMBER", "a number"), ("STRING", "a quoted text"), ("DATE", "a date")):
            if k in kinds:
                parts.append(what)
    if "WORD" in kinds:
        parts.append("a name")
    if kinds & EXPR_OPS:
        parts.append("an operator")
    for k, what in (("TIME", "a time such as 09:00"), ("HOURS", "hours such as 08:00-20:00"),
                    ("DAYS", "days such as mon-fri")):
        if k in kinds:
            parts.append(what)
    words = sorted((KEYWORD_NAMES[k] for k in kinds if k in KEYWORD_NAMES),
                   key=lambda w: (KEYWORD_ORDER.get(w, 99), w))
    words = [SHOWN.get(w, w) for w in words]
    if len(words) > 15:
        words = words[:14] + ["..."]
    parts += [f"'{w}'" if w != "..." else w for w in words]
    parts += [PUNCT[k] for k in ("ARROW", "_COLON", "_EQUAL", "_COMMA", "_RPAR", "_RSQB") if k in kinds]
    if "_NL" in kinds:
        parts.append("the end of the line")
    if "_INDENT" in kinds:
        parts.append("an indented block")
    if "$END" in kinds:
        parts.append("the end of the file")
    if not parts:
        return "something else"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


# The keyword that starts each action taking parameters, and every option word, as terminals.
ACTION_KEYWORDS = {spec.keyword.upper(): name for name, spec in ACTIONS.items() if spec.params}
OPTION_KEYWORDS = {word.upper() for spec in ACTIONS.values() for word in spec.options}

# The order expected words are listed in.
KEYWORD_ORDER = {w: i for i, w in enumerate(
    "rule at after every on when unless expires max starting via to of min basis first down assign note with "
    "initial final except".split() + list(ACTION_FIRST_WORDS) +
    "policy version description scope timezone calendar currency send allocation segment invariant state any contact rate "
    "window no limit gap compliance".split())}
# Keywords shown with the words that follow them.
SHOWN = {**{spec.keyword: spec.dsl for spec in ACTIONS.values() if spec.dsl != spec.keyword},
         "send": "send at", "any": "any state", "no": "no contact on holidays"}


