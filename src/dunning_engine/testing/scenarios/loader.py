"""Reading and checking a scenario file: the file, its policy, each case and its records.

Files are read with the project's positioned YAML reader, so every mistake in
a scenario is reported as ``file:line:col`` with a help line, and nothing in
the file is given a YAML 1.1 meaning (``on`` is ``on``, ``19.90`` is text).
Every problem of a file is collected before one :class:`PolicyErrors` is raised.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator
from zoneinfo import ZoneInfo

from ...errors import Location, PolicyError, PolicyErrors, Source, did_you_mean
from ...policy.nodes import MapNode, Node, ScalarNode
from .expect import read_expectation
from .files import display_path, find_scenario_files
from .model import Expectation, ScenarioCase, ScenarioFile
from .reader import NodeReader, dicts, plain

if TYPE_CHECKING:
    from ...policy.ir import Policy
    from ...records.types import Customer, Event, Invoice

__all__ = ["FILE_KEYS", "CASE_KEYS", "load_scenario_file", "load_scenarios"]

FILE_KEYS = ("policy", "description", "cases")
CASE_KEYS = ("name", "description", "invoices", "customers", "events", "until", "since", "expect")

_POLICY_CACHE: dict[tuple[str, int, int], Policy] = {}


def _load_policy_cached(path: Path) -> Policy:
    from ...policy.load import load_policy

    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    policy = _POLICY_CACHE.get(key)
    if policy is None:
        policy = load_policy(display_path(Path(os.path.normpath(os.path.abspath(path)))))
        if len(_POLICY_CACHE) > 64:
            _POLICY_CACHE.clear()
        _POLICY_CACHE[key] = policy
    return policy


def load_scenario_file(path: str | os.PathLike, *, display: str | None = None) -> ScenarioFile:
    """Read and check one scenario file; raises ``PolicyError`` (every problem, positioned)."""
    path = Path(path)
    shown = display or display_path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise PolicyError(f"cannot read scenario file '{shown}': {e.strerror or e}", Location(Source(shown, ""), 1, 1),
                          help="check the path and that the file is readable", code="cannot-read") from None
    from ...policy.yaml_source import load_yaml

    root = load_yaml(data, shown)
    return ScenarioLoader(path, shown).load(root)


def load_scenarios(paths: Iterable[str | os.PathLike]) -> list[ScenarioFile]:
    """Load every scenario file under ``paths``; the first file with errors raises."""
    return [load_scenario_file(p) for p in find_scenario_files(paths)]


# A checked case waiting for its file (a file is made only once all of it is right): call it with file=.
_Draft = partial[ScenarioCase]


class ScenarioLoader(NodeReader):
    def __init__(self, path: Path, shown: str) -> None:
        super().__init__()
        self.path = path
        self.shown = shown

    # -- the file ---------------------------------------------------------------------------
    def load(self, root: Node) -> ScenarioFile:
        if not isinstance(root, MapNode):
            self.error(root, "a scenario file must be a mapping with 'policy:' and 'cases:'",
                       help="start with 'policy: path/to/policy.yaml', then 'cases:' with a list of cases",
                       code="wrong-type")
            raise PolicyErrors(self.errors)
        self.keys(root, FILE_KEYS, "a scenario file")
        policy: Policy | None = None
        policy_path = None
        pnode = root.get("policy")
        if pnode is None:
            self.error(root, "the scenario file has no 'policy:'",
                       help="add 'policy: ../policies/my_policy.yaml' (relative to this file)", code="missing-key")
        else:
            rel = self.text(pnode, "policy")
            if rel is not None:
                policy_path = (self.path.parent / rel)
                if not policy_path.is_file():
                    near = None
                    if policy_path.parent.is_dir():
                        near = did_you_mean(policy_path.name, [p.name for p in policy_path.parent.iterdir()])
                    self.error(pnode, f"policy file '{rel}' not found (looked for {display_path(policy_path)})",
                               near or "the path is relative to the scenario file", code="file-not-found")
                else:
                    try:
                        policy = _load_policy_cached(policy_path)
                    except PolicyError as e:
                        self.error(pnode, f"policy '{rel}' has {len(e.errors)} error(s); see below",
                                   help="run 'dunning validate' on the policy", code="policy-errors")
                        self.errors.extend(e.errors)
        description = None
        if root.get("description") is not None:
            description = self.text(root.get("description"), "description")
        cnode = root.get("cases")
        if cnode is None:
            self.error(root, "the scenario file has no 'cases:'", help="add 'cases:' with a list of cases",
                       code="missing-key")
        names: dict[str, Location] = {}
        drafts: list[_Draft] = []
        for item in self.seq(cnode, "cases"):
            m = self.mapping(item, "a case")
            if m is None:
                continue
            case = self.case(m, policy)
            nn = m.get("name")
            name = getattr(nn, "text", None)
            if name is not None and name in names:
                self.error(nn, f"two cases are named '{name}'",
                           help=f"the first one is at line {names[name].line}; give each case its own name",
                           code="duplicate-case")
                continue
            if name is not None:
                names[name] = m.location
            if case is not None:
                drafts.append(case)
        if cnode is not None and not drafts and not self.errors:
            self.error(cnode, "the scenario file has no cases", help="add at least one case under 'cases:'",
                       code="missing-key")
        if self.errors or policy is None:  # (no policy is always an error above)
            raise PolicyErrors(self.errors)
        sf = ScenarioFile(path=self.path, display=self.shown, policy_path=policy_path or self.path,
                          policy=policy, description=description)
        sf.cases = [draft(file=sf) for draft in drafts]
        return sf

    # -- one case ---------------------------------------------------------------------------
    def case(self, m: MapNode, policy: Policy | None) -> _Draft | None:
        self.keys(m, CASE_KEYS, "a case")
        before = len(self.errors)
        name = None
        if m.get("name") is None:
            self.error(m, "a case needs a 'name:'", help="name it after what it shows, e.g. 'pays after the first notice'",
                       code="missing-key")
        else:
            name = self.text(m.get("name"), "name")
        description = self.text(m.get("description"), "description") if m.get("description") is not None else None
        tz = ZoneInfo(policy.timezone) if policy is not None else None
        lists: dict[str, list[dict] | str] = {}
        locs: dict[tuple[str, int], MapNode] = {}
        for key in ("invoices", "customers", "events"):
            node = m.get(key)
            if isinstance(node, ScalarNode) and not node.is_null():
                # A file of records (CSV or JSONL, as 'dunning run' reads them), relative to this file.
                lists[key] = self.data_file(node, key)
                continue
            values: list[dict] = []
            for i, item in enumerate(self.seq(node, key)):
                im = self.mapping(item, f"an item of '{key}'")
                if im is None:
                    continue
                locs[(key, len(values) + 1)] = im
                values.append(plain(im))
            lists[key] = values
        if m.get("invoices") is None and not any(e.get("type") == "invoice_issued" for e in dicts(lists["events"])):
            self.error(m, "a case needs 'invoices:' (or invoice_issued events)",
                       help="for example: invoices: [{id: A1, customer: C1, amount: \"100000\", issued: 2026-01-01, due: 2026-01-31}]",
                       code="missing-key")
        until = since = None
        if m.get("until") is None:
            self.error(m, "a case needs 'until:' (the run goes up to and including it; a date means through "
                          "the end of that day)", help="for example 'until: 2026-04-01'", code="missing-key")
        else:
            until = self.instant(m.get("until"), "until", tz)
        if m.get("since") is not None:
            since = self.instant(m.get("since"), "since", tz)
        cases = None
        if policy is not None and tz is not None:
            cases = self.records(lists, locs, policy, tz)
        expect = Expectation()
        if m.get("expect") is None:
            self.error(m, "a case needs 'expect:'",
                       help="say what must come out: actions, contains, excludes, states, balances", code="missing-key")
        else:
            em = self.mapping(m.get("expect"), "expect")
            if em is not None:
                expect = read_expectation(self, em, policy, cases)
        if len(self.errors) > before or name is None or until is None:
            return None
        return partial(ScenarioCase, name=name, invoices=lists["invoices"], customers=lists["customers"],
                       events=lists["events"], until=until, since=since, description=description,
                       expect=expect, location=m.location, record_locations=locs)

    def data_file(self, node: ScalarNode, key: str) -> str:
        """The path of a records file named in the scenario (checked to exist), as text; '' if missing."""
        rel = node.text
        path = self.path.parent / rel
        if not path.is_file():
            near = None
            if path.parent.is_dir():
                near = did_you_mean(path.name, [p.name for p in path.parent.iterdir()])
            self.error(node, f"{key} file '{rel}' not found (looked for {display_path(path)})",
                       near or f"write the {key} inline as a list, or a path (CSV or JSONL) relative to the scenario file",
                       code="file-not-found")
            return ""
        return display_path(path)

    def records(self, lists: dict[str, list[dict] | str], locs: dict[tuple[str, int], MapNode], policy: Policy,
                tz: ZoneInfo) -> set[str] | None:
        """Check the records with the engine's own readers; point each problem at its place.

        Returns the ids of the cases the records make (invoice ids, or customer ids in customer scope).
        """
        from ...io.readers import Rejects, read_customers, read_events, read_invoices

        readers: dict[str, Callable[[Any, Rejects, str], Iterator[Invoice | Customer | Event]]] = {
            "customers": lambda items, bad, name: read_customers(items, rejects=bad, name=name),
            "invoices": lambda items, bad, name: read_invoices(items, tz=tz, default_currency=policy.currency,
                                                               rejects=bad, name=name),
            "events": lambda items, bad, name: read_events(items, tz=tz, default_currency=policy.currency,
                                                           rejects=bad, name=name),
        }
        parsed: dict[str, list[Any]] = {}
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
                    self.errors.append(PolicyError(f"{key}: {getattr(e, 'message', e)}", Location(Source(items, ""), 1, 1),
                                                   code="cannot-read"))
                    parsed[key] = []
                    continue
                try:
                    source = Source(items, Path(items).read_text(encoding="utf-8", errors="replace"))
                except OSError:  # pragma: no cover - it was just read
                    source = Source(items, "")
                for rej in bad.errors:
                    where = f" field '{rej.field}'" if rej.field else ""
                    self.errors.append(PolicyError(f"{key}:{where} {rej.message}", Location(source, rej.line or 1, 1),
                                                   help=rej.help, code=rej.code or "invalid-record"))
                continue
            parsed[key] = list(readers[key](items, bad, key))
            for rej in bad.errors:
                self.reject(key, rej.line, rej.field, rej.message, rej.help, locs, code=rej.code or "invalid-record")
        invoices = [(inv.id, inv.customer) for inv in parsed["invoices"]]
        invoices += [(ev.new_invoice.id, ev.new_invoice.customer) for ev in parsed["events"]
                     if ev.new_invoice is not None]
        # Events (written inline) must name invoices the case knows.
        known = {str(inv["id"]) for inv in dicts(lists["invoices"]) if inv.get("id") is not None}
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
                                "the invoice must be in 'invoices:' or issued by an earlier invoice_issued event", locs,
                                code="unknown-invoice")
        if any(lists[k] == "" for k in ("invoices", "events")):
            return None  # a records file is missing: the cases are not known
        raw = {(str(x.get("id")), str(x.get("customer"))) for x in dicts(lists["invoices"])}
        pairs = set(invoices) | raw
        return {c for i, c in pairs} if policy.scope == "customer" else {i for i, _ in pairs}

    def reject(self, key: str, line: int | None, fld: str | None, message: str, help: str | None,
               locs: dict[tuple[str, int], MapNode], *, code: str) -> None:
        node = locs.get((key, line)) if line is not None else None
        if node is None:
            self.errors.append(PolicyError(f"{key}: {message}", None, help=help, code=code))
            return
        target: Node = node
        for part in (fld or "").split("."):
            if not part:
                break
            nxt = target.get(part) if isinstance(target, MapNode) else None  # (only mappings have fields)
            if nxt is None:
                break
            target = nxt
        self.error(target, f"{key[:-1]} {line}: {message}", help, code=code)
