"""Pools of hostile values: what an attacker or a careless author writes where a value belongs.

Every pool is a tuple of text, inserted into policies or records *as written* (raw), so that
the YAML and DSL readers, the expression parser and the record readers each see it the way a
file would give it to them. Nothing here reads a file or the environment.
"""

from __future__ import annotations

import random

__all__ = ["SCALARS", "NUMBERS", "DURATIONS", "MONEY", "PERCENTS", "DATES", "EXPRESSIONS", "RATE_PATHS",
           "TEXTS", "YAML_SNIPPETS", "EDGE_NUMBERS", "EDGE_DATES", "hostile_value", "deep", "long_text"]

NUMBERS = ("0", "-1", "-99999", "99999", "999999999", "1e400", "-1e400", "1e-400", "NaN", "nan", "inf", "-inf",
           "Infinity", "123456789012345678901234567890", "1234567890123456789012345678901234567890.5",
           "0.000000000000000000000000000001", "1.", ".5", "1_000", "0x10", "007", "+3", "1e6", "2**99999")

DURATIONS = ("null", "0 days", "-3 days", "99999 days", "99999 months", "99999 weeks", "99999 business days",
             "999999999999 days", "1e400 days", "5 dias", "3 fortnights", "1 year", "2 hours", "days", "1",
             "1.5 days", "null days", "-0 days", "1 month 2 days", "30 day", "123456789012345678901234567890 days")

MONEY = ("999999999999999999999999999999 CLP", "12345678901234567890123456789 USD", "1e400 USD", "-50 CLP",
         "19.999999999999 USD", "0.001 CLP", "50 XXX", "50 clp", "50 usd", "50", "50 CLP CLP", "NaN USD",
         "99999999999999999999999999999999", "1000000000000000000 CLP", "0 CLP", "-0.00 USD")

PERCENTS = ("150%", "-5%", "0%", "100%", "1e400%", "123456789012345678901234567890%", "0.0000000001%",
            "99999%", "%", "2%%", "NaN%", "2.5.5%")

DATES = ("9999-12-31", "0001-01-01", "1899-12-31", "2201-01-01", "2026-02-30", "2026-13-01", "9999-12-31T23:59:59",
         "0001-01-01T00:00", "2026-01-01T25:00", "2026-01-01T09:00+14:00", "2026-01-01T09:00-23:59",
         "2026-01-01T09:00Z", "due + 99999 months", "due - 99999 months", "issued - 2030 years",
         "max(due, 9999-12-31) + 1 day", "promise.date + 99999 days", "today + 1e400 days", "entered - 99999 weeks")

EXPRESSIONS = ("1 / 0", "balance / 0", "balance / 0 CLP", "balance * balance * balance * balance > 0",
               "99999999999999999999 * 99999999999999999999 > 0", "__class__", "invoice.__class__",
               "customer.__dict__", "().__class__", "rate(\"UF\") > 0", "rate(\"NOPE\") > 0", "count()", "min()",
               "round(balance, 99999) > 0", "round(1, -99999) > 0", "abs()", "max(due)", "not not not not true",
               "balance > null", "null + 1 day", "due + null", "\"a\" * 99999", "[1, 2] + [3]", "balance in balance",
               "customer.segment in null", "event.amount > 0", "days_overdue >= 1e400", "today > 9999-12-31",
               "promise.date - 99999 months < today", "-(-(-(-(balance)))) > 0", "days_in_state * 99999999999",
               "eval(\"1\")", "open_balance > 0", "plan.installments > 0", "state == \"paid\"")

TEXTS = ("", " ", "\t", "é☃𝄞", "\u202eevil", "zero\u200bwidth", "nul\x00byte", "ctrl\x01\x1b[31m", "line\u2028sep",
         "quote\" and ' both", "{{ x }}", "{% for x in (1..99999999) %}x{% endfor %}", "${HOME}", "../../etc",
         "a: b", "- dash", "# hash", "~", "null", "true", "on", "09:00", "\\", "\r\n", "'", "\"", "*alias",
         "&anchor", "!!python/object/apply:os.system [\"true\"]", "!!binary AAAA", "?", "|", ">")

RATE_PATHS = ("/etc/passwd", "/etc/hostname", "../outside.csv", "../../../../../../etc/passwd", "/dev/zero",
              "/dev/stdin", "/dev/null", "rates/fifo", "rates/big.csv", "rates/link.csv", "rates/dir", "rates",
              "rates/missing.csv", "rates/uf.csv", "rates/../../outside.csv", "rates/./uf.csv", "", " ", "~/x.csv",
              "file:///etc/passwd", "rates/uf.csv\x00.txt", "C:\\rates\\uf.csv")

SCALARS = NUMBERS + DURATIONS + MONEY + PERCENTS + DATES + TEXTS + (
    "null", "~", "true", "false", "yes", "no", "on", "off", "[]", "{}", "[null]", "{a: b}", "24:00", "99:99",
    "-1:00", "previous", "return", "initial", "final", "America/Nowhere", "UTC+3", "XX", "states", "policy")

EDGE_NUMBERS = ("0", "1", "99999", "999999999", "123456789012345678901234567890", "12345678901234567890.123456789",
                "0.000000000000001", "1000000000000000000", "999999999999999999")
"""Numbers that keep a token's syntax (``50000 CLP`` -> ``99999 CLP``) but push it to an edge."""

EDGE_DATES = ("9999-12-31", "0001-01-01", "1900-01-01", "2200-12-31", "9999-12-31T23:59:59", "0001-01-01T00:00",
              "2024-02-29", "2026-03-08T02:30")

YAML_SNIPPETS = (
    "x: &a [*a]",
    "a: &a [1, 2]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]",
    "%YAML 1.1\n---", "--- !!map", "...", "? [a, b]\n: c", "<<: *nope", "<<: {x: 1}", "!!python/name:os.system",
    "{a: 1, a: 2}", "key: |\n  block\n  text", "key: >-\n  folded", "'unterminated: x", "[unclosed", "{unclosed: 1",
)


def deep(rng: random.Random, kind: str | None = None) -> str:
    """Deeply nested text: YAML flow lists or maps, expression parentheses or ``not`` chains."""
    n = rng.choice((70, 200, 1000, 5000, 50000))
    kind = kind or rng.choice(("list", "map", "parens", "not", "minus", "plus"))
    if kind == "list":
        return "[" * n + "1" + "]" * n
    if kind == "map":
        return "{a: " * n + "1" + "}" * n
    if kind == "parens":
        return "(" * n + "balance > 0" + ")" * n
    if kind == "not":
        return "not " * n + "true"
    if kind == "minus":
        return "-" * n + "1 > 0"
    return " + ".join(["balance"] * n) + " > 0"


def long_text(rng: random.Random) -> str:
    """A very long token or string (up to 2 MB, above the 1 MB limits)."""
    n = rng.choice((10_000, 100_000, 1_100_000, 2_000_000))
    return rng.choice(("x", "é", "9", "a ", "\\")) * (n // 2)


def hostile_value(rng: random.Random, pool: tuple[str, ...] | None = None) -> str:
    """One hostile value: mostly from ``pool`` (SCALARS by default), sometimes deep or long."""
    r = rng.random()
    if r < 0.04:
        return deep(rng)
    if r < 0.06:
        return long_text(rng)
    return rng.choice(pool or SCALARS)
