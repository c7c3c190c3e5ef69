"""``dunning lint``: find likely mistakes in a valid policy.

The checks read only the IR (``ir.Policy``), so they work the same on both
policy forms, and each finding points at the place in the file.

====== ===================== ======== ==============================================================
code   name                  severity finds
====== ===================== ======== ==============================================================
DL001  unreachable-state     warning  a state no chain of gotos leads to from the initial state
DL002  dead-end-state        warning  a non-final state with no rule that leaves it
DL003  shadowed-rule         warning  a rule that never runs: an earlier rule of its state has the
                                      same trigger, a weaker (or no) guard and a goto
DL004  late-timer            warning  an ``at`` timer that is always past when its state is entered
                                      (it fires late, at entry, or never with ``expires``), or a timer
                                      that an earlier unguarded timer with a goto always pre-empts
DL005  condition-loop        error    condition rules whose gotos form a cycle with no clock or event
                                      in between, and whose guards can all hold at once
DL006  fee-before-reminder   warning  a fee that can be charged before any reminder was sent
DL007  unused-segment        warning  a segment no expression uses
====== ===================== ======== ==============================================================

"Templates never used" needs a list of the templates that exist, which
policies do not have; it is not checked.

The analyses are conservative about what they claim: a finding is made only
when the policy text shows it (for example, a guard counts as weaker only
when its conditions are a subset of the other's, and a loop is reported
unless the guards on it provably exclude each other).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable

from ..errors import Location, render_diagnostic
from . import ir

__all__ = ["Finding", "CODES", "lint_policy"]

# goto words that name no state: the state before the current one, entered anew or resumed
GOTO_WORDS = ("previous", "return")

CODES: dict[str, tuple[str, str, str]] = {
    "DL001": ("unreachable-state", "warning", "a state no goto leads to"),
    "DL002": ("dead-end-state", "warning", "a non-final state with no way out"),
    "DL003": ("shadowed-rule", "warning", "a rule pre-empted by an earlier rule with the same trigger"),
    "DL004": ("late-timer", "warning", "a timer that is always late or never fires"),
    "DL005": ("condition-loop", "error", "condition rules that send a case round in circles"),
    "DL006": ("fee-before-reminder", "warning", "a fee that can come before any reminder"),
    "DL007": ("unused-segment", "warning", "a segment no expression uses"),
}


@dataclass
class Finding:
    code: str
    message: str
    location: Location | None = None
    help: str | None = None

    @property
    def name(self) -> str:
        return CODES[self.code][0]

    @property
    def severity(self) -> str:
        return CODES[self.code][1]

    def render(self, color: bool = False) -> str:
        return render_diagnostic(f"{self.message} [{self.code} {self.name}]", self.location, self.help,
                                 self.severity, color)

    def to_dict(self) -> dict:
        loc = self.location
        return {"code": self.code, "name": self.name, "severity": self.severity, "message": self.message,
                "file": loc.file if loc else None, "line": loc.line if loc else None,
                "column": loc.column if loc else None, "help": self.help}


def lint_policy(policy: ir.Policy, *, ignore: Iterable[str] = ()) -> list[Finding]:
    """Every finding for ``policy``, in file order (findings without a position last)."""
    findings = _Linter(policy).run()
    skip = {c.lower() for c in ignore}
    findings = [f for f in findings if f.code.lower() not in skip and f.name not in skip]
    return sorted(findings, key=lambda f: ((f.location.line, f.location.column) if f.location else (1 << 30, 0), f.code))


# ----------------------------------------------------------------------------- expression helpers


def _expr_loc(e) -> Location | None:
    locate = getattr(e, "_locate", None)
    if locate is None:
        return None
    try:
        return locate(0, max(1, len(e.text)))
    except Exception:  # pragma: no cover - positions are best effort
        return None


def _conjuncts(node) -> list:
    from ..expr import ast as A

    if isinstance(node, A.Binary) and node.op == "and":
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def _guard_atoms(rule: ir.Rule) -> list[tuple[bool, Any]]:
    """The guard as (positive, node) conjuncts: ``when`` parts positive, ``unless`` negated."""
    from ..expr import ast as A

    out = []
    if rule.when is not None:
        out += [(True, n) for n in _conjuncts(rule.when.node)]
    if rule.unless is not None:
        u = rule.unless.node
        if isinstance(u, A.Unary) and u.op == "not":
            out += [(True, n) for n in _conjuncts(u.operand)]
        else:
            out.append((False, u))
    return out


def _guard_keys(rule: ir.Rule) -> set[tuple[bool, str]]:
    from ..expr.printer import unparse

    return {(pos, unparse(n)) for pos, n in _guard_atoms(rule)}


def _path(node) -> str | None:
    from ..expr import ast as A

    names = []
    while isinstance(node, A.Member):
        names.append(node.name)
        node = node.obj
    if isinstance(node, A.Var):
        return ".".join([node.name, *reversed(names)])
    return None


def _const(node):
    from ..expr import ast as A

    if isinstance(node, A.Number):
        return node.value
    if isinstance(node, A.MoneyLit):
        return node.amount
    if isinstance(node, A.Unary) and node.op == "-" and isinstance(node.operand, (A.Number, A.MoneyLit)):
        v = _const(node.operand)
        return -v
    if isinstance(node, (A.Text, A.Bool)):
        return node.value
    if isinstance(node, A.Null):
        return _NULL
    return None


class _Null:
    def __repr__(self) -> str:
        return "null"


_NULL = _Null()


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_NEG = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


def _atom(positive: bool, node) -> tuple[str, str, Any] | None:
    """(variable path, operator, constant) for a comparison with a constant, or a bool variable."""
    from ..expr import ast as A

    if isinstance(node, A.Unary) and node.op == "not":
        return _atom(not positive, node.operand)
    if isinstance(node, A.Binary) and node.op in _FLIP:
        op = node.op
        var, c = _path(node.left), _const(node.right)
        if var is None or c is None:
            var, c = _path(node.right), _const(node.left)
            op = _FLIP[op]
        if var is None or c is None:
            return None
        return (var, op if positive else _NEG[op], c)
    var = _path(node)
    if var is not None:
        return (var, "==", positive)
    return None


def _unsatisfiable(atoms: list[tuple[bool, Any]]) -> bool:
    """True when the conjunction of ``atoms`` can never hold (intervals and equalities per variable)."""
    by_var: dict[str, list[tuple[str, Any]]] = {}
    for pos, node in atoms:
        a = _atom(pos, node)
        if a is not None:
            by_var.setdefault(a[0], []).append((a[1], a[2]))
    for cons in by_var.values():
        eqs = {repr(c) for op, c in cons if op == "=="}
        if len(eqs) > 1:
            return True
        nes = {repr(c) for op, c in cons if op == "!="}
        if eqs & nes:
            return True
        nums = [(op, Decimal(c)) for op, c in cons if isinstance(c, (Decimal, int)) and not isinstance(c, bool)]
        lo, lo_in, hi, hi_in = None, True, None, True
        for op, c in nums:
            if op in (">", ">=", "=="):
                inc = op != ">"
                if lo is None or c > lo or (c == lo and not inc):
                    lo, lo_in = c, inc
            if op in ("<", "<=", "=="):
                inc = op != "<"
                if hi is None or c < hi or (c == hi and not inc):
                    hi, hi_in = c, inc
        if lo is not None and hi is not None and (lo > hi or (lo == hi and not (lo_in and hi_in))):
            return True
    return False


_ANCHORS = {"due": "due", "invoice.due": "due", "issued": "issued", "invoice.issued": "issued"}


def _anchored(expr) -> tuple[str, int] | None:
    """``due ± N days`` (or issued) as (anchor, N), for fixed-day durations."""
    from ..expr import ast as A

    node = expr.node if hasattr(expr, "node") else expr
    p = _path(node)
    if p in _ANCHORS:
        return _ANCHORS[p], 0
    if isinstance(node, A.Binary) and node.op in ("+", "-"):
        base = _anchored(node.left)
        if base is not None and isinstance(node.right, A.DurationLit):
            days = node.right.value.fixed_days
            if days is None:
                return None
            return base[0], base[1] + (days if node.op == "+" else -days)
    return None


def _describe_trigger(rule: ir.Rule) -> str:
    try:
        from .describe import format_trigger

        return format_trigger(rule.trigger) if rule.trigger is not None else "condition"
    except Exception:  # pragma: no cover
        return type(rule.trigger).__name__


# ----------------------------------------------------------------------------- the checks


class _Linter:
    def __init__(self, policy: ir.Policy) -> None:
        self.p = policy
        self.findings: list[Finding] = []
        self.live = [s for s in policy.states if not s.final]

    def add(self, code: str, message: str, location, help: str | None = None) -> None:
        self.findings.append(Finding(code, message, _short(location), help))

    def rules_of(self, state: ir.State) -> tuple[ir.Rule, ...]:
        return self.p.rules_of(state.name)

    def run(self) -> list[Finding]:
        if not self.p.states or not any(s.initial for s in self.p.states):
            return []
        self.reachability()
        self.shadowed()
        self.timers()
        self.condition_loops()
        self.fees_before_reminders()
        self.unused_segments()
        return self.findings

    # DL001, DL002 -------------------------------------------------------------------
    def reachability(self) -> None:
        p = self.p
        seen = {p.initial_state.name}
        todo = [p.initial_state.name]
        while todo:
            s = p.state(todo.pop())
            for r in self.p.rules_of(s.name):
                for target in self.targets(s.name, r):
                    if target not in seen:
                        seen.add(target)
                        todo.append(target)
        for s in p.states:
            if s.name not in seen:
                self.add("DL001", f"state '{s.name}' is unreachable: no goto leads to it from '{p.initial_state.name}'",
                         s.location, "add a rule with 'goto: " + s.name + "', or remove the state")
        for s in self.live:
            if s.name in seen and not any(r.goto for r in self.rules_of(s)):
                self.add("DL002", f"state '{s.name}' is not final and has no way out: a case that enters it stays forever",
                         s.location, "mark it 'final: true', or add a rule with a goto (e.g. on payment when balance <= 0)")

    def targets(self, state: str, rule: ir.Rule) -> list[str]:
        """The states ``rule`` of ``state`` can lead to: its goto, or for ``previous``/``return`` (the state
        before) any state that can reach ``state``."""
        if not rule.goto:
            return []
        if rule.goto not in GOTO_WORDS:
            return [rule.goto]
        if not hasattr(self, "_before"):
            leads: dict[str, set[str]] = {}
            for s in self.live:
                for r in self.rules_of(s):
                    if r.goto and r.goto not in GOTO_WORDS:
                        leads.setdefault(r.goto, set()).add(s.name)
            self._before: dict[str, list[str]] = {}
            for name in (s.name for s in self.p.states):
                found, todo = set(), [name]
                while todo:
                    for b in leads.get(todo.pop(), ()):
                        if b not in found:
                            found.add(b)
                            todo.append(b)
                self._before[name] = sorted(found)
        return self._before[state]

    # DL003 ----------------------------------------------------------------------------
    def shadowed(self) -> None:
        done: set[tuple[str, str]] = set()
        for s in self.live:
            rules = self.rules_of(s)
            for j, r2 in enumerate(rules):
                for r1 in rules[:j]:
                    if r1.goto is None or r1.expires is not None or (r1.name, r2.name) in done:
                        continue
                    if not self._same_trigger(r1, r2):
                        continue
                    if not _guard_keys(r1) <= _guard_keys(r2):
                        continue
                    done.add((r1.name, r2.name))
                    where = "" if r1 in self.p.any_state and r2 in self.p.any_state else f" in state '{s.name}'"
                    guard = "no guard" if not _guard_keys(r1) else "a guard that holds whenever its own does"
                    self.add("DL003",
                             f"rule '{r2.name}' never runs{where}: rule '{r1.name}' before it has the same trigger "
                             f"({_describe_trigger(r2)}), {guard}, and goes to '{r1.goto}'",
                             r2.location, f"put the more specific rule first, or give '{r1.name}' a stricter guard")
                    break

    @staticmethod
    def _same_trigger(r1: ir.Rule, r2: ir.Rule) -> bool:
        t1, t2 = r1.trigger, r2.trigger
        if t1 is None or t2 is None:
            return t1 is None and t2 is None
        if isinstance(t1, ir.On) and isinstance(t2, ir.On):
            return set(t2.events) <= set(t1.events)
        if type(t1) is not type(t2):
            return False
        if isinstance(t1, ir.At):
            return t1.expr == t2.expr
        return t1 == t2

    # DL004 ----------------------------------------------------------------------------
    def entry_bounds(self) -> dict[str, dict[str, int]]:
        """For each state, lower bounds of when it can be entered: {anchor: days} (time >= anchor + days)."""
        p = self.p
        TOP = None  # not reached (yet)
        bounds: dict[str, Any] = {s.name: TOP for s in p.states}
        start = {"issued": 0}
        bounds[p.initial_state.name] = dict(start)
        for _ in range(4 * len(p.states) + 4):
            incoming: dict[str, list[dict[str, int]]] = {s.name: [] for s in p.states}
            incoming[p.initial_state.name].append(start)
            for s in self.live:
                b = bounds[s.name]
                if b is None:
                    continue
                for r in self.rules_of(s):
                    if not r.goto or r.goto in GOTO_WORDS:  # the state before was entered earlier
                        continue
                    incoming[r.goto].append(self._fire_bound(r, b))
            new = {}
            for name, ins in incoming.items():
                if not ins:
                    new[name] = None
                    continue
                keys = set.intersection(*(set(x) for x in ins))
                new[name] = {k: min(x[k] for x in ins) for k in keys}
            if new == bounds:
                break
            bounds = new
        return {k: v for k, v in bounds.items() if v is not None}

    def _fire_bound(self, r: ir.Rule, entry: dict[str, int]) -> dict[str, int]:
        b = dict(entry)
        t = r.trigger
        if isinstance(t, (ir.After, ir.Every)):
            d = t.duration.fixed_days
            start = _anchored(t.starting) if isinstance(t, ir.Every) and t.starting is not None else None
            if start is not None:
                b[start[0]] = max(b.get(start[0], start[1]), start[1])
            elif d is not None:
                b = {k: v + d for k, v in b.items()}
            else:
                b = {k: v for k, v in b.items()}
        elif isinstance(t, ir.At):
            a = _anchored(t.expr)
            if a is not None:
                b[a[0]] = max(b.get(a[0], a[1]), a[1])
        # A clock guard 'days_overdue >= N' cannot hold before due + N.
        for pos, node in _guard_atoms(r):
            atom = _atom(pos, node)
            if atom and atom[0] == "days_overdue" and atom[1] in (">=", ">", "==") and isinstance(atom[2], Decimal):
                n = int(atom[2]) + (1 if atom[1] == ">" else 0)
                b["due"] = max(b.get("due", n), n)
        if "due" in b:  # due >= issued
            b["issued"] = max(b.get("issued", b["due"]), b["due"])
        return b

    def timers(self) -> None:
        bounds = self.entry_bounds()
        for s in self.live:
            entry = bounds.get(s.name)
            rules = self.rules_of(s)
            reported: set[str] = set()
            for r in rules:
                if not isinstance(r.trigger, ir.At) or entry is None:
                    continue
                a = _anchored(r.trigger.expr)
                if a is None or a[0] not in entry or a[1] >= entry[a[0]]:
                    continue
                late = entry[a[0]] - a[1]
                at_text = r.trigger.expr.canonical
                first = f"{a[0]} + {entry[a[0]]} day(s)" if entry[a[0]] >= 0 else f"{a[0]} - {-entry[a[0]]} day(s)"
                exp = r.expires.fixed_days if r.expires is not None else None
                reported.add(r.name)
                if exp is not None and late > exp:
                    self.add("DL004", f"timer 'at {at_text}' of rule '{r.name}' never fires: state '{s.name}' is "
                             f"entered at {first} at the earliest, {late} day(s) late, and 'expires: {r.expires}' "
                             "drops it", _expr_loc(r.trigger.expr) or r.location,
                             "move the rule to a state that is active at that time, or remove it")
                else:
                    self.add("DL004", f"timer 'at {at_text}' of rule '{r.name}' is always late: state '{s.name}' is "
                             f"entered at {first} at the earliest, so it fires at entry (catch-up), not at its time",
                             _expr_loc(r.trigger.expr) or r.location,
                             "move the rule to the state that is active at that time, or add 'expires:' to drop it")
            # Timers pre-empted by an earlier unguarded timer with a goto.
            for i, r1 in enumerate(rules):
                if r1.goto is None or r1.expires is not None or _guard_keys(r1):
                    continue
                k1 = self._timer_key(r1)
                if k1 is None:
                    continue
                for j, r2 in enumerate(rules):
                    if r2 is r1 or r2.name in reported:
                        continue
                    k2 = self._timer_key(r2)
                    if k2 is None or k2[0] != k1[0] or (r2 in self.p.any_state and r1 in self.p.any_state):
                        continue
                    if k2[1] > k1[1] or (k2[1] == k1[1] and j > i and not self._same_trigger(r1, r2)):
                        reported.add(r2.name)
                        self.add("DL004", f"timer '{_describe_trigger(r2)}' of rule '{r2.name}' never fires in state "
                                 f"'{s.name}': rule '{r1.name}' ({_describe_trigger(r1)}, no guard) always leaves "
                                 f"for '{r1.goto}' first",
                                 r2.location, f"move '{r2.name}' to the state '{r1.goto}', or guard '{r1.name}'")

    @staticmethod
    def _timer_key(r: ir.Rule) -> tuple[str, int] | None:
        t = r.trigger
        if isinstance(t, ir.At):
            return _anchored(t.expr)
        if isinstance(t, ir.After) and t.duration.fixed_days is not None:
            return ("entered", t.duration.fixed_days)
        if isinstance(t, ir.Every) and t.starting is None and t.duration.fixed_days is not None:
            return ("entered", t.duration.fixed_days)
        return None

    # DL005 ----------------------------------------------------------------------------
    def condition_loops(self) -> None:
        edges: dict[str, list[ir.Rule]] = {}
        for s in self.live:
            for r in self.rules_of(s):
                if r.trigger is None and r.goto and r.goto not in GOTO_WORDS:
                    edges.setdefault(s.name, []).append(r)
        cycles: list[list[tuple[str, ir.Rule]]] = []
        names = [s.name for s in self.live]

        def dfs(start: str, node: str, path: list[tuple[str, ir.Rule]], on_path: set[str]) -> None:
            if len(cycles) > 200:
                return
            for r in edges.get(node, ()):
                nxt = r.goto
                if nxt == start:
                    cycles.append(path + [(node, r)])
                elif nxt not in on_path and nxt in names and names.index(nxt) > names.index(start):
                    dfs(start, nxt, path + [(node, r)], on_path | {nxt})

        for n in names:
            dfs(n, n, [], {n})
        reported: set[frozenset] = set()
        for cyc in cycles:
            atoms = [a for _, r in cyc for a in _guard_atoms(r)]
            if _unsatisfiable(atoms):
                continue
            key = frozenset(r.name for _, r in cyc)
            if key in reported:
                continue
            reported.add(key)
            states = " -> ".join([s for s, _ in cyc] + [cyc[0][0]])
            rules = ", ".join(f"'{r.name}'" for _, r in cyc)
            first = min((r for _, r in cyc), key=lambda r: (r.location.line, r.location.column) if r.location else (1 << 30, 0))
            self.add("DL005", f"condition rules loop at one instant: {states} (rules {rules}); when their guards "
                     "hold together, a case goes round until the chain limit and fails",
                     first.location,
                     "make the guards exclude each other (e.g. 'balance > 0' / 'balance <= 0'), or wait for "
                     "an event or a timer on the way")

    # DL006 ----------------------------------------------------------------------------
    def fees_before_reminders(self) -> None:
        p = self.p
        # unreminded[s]: the path by which s can be entered with no reminder sent so far
        unreminded: dict[str, list[str]] = {p.initial_state.name: [p.initial_state.name]}
        todo = [p.initial_state.name]
        flagged: set[int] = set()

        def scan(actions, path, where) -> bool:
            """Flag fees before the first reminder; True if a reminder was certainly sent."""
            for a in actions:
                if a.kind == "remind":
                    return True
                if a.kind == "fee" and id(a) not in flagged:
                    flagged.add(id(a))
                    self.add("DL006", f"fee {where} can be charged before any reminder was sent "
                             f"(path: {' -> '.join(path)})", a.location,
                             "send a reminder first (e.g. in on_enter), or guard the rule with 'reminders > 0'")
            return False

        while todo:
            name = todo.pop(0)
            s = p.state(name)
            path = unreminded[name]
            if scan(s.on_enter, path, f"in on_enter of '{name}'"):
                continue
            if s.final:
                continue
            for r in self.rules_of(s):
                guarded = any((a := _atom(pos, n)) is not None and a[0] == "reminders" and a[1] in (">", ">=", "==")
                              and isinstance(a[2], Decimal) and (a[2] > 0 or (a[1] == ">" and a[2] >= 0))
                              for pos, n in _guard_atoms(r))
                if guarded:
                    continue
                sent = scan(r.do, path, f"in rule '{r.name}'")
                if sent or not r.goto or r.goto in GOTO_WORDS:
                    continue
                if any(a.kind == "remind" for a in s.on_exit):
                    continue
                if r.goto not in unreminded:
                    unreminded[r.goto] = path + [r.goto]
                    todo.append(r.goto)

    # DL007 ----------------------------------------------------------------------------
    def unused_segments(self) -> None:
        p = self.p
        if not p.segments:
            return
        used: set[str] = set()

        def take(e) -> None:
            if e is not None and hasattr(e, "variables"):
                used.update(v.split(".")[0] for v in e.variables)

        def take_actions(actions) -> None:
            for a in actions:
                for _, v in a.params:
                    if isinstance(v, tuple):
                        for item in v:
                            if isinstance(item, tuple) and len(item) == 2:
                                take(item[1])
                    else:
                        take(v)

        rules = [r for s in p.states for r in s.rules] + list(p.any_state)
        for r in rules:
            take(r.when)
            take(r.unless)
            if isinstance(r.trigger, ir.At):
                take(r.trigger.expr)
            if isinstance(r.trigger, ir.Every):
                take(r.trigger.starting)
            take_actions(r.do)
        for s in p.states:
            take_actions(s.on_enter)
            take_actions(s.on_exit)
        for name, e in p.segments:
            vs = {v.split(".")[0] for v in e.variables}
            used.update(vs - {name})
        for _, e in getattr(p, "invariants", ()):
            take(e)
        for name, e in p.segments:
            if name not in used:
                self.add("DL007", f"segment '{name}' is never used", _segment_loc(p, name) or _expr_loc(e),
                         "use it in a guard (when: " + name + "), or remove it")


def _short(loc: Location | None) -> Location | None:
    """``loc`` underlining at most the rest of its line up to a comment (not a whole mapping)."""
    if loc is None or loc.source is None:
        return loc
    line = loc.source.line(loc.line)
    if line is None:
        return loc
    rest = line[loc.column - 1:]
    cut = rest.find(" #")
    if cut >= 0:
        rest = rest[:cut]
    n = len(rest.rstrip())
    return Location(loc.source, loc.line, loc.column, max(1, min(loc.length, n))) if n else loc


def _segment_loc(policy, name: str) -> Location | None:
    """The position of a segment's name (best effort: YAML 'segments:' block or DSL 'segment NAME:')."""
    import re

    src = getattr(policy, "source", None)
    text = getattr(src, "text", None)
    if not text or not hasattr(src, "location"):
        return None
    block = re.search(r"(?m)^segments\s*:", text)
    if block is not None:
        m = re.compile(r"(?m)^\s+(" + re.escape(name) + r")\s*:").search(text, block.end())
    else:
        m = re.search(r"(?m)^\s*segment\s+(" + re.escape(name) + r")\s*:", text)
    if m is None:
        return None
    return src.location(m.start(1), len(name))
