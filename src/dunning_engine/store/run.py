"""Persistent runs (SPEC §8): ingest what is new, advance the store's clock, write the new actions to
the outbox. ``dunning run --store`` and the Python API (:class:`StoreRun`) both come here.

A run loads only the cases that are due before its bound or that a new record touches, restores them
from their snapshots (``engine/snapshot.py``) into a fresh engine that starts at the store's clock,
adds the new records (an event at or before the clock is *late*: applied at the clock), runs to the
bound, and writes back, in batches of whole customers, each case's snapshot with its outbox rows,
its customer, its contact bookings and the ids of the records that touched it, in one transaction.
The clock moves last. A run killed at any point and run again gives the same store and outbox: the
batches it committed are not loaded again (their cases are past the bound and their records are
known), the others start again from their old snapshots.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from ..engine.core import Engine
from ..engine.snapshot import (SNAPSHOT_VERSION, decode_case, decode_customer, decode_event, encode_case,
                               encode_customer, encode_event)
from ..errors import EngineError, PolicyError, RecordError
from ..policy import ir
from ..policy.load import load_policy_text

__all__ = ["StoreRun", "RunReport", "Migration", "policy_hash", "record_id", "run_with_store", "stored_states"]

NOT_STARTED = "(not started)"
BATCH = 2000  # cases per transaction


def policy_hash(policy: ir.Policy) -> str:
    """The hash of a policy's canonical form: two texts of one policy have the same hash."""
    return hashlib.sha256(_canonical(policy).encode("utf-8")).hexdigest()


def _canonical(policy: ir.Policy) -> str:
    from ..policy.printer import to_yaml

    return to_yaml(policy)


def record_id(kind: str, record: Any, seen: dict[str, int]) -> str:
    """The id a store remembers a record by: its own (``id``), or for an event without one, a hash of
    its content and how many equal events came before it in this input."""
    if record.id is not None or kind != "event":
        return record.id
    doc = encode_event(record)
    doc.pop("seq", None)
    digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode("utf-8")).hexdigest()[:32]
    n = seen[digest] = seen.get(digest, 0) + 1
    return f"#{digest}/{n}"


@dataclass
class Migration:
    """What ``dunning migrate`` did (or would do): cases by (old state, new state), the instant, and the
    actions that fired at it."""

    moves: dict[tuple[str | None, str | None], int]
    at: str
    actions: list[dict]

    def lines(self) -> list[str]:
        out = [f"migration at {self.at}:"]
        out += [f"  {old or '(not started)'} -> {new or '(not started)'}: {n} case(s)" for (old, new), n in self.moves.items()]
        out.append(f"  {len(self.actions)} action(s) at the migration instant")
        return out


@dataclass
class RunReport:
    """What a store run did (the summary line's figures)."""

    ingested: int = 0
    skipped: int = 0
    late: int = 0
    rejected: list[RecordError] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)
    loaded: int = 0
    failed: list = field(default_factory=list)
    cases_by_state: dict[str, int] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        by_type: dict[str, int] = {}
        for a in self.actions:
            by_type[a["type"]] = by_type.get(a["type"], 0) + 1
        return {"ingested": self.ingested, "skipped": self.skipped, "late": self.late,
                "rejected": len(self.rejected), "actions": len(self.actions),
                "actions_by_type": dict(sorted(by_type.items())), "cases_loaded": self.loaded,
                "cases_by_state": dict(sorted(self.cases_by_state.items())), "failed": len(self.failed)}

    def line(self) -> str:
        f = self.figures()
        states = ", ".join(f"{k} {v}" for k, v in f["cases_by_state"].items())
        types = ", ".join(f"{k} {v}" for k, v in f["actions_by_type"].items())
        parts = [f"{f['ingested']} ingested", f"{f['skipped']} skipped", f"{f['late']} late",
                 f"{f['rejected']} rejected", f"{f['actions']} actions" + (f" ({types})" if types else ""),
                 f"cases: {states or 'none'}"]
        if f["failed"]:
            parts.append(f"{f['failed']} cases failed")
        return "; ".join(parts)


