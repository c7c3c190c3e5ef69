"""Tests of the positioned YAML reader (dunning_engine.policy.yaml_source)."""

from __future__ import annotations

import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dunning_engine.errors import Location, PolicyError, Source
from dunning_engine.policy import yaml_source
from dunning_engine.policy.yaml_source import (
    MAX_ALIASES,
    MAX_BYTES,
    MAX_DEPTH,
    MapNode,
    Node,
    ScalarNode,
    SeqNode,
    describe,
    load_yaml,
)


def refused(data, name: str | None = "policy.yaml") -> PolicyError:
    with pytest.raises(PolicyError) as info:
        load_yaml(data, name)
    err = info.value
    err.render()  # rendering never fails either
    return err


def at(node: Node) -> tuple[int, int]:
    return node.location.line, node.location.column


def walk(node: Node):
    if isinstance(node, MapNode):
        for key, value in node.items:
            yield key
            yield from walk(value)
    elif isinstance(node, SeqNode):
        for item in node.items:
            yield from walk(item)
    else:
        yield node


# ---------------------------------------------------------------------------
# the tree and its positions
# ---------------------------------------------------------------------------

POLICY = """\
policy: b2b_friendly
version: 3
states:
  overdue:
    rules:
      - when: balanse > 50000 CLP
        do:
          - remind: {template: first_notice, via: [email, whatsapp]}
"""


def test_tree_shape_and_api():
    root = load_yaml(POLICY, "b2b.yaml")
    assert isinstance(root, MapNode)
    assert root.keys() == ["policy", "version", "states"]
    assert "states" in root and "nope" not in root and root.get("nope") is None
    assert len(root) == 3
    rules = root.get("states").get("overdue").get("rules")
    assert isinstance(rules, SeqNode) and len(rules) == 1
    rule = rules.items[0]
    assert isinstance(rule, MapNode) and rule.keys() == ["when", "do"]
    assert root.key_node("version").text == "version"
    assert root.key_node("nope") is None
    assert root.source.name == "b2b.yaml"
    assert root.location.file == "b2b.yaml"
    assert [k.text for k, _ in root.items] == root.keys()


def test_positions_of_keys_and_values():
    root = load_yaml(POLICY, "b2b.yaml")
    assert at(root) == (1, 1)
    assert at(root.key_node("policy")) == (1, 1)
    assert root.key_node("policy").location.length == 6
    value = root.get("policy")
    assert at(value) == (1, 9) and value.location.length == len("b2b_friendly")
    assert at(root.get("version")) == (2, 10)
    states = root.get("states")
    assert at(root.key_node("states")) == (3, 1)
    assert at(states) == (4, 3)  # a block mapping starts at its first key
    rules = states.get("overdue").get("rules")
    assert at(rules) == (6, 7)  # the '-' of the first item
    rule = rules.items[0]
    assert at(rule) == (6, 9)
    assert at(rule.key_node("when")) == (6, 9)
    when = rule.get("when")
    assert at(when) == (6, 15) and when.location.length == len("balanse > 50000 CLP")
    assert str(when.location) == "b2b.yaml:6:15"


def test_positions_in_flow_collections():
    root = load_yaml(POLICY)
    remind_item = root.get("states").get("overdue").get("rules").items[0].get("do").items[0]
    params = remind_item.get("remind")
    assert isinstance(params, MapNode)
    line = POLICY.splitlines()[7]
    assert at(params) == (8, line.index("{") + 1)
    assert params.location.length == len("{template: first_notice, via: [email, whatsapp]}")
    assert at(params.key_node("template")) == (8, line.index("template") + 1)
    assert at(params.get("template")) == (8, line.index("first_notice") + 1)
    via = params.get("via")
    assert isinstance(via, SeqNode)
    assert at(via) == (8, line.index("[") + 1) and via.location.length == len("[email, whatsapp]")
    assert [i.text for i in via.items] == ["email", "whatsapp"]
    assert [at(i) for i in via.items] == [(8, line.index("email") + 1), (8, line.index("whatsapp") + 1)]


