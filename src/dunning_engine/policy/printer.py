"""Printing a policy: IR -> DSL text and IR -> YAML text, in canonical layouts.

``to_dsl(policy)`` and ``to_yaml(policy)`` are lossless: loading their output
gives a policy equal to ``policy`` (``load(to_dsl(p)) == p``,
``load(to_yaml(p)) == p``). Expressions are printed in their canonical form
(``Expression.canonical``); action parameters are the ones the author wrote
(the IR keeps only those). Settings with a default that matters to a reader
(scope, timezone, send at) are always printed; the allocation order only when
it is not the default.

Comments: :func:`read_policy` also returns the file's :class:`Comments`,
attached to the places of the policy they stand before (the file header, a
setting, a segment, a state, an ``on enter`` list, a rule, an action, a
contact rule, a rate) or at the end of such a line; both printers put them
back at the same places, whatever form the policy is printed in. A comment
whose place no longer exists is printed before the next place, or at the end
of the file; nothing is dropped. From YAML, comments at the end of a line
are kept when the line holds no quotes, and only on lines that start a place.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..values import Duration
from . import ir
from .nodes import NULLS, MapNode, Node, ScalarNode, SeqNode

__all__ = [
    "to_dsl",
    "to_yaml",
    "format_policy",
    "read_policy",
    "Comments",
    "extract_comments",
    "format_trigger",
    "format_action",
    "format_rule_head",
    "dsl_string",
    "yaml_scalar",
]

DSL_INDENT = "    "
YAML_INDENT = "  "

Path_ = tuple[Any, ...]


# ---------------------------------------------------------------------------
# comments
# ---------------------------------------------------------------------------


@dataclass
class Comments:
    """Comments of a policy file, by the place (a path in the YAML shape) they belong to.

    ``before[path]`` are the comment lines (``"# ..."``; ``""`` for a blank
    line inside a block of comments) that stand before the place ``path``;
    ``trailing[path]`` the comment at the end of its first line; ``header``
    the comments that open the file (``header_gap``: a blank line followed
    them); ``footer`` the comments after the last place.
    """

    header: list[str] = field(default_factory=list)
    header_gap: bool = False
    before: dict[Path_, list[str]] = field(default_factory=dict)
    trailing: dict[Path_, str] = field(default_factory=dict)
    footer: list[str] = field(default_factory=list)

    def take_before(self, path: Path_) -> list[str]:
        return self.before.pop(path, [])

    def take_trailing(self, path: Path_) -> str | None:
        return self.trailing.pop(path, None)

    def leftovers(self) -> list[str]:
        """Comments whose place was not printed, in file order of their places, then the footer."""
        out: list[str] = []
        for lines in self.before.values():
            out += lines
        out += self.trailing.values()
        self.before.clear()
        self.trailing.clear()
        out += self.footer
        self.footer = []
        return out

    def __bool__(self) -> bool:
        return bool(self.header or self.before or self.trailing or self.footer)


def _anchors(root: Node) -> list[tuple[int, Path_]]:
    """(line, path) of every place of the node tree that a comment may stand before."""
    out: list[tuple[int, Path_]] = []

    def add(node: Node, path: Path_) -> None:
        if node is not None and node.location is not None:
            out.append((node.location.line, path))

    def rule(node: Node, path: Path_) -> None:
        add(node, path)
        if isinstance(node, MapNode):
            do = node.get("do")
            if isinstance(do, SeqNode):
                for j, a in enumerate(do.items):
                    add(a, path + ("do", j))

    if not isinstance(root, MapNode):
        return out
    for key, value in root.items:
        k = key.text
        add(key, (k,))
        if k in ("segments", "invariants") and isinstance(value, MapNode):
            for sk, _ in value.items:
                add(sk, (k, sk.text))
        elif k == "states" and isinstance(value, MapNode):
            for sk, sv in value.items:
                add(sk, ("states", sk.text))
                if not isinstance(sv, MapNode):
                    continue
                for k2, v2 in sv.items:
                    if k2.text in ("on_enter", "on_exit") and isinstance(v2, SeqNode):
                        add(k2, ("states", sk.text, k2.text))
                        for i, a in enumerate(v2.items):
                            add(a, ("states", sk.text, k2.text, i))
                    elif k2.text == "rules" and isinstance(v2, SeqNode):
                        for i, r in enumerate(v2.items):
                            rule(r, ("states", sk.text, "rules", i))
        elif k == "any_state" and isinstance(value, SeqNode):
            for i, r in enumerate(value.items):
                rule(r, ("any_state", i))
        elif k == "contact" and isinstance(value, MapNode):
            for k2, v2 in value.items:
                add(k2, ("contact", k2.text))
                if k2.text == "windows" and isinstance(v2, MapNode):
                    for wk, _ in v2.items:
                        add(wk, ("contact", "windows", wk.text))
                elif k2.text == "limits" and isinstance(v2, SeqNode):
                    for i, item in enumerate(v2.items):
                        add(item, ("contact", "limits", i))
        elif k == "rates" and isinstance(value, MapNode):
            for rk, _ in value.items:
                add(rk, ("rates", rk.text))
    out.sort(key=lambda a: a[0])  # stable: places on one line keep tree order
    return out


def _scalar_lines(root: Node) -> set[int]:
    """Lines strictly inside multi-line scalars (a '#' there is text, not a comment)."""
    inside: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, MapNode):
            for k, v in node.items:
                stack += [k, v]
        elif isinstance(node, SeqNode):
            stack += node.items
        elif isinstance(node, ScalarNode):
            start, end = node.span
            text = node.source.text if node.source is not None else ""
            first = text.count("\n", 0, start) + 1
            last = text.count("\n", 0, min(end, len(text))) + 1
            inside.update(range(first + 1, last + 1))
    return inside


def _dsl_comment_start(line: str) -> int:
    """Index of the '#' that starts a comment on a DSL line (strings are skipped), or -1."""
    quote = None
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#":
            return i
        i += 1
    return -1


def _yaml_comment_start(line: str) -> int:
    stripped = line.lstrip()
    if stripped.startswith("#"):
        return len(line) - len(stripped)
    if "'" in line or '"' in line:
        return -1
    m = re.search(r"[ \t]#", line)
    return m.start() + 1 if m else -1


def extract_comments(text: str, root: Node, fmt: str) -> Comments:
    """The comments of a policy file, attached to the places of its node tree."""
    comments = Comments()
    anchors = _anchors(root)
    anchor_lines: dict[int, Path_] = {}  # the first place on a line: comments above it go there
    last_on_line: dict[int, Path_] = {}  # the last (innermost) place: a comment at the end of the line goes there
    for line, path in anchors:
        anchor_lines.setdefault(line, path)
        last_on_line[line] = path
    skip = _scalar_lines(root) if fmt == "yaml" else set()
    find = _dsl_comment_start if fmt == "dsl" else _yaml_comment_start
    lines = text.replace("\r\n", "\n").split("\n")
    pending: list[tuple[int, str]] = []  # (line, comment or "" for a blank line)
    first_anchor = anchors[0][0] if anchors else None
    ai = 0

    def flush_to(path: Path_ | None) -> None:
        block = _trim([c for _, c in pending])
        if block:
            if path is None:
                comments.footer += block
            else:
                comments.before.setdefault(path, []).extend(block)
        pending.clear()

    for number, line in enumerate(lines, start=1):
        while ai < len(anchors) and anchors[ai][0] < number:
            ai += 1
        if number in anchor_lines:
            if first_anchor is not None and number == first_anchor and not comments.header and pending:
                block = [c for _, c in pending]
                gap = bool(block) and block[-1] == ""
                comments.header = _trim(block)
                comments.header_gap = gap and bool(comments.header)
                pending.clear()
            flush_to(anchor_lines[number])
            if number not in skip:
                at = find(line)
                if at > 0 and line[:at].strip():
                    comments.trailing[last_on_line[number]] = line[at:].rstrip()
            continue
        if number in skip:
            continue
        stripped = line.strip()
        if not stripped:
            if pending:
                pending.append((number, ""))
            continue
        at = find(line)
        if at >= 0 and not line[:at].strip():
            pending.append((number, line[at:].rstrip()))
        elif at > 0:
            pending.append((number, line[at:].rstrip()))  # a comment at the end of a line that is no place
    if pending:
        if first_anchor is None:
            comments.header = _trim([c for _, c in pending])
        else:
            flush_to(None)
    return comments


def _trim(block: list[str]) -> list[str]:
    out: list[str] = []
    for c in block:
        if c == "" and (not out or out[-1] == ""):
            continue
        out.append(c)
    while out and out[-1] == "":
        out.pop()
    return out


# ---------------------------------------------------------------------------
# reading a file with its comments
# ---------------------------------------------------------------------------


def read_policy(source: str | os.PathLike | bytes, *, format: str | None = None,
                name: str | None = None) -> tuple[ir.Policy, Comments, str]:
    """Load a policy and its comments: ``(policy, comments, format)``.

    ``source`` is a path (``Path``, or a string naming a ``.yaml``, ``.yml`` or
    ``.dunning`` file) or the text itself (then ``format`` says which form, or
    it is guessed). Raises PolicyError like :func:`~.load.load_policy`.
    """
    from ..errors import PolicyError
    from .build import build_policy
    from .load import YAML_SUFFIXES, DSL_SUFFIXES, _sniff, policy_format, read_policy_file

    if isinstance(source, os.PathLike) or (
        isinstance(source, str) and "\n" not in source and source.lower().endswith(YAML_SUFFIXES + DSL_SUFFIXES)
    ):
        path = os.fspath(source)
        fmt = format or policy_format(path)
        data: str | bytes = read_policy_file(path)  # a regular file, at most 1 MB read
        name = name or path
    else:
        data = source
        fmt = format or _sniff(data.decode("utf-8", "replace") if isinstance(data, bytes) else data)
    if fmt == "yaml":
        from .yaml_source import load_yaml

        root = load_yaml(data, name)
        policy = build_policy(root, path=name)
    elif fmt == "dsl":
        from .dsl import build_dsl, parse_dsl

        root = parse_dsl(data, name)
        policy = build_dsl(root, name)
    else:
        raise PolicyError(f"unknown policy format '{fmt}'", help="use 'yaml' or 'dsl'", code="unknown-format")
    text = root.source.text if root.source is not None else ""
    return policy, extract_comments(text, root, fmt), fmt


def format_policy(policy: ir.Policy, fmt: str, comments: Comments | None = None) -> str:
    """The canonical text of ``policy`` in ``fmt`` ('yaml' or 'dsl')."""
    if fmt == "dsl":
        return to_dsl(policy, comments)
    if fmt == "yaml":
        return to_yaml(policy, comments)
    raise ValueError(f"unknown format {fmt!r}")


# ---------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------


def _e(expr: Any) -> str:
    return expr.canonical


def _time(t: _dt.time) -> str:
    return "24:00" if t == _dt.time.max else f"{t:%H:%M}"


def _hours(w: ir.Window) -> str:
    return f"{_time(w.start)}-{_time(w.end)}"


def _decimal(value: Any) -> str:
    return format(value, "f")


class _Writer:
    def __init__(self, comments: Comments | None) -> None:
        self.lines: list[str] = []
        self.comments = comments

    def before(self, path: Path_, indent: str) -> None:
        if self.comments:
            for c in self.comments.take_before(path):
                self.lines.append(indent + c if c else "")

    def line(self, indent: str, text: str, path: Path_ | None = None) -> None:
        trailing = self.comments.take_trailing(path) if (self.comments and path is not None) else None
        self.lines.append(indent + text + (f"  {trailing}" if trailing else ""))

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def header(self) -> None:
        if self.comments and self.comments.header:
            self.lines += self.comments.header
            if self.comments.header_gap:
                self.lines.append("")

    def finish(self) -> str:
        if self.comments:
            rest = self.comments.leftovers()
            if rest:
                self.blank()
                self.lines += rest
        while self.lines and self.lines[-1] == "":
            self.lines.pop()
        return "\n".join(self.lines) + "\n"


# ---------------------------------------------------------------------------
# DSL
# ---------------------------------------------------------------------------

_DSL_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")
_DSL_DAYS = re.compile(r"[a-z]+(-[a-z]+)?(,[a-z]+(-[a-z]+)?)*\Z")
_DSL_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t"}


def dsl_string(text: str) -> str:
    """A DSL text literal: double quotes, ``\\" \\\\ \\n \\t`` and ``\\uXXXX`` for the rest that is not printable."""
    out = []
    for c in text:
        if c in _DSL_ESCAPES:
            out.append(_DSL_ESCAPES[c])
        elif not c.isprintable() or c in "\u2028\u2029\ufeff":
            code = ord(c)
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _dsl_word(text: str) -> str:
    """A name as a bare word when the DSL reads it back as one, else a quoted text."""
    return text if _DSL_WORD.match(text) else dsl_string(text)