class StoreRun:
    """One run on a store: ``ingest`` records, then ``advance`` to a bound (once).

    Holds the store's run lock from creation to :meth:`close` (a context manager), so that two runs
    never interleave. ``policy`` must be the store's policy version (else a PolicyError naming
    ``dunning migrate``)."""

    def __init__(self, store: Any, policy: ir.Policy, *, explain: bool = False, lock_timeout: float = 30.0,
                 batch: int = BATCH, migrating: bool = False) -> None:
        from ..io.rates import install_rates

        self.store, self.policy, self.batch, self.migrating = store, policy, batch, migrating
        self._lock = store.lock(lock_timeout)
        self._lock.__enter__()
        try:
            self.clock = self._bind()
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        self.engine = engine = Engine(policy, explain=explain)
        install_rates(engine, policy)
        engine.late_events = True
        engine.resume_at(self.clock)
        self.report = RunReport()
        self._invoices: list = []
        self._customers: list = []
        self._events: list = []
        # (kind, record id) of the records placed, by the customer whose batch carries them (None: the
        # last transaction), decided when writing: a record's id is written with what it changed
        self._placed: list[tuple[str, str, Any]] = []
        self._done = False
        self._was: dict[str, str] = {}  # the state of each loaded case as stored (a summary's counts)

    # ------------------------------------------------------------------ binding
    def _bind(self) -> int | None:
        p, meta = self.policy, self.store.meta()
        digest = policy_hash(p)
        if meta is None:
            self.store.bind(p.id, p.version, digest, SNAPSHOT_VERSION, _canonical(p))
            return None
        if meta.policy_id != p.id:
            raise PolicyError(f"the store holds cases of policy '{meta.policy_id}', not '{p.id}'",
                              help="use the store of this policy, or a new store", code="store-policy")
        if self.migrating:
            if meta.policy_version == p.version and meta.policy_hash == digest:
                raise PolicyError(f"the store already runs version {p.version} of policy '{p.id}'",
                                  help="migrate to another version of the policy", code="store-version")
            return meta.clock
        if meta.policy_version != p.version or meta.policy_hash != digest:
            same = meta.policy_version == p.version
            raise PolicyError(
                f"the store runs version {meta.policy_version} of policy '{p.id}', and this is version {p.version}"
                + (" with other content" if same else ""),
                help="move the store's cases to this version with 'dunning migrate --store URL --policy P'"
                     + ("; a changed policy needs a new version number" if same else ""), code="store-version")
        return meta.clock

    # ------------------------------------------------------------------ input
    def ingest(self, *, invoices: Iterable = (), customers: Iterable = (), events: Iterable = ()) -> None:
        """Records to add (paths, lines, dicts or typed records, as the readers take them); invalid
        ones land in ``report.rejected``. They are applied by :meth:`advance`."""
        from ..io.readers import Rejects, read_customers, read_events, read_invoices

        tz, cur = self.engine.clock.tz, self.policy.currency
        bad = Rejects()
        self._customers += list(read_customers(customers, rejects=bad)) if customers else []
        self._invoices += list(read_invoices(invoices, tz=tz, default_currency=cur, rejects=bad)) if invoices else []
        self._events += list(read_events(events, tz=tz, default_currency=cur, rejects=bad)) if events else []
        self.report.rejected += bad.errors

    # ------------------------------------------------------------------ the run
    def advance(self, until: Any) -> RunReport:
        """Apply the records, run to ``until`` (read as ``dunning run`` reads it), write everything
        back and return the report (``report.actions``: the new actions, in order)."""
        from ..run import bound

        if self._done:
            raise RuntimeError("a StoreRun advances once; open another for the next run")
        self._done = True
        engine, store, rep = self.engine, self.store, self.report
        until_t = bound(until, engine.clock.tz, end=True)
        if self.clock is not None and until_t < self.clock:
            raise PolicyError(f"--until {engine.clock.iso(until_t)} is before the store's clock "
                              f"({engine.clock.iso(self.clock)})",
                              help="a store only moves forward: give an instant at or after its clock",
                              code="before-store-clock")
        customers, invoices, events = self._new_records()
        self._load(until_t, customers, invoices, events)
        self._apply(customers, invoices, events)
        actions = list(engine.run(until_t))
        rep.actions = actions
        rep.failed += list(engine.errors)
        self._write(until_t, actions)
        return rep

    def _new_records(self) -> tuple[list, list, list]:
        """The records whose ids the store does not know yet (the others are counted as skipped)."""
        store, rep = self.store, self.report
        out = []
        for kind, records in (("customer", self._customers), ("invoice", self._invoices), ("event", self._events)):
            seen: dict[str, int] = {}
            ids = [record_id(kind, r, seen) for r in records]
            known = store.known_record_ids(kind, [i for i in ids if i is not None])
            fresh = []
            given: set[str] = set()
            for r, rid in zip(records, ids):
                if rid is not None and (rid in known or rid in given):  # known, or twice in this input
                    rep.skipped += 1
                    continue
                if rid is not None:
                    given.add(rid)
                fresh.append((rid, r))
            out.append(fresh)
        return out[0], out[1], out[2]

    def _load(self, until_t: int, customers: list, invoices: list, events: list) -> None:
        """Restore the cases this run needs: due ones, and those the new records touch."""
        store, engine = self.store, self.engine
        wanted: dict[str, Any] = {}
        for rows in store.due_cases(until_t, self.batch):
            for row in rows:
                wanted[row.id] = row
        inv_ids = {ev.invoice for _, ev in events if ev.invoice is not None}
        by_invoice = store.case_ids_of_invoices(sorted(inv_ids))
        cust_ids = {ev.customer for _, ev in events if ev.invoice is None and ev.customer is not None}
        cust_ids |= {c.id for _, c in customers}
        # invoices that come in this run, in the invoice files or issued by events
        new_invoices = [inv for _, inv in invoices] + [ev.new_invoice for _, ev in events
                                                       if ev.type == "invoice_issued" and ev.new_invoice is not None]
        if self.policy.scope == "customer":  # a new invoice joins its customer's case
            cust_ids |= {inv.customer for inv in new_invoices}
        more = set(by_invoice.values()) - set(wanted)
        for row in store.cases(sorted(more)):
            wanted[row.id] = row
        for row in store.cases_of_customers(sorted(cust_ids)):
            wanted.setdefault(row.id, row)
        docs: dict[str, dict] = {}
        for cid, row in wanted.items():
            try:
                doc = json.loads(row.snapshot)
                if not isinstance(doc, dict) or not isinstance(doc.get("customer"), str):
                    raise ValueError("not a case document")
                docs[cid] = doc
            except ValueError as e:
                self._corrupt(cid, e)
        self._was = {cid: row.state or NOT_STARTED for cid, row in wanted.items() if cid in docs}
        self._customers_back({d["customer"] for d in docs.values()} | cust_ids | {inv.customer for inv in new_invoices})
        loaded = 0
        for cid in sorted(docs):
            d = docs[cid]
            try:
                case, deferred = decode_case(engine, d, engine._customer(d["customer"]))
            except (ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
                self._corrupt(cid, e)
                continue
            engine.adopt(case, deferred)
            loaded += 1
        self.report.loaded = loaded

    def _customers_back(self, people: set[str]) -> None:
        """Restore what the store keeps of these customers: their records, contact bookings and the
        events waiting for their first case."""
        store, engine, ids = self.store, self.engine, sorted(people)
        for cid, text in store.customers(ids).items():
            engine.customers[cid] = decode_customer(json.loads(text))
        if engine.contact is not None:
            for cid, text in store.contact(ids).items():
                engine.contact.restore(cid, json.loads(text))
        for cid, texts in store.pending_events(ids).items():
            engine.wait_for_customer(cid, [decode_event(json.loads(t)) for t in texts])

    def _corrupt(self, case_id: str, error: Exception) -> None:
        """A stored case that cannot be read: reported, left as it is in the store, the others go on."""
        self.report.failed.append(EngineError(
            f"the stored snapshot of this case cannot be read ({type(error).__name__}: {error})", case=case_id,
            help="the case is left as it is in the store; restore the row from a backup, or remove the case",
            code="corrupt-snapshot"))

    def _apply(self, customers: list, invoices: list, events: list) -> None:
        engine, rep = self.engine, self.report

        def place(fn, kind: str, rid: str | None, record) -> None:
            try:
                fn(record)
            except RecordError as e:
                if e.file is None:
                    e.file, e.line = record.origin
                rep.rejected.append(e)
                return
            rep.ingested += 1
            if rid is not None:
                self._placed.append((kind, rid, record))

        for rid, c in customers:
            place(engine.add_customer, "customer", rid, c)
        for rid, inv in invoices:
            place(engine.add_invoice, "invoice", rid, inv)
        for rid, ev in events:
            place(engine.add_event, "event", rid, ev)
            if ev.late:
                rep.late += 1

    def _customer_of(self, kind: str, record) -> str | None:
        """The customer whose batch carries a record's id: the customer of the case it changed, or the
        customer it names (its record, its customer events); None for the last transaction."""
        engine = self.engine
        if kind == "customer":
            return record.id
        invoice = record.id if kind == "invoice" else (
            record.new_invoice.id if record.type == "invoice_issued" and record.new_invoice is not None
            else record.invoice)
        if invoice is not None:
            case = engine.invoice_case.get(invoice)
            return case.customer.id if case is not None else None
        return record.customer

    # ------------------------------------------------------------------ writing back
    def _write(self, until_t: int, actions: list[dict]) -> None:
        from ..io.writers import dumps_record

        engine, store = self.engine, self.store
        deferred = engine.deferred()
        by_case: dict[str, list[tuple[int, dict]]] = {}
        for i, a in enumerate(actions):
            by_case.setdefault(a["case"], []).append((i, a))
        groups: dict[str, list] = {}
        for case in engine.cases.values():
            groups.setdefault(case.customer.id, []).append(case)
        ids_of: dict[str | None, list[tuple[str, str]]] = {}
        for kind, rid, record in self._placed:
            cust = self._customer_of(kind, record)
            ids_of.setdefault(cust if cust in groups else None, []).append((kind, rid))
        names = [s.name for s in engine.cp.states]
        batch: list[str] = []
        count = 0

        def flush(customers: list[str]) -> None:
            if not customers:
                return
            with store.transaction() as tx:
                rows: list[tuple] = []
                moved: dict[str, int] = {}
                pairs: list[tuple[str, str]] = []
                outbox: list[tuple] = []
                ids: list[tuple[str, str]] = []
                for cust in customers:
                    for case in groups[cust]:
                        doc = encode_case(engine, case, deferred.get(case.id, []))
                        wake = engine_next(case)
                        final = int(bool(case.failed or case.closed or (case.state >= 0 and engine.cp.states[case.state].final)))
                        state = names[case.state] if case.state >= 0 else None
                        rows.append((case.id, cust, state, final, None if final else wake,
                                     json.dumps(doc, ensure_ascii=False, sort_keys=True)))
                        was = self._was.get(case.id)
                        if was is not None:
                            moved[was] = moved.get(was, 0) - 1
                        moved[state or NOT_STARTED] = moved.get(state or NOT_STARTED, 0) + 1
                        pairs += [(inv, case.id) for inv in case.ledgers] + [(inv, case.id) for inv in case.joining or ()]
                        for _, a in by_case.get(case.id, ()):
                            outbox.append((a["key"], a["at"], _instant(engine, a["at"]), case.id, a["type"],
                                           dumps_record(a).decode("utf-8").rstrip("\n")))
                    ids += ids_of.get(cust, ())
                tx.put_cases(rows)
                tx.count_states(moved)
                tx.put_invoices(pairs)
                tx.put_customers([(c, json.dumps(encode_customer(engine.customers[c]), ensure_ascii=False,
                                                  sort_keys=True)) for c in customers])
                if engine.contact is not None:
                    docs = [(c, engine.contact.export(c, [x.id for x in groups[c]])) for c in customers]
                    tx.put_contact([(c, json.dumps(d, sort_keys=True)) for c, d in docs if d is not None])
                for kind in ("customer", "invoice", "event"):
                    tx.add_record_ids(kind, [i for k, i in ids if k == kind])
                tx.add_outbox(outbox)

        def engine_next(case) -> int | None:
            t = case.next_wake
            for at, _, _ in deferred.get(case.id, ()):
                t = at if t is None or at < t else t
            return t

        for cust in sorted(groups):
            batch.append(cust)
            count += len(groups[cust])
            if count >= self.batch:
                flush(batch)
                batch, count = [], 0
        flush(batch)
        with store.transaction() as tx:
            waiting = engine.waiting()
            tx.put_pending_events([(c, [json.dumps(encode_event(e), sort_keys=True) for e in evs])
                                   for c, evs in waiting.items()])
            known = {c for cs in groups.values() for c in [cs[0].customer.id]}
            tx.put_customers([(c, json.dumps(encode_customer(cu), ensure_ascii=False, sort_keys=True))
                              for c, cu in engine.customers.items() if c not in known])
            for kind in ("customer", "invoice", "event"):
                tx.add_record_ids(kind, [i for k, i in ids_of.get(None, ()) if k == kind])
            p = self.policy
            tx.set_meta(clock=until_t, policy=(p.id, p.version, policy_hash(p), _canonical(p)) if self.migrating else None)
        self.report.cases_by_state = store.counts()["cases_by_state"]

    # ------------------------------------------------------------------ migration
    def migrate(self, mapping: dict[str, str], at: Any = None, catch_up: bool = False,
                dry_run: bool = False) -> Migration:
        """``dunning migrate``: every case moves to this (new) version of the policy at ``at`` (default:
        the store's clock), into the state of the same name or the one ``mapping`` names; the actions
        that fire at that instant are written (``dry_run``: only reported)."""
        from ..engine.migrate import migrated_case
        from ..run import bound

        if self._done:
            raise RuntimeError("a StoreRun advances once; open another for the next run")
        self._done = True
        engine, store, p = self.engine, self.store, self.policy
        names = {s.name for s in p.states}
        bad_targets = sorted(v for v in mapping.values() if v not in names)
        if bad_targets:
            raise PolicyError(f"--map names state(s) the new version does not have: {', '.join(bad_targets)}",
                              help=f"states of version {p.version}: {', '.join(sorted(names))}", code="store-version")
        rows = list(store.all_cases())
        self._was = {row.id: row.state or NOT_STARTED for row in rows}
        held = sorted({r.state for r in rows if r.state is not None})
        missing = [s for s in held if s not in names and s not in mapping]
        if missing:
            raise PolicyError(f"version {p.version} of '{p.id}' has no state {', '.join(repr(s) for s in missing)}, "
                              "which cases are in", help="say where they go: --map OLD=NEW for each", code="store-version")
        full = {s: mapping.get(s, s) for s in held}
        t = self.clock if at is None else bound(at, engine.clock.tz, end=False)
        if t is None:
            raise PolicyError("the store has no clock yet (no run)", help="run once before migrating",
                              code="before-store-clock")
        if self.clock is not None and t < self.clock:
            raise PolicyError(f"--at {engine.clock.iso(t)} is before the store's clock ({engine.clock.iso(self.clock)})",
                              help="a migration happens at or after the store's clock", code="before-store-clock")
        self._customers_back({r.customer for r in rows})
        unchanged = self._unchanged(full)
        moves: dict[tuple[str | None, str | None], int] = {}
        for row in rows:
            case, deferred = migrated_case(engine, json.loads(row.snapshot), full, t, catch_up,
                                           engine._customer(row.customer), unchanged)
            engine.adopt(case, deferred)
            to = p.states[case.state].name if case.state >= 0 else None
            moves[(row.state, to)] = moves.get((row.state, to), 0) + 1
        actions = list(engine.run(t))
        self.report.actions, self.report.failed, self.report.loaded = actions, list(engine.errors), len(rows)
        if not dry_run:
            self._write(t, actions)
        return Migration(moves=dict(sorted(moves.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1])))),
                         at=engine.clock.iso(t), actions=actions)

    def _unchanged(self, mapping: dict[str, str]) -> frozenset[str]:
        """The states the new version left as they were (same name, rules and ``any_state`` rules, and
        every state as a whole when the policies differ only in version): their cases keep their
        timers, conditions and firings as they are. Empty when the old version's text is not known."""
        text = self.store.policy_text()
        if not text:
            return frozenset()
        try:
            old = load_policy_text(text, format="yaml", folder=self.policy.folder)
        except PolicyError:
            return frozenset()
        new = self.policy
        same = set()
        for s in old.states:
            if mapping.get(s.name, s.name) != s.name or s.name not in new._states_by_name:
                continue
            if new.state(s.name) == s and new.shared_rules(s.name) == old.shared_rules(s.name):
                same.add(s.name)
        return frozenset(same)

    def close(self) -> None:
        self._lock.__exit__(None, None, None)

    def __enter__(self) -> StoreRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _instant(engine: Engine, at: str) -> int:
    import datetime as _dt

    return int(_dt.datetime.fromisoformat(at).timestamp())


