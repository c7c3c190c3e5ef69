"""Expression syntax: literals, precedence, errors and their locations, the printer, the grammar file."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal

import pytest

from dunning_engine.errors import Location, PolicyError, Source
from dunning_engine.expr import parse, unparse
from dunning_engine.expr import ast as A
from dunning_engine.expr.parser import MAX_DEPTH, MAX_LENGTH, lark_parser, node_from_tree
from dunning_engine.values import Duration, Percent


def sexpr(node: A.Node) -> str:
    """Fully parenthesised form, to assert the shape of a tree."""
    if isinstance(node, A.Binary):
        return f"({sexpr(node.left)} {node.op} {sexpr(node.right)})"
    if isinstance(node, A.Unary):
        return f"({node.op} {sexpr(node.operand)})"
    if isinstance(node, A.Member):
        return f"{sexpr(node.obj)}.{node.name}"
    if isinstance(node, A.Call):
        return f"{node.name}({', '.join(sexpr(a) for a in node.args)})"
    if isinstance(node, A.ListExpr):
        return f"[{', '.join(sexpr(a) for a in node.items)}]"
    return unparse(node)


def perr(text: str, origin=None) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        parse(text, origin)
    return info.value


# -- literals -----------------------------------------------------------------

@pytest.mark.parametrize("text, value", [("12", Decimal("12")), ("12.5", Decimal("12.5")), ("0.05", Decimal("0.05")),
                                         ("007", Decimal("7"))])
def test_numbers_are_decimals(text, value):
    node = parse(text)
    assert isinstance(node, A.Number)
    assert type(node.value) is Decimal and node.value == value


@pytest.mark.parametrize("text, value", [
    ('"text"', "text"), ("'text'", "text"), (r'"a \"quoted\" word"', 'a "quoted" word'),
    (r"'it\'s'", "it's"), (r'"back\\slash"', "back\\slash"), (r'"line\nbreak\ttab"', "line\nbreak\ttab"),
    ('"it\'s"', "it's"), ('""', ""), ('"ñandú €"', "ñandú €"),
])
def test_strings(text, value):
    node = parse(text)
    assert node == A.Text(value)


def test_unknown_escape_is_located():
    e = perr(r'"ab\qc"')
    assert "unknown escape '\\q'" in e.message
    assert (e.line, e.column) == (1, 4)


def test_unterminated_string():
    e = perr('customer.segment == "vip')
    assert e.message == "unterminated string" and e.column == 21


@pytest.mark.parametrize("text, node", [("true", A.Bool(True)), ("false", A.Bool(False)), ("null", A.Null())])
def test_keywords_literals(text, node):
    assert parse(text) == node


def test_date_literal_is_one_token():
    assert parse("2026-03-01") == A.DateLit(dt.date(2026, 3, 1))
    # with spaces it is arithmetic, not a date
    assert sexpr(parse("2026 - 03 - 01")) == "((2026 - 3) - 1)"


@pytest.mark.parametrize("text", ["2026-02-30", "2026-13-01", "2026-00-10", "0000-01-01"])
def test_invalid_dates_are_refused_with_location(text):
    e = perr(f"due > {text}")
    assert e.message == f"'{text}' is not a valid date"
    assert e.column == 7 and e.location.length == 10


@pytest.mark.parametrize("text, value", [
    ("2026-03-01T09:00", dt.datetime(2026, 3, 1, 9, 0)),
    ("2026-03-01T09:00:30", dt.datetime(2026, 3, 1, 9, 0, 30)),
    ("2026-03-01T09:00Z", dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)),
    ("2026-03-01T09:00:00-03:00", dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=-3)))),
    ("2026-03-01T09:00+05:30", dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))),
])
def test_datetimes(text, value):
    node = parse(text)
    assert isinstance(node, A.DateTimeLit)
    assert node.value == value and (node.value.tzinfo is None) == (value.tzinfo is None)
    assert node.value.utcoffset() == value.utcoffset()


@pytest.mark.parametrize("text", ["2026-03-01T25:00", "2026-03-01T09:60", "2026-02-29T09:00", "2026-03-01T09:00+24:00"])
def test_invalid_datetimes(text):
    assert "is not a valid datetime" in perr(text).message


def test_incomplete_datetime_has_help():
    e = perr("2026-03-01T")
    assert "2026-03-01T09:00" in e.help


@pytest.mark.parametrize("text, amount, unit", [
    ("3 days", 3, "days"), ("1 day", 1, "days"), ("2 weeks", 2, "weeks"), ("1 week", 1, "weeks"),
    ("1 month", 1, "months"), ("3 months", 3, "months"), ("5 business days", 5, "business_days"),
    ("1 business day", 1, "business_days"), ("0 days", 0, "days"), ("7\tdays", 7, "days"),
])
def test_durations(text, amount, unit):
    assert parse(text) == A.DurationLit(Duration(amount, unit))


def test_duration_count_is_whole():
    # 1.5 days is a number followed by a name: a syntax error
    assert "unexpected" in perr("1.5 days").message


def test_duration_bound():
    assert "duration too long" in perr("1000000 days").message


@pytest.mark.parametrize("text, value", [("2%", Decimal("2")), ("2.5%", Decimal("2.5")), ("100%", Decimal("100"))])
def test_percents(text, value):
    node = parse(text)
    assert node == A.PercentLit(Percent(value))
    assert type(node.value.value) is Decimal


@pytest.mark.parametrize("text, amount, code", [("50000 CLP", "50000", "CLP"), ("19.90 USD", "19.90", "USD"),
                                                ("0.125 BHD", "0.125", "BHD"), ("5EUR", "5", "EUR")])
def test_money(text, amount, code):
    node = parse(text)
    assert node == A.MoneyLit(Decimal(amount), code)
    assert str(node.amount) == amount  # digits kept as written


def test_unknown_currency_points_at_the_code():
    e = perr("balance > 50000 XYZ")
    assert e.message == "unknown currency code 'XYZ'"
    assert (e.column, e.location.length) == (17, 3)


def test_non_invoice_currency_refused():
    assert "unknown currency code 'XAU'" in perr("1 XAU").message


def test_lists():
    assert parse('["vip", "smb"]') == A.ListExpr((A.Text("vip"), A.Text("smb")))
    assert parse("[]") == A.ListExpr(())
    assert parse("[1, 2,]") == A.ListExpr((A.Number(Decimal(1)), A.Number(Decimal(2))))


# -- precedence and associativity --------------------------------------------------

@pytest.mark.parametrize("text, shape", [
    ("a or b and c", "(a or (b and c))"),
    ("a and b or c", "((a and b) or c)"),
    ("not a and b", "((not a) and b)"),
    ("not a == b", "(not (a == b))"),
    ("not not a", "(not (not a))"),
    ("not a in b", "(not (a in b))"),
    ("a not in b", "(a not in b)"),
    ("a == b + c", "(a == (b + c))"),
    ("a + b * c", "(a + (b * c))"),
    ("a * b + c", "((a * b) + c)"),
    ("a - b - c", "((a - b) - c)"),
    ("a / b * c", "((a / b) * c)"),
    ("a / b / c", "((a / b) / c)"),
    ("-a * b", "((- a) * b)"),
    ("-a.b", "(- a.b)"),
    ("- -a", "(- (- a))"),
    ("a - -b", "(a - (- b))"),
    ("(a + b) * c", "((a + b) * c)"),
    ("a.b.c", "a.b.c"),
    ("f(a, b).c", "f(a, b).c"),
    ("a or b or c", "((a or b) or c)"),
    ("a and b and c", "((a and b) and c)"),
    ("a < b or c >= d", "((a < b) or (c >= d))"),
    ("x in [1, 2] and y not in z", "((x in [1, 2]) and (y not in z))"),
    ("due + 3 days", "(due + 3 days)"),
    ("balance > 50000 CLP", "(balance > 50000 CLP)"),
])
def test_precedence(text, shape):
    assert sexpr(parse(text)) == shape


@pytest.mark.parametrize("text", ["a < b < c", "a == b == c", "a != b < c", "(a <= b >= c)", "a in b in c"])
def test_comparisons_are_not_associative(text):
    e = perr(text)
    assert e.message == "comparisons cannot be chained"
    assert "and" in e.help


def test_comparison_chain_with_parentheses_is_fine():
    assert sexpr(parse("(a < b) == c")) == "((a < b) == c)"


@pytest.mark.parametrize("word", ["and", "or", "not", "in", "true", "false", "null"])
def test_keywords_are_reserved(word):
    with pytest.raises(PolicyError):
        parse(f"customer.{word} == 1")
    if word != "not":  # not(1) is 'not (1)'
        with pytest.raises(PolicyError):
            parse(f"{word}(1)")


def test_keyword_prefix_is_a_name():
    assert parse("android or nothing") == A.Binary("or", A.Var("android"), A.Var("nothing"))
    assert parse("notes") == A.Var("notes")


def test_reserved_word_help():
    e = perr("1 + and")
    assert "reserved word" in e.help


# -- names ----------------------------------------------------------------------

@pytest.mark.parametrize("text, column, length", [
    ("_x", 1, 2), ("invoice.__class__", 9, 9), ("customer._x == 1", 10, 2), ("a + __import__(1)", 5, 10),
])
def test_underscore_names_are_refused_with_position(text, column, length):
    e = perr(text)
    assert e.message == "names starting with '_' are not allowed"
    assert (e.line, e.column, e.location.length) == (1, column, length)


def test_upper_case_names():
    e = perr("Balance > 0")
    assert e.message == "unexpected 'Balance'" and "balance" in e.help


def test_lower_case_currency_is_not_money():
    with pytest.raises(PolicyError):
        parse("50000 clp")


# -- syntax errors -------------------------------------------------------------------

@pytest.mark.parametrize("text, message, column", [
    ("balance +", "expected a value after '+'", 10),
    ("balance > 0 and", "expected a value after 'and'", 16),
    ("(balance > 0", "unexpected end of expression", 13),
    ("balance > 0)", "unexpected ')'", 12),
    ("balance > )", "expected a value after '>', found ')'", 11),
    ("customer.", "expected a field name after '.'", 10),
    ("[1, 2", "unexpected end of expression", 6),
    ("balance 100", "unexpected number 100", 9),
    ("min(1)(2)", "unexpected '('", 7),
    ("a = b", "unexpected character '='", 3),
    ("a @ b", "unexpected character '@'", 3),
    ("2 %", "unexpected character '%'", 3),
])
def test_syntax_errors(text, message, column):
    e = perr(text)
    assert e.message == message
    assert (e.line, e.column) == (1, column)


def test_syntax_errors_have_help():
    assert "add ')'" in perr("(a").help
    assert "'=='" in perr("a = b").help
    assert "operator is missing" in perr("due 3 days").help
    assert "no '(' to close" in perr("a)").help


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty(text):
    assert perr(text).message == "empty expression"


def test_not_text():
    assert "must be text" in perr(12).message  # type: ignore[arg-type]


def test_multiline_expression_location():
    e = perr("balance > 0 and\n  due >> 1")
    assert (e.line, e.column) == (2, 8)


# -- positions --------------------------------------------------------------------------

def test_nodes_keep_positions():
    node = parse("balance > 50000 CLP and customer.segment == 'vip'")
    assert isinstance(node, A.Binary) and node.op == "and"
    cmp_, seg = node.left, node.right
    assert (cmp_.start, cmp_.length) == (0, 19)
    assert (cmp_.right.start, cmp_.right.length) == (10, 9)
    assert (seg.left.start, seg.left.length) == (24, 16)
    assert seg.left.name_start == 33
    assert (node.start, node.length) == (0, 49)


def test_error_location_goes_through_origin():
    # the expression is a YAML scalar starting at line 12, column 15
    yaml = "\n" * 11 + "        when: balanse > 50000 CLP\n"
    src = Source("policies/b2b.yaml", yaml)
    origin = lambda offset, length: Location(src, 12, 15 + offset, length)  # noqa: E731
    e = perr("balanse >> 50000 CLP", origin)
    assert (e.file, e.line, e.column) == ("policies/b2b.yaml", 12, 15 + 9)
    e = perr("due + 3 dayz", origin)
    assert e.column == 15 + 8
    rendered = perr("balanse + ", origin).render()
    assert rendered.startswith("policies/b2b.yaml:12:")


def test_positions_equality_ignores_positions():
    assert parse("a+b") == parse("  a  +  b ")
    assert parse("(a)") == A.Var("a")
    assert parse("a + b") != parse("b + a")


# -- limits: any text gives a tree or a PolicyError -------------------------------------------

@pytest.mark.parametrize("text", [
    "-" * 5000 + "1",
    "1" + " + 1" * 1000,
    "not " * 1000 + "x",
    "a" + ".b" * 2000,
    "f(" * 1000 + ")" * 1000,
    "[" * 1000 + "]" * 1000,
])
def test_deep_nesting_is_a_policy_error(text):
    e = perr(text)
    assert "nested too deeply" in e.message or "too long" in e.message


def test_depth_limit_boundary():
    parse("-" * (MAX_DEPTH - 1) + "1")
    with pytest.raises(PolicyError, match="nested too deeply"):
        parse("-" * (MAX_DEPTH + 1) + "1")


def test_redundant_parentheses_do_not_nest():
    assert parse("(" * 3000 + "1" + ")" * 3000) == A.Number(Decimal(1))


def test_length_limit():
    e = perr("x" * (MAX_LENGTH + 1))
    assert "too long" in e.message


def test_long_flat_list_is_fine():
    text = "customer.id in [" + ", ".join(f'"C-{i:05}"' for i in range(500)) + "]"
    node = parse(text)
    assert len(node.right.items) == 500


# -- printer -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, canonical", [
    ("balance>50000  CLP", "balance > 50000 CLP"),
    ("(a + b) + c", "a + b + c"),
    ("a + (b + c)", "a + (b + c)"),
    ("a - (b - c)", "a - (b - c)"),
    ("((a * b)) + c", "a * b + c"),
    ("(a + b) * c", "(a + b) * c"),
    ("(-a) * b", "-a * b"),
    ("-(a * b)", "-(a * b)"),
    ("-(a.b)", "-a.b"),
    ("(-a).b", "(-a).b"),
    ("not (a and b)", "not (a and b)"),
    ("(not a) and b", "not a and b"),
    ("not (a == b)", "not a == b"),
    ("(not a) == b", "(not a) == b"),
    ("a == (b == c)", "a == (b == c)"),
    ("(a or b) and c", "(a or b) and c"),
    ("a or (b and c)", "a or b and c"),
    ("'vip'", '"vip"'),
    ("'say \"hi\"'", r'"say \"hi\""'),
    ("[1,2,]", "[1, 2]"),
    ("min( a ,b )", "min(a, b)"),
    ("19.90 USD", "19.90 USD"),
    ("5EUR", "5 EUR"),
    ("2 weeks", "2 weeks"),
    ("1 days", "1 day"),
    ("3 day", "3 days"),
    ("1 business days", "1 business day"),
    ("2.50%", "2.50%"),
    ("2026-03-01T09:00:00", "2026-03-01T09:00"),
    ("2026-03-01T09:00:30+00:00", "2026-03-01T09:00:30Z"),
    ("2026-03-01T09:00-03:00", "2026-03-01T09:00-03:00"),
    ("a not in [1]", "a not in [1]"),
    ("not a in [1]", "not a in [1]"),
])
def test_canonical_text(text, canonical):
    assert unparse(parse(text)) == canonical
    assert unparse(parse(canonical)) == canonical


def test_unparse_negative_literals_reparse_to_the_same_value():
    node = A.Member(A.Number(Decimal("-5")), "x")
    assert unparse(node) == "(-5).x"
    assert unparse(A.Binary("-", A.Var("a"), A.Number(Decimal("-1")))) == "a - -1"


# -- the grammar file ------------------------------------------------------------------------

def test_grammar_can_be_imported_by_another_grammar():
    from lark import Lark
    from lark.load_grammar import FromPackageLoader

    dsl = r"""
    start: rule+
    rule: "after" DURATION ["when" expr] _NL
        | "at" expr _NL
    %import expr (expr, DURATION, WS_INLINE)
    _NL: /\n/
    %ignore WS_INLINE
    """
    parser = Lark(dsl, parser="lalr", propagate_positions=True,
                  import_paths=[FromPackageLoader("dunning_engine", ("grammar",))])
    text = "after 7 days when balance > 0 and not vip\nat due + 3 days\n"
    tree = parser.parse(text)
    first, second = tree.children
    assert str(first.children[0]) == "7 days"
    guard = first.children[1]
    base = guard.meta.start_pos
    node = node_from_tree(guard, Source(None, text[base:]).location, base=base)
    assert node == parse("balance > 0 and not vip")
    assert (node.right.start, node.right.length) == (16, 7)
    at = second.children[0]
    assert node_from_tree(at, Source(None, text).location, base=at.meta.start_pos) == parse("due + 3 days")


def test_parser_is_built_once():
    assert lark_parser() is lark_parser()


def test_import_is_lazy_and_grammar_comes_from_the_package(tmp_path):
    code = ("import sys, dunning_engine.expr as e; assert 'lark' not in sys.modules; "
            "n = e.parse('due + 3 days'); assert 'lark' in sys.modules; print(e.unparse(n))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "due + 3 days"
