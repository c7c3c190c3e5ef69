"""Every diagnostic code the project emits, in one registry: code -> (severity, meaning[, name]).

A diagnostic (:class:`~dunning_engine.errors.Diagnostic`) names one of these codes; a code never
changes meaning once released, so tools may match on it (``dunning lint --ignore CODE``, CI
annotations, editor quick fixes). Codes are kebab-case, except the numbered codes of ``lint``
(``DL...``) and of the compliance checks of ``validate`` (``DC...``), which keep their published
numbers and carry a kebab-case ``name``; text output shows those as ``[DL003 shadowed-rule]``.

To add a code: add a line here (tests/test_diagnostics.py checks that every code the source uses is
listed and every listed code is used), and regenerate the table of docs/diagnostics.md with
``python -m dunning_engine.codes``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from .errors import Severity

__all__ = ["Code", "CODES", "AREAS", "markdown_table"]


class Code(NamedTuple):
    severity: Severity  # error, warning or note
    meaning: str  # one line
    name: str | None = None  # the kebab-case name of a numbered code


# Grouped by where they come from (the groups are the sections of docs/diagnostics.md).
AREAS: dict[str, dict[str, Code]] = {
    "Files": {
        "cannot-read": Code("error", "a file cannot be opened or read (missing, unreadable, a folder)"),
        "not-a-file": Code("error", "a policy path names something other than a regular file"),
        "too-large": Code("error", "a policy file over the 1 MB limit"),
        "unknown-policy-form": Code("error", "a policy file name that ends in neither .yaml/.yml nor .dunning"),
        "unknown-format": Code("error", "a policy form other than yaml or dsl was asked for"),
        "not-utf8": Code("error", "a file, or a line of a records file, that is not UTF-8 text"),
        "invalid-character": Code("error", "a control character (or another character a policy cannot hold)"),
        "empty-policy": Code("error", "a policy file with nothing in it"),
        "policy-limit": Code("error", "a policy nested too deeply, or with too many YAML nodes or aliases"),
        "too-many-errors": Code("error", "checking stopped after too many errors"),
        "not-formatted": Code("error", "a policy file that is not in its canonical layout (dunning fmt --check)"),
        "format-failed": Code("error", "the canonical layout of a policy could not be made without changing it (a bug)"),
    },
    "YAML form": {
        "yaml-syntax": Code("error", "text that is not valid YAML"),
        "multiple-documents": Code("error", "a policy file holding more than one YAML document"),
        "invalid-key": Code("error", "a mapping key that is not text"),
        "yaml-anchor": Code("error", "an anchor defined twice, or an unknown or recursive alias"),
        "unsupported-yaml": Code("error", "YAML tags or merge keys ('<<'), which policies do not allow"),
        "duplicate-key": Code("error", "a key given twice in one mapping (a policy, a DSL block or a record)"),
    },
    "DSL form": {
        "syntax": Code("error", "DSL text that does not parse"),
        "tab-indentation": Code("error", "a tab character in the indentation of a DSL file"),
        "indentation": Code("error", "the first line of a DSL file is indented"),
    },
    "Policy structure": {
        "unknown-key": Code("error", "a key a policy, state, rule, action or scenario does not take"),
        "wrong-type": Code("error", "a value of the wrong kind (a list for a mapping, text for a number...)"),
        "unknown-value": Code("error", "a value that is not one of the choices of its setting"),
        "invalid-name": Code("error", "a policy id, segment, rate or other name that is not a valid name"),
        "null-value": Code("error", "a value that is always null where one is needed"),
        "out-of-range": Code("error", "a number or duration below the least its setting allows"),
        "no-policy-id": Code("error", "a policy without 'policy:'"),
        "no-currency": Code("error", "a policy without 'currency:'"),
        "no-states": Code("error", "a policy without 'states:'"),
        "no-initial-state": Code("error", "no state is marked initial"),
        "multiple-initial-states": Code("error", "more than one state is marked initial"),
        "initial-final-state": Code("error", "a state that is both initial and final"),
        "duplicate-state": Code("error", "two states with one name"),
        "reserved-state-name": Code("error", "a state named 'previous' or 'return' (goto words)"),
        "undefined-state": Code("error", "a goto or except that names no state"),
        "final-state-rules": Code("error", "a final state with rules or on_exit actions"),
        "unknown-scope": Code("error", "a scope other than invoice or customer"),
        "unknown-timezone": Code("error", "a time zone that is not an IANA name"),
        "unknown-calendar": Code("error", "a calendar (holidays) that is not supported"),
        "unknown-currency": Code("error", "a currency code that is not ISO 4217"),
        "invalid-allocation": Code("error", "an allocation that does not list interest, fees and principal once"),
        "segment-hides-variable": Code("error", "a segment named like a variable"),
        "segment-order": Code("error", "a segment that uses itself or a segment written after it"),
        "invalid-rate-table": Code("error", "a rate table with a bad row, a repeated date or no rows"),
        "rate-file": Code("error", "a rate table file that cannot be read: outside the policy's folder, "
                                   "missing, not a regular file or over 10 MB"),
        "invalid-window": Code("error", "contact window hours or days that are not valid"),
        "invalid-limit": Code("error", "a contact limit that is neither {max, per} nor {gap}"),
    },
    "Rules and actions": {
        "no-trigger": Code("error", "a rule with neither a trigger nor a condition"),
        "trigger-conflict": Code("error", "a rule with more than one trigger"),
        "misplaced-option": Code("error", "an option given where it does not apply (e.g. 'expires' on an event rule)"),
        "rule-does-nothing": Code("error", "a rule with no actions and no goto"),
        "no-event": Code("error", "an 'on' rule without events"),
        "unknown-event": Code("error", "an event type that does not exist"),
        "unknown-action": Code("error", "an action kind that does not exist"),
        "missing-param": Code("error", "an action without a parameter it needs"),
        "amount-or-percent": Code("error", "a fee or discount without exactly one of 'amount' and 'percent'"),
        "invalid-duration": Code("error", "a duration that is not fixed, or is null"),
        "duration-too-long": Code("error", "a duration that takes dates out of the years 1900-2200"),
        "invalid-amount": Code("error", "an amount or percent that is not a valid number, has too many digits or "
                                        "decimals for its currency, or makes no sense (a negative fee)"),
    },
    "Expressions": {
        "expression-syntax": Code("error", "an expression that does not parse"),
        "empty-expression": Code("error", "an empty expression"),
        "expression-too-long": Code("error", "an expression over the length limit"),
        "expression-too-deep": Code("error", "an expression (or a chain of segments) nested too deeply"),
        "invalid-date": Code("error", "a date or datetime that is not valid, or outside the years 1900-2200"),
        "invalid-escape": Code("error", "an unknown escape in quoted text"),
        "unknown-duration-unit": Code("error", "a duration in a unit other than days, weeks, months or business days"),
        "private-name": Code("error", "a name starting with '_'"),
        "unknown-variable": Code("error", "a variable that does not exist"),
        "unknown-field": Code("error", "a field a record does not have"),
        "unknown-function": Code("error", "a function that does not exist"),
        "function-arguments": Code("error", "a function called with the wrong number or kind of arguments"),
        "event-outside-on": Code("error", "event.* read outside an 'on' rule"),
        "type-mismatch": Code("error", "values of types that do not go together, or not the type expected"),
        "null-comparison": Code("error", "an ordering comparison with null (always false)"),
        "currency-mismatch": Code("error", "amounts of two currencies together, or in another currency than "
                                           "the policy's or the case's"),
        "literal-currency": Code("error", "a number read as money in the policy's currency meets another currency"),
        "evaluation-failed": Code("error", "an expression that cannot be evaluated (division by zero, ...)"),
    },
    "Lint (dunning lint)": {
        "DL001": Code("warning", "a state no chain of gotos leads to from the initial state", "unreachable-state"),
        "DL002": Code("warning", "a non-final state with no rule that leaves it", "dead-end-state"),
        "DL003": Code("warning", "a rule pre-empted by an earlier rule with the same trigger", "shadowed-rule"),
        "DL004": Code("warning", "a timer that is always late or never fires", "late-timer"),
        "DL005": Code("error", "condition rules that send a case round in circles", "condition-loop"),
        "DL006": Code("warning", "a fee that can come before any reminder", "fee-before-reminder"),
        "DL007": Code("warning", "a segment no expression uses", "unused-segment"),
    },
    "Compliance (dunning validate)": {
        "DC001": Code("warning", "a fee charged before the pack's earliest day: capped to zero",
                      "fee-before-allowed"),
        "DC002": Code("warning", "a contact rule firing more often than a limit or gap allows", "contacts-pile-up"),
        "DC003": Code("warning", "a remind whose channels alone break a limit: some are dropped", "channel-dropped"),
        "DC004": Code("warning", "contact windows that never overlap: no contact is ever sent", "no-contact-window"),
        "DC005": Code("warning", "a cap or rate() that needs a rate table the policy does not declare",
                      "missing-rate-table"),
        "DC006": Code("warning", "a pack whose caps need another currency than the policy's", "pack-currency"),
        "DC007": Code("warning", "'holidays: false' without a calendar", "holidays-without-calendar"),
    },
    "Records": {
        "unknown-file-format": Code("error", "a records file whose name ends in neither .csv nor .jsonl/.ndjson"),
        "wrong-file-format": Code("error", "events given as CSV (events are JSONL)"),
        "line-too-long": Code("error", "a record line over 1 MB"),
        "invalid-json": Code("error", "a JSONL line that is not a JSON object"),
        "invalid-csv": Code("error", "a CSV row that cannot be read, or has the wrong number of cells"),
        "invalid-header": Code("error", "a CSV header with an unnamed or repeated column"),
        "missing-column": Code("error", "a CSV header without a required column"),
        "record-too-deep": Code("error", "a record nested too deeply"),
        "missing-field": Code("error", "a record without a required field"),
        "empty-field": Code("error", "a required field that is empty"),
        "invalid-value": Code("error", "a field value a record may not have"),
        "date-order": Code("error", "an invoice due before it was issued"),
        "derived-event": Code("error", "an event the engine raises itself given as input"),
        "unknown-channel": Code("error", "a contact channel that does not exist"),
        "customer-mismatch": Code("error", "an event's customer differs from its invoice's"),
        "duplicate-id": Code("error", "a record id given twice"),
        "unknown-invoice": Code("error", "an event for an invoice that is not known"),
        "unknown-customer": Code("error", "an event for a customer that is not known"),
        "event-before-clock": Code("error", "an event fed after the engine's clock passed its time"),
        "invalid-record": Code("error", "a record that is not valid (raised without a more precise code)"),
    },
    "Runs and cases": {
        "invalid-instant": Code("error", "an --until or --since that is not a date or datetime"),
        "chain-limit": Code("error", "a case took more transitions at one instant than the limit"),
        "action-limit": Code("error", "a case emitted more than 1,000 actions at one instant (that case stops)"),
        "date-out-of-range": Code("error", "a computed date outside the years 1900-2200 (that case only)"),
        "no-previous-state": Code("error", "goto previous in a case that has no previous state"),
        "no-return-state": Code("error", "goto return in a case that has no state to return to"),
        "not-money": Code("error", "an action amount that is not money"),
        "compliance-currency": Code("error", "a compliance pack cannot cap an action in the case's currency"),
        "missing-rate": Code("error", "a compliance cap needs a rate the policy's tables do not give"),
        "invalid-rate": Code("error", "a rate value that cannot be what the cap needs"),
        "plan-not-offered": Code("warning", "plan_accepted for a case with no plan offered (ignored)"),
        "not-sent": Code("warning", "a contact not sent: no instant is inside every contact window"),
        "case-failed": Code("error", "a case could not be advanced (raised without a more precise code)"),
        "unknown-case": Code("error", "a case that does not exist"),
        "unknown-action-key": Code("error", "an action key the explained case does not have"),
        "invalid-policy": Code("error", "a policy error raised without a more precise code"),
        "invalid-input": Code("error", "an input that is not valid (raised without a more precise code)"),
        "stdin-closed": Code("error", "standard input is closed but an input was to be read from it"),
        "cannot-write": Code("error", "an output file cannot be written"),
        "store": Code("error", "a store that cannot be opened or used (a bad URL, not a store, a newer schema)"),
        "store-locked": Code("error", "another run held the store past --lock-timeout"),
        "store-policy": Code("error", "a store run with another policy than the one the store holds"),
        "store-version": Code("error", "a store run with another version of the store's policy (see dunning migrate)"),
        "corrupt-snapshot": Code("error", "a stored case whose snapshot cannot be read (that case is left as it is)"),
        "before-store-clock": Code("error", "a store run whose --until is before the store's clock"),
        "missing-extra": Code("error", "a command needs an optional extra that is not installed "
                                       "(pip install 'dunning-engine[check]')"),
    },
    "Scenarios and checks (dunning test, dunning check)": {
        "missing-key": Code("error", "a scenario file or case without a key it needs"),
        "empty-value": Code("error", "an empty value in a scenario file"),
        "file-not-found": Code("error", "a policy or records file named by a scenario does not exist"),
        "policy-errors": Code("error", "the policy of a scenario file has errors"),
        "duplicate-case": Code("error", "two cases of a scenario file with one name"),
        "unknown-state": Code("error", "an expected state that the policy does not have"),
        "unknown-rule": Code("error", "an expected rule that the policy does not have"),
        "no-scenarios": Code("error", "no scenario case was found under the paths given"),
        "scenario-failed": Code("error", "a scenario case whose actions, states or balances differ from the expected"),
        "invariant-violated": Code("error", "an invariant that a random portfolio breaks (dunning check)"),
    },
}

CODES: dict[str, Code] = {code: entry for area in AREAS.values() for code, entry in area.items()}


def markdown_table() -> str:
    """The tables of docs/diagnostics.md: one per area, a row per code."""
    out = []
    for area, codes in AREAS.items():
        out += [f"### {area}", "", "| code | severity | meaning |", "|---|---|---|"]
        for code, entry in codes.items():
            shown = f"`{code}` ({entry.name})" if entry.name else f"`{code}`"
            out.append(f"| {shown} | {entry.severity} | {entry.meaning} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover - python -m dunning_engine.codes
    print(markdown_table(), end="")
