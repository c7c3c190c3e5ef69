"""Action records out of the engine, and the explanation trace.

``Output.run_actions`` builds the records of a rule's actions (``actions.build_action``), keys
them (``policy@version/case/state#entry/rule/occurrence/index``, SPEC §4) and queues them. With
contact rules, a case's contact actions wait until the case is done with the instant (so that a
case that fails books no contact), then the contact rules place them: at once, or deferred to a
later instant (the record then carries ``deferred_from``). The engine hands the queued records
out in order: time, then case, then emission.
"""

from __future__ import annotations

from heapq import heappush
from typing import TYPE_CHECKING, Any, NamedTuple

from ..policy import ir
from .actions import build_action
from .context import Ctx
from .explain import rule_explanation, why_not

if TYPE_CHECKING:
    from .case import Case
    from .compiled import CRule
    from .contact import ContactRules
    from .runtime import Runtime

__all__ = ["Output", "Deferred"]

# Deferred is made with tuple.__new__: a NamedTuple's generated constructor is a Python function,
# several times slower than building the tuple.
_new_tuple = tuple.__new__

# Queues of one instant hold plain tuples (one per action: the hot path; a NamedTuple costs more
# to make than the rest of queuing a record):
# a queued record: (case id, emission seq, record); seqs are unique, so sorting them orders by
# case, then emission, and never compares records;
Emitted = tuple[str, int, dict]
# a contact action of the case being woken, waiting to be placed by the contact rules:
# (emission seq, action, record, instant it was emitted at).
Pending = tuple[int, ir.Action, dict, int]


class Deferred(NamedTuple):
    """A record the contact rules moved later, in the heap of deferred records."""

    at: int
    seq: int       # emission seq: deferred records of one instant keep the order they were emitted in
    case: str
    record: dict