def test_positions_of_block_sequence_items():
    root = load_yaml("channels:\n  - email\n  - sms\nother: [1, 2]\n")
    items = root.get("channels").items
    assert [at(i) for i in items] == [(2, 5), (3, 5)]
    assert [i.location.length for i in items] == [5, 3]


def test_indentless_sequence_and_empty_values():
    root = load_yaml("via:\n- email\n- \nlegal:\nnext: 1\n")
    via = root.get("via")
    assert at(via) == (2, 1)
    assert via.items[1].is_null() and via.items[1].text == ""
    legal = root.get("legal")
    assert isinstance(legal, ScalarNode) and legal.is_null()
    assert at(legal) == (4, 7)  # just after 'legal:'


def test_crlf_and_bom_keep_columns():
    text = "a: 1\r\nbb: xyz\r\n"
    for data in (text, text.encode(), b"\xef\xbb\xbf" + text.encode(), "\ufeff" + text):
        root = load_yaml(data)
        assert at(root.get("bb")) == (2, 5)
        assert root.get("bb").origin(2).column == 7
        assert root.get("a").text == "1"


def test_scalar_with_anchor_is_positioned_at_its_text():
    root = load_yaml("k: &x\n  value\nj: *x\n")
    assert at(root.get("k")) == (2, 3)
    assert root.get("j") is root.get("k")  # aliases share the anchored node


# ---------------------------------------------------------------------------
# origin(): offsets in a scalar's text -> places in the file
# ---------------------------------------------------------------------------


def test_origin_plain():
    src = "states:\n  overdue:\n    rules:\n      - when: balanse > 50000 CLP\n"
    when = load_yaml(src).get("states").get("overdue").get("rules").items[0].get("when")
    assert (when.origin(0).line, when.origin(0).column) == (4, 15)
    assert (when.origin(8).line, when.origin(8).column) == (4, 23)
    loc = when.origin(0, 7)
    assert loc.length == 7 and loc.source is when.source
    assert "balanse" in loc.source.line(loc.line)[loc.column - 1:loc.column - 1 + loc.length]


def test_scalar_node_is_an_origin_callable():
    when = load_yaml("when: a > b\n").get("when")
    assert when(4, 1) == when.origin(4, 1)
    assert when(4).column == 11


def test_origin_double_quoted_plain_text():
    line = '  at: "due + 3 dyas"'
    at_ = load_yaml("r:\n" + line + "\n").get("r").get("at")
    assert at_.style == "double" and at_.text == "due + 3 dyas"
    offset = at_.text.index("dyas")
    loc = at_.origin(offset, 4)
    assert (loc.line, loc.column, loc.length) == (2, line.index("dyas") + 1, 4)


def test_origin_double_quoted_through_escapes():
    line = r'at: "\tdue\u0020+ 3 \x64yas \"x\""'
    node = load_yaml(line + "\n").get("at")
    assert node.text == '\tdue + 3 dyas "x"'
    # every character lands on the start of its escape or on itself
    assert node.origin(0).column == line.index(r"\t") + 1
    assert node.origin(1).column == line.index("due") + 1
    assert node.origin(4).column == line.index(r"\u0020") + 1
    assert node.origin(5).column == line.index("+") + 1
    d = node.text.index("dyas")
    assert node.origin(d).column == line.index(r"\x64") + 1
    assert node.origin(d + 1).column == line.index("yas") + 1
    q = node.text.index('"')
    assert node.origin(q).column == line.index(r"\"x") + 1
    assert node.origin(q + 1).column == line.index(r"\"x") + 3
    # the underline covers the escape in the file
    assert node.origin(d, 4).length == len(r"\x64yas")


def test_origin_single_quoted_doubled_quote_is_one_character():
    line = "note: 'it''s due + 3 dyas'"
    node = load_yaml(line + "\n").get("note")
    assert node.style == "single" and node.text == "it's due + 3 dyas"
    assert node.origin(0).column == line.index("it") + 1
    assert node.origin(2).column == line.index("''") + 1
    assert node.origin(3).column == line.index("s due") + 1
    assert node.origin(node.text.index("dyas")).column == line.index("dyas") + 1