def stored_states(store: Any, policy: ir.Policy, chunk: int = 10_000) -> Iterator[dict]:
    """The state of every case in the store (``--states``, SPEC §4), by case id, read ``chunk`` cases
    at a time."""
    rows: list = []

    def states() -> list[dict]:
        engine = Engine(policy)
        for cid, text in store.customers({r.customer for r in rows}).items():
            engine.customers[cid] = decode_customer(json.loads(text))
        for row in rows:
            case, deferred = decode_case(engine, json.loads(row.snapshot), engine._customer(row.customer))
            engine.adopt(case, deferred)
        return engine.case_states()

    for row in store.all_cases():
        rows.append(row)
        if len(rows) >= chunk:
            yield from states()
            rows = []
    if rows:
        yield from states()


def run_with_store(policy_path: str, url: str, *, until: str, invoices: str | None = None,
                   customers: str | None = None, events: str | None = None, out: str | None = None,
                   explain: bool = False, rejects: str | None = None, lock_timeout: float = 30.0,
                   report: Any = print, summary: Any = None, states: str | None = None,
                   diagnostics: Any = None) -> int:
    """``dunning run --store``: one run on the store at ``url``; the new actions go to the outbox
    and to ``out`` when given. Returns the number of problems (rejected records, failed cases).
    ``diagnostics``, when given, receives the problems as diagnostics and the run's figures, once,
    instead of ``report`` and ``summary`` (``--format json``)."""
    from pathlib import Path

    from ..policy.load import load_policy
    from ..run import _write_jsonl, _writing
    from . import open_store

    policy = load_policy(Path(policy_path))
    with open_store(url) as store, StoreRun(store, policy, explain=explain, lock_timeout=lock_timeout) as run:
        run.ingest(invoices=invoices or (), customers=customers or (), events=events or ())
        rep = run.advance(until)
        if states:  # read under the run's lock: the states this run left
            _writing(states, lambda target: _write_jsonl(target, stored_states(store, policy)))
    if out:
        _writing(out, lambda target: _write_jsonl(target, rep.actions))
    if rejects:
        from ..io.readers import Rejects

        bad = Rejects()
        bad.errors.extend(rep.rejected)
        _writing(rejects, bad.write_jsonl)
    if diagnostics is not None:
        diagnostics([e.diagnostic for e in rep.rejected] + [e.diagnostic for e in rep.failed], rep.figures())
        return len(rep.rejected) + len(rep.failed)
    for reject in rep.rejected:
        report(reject.render())
    for failure in rep.failed:
        report(f"error: {failure}")
    if summary is not None:
        summary(rep.line())
    return len(rep.rejected) + len(rep.failed)
