"""The state diagram of a policy, as Mermaid (``stateDiagram-v2``) or Graphviz DOT.

* an edge per rule with a ``goto``, labelled with its trigger and guards and,
  after ``/``, its actions;
* ``any_state`` rules: with ``any_state="edges"`` (the default; "note" past MAX_SHARED_EDGES) an edge from
  every state the rule applies to (every non-final state not in its
  ``except``), dashed in DOT; with ``any_state="note"`` one note listing them;
* the initial state is entered from the start marker, final states lead to
  the end marker (Mermaid) or are drawn with a double border (DOT);
* what happens without a transition (``on enter``, ``on exit``, rules
  without ``goto``) is listed in a note on the state (Mermaid) or inside the
  state's box (DOT);
* ``-> previous`` goes to a pseudo-state "previous state", ``-> return`` to a pseudo-state "return: the
  state before, resumed".
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ir
from .phrases import format_action, format_rule_head

__all__ = ["to_mermaid", "to_dot", "render_graph", "FORMATS", "ANY_STATE_STYLES"]

FORMATS = ("mermaid", "dot")
ANY_STATE_STYLES = ("edges", "note")
# goto words drawn as pseudo-states: word -> (Mermaid id, label)
PSEUDO_STATES = {"previous": ("previous_state", "(previous state)"),
                 "return": ("return_state", "(return: the state before, resumed)")}

# Words Mermaid's state diagram grammar reads as keywords: such states get an alias.
_MERMAID_RESERVED = frozenset({"state", "note", "end", "as", "direction", "class", "classdef", "style", "click",
                               "default", "left", "right", "of", "hide", "empty", "description", "accdescr",
                               "acctitle"})


@dataclass(frozen=True)
class _Edge:
    source: str
    target: str
    head: str
    actions: tuple[str, ...]
    shared: bool  # an any_state rule


def _head(rule: ir.Rule) -> str:
    """The rule's trigger and guards, without '-> target'."""
    return format_rule_head(ir.Rule(name=rule.name, trigger=rule.trigger, when=rule.when, unless=rule.unless,
                                    expires=rule.expires, named=False))


def _label(head: str, actions: tuple[str, ...], sep: str) -> str:
    if actions:
        return f"{head} / {sep.join(actions)}" if head else sep.join(actions)
    return head


MAX_SHARED_EDGES = 2_000  # more any_state edges than this are drawn as a note (docs/cli.md)


def _drawable(policy: ir.Policy, any_state: str) -> str:
    """``any_state``, or "note" when drawing an edge from every state for every ``any_state`` rule
    would make more than :data:`MAX_SHARED_EDGES` edges (a diagram nobody can read, and a size that
    grows with states times rules)."""
    if any_state != "edges":
        return any_state
    live = sum(1 for s in policy.states if not s.final)
    shared = sum(1 for r in policy.any_state if r.goto is not None)
    return "note" if live * shared > MAX_SHARED_EDGES else any_state


def _edges(policy: ir.Policy, any_state: str) -> list[_Edge]:
    edges: list[_Edge] = []
    shared = [(r.except_, r.goto, _head(r), tuple(format_action(a) for a in r.do)) for r in policy.any_state
              if r.goto is not None] if any_state == "edges" else []
    for state in policy.states:
        if state.final:
            continue
        for except_, goto, head, actions in shared:
            if state.name not in except_:
                edges.append(_Edge(state.name, goto, head, actions, True))
        for rule in state.rules:
            if rule.goto is not None:
                edges.append(_Edge(state.name, rule.goto, _head(rule), tuple(format_action(a) for a in rule.do),
                                   False))
    return edges


def _state_notes(state: ir.State) -> list[str]:
    lines = [f"on enter / {format_action(a)}" for a in state.on_enter]
    lines += [f"on exit / {format_action(a)}" for a in state.on_exit]
    for rule in state.rules:
        if rule.goto is None:
            lines.append(_label(_head(rule), tuple(format_action(a) for a in rule.do), "; "))
    return lines


def _any_state_notes(policy: ir.Policy, any_state: str) -> list[str]:
    lines = []
    for rule in policy.any_state:
        if any_state == "edges" and rule.goto is not None:
            continue
        where = f"any state except {', '.join(rule.except_)}" if rule.except_ else "any state"
        text = _label(format_rule_head(rule), tuple(format_action(a) for a in rule.do), "; ")
        lines.append(f"{where}: {text}")
    return lines


def _pseudo_states(policy: ir.Policy) -> list[str]:
    """The goto words (``previous``, ``return``) the policy uses, in a fixed order."""
    rules = [r for s in policy.states for r in s.rules] + list(policy.any_state)
    used = {r.goto for r in rules}
    return [word for word in PSEUDO_STATES if word in used]


# ---------------------------------------------------------------------------
# Mermaid
# ---------------------------------------------------------------------------