def format_trigger(trigger: ir.Trigger | None) -> str:
    """A trigger in DSL words: ``at due + 1 day``, ``every 7 days max 4``, ``on payment``."""
    if trigger is None:
        return ""
    if isinstance(trigger, ir.At):
        return f"at {_e(trigger.expr)}"
    if isinstance(trigger, ir.After):
        return f"after {trigger.duration}"
    if isinstance(trigger, ir.Every):
        text = f"every {trigger.duration}"
        if trigger.max is not None:
            text += f" max {trigger.max}"
        if trigger.starting is not None:
            text += f" starting {_e(trigger.starting)}"
        return text
    if isinstance(trigger, ir.On):
        return "on " + ", ".join(trigger.events)
    raise TypeError(trigger)  # pragma: no cover


def format_action(action: ir.Action) -> str:
    """An action as one DSL line (without indentation)."""
    p = action.param_dict
    k = action.kind
    if k == "remind":
        text = f"remind {dsl_string(p['template'])}" if "template" in p else "remind"
        if "via" in p:
            text += " via " + ", ".join(p["via"])
        if "to" in p:
            text += f" to {_e(p['to'])}"
        return text
    if k == "fee":
        if "amount" in p:
            text = f"fee {_e(p['amount'])}"
        else:
            text = f"fee {_e(p['percent'])}" + (f" of {p['of']}" if "of" in p else "")
        for bound in ("min", "max"):
            if bound in p:
                text += f" {bound} {_e(p[bound])}"
        return text
    if k == "interest":
        text = f"interest {_e(p['annual_rate'])} per year"
        if "basis" in p:
            text += f" basis {p['basis']}"
        if "on" in p:
            text += f" on {p['on']}"
        return text
    if k == "discount":
        value = p["percent"] if "percent" in p else p["amount"]
        return f"discount {_e(value)} until {_e(p['until'])}"
    if k == "offer_plan":
        text = f"offer plan {p['installments']} installments"
        if "every" in p:
            text += f" every {p['every']}"
        if "first" in p:
            text += f" first {_e(p['first'])}"
        if "down_payment" in p:
            text += f" down {_e(p['down_payment'])}"
        return text
    if k == "escalate":
        return f"escalate to {_dsl_word(p['to'])}" + (f" note {dsl_string(p['note'])}" if "note" in p else "")
    if k == "task":
        text = f"task {_dsl_word(p['kind'])}"
        if "assign" in p:
            text += f" assign {dsl_string(p['assign'])}"
        if "note" in p:
            text += f" note {dsl_string(p['note'])}"
        return text
    if k == "write_off":
        return "write off"
    if k == "custom":
        text = f"custom {dsl_string(p['name'])}"
        if p.get("params"):
            text += " with " + ", ".join(f"{n} = {_e(v)}" for n, v in p["params"])
        return text
    return k  # suspend, resume


