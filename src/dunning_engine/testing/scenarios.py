"""Scenario files (``*.test.yaml``, SPEC §7): load, run, compare, and explain a failure.

A scenario file names a policy (relative to the file) and lists cases; each
case is a small portfolio (invoices, customers, events), a horizon (``until``,
optional ``since``) and what must come out (``expect``)::

    policy: ../policies/b2b_friendly_cl.yaml
    cases:
      - name: pays after the first notice
        invoices: [{id: A1, customer: C1, amount: "100000", issued: 2026-01-01, due: 2026-01-31}]
        customers: [{id: C1, segment: smb}]
        events: [{at: 2026-02-05, type: payment, invoice: A1, amount: "100000"}]
        until: 2026-04-01
        expect:
          actions:
            - {date: 2026-01-28, type: remind, template: pre_due}
            - {date: 2026-02-01, type: remind, template: first_notice}
          states: {A1: paid}
          balances: {A1: "0"}

Files are read with the project's positioned YAML reader, so every mistake in
a scenario is reported as ``file:line:col`` with a help line, and nothing in
the file is given a YAML 1.1 meaning (``on`` is ``on``, ``19.90`` is text).
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..errors import Location, PolicyError, PolicyErrors, did_you_mean
from ..vocabulary import ACTIONS

__all__ = [
    "SCENARIO_SUFFIX",
    "ScenarioFile",
    "ScenarioCase",
    "Expected",
    "Expectation",
    "CaseResult",
    "looks_like_scenario",
    "find_scenario_files",
    "load_scenario_file",
    "load_scenarios",
    "run_case",
    "run_scenarios",
    "match_action",
]

SCENARIO_SUFFIX = ".test.yaml"

FILE_KEYS = ("policy", "description", "cases")
CASE_KEYS = ("name", "description", "invoices", "customers", "events", "until", "since", "expect")
EXPECT_KEYS = ("actions", "contains", "excludes", "states", "balances", "errors", "invariants")
# Fields of an action record that an expected item may name (besides its params).
ACTION_FIELDS = ("key", "at", "type", "case", "invoice", "customer", "state", "rule", "amount", "currency",
                 "deferred_from", "capped_from", "dropped_via")
# Keys an expected item may use that are not fields of the record.
MATCH_KEYS = ("date", "time", "params")
# Parameters actions carry in their output besides those written in the policy.
OUTPUT_PARAMS = ("base", "computed", "total", "schedule", "days", "first", "installments", "every", "down_payment",
                 "until", "percent")

_PLAIN_INT = re.compile(r"-?(0|[1-9][0-9]{0,17})\Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)\Z")


# ----------------------------------------------------------------------------- the model


@dataclass
class Expected:
    """One expected action: the fields it names (plain values) and where it was written."""

    fields: dict[str, Any]
    location: Location | None = None
    text: str = ""  # the fields as written, for diffs

    @property
    def line(self) -> int | None:
        return self.location.line if self.location else None


@dataclass
class Expectation:
    actions: list[Expected] | None = None
    contains: list[Expected] = field(default_factory=list)
    excludes: list[Expected] = field(default_factory=list)
    states: list[tuple[str, str, Location | None]] = field(default_factory=list)
    balances: list[tuple[str, Decimal, str, Location | None]] = field(default_factory=list)
    errors: list[tuple[str, Location | None]] | None = None
    invariants: bool = True


@dataclass
class ScenarioCase:
    name: str
    file: "ScenarioFile"
    invoices: list[dict]
    customers: list[dict]
    events: list[dict]
    until: str
    since: str | None = None
    description: str | None = None
    expect: Expectation = field(default_factory=Expectation)
    location: Location | None = None
    record_locations: dict[tuple[str, int], Any] = field(default_factory=dict, repr=False)

    @property
    def id(self) -> str:
        return f"{self.file.display}::{self.name}"

    @property
    def line(self) -> int | None:
        return self.location.line if self.location else None


@dataclass
class ScenarioFile:
    path: Path
    display: str
    policy_path: Path
    policy: Any
    description: str | None = None
    cases: list[ScenarioCase] = field(default_factory=list)


@dataclass
class CaseResult:
    """The outcome of one case. ``status`` is 'passed', 'failed' or 'error' (the file could not be loaded)."""

    id: str
    file: str
    name: str
    status: str
    failures: list[str] = field(default_factory=list)
    line: int | None = None
    duration: float = 0.0
    policy: Any = None
    policy_path: str | None = None
    fired: set[str] = field(default_factory=set)
    entered: set[str] = field(default_factory=set)
    emitted: set[str] = field(default_factory=set)
    actions: list[dict] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def report(self) -> str:
        """The failure text: every problem of the case, diffs included."""
        head = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        if self.status == "error":
            return "\n".join(self.failures)
        return head + f"case '{self.name}' failed\n" + "\n".join(self.failures)

    def to_dict(self) -> dict:
        return {"id": self.id, "file": self.file, "case": self.name, "line": self.line, "status": self.status,
                "duration": round(self.duration, 4), "failures": self.failures}


# ----------------------------------------------------------------------------- finding files


def looks_like_scenario(path: str | os.PathLike) -> bool:
    """True when ``path`` is a ``*.test.yaml`` file with a top-level ``policy:`` or ``cases:`` key.

    Other ``*.test.yaml`` files (another tool's, say) are left alone.
    """
    p = Path(path)
    if not p.name.endswith(SCENARIO_SUFFIX) or not p.is_file():
        return False
    try:
        with open(p, "rb") as fh:
            head = fh.read(64 * 1024).decode("utf-8", "replace")
    except OSError:
        return False
    return re.search(r"(?m)^(policy|cases)\s*:", head) is not None


def find_scenario_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Scenario files under ``paths`` (directories are searched recursively), sorted, each once.

    A file named explicitly is taken whatever its name; files found in a
    directory must end in ``.test.yaml`` and look like a scenario.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            items = sorted(x for x in p.rglob(f"*{SCENARIO_SUFFIX}")
                           if not any(part.startswith(".") for part in x.relative_to(p).parts)
                           and looks_like_scenario(x))
        else:
            items = [p]
        for x in items:
            key = x.resolve()
            if key not in seen:
                seen.add(key)
                found.append(x)
    return found


# ----------------------------------------------------------------------------- loading

_POLICY_CACHE: dict[tuple[str, int, int], Any] = {}


def _load_policy_cached(path: Path):
    from ..policy.load import load_policy

    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    policy = _POLICY_CACHE.get(key)
    if policy is None:
        policy = load_policy(_display(Path(os.path.normpath(os.path.abspath(path)))))
        if len(_POLICY_CACHE) > 64:
            _POLICY_CACHE.clear()
        _POLICY_CACHE[key] = policy
    return policy


def _display(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    return str(path) if rel.startswith(".." + os.sep + "..") else rel


def load_scenario_file(path: str | os.PathLike, *, display: str | None = None) -> ScenarioFile:
    """Read and check one scenario file; raises ``PolicyError`` (every problem, positioned)."""
    path = Path(path)
    shown = display or _display(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        from ..errors import Source

        raise PolicyError(f"cannot read scenario file '{shown}': {e.strerror or e}", Location(Source(shown, ""), 1, 1),
                          help="check the path and that the file is readable") from None
    from ..policy.yaml_source import load_yaml

    root = load_yaml(data, shown)
    return _Loader(path, shown).load(root)


def load_scenarios(paths: Iterable[str | os.PathLike]) -> list[ScenarioFile]:
    """Load every scenario file under ``paths``; the first file with errors raises."""
    return [load_scenario_file(p) for p in find_scenario_files(paths)]


def _py(node) -> Any:
    """A node as a plain value, the way JSON would give it.

    Plain (unquoted) ``null``/``~``/empty are None, ``true``/``false`` are
    booleans and whole numbers without leading zeros are ints; every other
    scalar, quoted or not, is its text (so ``19.90`` stays the text
    ``"19.90"`` and money keeps its digits).
    """
    from ..policy.nodes import MapNode, SeqNode

    if isinstance(node, MapNode):
        return {k.text: _py(v) for k, v in node.items}
    if isinstance(node, SeqNode):
        return [_py(x) for x in node.items]
    if node.style != "plain":
        return node.text
    if node.is_null():
        return None
    if node.text in ("true", "false"):
        return node.text == "true"
    if _PLAIN_INT.match(node.text):
        return int(node.text)
    return node.text


def _written(node) -> str:
    """Compact text of a node as written (for diffs)."""
    from ..policy.nodes import MapNode, SeqNode

    if isinstance(node, MapNode):
        return ", ".join(f"{k.text}: {_written(v)}" for k, v in node.items)
    if isinstance(node, SeqNode):
        return "[" + ", ".join(_written(x) for x in node.items) + "]"
    return node.text


class _Loader:
    def __init__(self, path: Path, shown: str) -> None:
        self.path = path
        self.shown = shown
        self.errors: list[PolicyError] = []

    def error(self, node, message: str, help: str | None = None) -> None:
        loc = node.location if hasattr(node, "location") else node
        self.errors.append(PolicyError(message, loc, help=help))

    def keys(self, m, allowed: tuple[str, ...], what: str) -> None:
        for k, _ in m.items:
            if k.text not in allowed:
                self.error(k, f"unknown key '{k.text}' in {what}",
                           did_you_mean(k.text, allowed) or f"{what} takes: {', '.join(allowed)}")

    def mapping(self, node, what: str):
        from ..policy.nodes import MapNode, describe

        if isinstance(node, MapNode):
            return node
        self.error(node, f"{what} must be a mapping of keys and values, found {describe(node)}")
        return None

    def seq(self, node, what: str) -> list:
        from ..policy.nodes import ScalarNode, SeqNode, describe

        if node is None or (isinstance(node, ScalarNode) and node.is_null()):
            return []
        if isinstance(node, SeqNode):
            return list(node.items)
        self.error(node, f"{what} must be a list, found {describe(node)}",
                   help="write '[...]' or one item per line starting with '- '")
        return []

    def text(self, node, what: str) -> str | None:
        from ..policy.nodes import ScalarNode, describe

        if not isinstance(node, ScalarNode):
            self.error(node, f"{what} must be a single value, found {describe(node)}")
            return None
        if node.is_null() or not node.text.strip():
            self.error(node, f"{what} is empty")
            return None
        return node.text

    # -- the file ---------------------------------------------------------------------------
    def load(self, root) -> ScenarioFile:
        from ..policy.nodes import MapNode

        if not isinstance(root, MapNode):
            self.error(root, "a scenario file must be a mapping with 'policy:' and 'cases:'",
                       help="start with 'policy: path/to/policy.yaml', then 'cases:' with a list of cases")
            raise PolicyErrors(self.errors)
        self.keys(root, FILE_KEYS, "a scenario file")
        policy = None
        policy_path = None
        pnode = root.get("policy")
        if pnode is None:
            self.error(root, "the scenario file has no 'policy:'",
                       help="add 'policy: ../policies/my_policy.yaml' (relative to this file)")
        else:
            rel = self.text(pnode, "policy")
            if rel is not None:
                policy_path = (self.path.parent / rel)
                if not policy_path.is_file():
                    near = None
                    if policy_path.parent.is_dir():
                        near = did_you_mean(policy_path.name, [p.name for p in policy_path.parent.iterdir()])
                    self.error(pnode, f"policy file '{rel}' not found (looked for {_display(policy_path)})",
                               near or "the path is relative to the scenario file")
                else:
                    try:
                        policy = _load_policy_cached(policy_path)
                    except PolicyError as e:
                        self.error(pnode, f"policy '{rel}' has {len(e.errors)} error(s); see below",
                                   help="run 'dunning validate' on the policy")
                        self.errors.extend(e.errors)
        description = None
        if root.get("description") is not None:
            description = self.text(root.get("description"), "description")
        sf = ScenarioFile(path=self.path, display=self.shown, policy_path=policy_path or self.path,
                          policy=policy, description=description)
        cnode = root.get("cases")
        if cnode is None:
            self.error(root, "the scenario file has no 'cases:'", help="add 'cases:' with a list of cases")
        names: dict[str, Any] = {}
        for item in self.seq(cnode, "cases"):
            m = self.mapping(item, "a case")
            if m is None:
                continue
            case = self.case(m, sf)
            nn = m.get("name")
            name = getattr(nn, "text", None)
            if name is not None and name in names:
                self.error(nn, f"two cases are named '{name}'",
                           help=f"the first one is at line {names[name].line}; give each case its own name")
                continue
            if name is not None:
                names[name] = m.location
            if case is not None:
                sf.cases.append(case)
        if cnode is not None and not sf.cases and not self.errors:
            self.error(cnode, "the scenario file has no cases", help="add at least one case under 'cases:'")
        if self.errors:
            raise PolicyErrors(self.errors)
        return sf

    # -- one case ---------------------------------------------------------------------------
    def case(self, m, sf: ScenarioFile) -> ScenarioCase | None:
        from ..policy.nodes import ScalarNode

        self.keys(m, CASE_KEYS, "a case")
        before = len(self.errors)
        name = None
        if m.get("name") is None:
            self.error(m, "a case needs a 'name:'", help="name it after what it shows, e.g. 'pays after the first notice'")
        else:
            name = self.text(m.get("name"), "name")
        description = self.text(m.get("description"), "description") if m.get("description") is not None else None
        policy = sf.policy
        tz = None
        if policy is not None:
            from zoneinfo import ZoneInfo

            tz = ZoneInfo(policy.timezone)
        lists: dict[str, Any] = {}
        locs: dict[tuple[str, int], Any] = {}
        for key in ("invoices", "customers", "events"):
            node = m.get(key)
            if isinstance(node, ScalarNode) and not node.is_null():
                # A file of records (CSV or JSONL, as 'dunning run' reads them), relative to this file.
                lists[key] = self.data_file(node, key)
                continue
            values = []
            for i, item in enumerate(self.seq(node, key)):
                im = self.mapping(item, f"an item of '{key}'")
                if im is None:
                    continue
                locs[(key, len(values) + 1)] = im
                values.append(_py(im))
            lists[key] = values
        if m.get("invoices") is None and not any(e.get("type") == "invoice_issued" for e in _dicts(lists["events"])):
            self.error(m, "a case needs 'invoices:' (or invoice_issued events)",
                       help="for example: invoices: [{id: A1, customer: C1, amount: \"100000\", issued: 2026-01-01, due: 2026-01-31}]")
        until = since = None
        if m.get("until") is None:
            self.error(m, "a case needs 'until:' (the run goes up to and including it; a date means through "
                          "the end of that day)", help="for example 'until: 2026-04-01'")
        else:
            until = self.instant(m.get("until"), "until", tz)
        if m.get("since") is not None:
            since = self.instant(m.get("since"), "since", tz)
        cases = None
        if policy is not None:
            cases = self.records(lists, locs, policy, tz)
        expect = Expectation()
        if m.get("expect") is None:
            self.error(m, "a case needs 'expect:'",
                       help="say what must come out: actions, contains, excludes, states, balances")
        else:
            em = self.mapping(m.get("expect"), "expect")
            if em is not None:
                expect = self.expectation(em, policy, cases)
        if len(self.errors) > before or name is None or until is None:
            return None
        return ScenarioCase(name=name, file=sf, invoices=lists["invoices"], customers=lists["customers"],
                            events=lists["events"], until=until, since=since, description=description,
                            expect=expect, location=m.location, record_locations=locs)

    def data_file(self, node, key: str) -> str:
        """The path of a records file named in the scenario (checked to exist), as text; '' if missing."""
        rel = node.text
        path = self.path.parent / rel
        if not path.is_file():
            near = None
            if path.parent.is_dir():
                near = did_you_mean(path.name, [p.name for p in path.parent.iterdir()])
            self.error(node, f"{key} file '{rel}' not found (looked for {_display(path)})",
                       near or f"write the {key} inline as a list, or a path (CSV or JSONL) relative to the scenario file")
            return ""
        return _display(path)

    def instant(self, node, what: str, tz) -> str | None:
        """The text of ``until:``/``since:``, checked; the run reads it with ``engine.runner.bound``
        (a date as ``until`` means through the end of that local day, SPEC §5)."""
        from ..engine.runner import bound

        text = self.text(node, what)
        if text is None:
            return None
        if tz is not None:
            try:
                bound(text, tz, end=what == "until")
            except ValueError as e:
                self.error(node, f"{what}: {e}", help="write a date (2026-04-01) or a date-time (2026-04-01T09:00)")
                return None
        return text

    def records(self, lists: dict[str, Any], locs: dict, policy, tz) -> set[str] | None:
        """Check the records with the engine's own readers; point each problem at its place.

        Returns the ids of the cases the records make (invoice ids, or customer ids in customer scope).
        """
        from ..errors import Source
        from ..io.readers import Rejects, read_customers, read_events, read_invoices

        readers = {
            "customers": lambda items, bad, name: read_customers(items, rejects=bad, name=name),
            "invoices": lambda items, bad, name: read_invoices(items, tz=tz, default_currency=policy.currency,
                                                               rejects=bad, name=name),
            "events": lambda items, bad, name: read_events(items, tz=tz, default_currency=policy.currency,
                                                           rejects=bad, name=name),
        }
        parsed: dict[str, list] = {}
        for key in ("customers", "invoices", "events"):
            bad = Rejects()
            items = lists[key]
            if isinstance(items, str):  # a records file
                if not items:
                    parsed[key] = []
                    continue
                try:
                    parsed[key] = list(readers[key](items, bad, items))
                except Exception as e:  # a file the readers cannot open at all
                    self.errors.append(PolicyError(f"{key}: {getattr(e, 'message', e)}", Location(Source(items, ""), 1, 1)))
                    parsed[key] = []
                    continue
                try:
                    source = Source(items, Path(items).read_text(encoding="utf-8", errors="replace"))
                except OSError:  # pragma: no cover - it was just read
                    source = Source(items, "")
                for e in bad.errors:
                    where = f" field '{e.field}'" if e.field else ""
                    self.errors.append(PolicyError(f"{key}:{where} {e.message}", Location(source, e.line or 1, 1),
                                                   help=e.help))
                continue
            parsed[key] = list(readers[key](items, bad, key))
            for e in bad.errors:
                self.reject(key, e.line, e.field, e.message, e.help, locs)
        invoices = [(inv.id, inv.customer) for inv in parsed["invoices"]]
        invoices += [(ev.new_invoice.id, ev.new_invoice.customer) for ev in parsed["events"]
                     if ev.new_invoice is not None]
        # Events (written inline) must name invoices the case knows.
        known = {str(inv["id"]) for inv in _dicts(lists["invoices"]) if inv.get("id") is not None}
        known |= {i for i, _ in invoices}
        if not isinstance(lists["events"], str):
            for i, ev in enumerate(lists["events"], 1):
                if not isinstance(ev, dict):
                    continue
                if ev.get("type") == "invoice_issued" and isinstance(ev.get("invoice"), dict):
                    known.add(str(ev["invoice"].get("id")))
                elif ev.get("invoice") is not None and str(ev["invoice"]) not in known:
                    self.reject("events", i, "invoice", f"unknown invoice '{ev['invoice']}'",
                                did_you_mean(str(ev["invoice"]), known) or
                                "the invoice must be in 'invoices:' or issued by an earlier invoice_issued event", locs)
        if any(lists[k] == "" for k in ("invoices", "events")):
            return None  # a records file is missing: the cases are not known
        raw = {(str(x.get("id")), str(x.get("customer"))) for x in _dicts(lists["invoices"])}
        pairs = set(invoices) | raw
        return {c for i, c in pairs} if policy.scope == "customer" else {i for i, _ in pairs}

    def reject(self, key: str, line: int | None, fld: str | None, message: str, help: str | None, locs: dict) -> None:
        node = locs.get((key, line)) if line is not None else None
        if node is None:
            self.errors.append(PolicyError(f"{key}: {message}", None, help=help))
            return
        target = node
        for part in (fld or "").split("."):
            if not part:
                break
            nxt = target.get(part) if hasattr(target, "get") else None
            if nxt is None:
                break
            target = nxt
        self.error(target, f"{key[:-1]} {line}: {message}", help)

    # -- expectations -----------------------------------------------------------------------
    def expectation(self, em, policy, cases: set[str] | None) -> Expectation:
        from ..policy.nodes import ScalarNode

        self.keys(em, EXPECT_KEYS, "expect")
        exp = Expectation()
        if em.get("actions") is not None:
            exp.actions = self.items(em.get("actions"), "actions", policy)
        if em.get("contains") is not None:
            exp.contains = self.items(em.get("contains"), "contains", policy)
        if em.get("excludes") is not None:
            exp.excludes = self.items(em.get("excludes"), "excludes", policy)
        if em.get("states") is not None:
            sm = self.mapping(em.get("states"), "states")
            names = [s.name for s in policy.states] if policy is not None else None
            for k, v in (sm.items if sm is not None else ()):
                self.known_case(k, cases)
                state = self.text(v, f"state of {k.text}")
                if state is not None and names is not None and state not in names:
                    self.error(v, f"'{state}' is not a state of policy {policy.key}",
                               did_you_mean(state, names) or f"states: {', '.join(names)}")
                    continue
                if state is not None:
                    exp.states.append((k.text, state, v.location))
        if em.get("balances") is not None:
            bm = self.mapping(em.get("balances"), "balances")
            for k, v in (bm.items if bm is not None else ()):
                self.known_case(k, cases)
                text = self.text(v, f"balance of {k.text}")
                if text is None:
                    continue
                amount = _decimal(text)
                if amount is None:
                    self.error(v, f"balance '{text}' is not an amount", help='write it as text, e.g. "100000" or "19.90"')
                    continue
                exp.balances.append((k.text, amount, text, v.location))
        if em.get("errors") is not None:
            exp.errors = []
            for item in self.seq(em.get("errors"), "errors"):
                t = self.text(item, "an expected error")
                if t is not None:
                    exp.errors.append((t, item.location))
        if em.get("invariants") is not None:
            node = em.get("invariants")
            if isinstance(node, ScalarNode) and node.text in ("true", "false"):
                exp.invariants = node.text == "true"
            else:
                self.error(node, "'invariants' must be true or false",
                           help="true (the default) checks the built-in and the policy's invariants after every step")
        return exp

    def known_case(self, k, cases: set[str] | None) -> None:
        if cases is not None and k.text not in cases:
            self.error(k, f"no case '{k.text}' in this scenario",
                       did_you_mean(k.text, cases) or (f"cases: {', '.join(sorted(cases))}" if cases else None))

    def items(self, node, what: str, policy) -> list[Expected]:
        out = []
        for item in self.seq(node, what):
            m = self.mapping(item, f"an item of '{what}'")
            if m is None:
                continue
            e = self.expected(m, policy)
            if e is not None:
                out.append(e)
        return out

    def expected(self, m, policy) -> Expected | None:
        from ..vocabulary import ACTION_KINDS

        before = len(self.errors)
        fields = {}
        kind = None
        if m.get("type") is not None:
            kind = self.text(m.get("type"), "type")
            if kind is not None and kind not in ACTION_KINDS:
                self.error(m.get("type"), f"unknown action type '{kind}'",
                           did_you_mean(kind, ACTION_KINDS) or f"actions: {', '.join(ACTION_KINDS)}")
        params = set(ACTIONS[kind].param_names) if kind in ACTIONS else {
            p for spec in ACTIONS.values() for p in spec.param_names}
        known = set(ACTION_FIELDS) | set(MATCH_KEYS) | params | set(OUTPUT_PARAMS)
        for k, v in m.items:
            key = k.text
            if key not in known:
                hint = did_you_mean(key, known)
                if hint:  # most likely a typo; an unknown name with no near match is matched as a param
                    self.error(k, f"unknown field '{key}' in an expected action", hint)
                    continue
            if key == "date":
                t = self.text(v, "date")
                if t is not None and not _valid_date(t):
                    self.error(v, f"date '{t}' is not a date YYYY-MM-DD", help="date matches the local date of the action's 'at'")
                    continue
            elif key == "time":
                t = self.text(v, "time")
                if t is not None and not _TIME.match(t):
                    self.error(v, f"time '{t}' is not a time HH:MM", help="time matches the local time of the action's 'at'")
                    continue
            elif key in ("at", "deferred_from") and policy is not None:
                from zoneinfo import ZoneInfo

                if self.instant(v, key, ZoneInfo(policy.timezone)) is None:
                    continue
            elif key == "state" and policy is not None:
                t = self.text(v, "state")
                names = [s.name for s in policy.states]
                if t is not None and t not in names:
                    self.error(v, f"'{t}' is not a state of policy {policy.key}",
                               did_you_mean(t, names) or f"states: {', '.join(names)}")
                    continue
            elif key == "rule" and policy is not None:
                t = self.text(v, "rule")
                names = ["on_enter", "on_exit"] + [r.name for s in policy.states for r in s.rules] + [
                    r.name for r in policy.any_state]
                if t is not None and t not in names:
                    self.error(v, f"'{t}' is not a rule of policy {policy.key}",
                               did_you_mean(t, names) or "rules are named '<state>.<n>' unless given a 'name:'")
                    continue
            fields[key] = _py(v)
        if len(self.errors) > before:
            return None
        if not fields:
            self.error(m, "an expected action names no field", help="for example {date: 2026-02-01, type: remind}")
            return None
        return Expected(fields=fields, location=m.location, text=_written(m))


def _dicts(items) -> list[dict]:
    """The dict records of an inline list (nothing for a records file)."""
    return [x for x in items if isinstance(x, dict)] if isinstance(items, list) else []


def _valid_date(text: str) -> bool:
    if not _DATE.match(text):
        return False
    try:
        _dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _decimal(text: Any) -> Decimal | None:
    """A decimal from text, ignoring a trailing currency code ('2000 CLP')."""
    if isinstance(text, bool) or text is None:
        return None
    s = str(text).strip()
    m = re.fullmatch(r"(-?[0-9][0-9_,]*(?:\.[0-9]+)?)(?:\s+[A-Z]{3})?", s)
    if not m:
        return None
    try:
        return Decimal(m.group(1).replace("_", "").replace(",", ""))
    except InvalidOperation:  # pragma: no cover
        return None


# ----------------------------------------------------------------------------- matching


def _jsonable(action: dict) -> dict:
    """The action as its JSONL line reads back: money and dates as text."""
    import orjson

    from ..io.writers import dumps_record

    rec = dict(action)
    rec.pop("explain", None)
    return orjson.loads(dumps_record(rec))


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    return str(value)


def _same(expected: Any, actual: Any) -> bool:
    if expected is None:
        return actual is None
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(
            _same(e, a) for e, a in zip(expected, actual))
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and _same(v, actual[k]) for k, v in expected.items())
    if isinstance(actual, list):  # via: email matches ["email"]
        return len(actual) == 1 and _same(expected, actual[0])
    if isinstance(actual, (dict,)) or actual is None:
        return False
    if isinstance(expected, bool) or isinstance(actual, bool):
        return _show(expected) == _show(actual)
    a, b = _decimal(expected), _decimal(actual)
    if a is not None and b is not None:
        if a != b:
            return False
        # '2000 USD' must also match the currency when the actual value says one.
        ce, ca = _code(expected), _code(actual)
        return ce is None or ca is None or ce == ca
    return str(expected) == str(actual)


def _code(value: Any) -> str | None:
    m = re.search(r"\s([A-Z]{3})\Z", str(value).strip())
    return m.group(1) if m else None


def _local(at: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(at)


def match_action(expected: Expected, actual: dict, tz=None) -> list[tuple[str, str, str]]:
    """The fields of ``expected`` that ``actual`` (a JSON-shaped action) does not match.

    Each as (field, expected text, actual text); an empty list is a match.
    ``date`` and ``time`` match the local date and HH:MM of ``at``; ``at``
    matches the same instant; ``params`` matches a subset of the params;
    other keys match a top-level field of the action, else a param.
    """
    out = []
    params = actual.get("params") or {}
    for key, want in expected.fields.items():
        if key == "date":
            got = _local(actual["at"]).date().isoformat()
            ok = str(want) == got
        elif key == "time":
            got = _local(actual["at"]).strftime("%H:%M")
            ok = str(want) == got
        elif key in ("at", "deferred_from") and want is not None:
            got = actual.get(key)
            ok = got is not None and _same_instant(str(want), got, tz)
        elif key == "amount":
            got = actual.get("amount")
            if got is None and "amount" in params:
                got = params["amount"]
            cur = actual.get("currency")
            if got is not None and cur:
                got = f"{got} {cur}"
            ok = _same(want, got)
        elif key == "params":
            got = params
            ok = _same(want, got)
            if not ok and isinstance(params.get("params"), dict):  # a custom action's own params
                got = params["params"]
                ok = _same(want, got)
        elif key in actual and key != "params":
            got = actual[key]
            ok = _same(want, got)
        elif key in params:
            got = params[key]
            ok = _same(want, got)
        else:
            got = "(no such field)"
            ok = want is None
        if not ok:
            out.append((key, _show(want), _show(got)))
    return out


def _same_instant(want: str, got: str, tz) -> bool:
    from zoneinfo import ZoneInfo

    from ..io.readers import parse_instant

    try:
        return parse_instant(want, tz or ZoneInfo("UTC")) == _local(got)
    except ValueError:
        return False


# ----------------------------------------------------------------------------- timelines and diffs

_BULKY = {"schedule", "base", "computed", "total", "explain"}
_MAIN = {name: spec.main for name, spec in ACTIONS.items() if spec.main}


def summarize_action(a: dict) -> str:
    """One line for an action: local date and time, type, its main parameters, amount, rule."""
    at = _local(a["at"])
    parts = [at.strftime("%Y-%m-%d %H:%M"), a.get("type", "?")]
    params = a.get("params") or {}
    main = _MAIN.get(a.get("type"))
    if main and main in params:
        parts.append(_show(params[main]))
    for k, v in params.items():
        if k == main or k in _BULKY:
            continue
        parts.append(f"{k}={_show(v)}")
    if a.get("amount") is not None:
        parts.append(f"amount={a['amount']}" + (f" {a['currency']}" if a.get("currency") else ""))
    parts.append(f"[{a.get('case')} {a.get('state')}/{a.get('rule')}]")
    return " ".join(parts)


def summarize_expected(e: Expected) -> str:
    f = dict(e.fields)
    parts = []
    for k in ("date", "time", "at", "type"):
        if k in f:
            parts.append(_show(f.pop(k)))
    main = _MAIN.get(e.fields.get("type"))
    if main and main in f:
        parts.append(_show(f.pop(main)))
    parts.extend(f"{k}={_show(v)}" for k, v in f.items())
    return " ".join(parts)


def _align(expected: list[Expected], actual: list[dict], tz) -> list[tuple[int | None, int | None, list]]:
    """Pair expected items with actions: the longest run of matches in order, then the rest side by side."""
    n, m = len(expected), len(actual)
    match = [[not match_action(e, a, tz) for a in actual] for e in expected]
    # LCS table (suffixes)
    L = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            L[i][j] = L[i + 1][j + 1] + 1 if match[i][j] else max(L[i + 1][j], L[i][j + 1])
    rows: list[tuple[int | None, int | None, list]] = []
    i = j = 0
    gap_e: list[int] = []
    gap_a: list[int] = []

    def flush() -> None:
        # Inside a gap, pair items in order while they share the type (or the expected names none).
        ge, ga = list(gap_e), list(gap_a)
        gap_e.clear()
        gap_a.clear()
        while ge or ga:
            if ge and ga:
                e, a = expected[ge[0]], actual[ga[0]]
                t = e.fields.get("type")
                if t is None or _same(t, a.get("type")):
                    rows.append((ge.pop(0), ga.pop(0), match_action(e, a, tz)))
                    continue
                # not the same kind: whichever comes first in time goes alone
                if _before(e, a):
                    rows.append((ge.pop(0), None, []))
                else:
                    rows.append((None, ga.pop(0), []))
            elif ge:
                rows.append((ge.pop(0), None, []))
            else:
                rows.append((None, ga.pop(0), []))

    while i < n and j < m:
        if match[i][j] and L[i][j] == L[i + 1][j + 1] + 1:
            flush()
            rows.append((i, j, []))
            i += 1
            j += 1
        elif L[i + 1][j] >= L[i][j + 1]:
            gap_e.append(i)
            i += 1
        else:
            gap_a.append(j)
            j += 1
    gap_e.extend(range(i, n))
    gap_a.extend(range(j, m))
    flush()
    return rows


def _before(e: Expected, a: dict) -> bool:
    d = e.fields.get("date")
    if d is None:
        return True
    return str(d) <= _local(a["at"]).date().isoformat()


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def timeline_diff(expected: list[Expected], actual: list[dict], tz=None, *, title: str | None = None) -> str:
    """A side-by-side diff of expected and actual timelines.

    Markers: ``=`` same, ``~`` paired but different (the differing fields are
    listed below the row), ``-`` expected but missing, ``+`` not expected.
    """
    rows = _align(expected, actual, tz)
    left = [(f"L{expected[i].line} " if expected[i].line else "") + summarize_expected(expected[i])
            if i is not None else "" for i, _, _ in rows]
    width = min(max([len(x) for x in left] + [len("expected")]), 64)
    lines = []
    if title:
        lines.append(title)
    lines.append(f"    {'expected'.ljust(width)} | actual")
    lines.append(f"    {'-' * width}-+-{'-' * 40}")
    for (i, j, diffs), l in zip(rows, left):
        right = summarize_action(actual[j]) if j is not None else ""
        if i is not None and j is not None:
            mark = "~" if diffs else "="
        elif i is not None:
            mark = "-"
        else:
            mark = "+"
        lines.append(f"  {mark} {_clip(l, width).ljust(width)} | {right}".rstrip())
        for key, want, got in diffs:
            lines.append(f"      {key}: expected {want}, got {got}")
    return "\n".join(lines)


def _loc(loc: Location | None) -> str:
    return f" ({loc})" if loc is not None else ""


# ----------------------------------------------------------------------------- running


def action_ids(action: dict) -> str:
    """The coverage id of the policy action that produced ``action``."""
    index = str(action.get("key", "")).rsplit("/", 1)[-1]
    rule = action.get("rule")
    if rule in ("on_enter", "on_exit"):
        return f"{action.get('state')}.{rule}[{index}]"
    return f"{rule}.do[{index}]"


def run_case(case: ScenarioCase) -> CaseResult:
    """Run one case and compare; never raises for a failing policy or case."""
    from zoneinfo import ZoneInfo

    from .runner import run_checked

    sf = case.file
    start = time.perf_counter()
    res = CaseResult(id=case.id, file=sf.display, name=case.name, status="passed", line=case.line,
                     policy=sf.policy, policy_path=_display(sf.policy_path.resolve()))
    tz = ZoneInfo(sf.policy.timezone)
    exp = case.expect
    try:
        run = run_checked(sf.policy, invoices=case.invoices, customers=case.customers, events=case.events,
                          until=case.until, since=case.since, explain=True, check=exp.invariants)
    except Exception as e:  # an engine bug must not stop the suite
        res.status = "failed"
        res.failures.append(f"the run raised {type(e).__name__}: {e}")
        res.duration = time.perf_counter() - start
        return res
    actions = [_jsonable(a) for a in run.actions]
    res.actions = actions
    res.fired, res.entered = run.fired, run.entered
    res.emitted = {action_ids(a) for a in actions}
    fails = res.failures
    result = run.result
    for r in result.rejects:
        if r.file:
            fails.append(f"record rejected ({r.file}:{r.line}): {r.message}")
            continue
        node = case.record_locations.get(("events", r.line)) if r.line else None
        fails.append(f"record rejected{_loc(node.location if node is not None else None)}: {r.message}")
    errors = [getattr(e, "message", str(e)) for e in result.errors]
    if exp.errors is None:
        for e in result.errors:
            fails.append(f"engine error: case {getattr(e, 'case', '?')}: {getattr(e, 'message', e)}")
    else:
        for text, loc in exp.errors:
            if not any(text in e for e in errors):
                fails.append(f"expected an engine error containing '{text}'{_loc(loc)}; "
                             + (f"errors: {'; '.join(errors)}" if errors else "there was none"))
        for e in errors:
            if not any(text in e for text, _ in exp.errors):
                fails.append(f"unexpected engine error: {e}")
    for v in run.violations:
        if v.invariant == "no_engine_errors":
            continue  # reported above, against 'errors:'
        fails.append(v.render())
    if exp.actions is not None:
        rows = _align(exp.actions, actions, tz)
        if any(not (i is not None and j is not None and not d) for i, j, d in rows):
            fails.append(timeline_diff(exp.actions, actions, tz,
                                       title=f"actions differ (expected {len(exp.actions)}, got {len(actions)}):"))
    for e in exp.contains:
        if any(not match_action(e, a, tz) for a in actions):
            continue
        msg = f"expected an action matching {{{e.text}}}{_loc(e.location)}, found none"
        near = _nearest(e, actions, tz)
        if near is not None:
            j, diffs = near
            msg += f"; the closest is #{j + 1}: " + "; ".join(f"{k}: expected {w}, got {g}" for k, w, g in diffs)
        fails.append(msg + "\n" + _listing(actions))
    for e in exp.excludes:
        hits = [a for a in actions if not match_action(e, a, tz)]
        if hits:
            fails.append(f"expected no action matching {{{e.text}}}{_loc(e.location)}, found {len(hits)}:\n"
                         + "\n".join(f"    {summarize_action(a)}" for a in hits))
    for cid, want, loc in exp.states:
        got = result.state_of(cid)
        if got != want:
            fails.append(f"state of {cid}: expected {want}, got {got}{_loc(loc)}")
    for cid, want, text, loc in exp.balances:
        got = result.balance_of(cid)
        if got is None or Decimal(got) != want:
            fails.append(f"balance of {cid}: expected {text}, got {got}{_loc(loc)}")
    if fails:
        res.status = "failed"
    res.duration = time.perf_counter() - start
    return res


def _nearest(e: Expected, actions: list[dict], tz):
    best = None
    for j, a in enumerate(actions):
        diffs = match_action(e, a, tz)
        if best is None or len(diffs) < len(best[1]):
            best = (j, diffs)
    return best if best is not None and len(best[1]) < len(e.fields) else None


def _listing(actions: list[dict]) -> str:
    if not actions:
        return "    (the case emitted no action)"
    return "    actual timeline:\n" + "\n".join(f"    {i + 1:>3}. {summarize_action(a)}" for i, a in enumerate(actions))


def run_scenarios(paths: Iterable[str | os.PathLike], *, match: str | None = None) -> Iterator[CaseResult]:
    """Run every case of every scenario file under ``paths``.

    A file that cannot be loaded gives one result with status 'error' whose
    failure is the positioned error text. ``match`` keeps the cases whose
    name contains it.
    """
    for path in find_scenario_files(paths):
        shown = _display(path)
        try:
            sf = load_scenario_file(path, display=shown)
        except PolicyError as e:
            yield CaseResult(id=shown, file=shown, name="(file)", status="error",
                             failures=[e.render()], line=getattr(e, "line", None))
            continue
        for case in sf.cases:
            if match and match not in case.name:
                continue
            yield run_case(case)