def _mermaid_text(text: str) -> str:
    # '#' and ';' end a label in Mermaid's grammar: write them as entity codes.
    return "".join(_MERMAID_ESCAPES.get(c, c) for c in text)


_MERMAID_ESCAPES = {"#": "#35;", ";": "#59;"}


def to_mermaid(policy: ir.Policy, any_state: str = "edges") -> str:
    """The state diagram as Mermaid ``stateDiagram-v2`` text."""
    _check_style(any_state)
    any_state = _drawable(policy, any_state)
    ids: dict[str, str] = {}
    lines = ["stateDiagram-v2"]
    for state in policy.states:
        if state.name.lower() in _MERMAID_RESERVED:
            ids[state.name] = f"s_{state.name}"
            lines.append(f'    state "{state.name}" as s_{state.name}')
        else:
            ids[state.name] = state.name
    for word in _pseudo_states(policy):
        ids[word], label = PSEUDO_STATES[word]
        lines.append(f'    state "{label}" as {ids[word]}')

    def sid(name: str) -> str:
        return ids.get(name, name)

    initial = [s for s in policy.states if s.initial]
    for s in initial:
        lines.append(f"    [*] --> {sid(s.name)}")
    for e in _edges(policy, any_state):
        label = _mermaid_text(_label(e.head, e.actions, "; "))
        if e.shared:
            label = "(any state) " + label
        lines.append(f"    {sid(e.source)} --> {sid(e.target)}" + (f": {label}" if label else ""))
    for s in policy.states:
        if s.final:
            lines.append(f"    {sid(s.name)} --> [*]")
    for s in policy.states:
        notes = _state_notes(s)
        if notes:
            lines.append(f"    note right of {sid(s.name)}")
            lines += [f"        {_mermaid_text(n)}" for n in notes]
            lines.append("    end note")
    shared = _any_state_notes(policy, any_state)
    if shared and initial:
        lines.append(f"    note left of {sid(initial[0].name)}")
        lines += [f"        {_mermaid_text(n)}" for n in shared]
        lines.append("    end note")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# DOT
# ---------------------------------------------------------------------------


def _dot(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _dot_block(lines: list[str]) -> str:
    """Left-justified lines inside a DOT label (already escaped)."""
    return "".join(line.replace("\\", "\\\\").replace('"', '\\"') + "\\l" for line in lines)


def to_dot(policy: ir.Policy, any_state: str = "edges") -> str:
    """The state diagram as Graphviz DOT text."""
    _check_style(any_state)
    any_state = _drawable(policy, any_state)
    out = [f"digraph {_dot(policy.key)} {{",
           "    rankdir=LR;",
           '    node [shape=box, style=rounded, fontname="Helvetica", fontsize=11];',
           '    edge [fontname="Helvetica", fontsize=9];',
           '    "__start" [shape=point, width=0.15, label=""];']
    for s in policy.states:
        notes = _state_notes(s)
        name = s.name.replace("\\", "\\\\").replace('"', '\\"')
        label = f'"{name}' + (f"\\n{_dot_block(notes)}" if notes else "") + '"'
        attrs = [f"label={label}"]
        if s.final:
            attrs.append("peripheries=2")
        if s.initial:
            attrs.append("penwidth=2")
        out.append(f"    {_dot(s.name)} [{', '.join(attrs)}];")
    for word in _pseudo_states(policy):
        out.append(f'    {_dot(word)} [label="{PSEUDO_STATES[word][1]}", style="rounded,dashed"];')
    shared_notes = _any_state_notes(policy, any_state)
    if shared_notes:
        out.append(f'    "__any_state" [shape=note, label="{_dot_block(shared_notes)}"];')
    for s in policy.states:
        if s.initial:
            out.append(f'    "__start" -> {_dot(s.name)};')
    for e in _edges(policy, any_state):
        label = "\n".join(([e.head] if e.head else []) + list(e.actions))
        attrs = [f"label={_dot(label)}"] if label else []
        if e.shared:
            attrs.append("style=dashed")
        out.append(f"    {_dot(e.source)} -> {_dot(e.target)}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    out.append("}")
    return "\n".join(out) + "\n"


def render_graph(policy: ir.Policy, format: str = "mermaid", any_state: str = "edges") -> str:
    """The diagram in ``format`` ('mermaid' or 'dot')."""
    if format == "mermaid":
        return to_mermaid(policy, any_state)
    if format == "dot":
        return to_dot(policy, any_state)
    raise ValueError(f"unknown graph format {format!r}; use one of {', '.join(FORMATS)}")


def _check_style(any_state: str) -> None:
    if any_state not in ANY_STATE_STYLES:
        raise ValueError(f"any_state must be one of {', '.join(ANY_STATE_STYLES)}, not {any_state!r}")