def format_rule_head(rule: ir.Rule) -> str:
    """A rule's first line in DSL words, without the ':' that opens its actions."""
    parts = []
    if rule.named:
        parts.append(f"rule {rule.name}")
    trig = format_trigger(rule.trigger)
    if trig:
        parts.append(trig)
    if rule.when is not None:
        parts.append(f"when {_e(rule.when)}")
    if rule.unless is not None:
        parts.append(f"unless {_e(rule.unless)}")
    if rule.expires is not None:
        parts.append(f"expires {rule.expires}")
    if rule.goto is not None:
        parts.append(f"-> {rule.goto}")
    return " ".join(parts)


def to_dsl(policy: ir.Policy, comments: Comments | None = None) -> str:
    """The policy in the DSL form (SPEC §3), canonical layout, comments put back where they were."""
    w = _Writer(comments)
    ind = DSL_INDENT
    w.header()
    w.before(("policy",), "")
    w.before(("version",), "")
    trailing = None
    if comments:
        trailing = comments.take_trailing(("policy",)) or comments.take_trailing(("version",))
    w.lines.append(f"policy {policy.id} version {policy.version}" + (f"  {trailing}" if trailing else ""))
    if policy.description is not None:
        w.before(("description",), "")
        w.line("", f"description {dsl_string(policy.description)}", ("description",))
    w.before(("scope",), "")
    w.line("", f"scope {policy.scope}", ("scope",))
    w.before(("timezone",), "")
    w.line("", f"timezone {dsl_string(policy.timezone)}", ("timezone",))
    if policy.calendar is not None:
        w.before(("calendar",), "")
        w.line("", f"calendar {_dsl_word(policy.calendar)}", ("calendar",))
    if policy.currency is not None:
        w.before(("currency",), "")
        w.line("", f"currency {_dsl_word(policy.currency)}", ("currency",))
    w.before(("send_at",), "")
    w.line("", f"send at {_time(policy.send_at)}", ("send_at",))
    w.before(("allocation",), "")
    if policy.allocation != ir.ALLOCATION_PARTS:
        w.line("", "allocation " + ", ".join(policy.allocation), ("allocation",))

    if policy.segments:
        w.blank()
        w.before(("segments",), "")
        for name, expr in policy.segments:
            w.before(("segments", name), "")
            w.line("", f"segment {name}: {_e(expr)}", ("segments", name))

    if policy.invariants:
        w.blank()
        w.before(("invariants",), "")
        for name, expr in policy.invariants:
            w.before(("invariants", name), "")
            w.line("", f"invariant {name}: {_e(expr)}", ("invariants", name))

    for i, state in enumerate(policy.states):
        w.blank()
        if i == 0:
            w.before(("states",), "")
        _dsl_state(w, state)

    if policy.any_state:
        w.blank()
        w.before(("any_state",), "")
        group: tuple[str, ...] | None = None
        for i, rule in enumerate(policy.any_state):
            if rule.except_ != group or i == 0:
                group = rule.except_
                head = "any state" + (f" except {', '.join(group)}" if group else "") + ":"
                w.line("", head)
            _dsl_rule(w, rule, ("any_state", i), ind)

    if policy.contact is not None:
        w.blank()
        _dsl_contact(w, policy.contact)

    if policy.rates:
        w.blank()
        w.before(("rates",), "")
        for table in policy.rates:
            w.before(("rates", table.name), "")
            if table.path is not None:
                w.line("", f"rate {_dsl_word(table.name)} {dsl_string(table.path)}", ("rates", table.name))
            elif not table.values:
                w.line("", f"rate {_dsl_word(table.name)}", ("rates", table.name))
            else:
                w.line("", f"rate {_dsl_word(table.name)}:", ("rates", table.name))
                for day, value in table.values:
                    w.line(ind, f"{day.isoformat()} {_decimal(value)}")
    return w.finish()