def test_origin_literal_block():
    src = "when: |\n  balance > 0\n    and dyas > 3\n  end\nnext: 1\n"
    node = load_yaml(src).get("when")
    assert node.style == "literal"
    assert node.text == "balance > 0\n  and dyas > 3\nend\n"
    lines = src.splitlines()
    for i, ch in enumerate(node.text):
        loc = node.origin(i)
        if ch != "\n":
            assert lines[loc.line - 1][loc.column - 1] == ch, (i, ch, loc)
    d = node.text.index("dyas")
    assert (node.origin(d).line, node.origin(d).column) == (3, lines[2].index("dyas") + 1)
    assert (node.origin(node.text.index("end")).line, node.origin(node.text.index("end")).column) == (4, 3)
    assert node.text.index("  and") and node.origin(node.text.index("  and")).column == 3


def test_origin_literal_with_indentation_indicator_and_crlf():
    src = "a:\n  t: |1\r\n    x\r\n   y\r\n"
    node = load_yaml(src).get("a").get("t")
    assert node.text == " x\ny\n"
    assert (node.origin(1).line, node.origin(1).column) == (3, 5)
    assert (node.origin(3).line, node.origin(3).column) == (4, 4)


def test_origin_folded_block_and_multiline_plain():
    src = "note: >\n  first line\n  second\n\n  third\n"
    node = load_yaml(src).get("note")
    assert node.style == "folded" and node.text == "first line second\nthird\n"
    assert (node.origin(node.text.index("second")).line, node.origin(node.text.index("second")).column) == (3, 3)
    assert (node.origin(node.text.index("third")).line, node.origin(node.text.index("third")).column) == (5, 3)
    src = "when: balance > 0\n  and dyas > 3\n"
    node = load_yaml(src).get("when")
    assert node.style == "plain" and node.text == "balance > 0 and dyas > 3"
    d = node.text.index("dyas")
    assert (node.origin(d).line, node.origin(d).column) == (2, 7)
    assert node.origin(d, 4).length == 4
    assert node.origin(0, 100).length == len("balance > 0")  # stops at the end of the line


def test_origin_is_clamped_to_the_scalar():
    node = load_yaml('a: "xyz"\n').get("a")
    assert node.origin(-5).column == 5
    assert node.origin(3).column == 8  # just after the text: the closing quote
    assert node.origin(10**6).column == 8
    empty = load_yaml("a:\n").get("a")
    assert empty.origin(0).line == 1 and empty.origin(5).line == 1


