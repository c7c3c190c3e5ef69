"""Lark's parse tree of a DSL policy -> the positioned node tree of the YAML shape.

:class:`Reader` walks the tree and builds the same :class:`~.nodes.MapNode` tree the YAML reader
gives (SPEC §1 keys), every node positioned in the DSL file; ``build`` then checks it. What only the
DSL can get wrong (a setting given twice, an option that does not go with its action, a bad escape
in a text) is reported here. Actions are read along the vocabulary's DSL layouts.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import Location, PolicyError
from ..vocabulary import ACTIONS, PERCENT
from .nodes import MapNode, Node, NodeFactory, ScalarNode, SeqNode

__all__ = ["Reader"]

_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t"}


class Reader:
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
        items: list[Node] = [self.word(w) for w in tree.children]
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
                    self._schema = _expr.policy_schema(self.scope, self.currency or "", self.segment_names, event=True)
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
        """An action in the YAML shape, read along its kind's DSL layout (``vocabulary``): the words
        and values of its head, then ``with NAME = EXPR, ...`` or its options, in any order."""
        kind = str(t.data)
        spec = ACTIONS[kind]
        kids = t.children
        head = kids[0]
        if not spec.params:  # suspend, resume, write off
            return self.f.scalar(kind, head.start_pos, kids[-1].end_pos)
        params = self.f.mapping(head.start_pos, t.meta.end_pos)
        node = self.f.mapping(head.start_pos, t.meta.end_pos)
        name_end = kids[len(spec.dsl.split()) - 1].end_pos  # 'offer plan': both words
        node.add(self.f.scalar(kind, head.start_pos, name_end), params)
        word = head  # the keyword a value follows: its parameter's key is placed there
        i = 0
        for is_value, names in spec.layout:
            child = kids[i]
            i += 1
            if not is_value:
                word = child
                continue
            value = self.value(child)
            name = names[0]
            if len(names) > 1:  # a percent or an amount, told apart by the value's type
                percent = isinstance(value, ScalarNode) and self.is_percent(value)
                name = next(n for n in names if (p := spec.param(n)) is not None and (p.type == PERCENT) == percent)
            params.add(self.key(name, word), value)
        rest = kids[i:]
        if rest and not hasattr(rest[0], "data"):  # custom "NAME" with KEY = EXPR, ...
            with_kw = rest[0]
            param = spec.options[str(with_kw)]
            given = self.f.mapping(with_kw.start_pos, with_kw.end_pos)
            for item in rest[1:]:
                pname = self.word(item.children[0])
                if self.once(given, pname.text, item.children[0].children[0], f"the parameter '{pname.text}'"):
                    given.add(pname, self.exp(item.children[1]))
            params.add(self.key(param.name, with_kw), given)
            rest = []
        allowed = spec.options
        for opt in rest:
            kw, val = opt.children
            option = str(kw)
            if option not in allowed:
                takes = ", ".join(p.form or p.name for p in allowed.values()) or "no options"
                self.error(f"'{option}' does not go with '{spec.dsl}'", kw.start_pos, kw.end_pos,
                           help=f"'{spec.dsl}' takes: {takes}", code="misplaced-option")
                continue
            key = allowed[option].name
            if self.once(params, key, kw, f"'{option}'"):
                params.add(self.key(key, kw), self.value(val))
        return node