def _dsl_state(w: _Writer, state: ir.State) -> None:
    ind = DSL_INDENT
    path = ("states", state.name)
    w.before(path, "")
    flags = "".join(f" {f}" for f, on in (("initial", state.initial), ("final", state.final)) if on)
    body = bool(state.on_enter or state.on_exit or state.rules)
    w.line("", f"state {state.name}{flags}" + (":" if body else ""), path)
    for key, actions in (("on_enter", state.on_enter), ("on_exit", state.on_exit)):
        if not actions:
            continue
        w.before(path + (key,), ind)
        w.line(ind, f"on {key[3:]}:", path + (key,))
        for i, action in enumerate(actions):
            w.before(path + (key, i), ind * 2)
            w.line(ind * 2, format_action(action), path + (key, i))
    for i, rule in enumerate(state.rules):
        _dsl_rule(w, rule, path + ("rules", i), ind)


def _dsl_rule(w: _Writer, rule: ir.Rule, path: Path_, ind: str) -> None:
    w.before(path, ind)
    w.line(ind, format_rule_head(rule) + (":" if rule.do else ""), path)
    for j, action in enumerate(rule.do):
        w.before(path + ("do", j), ind + DSL_INDENT)
        w.line(ind + DSL_INDENT, format_action(action), path + ("do", j))