_YAMLISH = st.lists(
    st.sampled_from(
        list("ab:- \n'\"\\[],#|>0") + ["  ", "- ", ": ", "\\t", "''", "\r\n", "a: |\n", "a: >\n",
                                         'a: "', "a: '", "|2\n", "\n    x", "\n  y"]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(_YAMLISH)
def test_origin_points_at_the_same_character(text):
    """Each non-blank character of a scalar maps to that character in the file."""
    try:
        root = load_yaml(text)
    except PolicyError:
        return
    source_lines = root.source.text.splitlines()
    for node in walk(root):
        if not isinstance(node, ScalarNode):
            continue
        raw = root.source.text
        for i, ch in enumerate(node.text):
            loc = node.origin(i)
            assert 1 <= loc.line and 1 <= loc.column and loc.length >= 1
            if ch.isspace() or node.style in ("double", "single") and ("\\" in raw or "''" in raw):
                continue
            assert source_lines[loc.line - 1][loc.column - 1] == ch


# ---------------------------------------------------------------------------
# keys and values are read as written
# ---------------------------------------------------------------------------


def test_values_are_read_as_written():
    src = (
        "on: yes\n"
        "off: no\n"
        "send_at: 09:00\n"
        "send_at_quoted: \"09:00\"\n"
        "amount: 19.90\n"
        "hex: 0x10\n"
        "exp: 1e3\n"
        "octal: 010\n"
        "date: 2026-03-01\n"
        "flag: off\n"
        "t: true\n"
        "n: null\n"
        "tilde: ~\n"
        "empty:\n"
        "quoted_null: 'null'\n"
        "list: [on, 1_000, .inf]\n"
        "map: {y: n}\n"
    )
    root = load_yaml(src)
    assert root.keys()[:2] == ["on", "off"]
    expect = {
        "on": "yes", "off": "no", "send_at": "09:00", "send_at_quoted": "09:00", "amount": "19.90",
        "hex": "0x10", "exp": "1e3", "octal": "010", "date": "2026-03-01", "flag": "off", "t": "true",
        "n": "null", "tilde": "~", "empty": "", "quoted_null": "null",
    }
    for key, text in expect.items():
        node = root.get(key)
        assert isinstance(node, ScalarNode) and node.text == text, key
    assert [i.text for i in root.get("list").items] == ["on", "1_000", ".inf"]
    assert root.get("map").keys() == ["y"] and root.get("map").get("y").text == "n"
    assert root.get("send_at").style == "plain" and root.get("send_at_quoted").style == "double"


def test_is_null_and_styles():
    root = load_yaml("a: ~\nb: null\nc: Null\nd: NULL\ne:\nf: ''\ng: 'null'\nh: nul\ni: |\n  x\nj: >\n  x\n")
    assert [root.get(k).is_null() for k in "abcdefgh"] == [True] * 5 + [False] * 3
    assert [root.get(k).style for k in "fgij"] == ["single", "single", "literal", "folded"]


def test_describe():
    root = load_yaml("m: {a: 1}\ns: [1]\nt: x\ne:\n")
    assert describe(root.get("m")) == "a mapping"
    assert describe(root.get("s")) == "a list"
    assert describe(root.get("t")) == "a text"
    assert describe(root.get("e")) == "an empty value"


def test_quoted_merge_key_is_an_ordinary_key():
    root = load_yaml("'<<': x\n")
    assert root.keys() == ["<<"]


def test_aliases_within_bounds_are_expanded():
    root = load_yaml("base: &b {template: t, via: [email]}\nx: *b\ny: [*b, *b]\n")
    assert root.get("x") is root.get("base")
    assert root.get("y").items[1].get("template").text == "t"


# ---------------------------------------------------------------------------
# refusals
# ---------------------------------------------------------------------------


def test_bad_utf8_is_refused_at_the_bad_byte():
    err = refused(b"policy: p\nname: caf\xe9 ok\n")
    assert err.message == "the file is not UTF-8 text"
    assert (err.file, err.line, err.column) == ("policy.yaml", 2, 10)
    assert err.help and "UTF-8" in err.help
    assert "caf" in err.render()


def test_utf16_is_refused():
    err = refused("policy: p\n".encode("utf-16"))
    assert err.message == "the file is not UTF-8 text" and err.line == 1


def test_nul_and_control_characters_are_refused_with_position():
    err = refused("policy: p\nname: a\x00b\n")
    assert (err.line, err.column) == (2, 8) and "U+0000" in err.message
    err = refused(b"a: 1\nb: \x07\n")
    assert (err.line, err.column) == (2, 4) and "U+0007" in err.message


@settings(max_examples=300, deadline=None)
@given(st.binary())
def test_binary_garbage_gives_a_node_or_a_policy_error(data):
    try:
        assert isinstance(load_yaml(data), Node)
    except PolicyError as err:
        err.render()


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_gives_a_node_or_a_policy_error(text):
    try:
        root = load_yaml(text)
    except PolicyError as err:
        err.render()
        return
    assert isinstance(root, Node)
    for node in walk(root):
        if isinstance(node, ScalarNode):
            for i in range(len(node.text) + 1):
                loc = node.origin(i)
                assert loc.line >= 1 and loc.column >= 1


def test_random_bytes_are_always_refused_or_read():
    for _ in range(200):
        data = os.urandom(256)
        try:
            load_yaml(data)
        except PolicyError:
            pass


@pytest.mark.parametrize("data", ["", "   \n\n", "# only a comment\n\n# another\n", "---\n", "--- # c\n",
                                  b"", b"\xef\xbb\xbf", "%YAML 1.1\n---\n"])
def test_empty_documents_are_refused(data):
    err = refused(data)
    assert err.message == "the policy file is empty"
    assert (err.line, err.column) == (1, 1)
    assert "policy: my_policy" in err.help and "states:" in err.help


def test_two_documents_are_refused_at_the_second():
    err = refused("policy: a\nstates: {}\n---\npolicy: b\n")
    assert "more than one YAML document" in err.message
    assert (err.line, err.column) == (3, 1)
    err = refused("---\na: 1\n---\n")
    assert (err.line, err.column) == (3, 1)


@pytest.mark.parametrize(
    "text, line, column, words",
    [
        ("a: b: c\n", 1, 5, "mapping values are not allowed"),
        ("a: [1, 2\nb: 3\n", 2, 2, "expected ',' or ']'"),
        ("a:\n\tb: 1\n", 2, 1, "tab"),
        ("a:\n  b: 1\n c: 2\n", 3, 2, "expected the end of the indented block"),
        ("key: 'open quote\n", 1, 17, "unexpected end of stream"),
        ("a: @x\n", 1, 4, "cannot start with '@'"),
    ],
)
def test_syntax_errors_have_line_column_and_help(text, line, column, words):
    err = refused(text)
    assert err.message.startswith("invalid YAML: ")
    assert words in err.message
    assert (err.file, err.line, err.column) == ("policy.yaml", line, column)
    assert err.help


def test_syntax_error_help_names_the_context():
    err = refused("a: [1, 2\nb: 3\n")
    assert "flow sequence that starts at line 1, column 4" in err.help


def test_end_of_file_is_shown_on_the_last_line():
    err = refused("a: [1, 2\n")
    assert "the end of the file" in err.message
    assert (err.line, err.column) == (1, 9)
    assert "not closed" in err.help
    assert "1 | a: [1, 2" in err.render()
    key_only = load_yaml("?\n")  # an empty value at the very end of the file
    assert key_only.items[0][1].location.line == 1


def test_billion_laughs_is_refused_fast():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    text = "\n".join(lines) + "\n"
    start = time.perf_counter()
    err = refused(text)
    elapsed = time.perf_counter() - start
    assert "too many nodes (alias bomb?)" in err.message
    assert err.line == 5  # refused while expanding e, long before i
    assert elapsed < 1.0


def test_too_many_aliases():
    text = "a: &a x\nl: [" + ", ".join(["*a"] * (MAX_ALIASES + 1)) + "]\n"
    err = refused(text)
    assert "too many aliases" in err.message and err.line == 2
    ok = "a: &a x\nl: [" + ", ".join(["*a"] * MAX_ALIASES) + "]\n"
    assert len(load_yaml(ok).get("l").items) == MAX_ALIASES


def test_recursive_alias_is_refused():
    err = refused("a: &x\n  b: [1, *x]\n")
    assert "recursive alias" in err.message
    assert (err.line, err.column) == (2, 10)


def test_unknown_alias_and_duplicate_anchor_are_refused():
    err = refused("a: *nope\n")
    assert err.message == "unknown alias '*nope'" and (err.line, err.column) == (1, 4)
    err = refused("a: &x 1\nb: &x 2\n")
    assert "defined twice" in err.message and (err.line, err.column) == (2, 4)


def test_deep_nesting_is_refused():
    err = refused("[" * 200 + "]" * 200)
    assert "nested too deeply" in err.message
    assert (err.line, err.column) == (1, MAX_DEPTH + 1)
    block = "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH + 5)) + "  " * (MAX_DEPTH + 5) + "v\n"
    err = refused(block)
    assert "nested too deeply" in err.message and err.line == MAX_DEPTH + 1
    fine = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert isinstance(load_yaml(fine), SeqNode)


def test_nesting_through_aliases_is_counted():
    half = MAX_DEPTH // 2 + 4
    text = "a: &d " + "[" * half + "]" * half + "\nb: " + "[" * half + "*d" + "]" * half + "\n"
    err = refused(text)
    assert "nested too deeply" in err.message and err.line == 2


@pytest.mark.parametrize("text, line", [("base: &b {a: 1}\nx:\n  <<: *b\n  c: 2\n", 3), ("x:\n  <<: {a: 1}\n", 2)])
def test_merge_keys_are_refused(text, line):
    err = refused(text)
    assert err.message == "merge keys ('<<') are not supported"
    assert (err.line, err.column) == (line, 3)
    assert "write the keys out" in err.help


@pytest.mark.parametrize(
    "text, column, length",
    [
        ("a: !!python/object/apply:os.system ['rm -rf /']\n", 4, len("!!python/object/apply:os.system")),
        ("a: !!python/object:os.System {}\n", 4, len("!!python/object:os.System")),
        ("a: !!str 09:00\n", 4, 5),
        ("a: !foo x\n", 4, 4),
        ("a: ! x\n", 4, 1),
        ("a: &x !!int 3\n", 7, 5),
        ("!!map {a: 1}\n", 1, 5),
        ("%TAG !e! tag:example.com,2000:\n---\na: !e!thing x\n", 4, len("!e!thing")),
    ],
)
def test_tags_are_refused_at_the_tag(text, column, length):
    err = refused(text)
    assert err.message == "tags are not allowed in policies"
    assert err.column == column and err.location.length == length


def test_python_object_tag_does_not_run(tmp_path):
    marker = tmp_path / "ran"
    err = refused(f"a: !!python/object/apply:os.system ['touch {marker}']\n")
    assert err.message == "tags are not allowed in policies"
    assert not marker.exists()


@pytest.mark.parametrize(
    "text, line, column, what",
    [
        ("? [a]\n: 1\n", 1, 3, "a list"),
        ("{[a]: 1}\n", 1, 2, "a list"),
        ("? {a: 1}\n: 1\n", 1, 3, "a mapping"),
        ("m: &m {a: 1}\nx: {*m : 1}\n", 2, 5, "a mapping"),
    ],
)
def test_keys_must_be_text(text, line, column, what):
    err = refused(text)
    assert err.message == f"a key must be a text, not {what}"
    assert (err.line, err.column) == (line, column)


@pytest.mark.parametrize(
    "text, line, column, first",
    [
        ("a: 1\nb: 2\na: 3\n", 3, 1, 1),
        ("x:\n  on: 1\n  'on': 2\n", 3, 3, 2),
        ("{a: 1, b: 2, a: 3}\n", 1, 14, 1),
    ],
)
def test_duplicate_keys_are_refused_at_the_second(text, line, column, first):
    err = refused(text)
    assert err.message.startswith("duplicate key '")
    assert err.message.endswith(f"(first at line {first})")
    assert (err.line, err.column) == (line, column)


def test_same_key_in_different_mappings_is_fine():
    root = load_yaml("a: {x: 1}\nb: {x: 2}\n")
    assert root.get("b").get("x").text == "2"


def test_oversize_documents_are_refused_at_once():
    big = "a: " + "x" * MAX_BYTES + "\n"
    for data in (big, big.encode()):
        start = time.perf_counter()
        err = refused(data)
        assert "too large" in err.message and err.file == "policy.yaml"
        assert time.perf_counter() - start < 0.5
    # the limit is in UTF-8 bytes, also for str input
    wide = "a: " + "é" * (MAX_BYTES // 2 + 10)
    assert "too large" in refused(wide).message


@pytest.mark.slow
def test_many_nodes_are_refused():
    err = refused("[" + ",".join(["a"] * (yaml_source.MAX_NODES + 5)) + "]")
    assert "too many nodes" in err.message


def test_unexpected_parser_failure_becomes_a_policy_error(monkeypatch):
    def boom(self):
        raise RuntimeError("internal")

    monkeypatch.setattr(yaml_source._Events, "get_event", boom)
    err = refused("a: 1\n")
    assert err.message == "could not read the YAML" and err.line == 1
    assert "RuntimeError" in err.help


def test_errors_render_like_a_compiler():
    err = refused("policy: p\nstates:\n  a: 1\n  a: 2\n", "pol/b2b.yaml")
    text = err.render()
    assert text.startswith("pol/b2b.yaml:4:3: error: duplicate key 'a' (first at line 3)")
    assert "4 |   a: 2" in text
    assert isinstance(err, ValueError)


def test_name_defaults_to_text():
    err = refused("a: [", None)
    assert err.file == "<text>"


def test_locations_are_errors_locations():
    root = load_yaml("a: b\n")
    assert isinstance(root.location, Location) and isinstance(root.source, Source)
    assert isinstance(root.get("a").origin(0), Location)