class Output:
    """Builds, queues, defers and hands out action records; keeps the explanation trace."""

    __slots__ = ("rt", "cp", "clock", "explain", "contact", "out", "deferred", "pending", "emitted")

    def __init__(self, rt: Runtime, explain: bool) -> None:
        self.rt = rt
        self.cp = rt.cp
        self.clock = rt.clock
        self.explain = explain
        from .contact import build_contact  # (imported with the first engine: it loads every compliance pack)

        # contact rules (windows, limits, packs); None without: contact.py
        self.contact: ContactRules | None = build_contact(rt)
        self.out: list[Emitted] = []          # records of the current instant
        self.deferred: list[Deferred] = []    # a heap, by instant then emission
        self.pending: list[Pending] = []      # contact actions of the case being woken
        self.emitted = 0

    # ------------------------------------------------------------------ actions
    def run_actions(self, case: Case, actions: tuple[ir.Action, ...], t: int, rule: str, occurrence: int,
                    ctx: Ctx | None, why: dict | None = None, entry: tuple[int, int] | None = None) -> None:
        """Build, record and emit ``actions``; ``ctx`` is built here only if an action reads variables.

        ``why`` is the firing rule's explanation (``fired``), read before its actions ran: with
        ``--explain`` every action of the rule carries it, as the trace's 'fired' entry does. ``entry``
        (state index, entry number) names another entry than the current one (a paused entry's on_exit)."""
        if case.held_invoice or case.held_customer:
            return
        index, entry_no = entry if entry is not None else (case.state, case.entry_no)
        state = self.cp.states[index].name
        event = ctx.event if ctx is not None else None
        ctx_actions = self.cp.ctx_actions
        at = self.clock.iso(t)
        prefix = f"{self.cp.key}/{case.id}/{state}#{entry_no}/{rule}/{occurrence}/"
        rt = self.rt
        contact = self.contact
        for i, action in enumerate(actions):
            if ctx is None and (self.explain or id(action) in ctx_actions):
                ctx = Ctx(rt, case, t)
            rec = build_action(rt, case, action, ctx, t)
            if rec is None:
                continue
            inv: str | None
            if case.ledger is not None:  # invoice scope
                inv = case.ledger.invoice.id
            elif event is not None:
                inv = event.invoice
            else:
                inv = rec.get("invoice")
            params = rec["params"]
            out = {
                "key": prefix + str(i),
                "at": at,
                "type": action.kind,
                "case": case.id,
                "invoice": inv,
                "customer": case.customer.id,
                "state": state,
                "rule": rule,
                "params": params,
                "amount": rec.get("amount"),
                "currency": case.currency,
            }
            capped = params.get("capped_from")
            if capped is not None:
                out["capped_from"] = capped  # SPEC §1: a capped amount carries capped_from
            if self.explain:
                out["explain"] = why if why is not None else {"trigger": rule.replace("_", " ")}
            # Queued for output at t. With contact rules (self.contact), placed once the case is done
            # with this instant (place_pending): a case that fails at this instant books no contact.
            self.emitted += 1
            if contact is not None:
                self.pending.append((self.emitted, action, out, t))
            else:
                self.out.append((case.id, self.emitted, out))
            if case.trace is not None:
                self.trace(case, t, "action", type=action.kind, key=out["key"], params=params, amount=out["amount"])

    def place_pending(self, case: Case) -> None:
        """Place the contact-ruled actions ``case`` emitted at this instant, in emission order.

        ``self.contact`` decides: its ``place(rt, case, action, out, t)`` returns the instant the
        action may go out (``t`` or later) and records the contact; a later instant moves the record
        to the deferred heap with ``deferred_from``."""
        pending, self.pending = self.pending, []
        contact = self.contact
        assert contact is not None  # only contact rules make pending actions
        for seq, action, out, t in pending:
            when = contact.place(self.rt, case, action, out, t)
            if when is None:  # no contact window ever opens: not sent (engine.warnings says so)
                continue
            if when != t:
                out["at"] = self.clock.iso(when)
                out["deferred_from"] = self.clock.iso(t)
                heappush(self.deferred, _new_tuple(Deferred, (when, seq, case.id, out)))
                continue
            self.out.append((case.id, seq, out))

    def still_wanted(self, case: Case, rec: dict, t: int) -> bool:
        """A deferred contact goes out at its slot only if its case is still being collected:
        not settled into a final state, closed, failed or on hold by then."""
        final = case.state >= 0 and self.cp.states[case.state].final
        if not (final or case.closed or case.failed or case.held):
            return True
        if case.trace is not None:
            why = "final state" if final else "closed" if case.closed else "failed" if case.failed else "on hold"
            self.trace(case, t, "dropped", type=rec["type"], key=rec["key"],
                       why=f"deferred from {rec.get('deferred_from')}; the case is {why} by now")
        return False

    def drop_since(self, mark: int, seq: int) -> None:
        """Drop what the case being woken emitted: the records queued after ``mark`` (the length of
        ``out`` when it woke), its pending contacts, and the records it deferred (emission seq > ``seq``)."""
        del self.out[mark:]  # one case is processed at a time: what follows mark is this case's
        self.pending.clear()
        deferred = self.deferred
        if any(d.seq > seq for d in deferred):  # placed before the error (contact rules)
            from heapq import heapify

            deferred[:] = [d for d in deferred if d.seq <= seq]
            heapify(deferred)

    def flush(self) -> list[dict]:
        """The records of the instant, in order of case, then emission; the queue starts again empty."""
        out, self.out = self.out, []
        out.sort()
        return [rec for _, _, rec in out]

    # ------------------------------------------------------------------ explanations
    def trace(self, case: Case, t: int, what: str, **info: Any) -> None:
        if case.trace is not None:
            case.trace.append({"at": self.clock.iso(t), "what": what, **info})

    def fired(self, case: Case, cr: CRule, ctx: Ctx | None, t: int) -> dict | None:
        """Trace a rule that fires and return its explanation, read once, before its actions change
        anything (a fee must not show in the balance its own guard read): the trace and ``--explain``
        both show this one. None when nobody asked for explanations."""
        if case.trace is None:
            return None
        assert ctx is not None  # the engine builds a context whenever the case keeps a trace
        why = rule_explanation(cr, ctx)
        self.trace(case, t, "fired", rule=cr.name, **why)
        return why

    def skipped(self, case: Case, cr: CRule, ctx: Ctx, t: int) -> None:
        """Trace a rule whose guard kept it from firing, and why."""
        self.trace(case, t, "skipped", rule=cr.name, **why_not(cr, ctx))