def _dsl_contact(w: _Writer, c: ir.Contact) -> None:
    ind = DSL_INDENT
    w.before(("contact",), "")
    body = bool(c.windows or not c.holidays or c.limits or c.compliance)
    w.line("", "contact:" if body else "contact", ("contact",))
    w.before(("contact", "windows"), ind)
    for win in c.windows:
        w.before(("contact", "windows", win.spec), ind)
        spec = win.spec if _DSL_DAYS.match(win.spec) else dsl_string(win.spec)
        w.line(ind, f"window {spec} {_hours(win)}", ("contact", "windows", win.spec))
    w.before(("contact", "holidays"), ind)
    if not c.holidays:
        w.line(ind, "no contact on holidays", ("contact", "holidays"))
    w.before(("contact", "limits"), ind)
    for i, lim in enumerate(c.limits):
        w.before(("contact", "limits", i), ind)
        via = f" via {', '.join(lim.via)}" if lim.via else ""
        text = f"limit {lim.max} per {lim.per}{via}" if lim.max is not None else f"gap {lim.gap}{via}"
        w.line(ind, text, ("contact", "limits", i))
    w.before(("contact", "compliance"), ind)
    if c.compliance:
        w.line(ind, "compliance " + ", ".join(c.compliance), ("contact", "compliance"))


# ---------------------------------------------------------------------------
# YAML
# ---------------------------------------------------------------------------

_YAML_BAD_START = set("-?:,[]{}#&*!|>'\"%@`~ ")
_YAML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\x00": "\\0"}


def _plain_ok(text: str, flow: bool) -> bool:
    if not text or text != text.strip() or text in NULLS:
        return False
    if text[0] in _YAML_BAD_START or text.startswith(("---", "...")):
        return False
    if not text.isprintable() or any(c in text for c in "\u2028\u2029\ufeff\x85"):
        return False
    if ": " in text or " #" in text or text.endswith(":") or "\t" in text:
        return False
    if flow and any(c in text for c in ",[]{}:#"):
        return False
    return True


def _yaml_double(text: str) -> str:
    out = []
    for c in text:
        if c in _YAML_ESCAPES:
            out.append(_YAML_ESCAPES[c])
        elif not c.isprintable() or c in "\u2028\u2029\ufeff\x85":
            code = ord(c)
            if code <= 0xFF:
                out.append(f"\\x{code:02x}")
            elif code <= 0xFFFF:
                out.append(f"\\u{code:04x}")
            else:
                out.append(f"\\U{code:08x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def yaml_scalar(text: str, flow: bool = False, quote: bool = False) -> str:
    """A YAML scalar that the policy reader reads back as ``text``: plain when safe, else quoted."""
    if not quote and _plain_ok(text, flow):
        return text
    if '"' in text and "'" not in text and text.isprintable() and text == text.strip() and text:
        return "'" + text + "'"
    return _yaml_double(text)


def _flow_map(items: Iterable[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in items) + "}"


def _flow_list(items: Iterable[str]) -> str:
    return "[" + ", ".join(items) + "]"


def _yaml_param(kind: str, name: str, value: Any) -> str:
    if name == "via":
        return _flow_list(yaml_scalar(v, True) for v in value)
    if name == "params" and kind == "custom":
        return _flow_map((yaml_scalar(n, True), yaml_scalar(_e(e), True)) for n, e in value)
    if name == "note":
        return yaml_scalar(value, True, quote=True)
    if isinstance(value, (int, Duration)):
        return str(value)
    if isinstance(value, str):
        return yaml_scalar(value, True)
    if hasattr(value, "canonical"):
        return yaml_scalar(_e(value), True)
    return yaml_scalar(str(value), True)


def _yaml_action(action: ir.Action) -> str:
    if not action.params:
        return action.kind
    return f"{action.kind}: " + _flow_map((k, _yaml_param(action.kind, k, v)) for k, v in action.params)


def _yaml_rule(w: _Writer, rule: ir.Rule, path: Path_, ind: str) -> None:
    """A rule as a list item at indentation ``ind`` ('- ' at ind)."""
    fields: list[tuple[str, str]] = []
    if rule.named:
        fields.append(("name", yaml_scalar(rule.name)))
    t = rule.trigger
    if isinstance(t, ir.At):
        fields.append(("at", yaml_scalar(_e(t.expr))))
    elif isinstance(t, ir.After):
        fields.append(("after", str(t.duration)))
    elif isinstance(t, ir.Every):
        fields.append(("every", str(t.duration)))
        if t.max is not None:
            fields.append(("max", str(t.max)))
        if t.starting is not None:
            fields.append(("starting", yaml_scalar(_e(t.starting))))
    elif isinstance(t, ir.On):
        events = [yaml_scalar(e) for e in t.events]
        fields.append(("on", events[0] if len(events) == 1 else _flow_list(events)))
    if rule.when is not None:
        fields.append(("when", yaml_scalar(_e(rule.when))))
    if rule.unless is not None:
        fields.append(("unless", yaml_scalar(_e(rule.unless))))
    if rule.expires is not None:
        fields.append(("expires", str(rule.expires)))
    do_at = len(fields)
    if rule.goto is not None:
        fields.append(("goto", yaml_scalar(rule.goto)))
    if rule.except_:
        fields.append(("except", _flow_list(yaml_scalar(s, True) for s in rule.except_)))
    w.before(path, ind)
    first = True
    trailing_done = False

    def emit(text: str) -> None:
        nonlocal first, trailing_done
        prefix = ind + ("- " if first else "  ")
        if first:
            w.line(prefix, text, path)
            trailing_done = True
        else:
            w.line(prefix, text)
        first = False

    for i, (k, v) in enumerate(fields):
        if i == do_at and rule.do:
            _yaml_do(w, rule, path, ind, emit)
        emit(f"{k}: {v}")
    if do_at == len(fields) and rule.do:
        _yaml_do(w, rule, path, ind, emit)
    if first:  # pragma: no cover - a rule always has a field
        emit("{}")


def _yaml_do(w: _Writer, rule: ir.Rule, path: Path_, ind: str, emit: Any) -> None:
    emit("do:")
    inner = ind + YAML_INDENT + YAML_INDENT
    for j, action in enumerate(rule.do):
        w.before(path + ("do", j), inner)
        w.line(inner, "- " + _yaml_action(action), path + ("do", j))


def to_yaml(policy: ir.Policy, comments: Comments | None = None) -> str:
    """The policy in the YAML form (SPEC §1), canonical layout, comments put back where they were."""
    w = _Writer(comments)
    i1, i2, i3 = YAML_INDENT, YAML_INDENT * 2, YAML_INDENT * 3
    w.header()

    def setting(key: str, value: str | None) -> None:
        w.before((key,), "")
        if value is not None:
            w.line("", f"{key}: {value}", (key,))

    setting("policy", yaml_scalar(policy.id))
    setting("version", str(policy.version))
    setting("description", None if policy.description is None else yaml_scalar(policy.description))
    setting("scope", policy.scope)
    setting("timezone", yaml_scalar(policy.timezone))
    setting("calendar", None if policy.calendar is None else yaml_scalar(policy.calendar))
    setting("currency", None if policy.currency is None else yaml_scalar(policy.currency))
    setting("send_at", yaml_scalar(_time(policy.send_at), quote=True))
    setting("allocation", None if policy.allocation == ir.ALLOCATION_PARTS else _flow_list(policy.allocation))

    if policy.segments:
        setting("segments", "")
        w.lines[-1] = w.lines[-1].rstrip()
        for name, expr in policy.segments:
            w.before(("segments", name), i1)
            w.line(i1, f"{name}: {yaml_scalar(_e(expr))}", ("segments", name))

    if policy.invariants:
        setting("invariants", "")
        w.lines[-1] = w.lines[-1].rstrip()
        for name, expr in policy.invariants:
            w.before(("invariants", name), i1)
            w.line(i1, f"{name}: {yaml_scalar(_e(expr))}", ("invariants", name))

    w.before(("states",), "")
    w.line("", "states:", ("states",))
    for state in policy.states:
        path = ("states", state.name)
        w.before(path, i1)
        if not (state.initial or state.final or state.on_enter or state.on_exit or state.rules):
            w.line(i1, f"{state.name}: {{}}", path)
            continue
        w.line(i1, f"{state.name}:", path)
        if state.initial:
            w.line(i2, "initial: true")
        if state.final:
            w.line(i2, "final: true")
        for key, actions in (("on_enter", state.on_enter), ("on_exit", state.on_exit)):
            if not actions:
                continue
            w.before(path + (key,), i2)
            w.line(i2, f"{key}:", path + (key,))
            for j, action in enumerate(actions):
                w.before(path + (key, j), i3)
                w.line(i3, "- " + _yaml_action(action), path + (key, j))
        if state.rules:
            w.line(i2, "rules:")
            for j, rule in enumerate(state.rules):
                _yaml_rule(w, rule, path + ("rules", j), i3)

    if policy.any_state:
        w.before(("any_state",), "")
        w.line("", "any_state:", ("any_state",))
        for j, rule in enumerate(policy.any_state):
            _yaml_rule(w, rule, ("any_state", j), i1)

    c = policy.contact
    if c is not None:
        w.before(("contact",), "")
        body = bool(c.windows or not c.holidays or c.limits or c.compliance)
        w.line("", "contact:" if body else "contact: {}", ("contact",))
        w.before(("contact", "windows"), i1)
        if c.windows:
            for win in c.windows:
                w.before(("contact", "windows", win.spec), i1)
            text = _flow_map((yaml_scalar(win.spec, True), yaml_scalar(_hours(win), True, quote=True))
                             for win in c.windows)
            trailing = None
            if comments:
                for win in c.windows:
                    trailing = trailing or comments.take_trailing(("contact", "windows", win.spec))
            w.line(i1, f"windows: {text}" + (f"  {trailing}" if trailing else ""), ("contact", "windows"))
        w.before(("contact", "holidays"), i1)
        if not c.holidays:
            w.line(i1, "holidays: false", ("contact", "holidays"))
        w.before(("contact", "limits"), i1)
        if c.limits:
            w.line(i1, "limits:", ("contact", "limits"))
            for j, lim in enumerate(c.limits):
                items: list[tuple[str, str]] = []
                if lim.max is not None:
                    items += [("max", str(lim.max)), ("per", str(lim.per))]
                if lim.gap is not None:
                    items.append(("gap", str(lim.gap)))
                if lim.via is not None:
                    items.append(("via", _flow_list(yaml_scalar(v, True) for v in lim.via)))
                w.before(("contact", "limits", j), i2)
                w.line(i2, "- " + _flow_map(items), ("contact", "limits", j))
        w.before(("contact", "compliance"), i1)
        if c.compliance:
            w.line(i1, "compliance: " + _flow_list(yaml_scalar(x, True) for x in c.compliance),
                   ("contact", "compliance"))

    if policy.rates:
        w.before(("rates",), "")
        w.line("", "rates:", ("rates",))
        for table in policy.rates:
            path = ("rates", table.name)
            w.before(path, i1)
            if table.path is not None:
                w.line(i1, f"{yaml_scalar(table.name)}: {yaml_scalar(table.path)}", path)
            elif not table.values:
                w.line(i1, f"{yaml_scalar(table.name)}: {{}}", path)
            else:
                w.line(i1, f"{yaml_scalar(table.name)}:", path)
                for day, value in table.values:
                    w.line(i2, f"{day.isoformat()}: {yaml_scalar(_decimal(value))}")
    return w.finish()
