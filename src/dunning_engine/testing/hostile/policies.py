"""Hostile policies: random ones, and seed policies mutated as text and as a YAML tree.

Everything here is plain data made from a ``random.Random``: no policy is loaded, so a
generator can never hang or crash the process that draws the inputs.

* :func:`random_policy` draws a policy mapping (SPEC §1) from pools of valid texts, with a
  chance per leaf of a hostile value instead (``p_hostile``).
* :func:`mutate_tree` changes a parsed YAML tree: replaces values with hostile ones (scalars,
  lists, maps, deep nesting), deletes or duplicates keys and items, adds unknown keys, bloats
  the states (linear growth), adds hostile rate paths.
* :func:`mutate_text` changes the text of either form: deletes, duplicates, swaps and moves
  lines, splices lines of other seeds, changes indentation (tabs), replaces tokens and values,
  inserts YAML snippets (anchors, aliases, tags, alias bombs), truncates, and damages the
  encoding (BOM, CRLF, NUL, invalid UTF-8, lone surrogates, very long lines).
"""

from __future__ import annotations

import copy
import random
import re
from typing import Any

import yaml

from . import pools

__all__ = ["Raw", "random_policy", "dump_yaml", "mutate_tree", "mutate_text", "parse_tree"]

STATES = ("open", "overdue", "late", "legal", "promised", "negotiation", "on_plan", "disputed")
FINALS = ("paid", "closed", "written_off")
EVENTS = ("payment", "payment_failed", "credit_note", "promise_to_pay", "dispute_opened", "dispute_resolved",
          "plan_accepted", "contact_outcome", "customer_updated", "hold", "release", "invoice_cancelled",
          "promise_kept", "promise_broken", "plan_installment_missed", "plan_completed")
CHANNELS = ("email", "sms", "whatsapp", "letter", "call", "portal")
DATE_EXPRS = ("due", "due + 1 day", "due - 3 days", "issued + 30 days", "promise.date + 1 day", "entered + 2 weeks",
              "2026-03-01", "max(due, today) + 5 business days", "due + 1 month", "2026-03-01T09:00-03:00")
BOOL_EXPRS = ("balance > 0", "balance <= 0", "balance > 500 {cur}", "days_overdue >= 30", "reminders > 2",
              'customer.segment == "vip"', 'customer.segment in ["vip", "smb"]', "promise.date != null",
              "not (days_overdue >= 30 or reminders > 3)", "fees == 0 {cur}", "principal * 2% > 10 {cur}")
DURATIONS = ("1 day", "7 days", "2 weeks", "1 month", "5 business days", "30 days")
MONEY = ("5000 {cur}", "100 {cur}", "1000", "principal * 2%", "min(balance, 100000 {cur})")
PERCENTS = ("2%", "2.5%", "10%", "0.5%")
CURRENCIES = ("CLP", "USD", "MXN", "PEN", "EUR")
WINDOWS = (("mon-fri", "08:00-20:00"), ("sat", "09:00-13:00"), ("sun", "00:00-24:00"), ("fri-mon", "07:30-08:45"))


class Raw(str):
    """A value written into the YAML text exactly as it is (not quoted by the dumper)."""


class _Draw:
    def __init__(self, rng: random.Random, p_hostile: float, currency: str) -> None:
        self.rng, self.p, self.cur = rng, p_hostile, currency

    def __call__(self, pool, hostile_pool=None) -> Any:
        if self.p and self.rng.random() < self.p:
            return Raw(pools.hostile_value(self.rng, hostile_pool))
        return self.rng.choice(pool).replace("{cur}", self.cur)

    def flag(self, p: float = 0.5) -> bool:
        return self.rng.random() < p


def _action(d: _Draw) -> Any:
    kind = d.rng.choice(("remind", "remind", "fee", "interest", "discount", "offer_plan", "escalate", "task",
                         "suspend", "resume", "write_off", "custom"))
    p: dict[str, Any] = {}
    if kind == "remind":
        p["template"] = d(("first_notice", "pre_due", "x.y-z"), pools.TEXTS)
        if d.flag():
            p["via"] = d.rng.sample(CHANNELS, d.rng.randint(1, 3))
    elif kind == "fee":
        if d.flag():
            p["amount"] = d(MONEY, pools.MONEY)
        else:
            p["percent"], p["of"] = d(PERCENTS, pools.PERCENTS), d(("balance", "principal", "amount"))
        for bound in ("min", "max"):
            if d.flag(0.3):
                p[bound] = d(MONEY, pools.MONEY)
    elif kind == "interest":
        p["annual_rate"] = d(PERCENTS, pools.PERCENTS)
        if d.flag(0.3):
            p["basis"] = d(("360", "365"), pools.NUMBERS)
    elif kind == "discount":
        if d.flag():
            p["percent"] = d(PERCENTS, pools.PERCENTS)
        else:
            p["amount"] = d(MONEY, pools.MONEY)
        p["until"] = d(DATE_EXPRS, pools.DATES)
    elif kind == "offer_plan":
        p["installments"] = d(("1", "3", "12"), pools.NUMBERS)
        if d.flag():
            p["every"] = d(DURATIONS, pools.DURATIONS)
        if d.flag(0.3):
            p["first"] = d(DATE_EXPRS, pools.DATES)
        if d.flag(0.3):
            p["down_payment"] = d(MONEY + PERCENTS, pools.PERCENTS + pools.MONEY)
    elif kind in ("escalate", "task"):
        p["to" if kind == "escalate" else "kind"] = d(("legal", "agency", "call", "visit"), pools.TEXTS)
        if d.flag(0.3):
            p["note"] = d(("a note",), pools.TEXTS)
    elif kind == "custom":
        p["name"] = d(("crm_sync",), pools.TEXTS)
        if d.flag():
            p["params"] = {"value": d(("balance", "customer.id", "due + 1 day"), pools.EXPRESSIONS)}
    return {kind: p} if p or d.flag() else kind


def _rule(d: _Draw, targets: list[str], shared: bool) -> dict:
    r: dict[str, Any] = {}
    trigger = d.rng.choice(("at", "after", "every", "on", None))
    if d.flag(0.3):
        r["name"] = d(("first_notice", "fee", "to_legal"), pools.TEXTS)
    if trigger == "at":
        r["at"] = d(DATE_EXPRS, pools.DATES + pools.EXPRESSIONS)
    elif trigger == "after":
        r["after"] = d(DURATIONS, pools.DURATIONS)
    elif trigger == "every":
        r["every"] = d(DURATIONS, pools.DURATIONS)
        if d.flag():
            r["max"] = d(("1", "4", "9"), pools.NUMBERS)
        if d.flag(0.2):
            r["starting"] = d(DATE_EXPRS, pools.DATES)
    elif trigger == "on":
        r["on"] = d.rng.sample(EVENTS, d.rng.randint(1, 3)) if d.flag() else d(EVENTS)
    if trigger is None or d.flag(0.4):
        r["when"] = d(BOOL_EXPRS, pools.EXPRESSIONS)
    if d.flag(0.2):
        r["unless"] = d(BOOL_EXPRS, pools.EXPRESSIONS)
    if trigger in ("at", "after", "every") and d.flag(0.2):
        r["expires"] = d(DURATIONS, pools.DURATIONS)
    do = [_action(d) for _ in range(d.rng.randint(0, 3))]
    if do:
        r["do"] = do
    if not do or d.flag(0.4):
        r["goto"] = d(targets + ["previous"], pools.SCALARS)
    if shared and d.flag(0.3):
        r["except"] = d.rng.sample(targets, 1)
    return r


def random_policy(rng: random.Random, p_hostile: float = 0.0) -> dict:
    """A policy mapping (strings, lists and dicts); with ``p_hostile`` > 0 some leaves are hostile :class:`Raw` text."""
    d = _Draw(rng, p_hostile, rng.choice(CURRENCIES))
    names = rng.sample(STATES, rng.randint(1, 5))
    finals = rng.sample(FINALS, rng.randint(0, 2))
    targets = names + finals
    doc: dict[str, Any] = {"policy": d(("p", "b2b-x_1", "collections"), pools.TEXTS),
                           "version": d(("1", "3", "42"), pools.NUMBERS)}
    doc["scope"] = d(("invoice", "customer"))
    doc["timezone"] = d(("UTC", "America/Santiago", "Europe/Madrid", "Asia/Kolkata"), pools.SCALARS)
    if d.flag():
        doc["calendar"] = d(("CL", "MX", "US", "PE"), pools.SCALARS)
    doc["currency"] = d((d.cur,), pools.SCALARS)
    if d.flag(0.3):
        doc["send_at"] = d(("09:00", "00:00", "23:59"), pools.SCALARS)
    if d.flag(0.2):
        doc["segments"] = {"vip": d(BOOL_EXPRS, pools.EXPRESSIONS)}
    states: dict[str, Any] = {}
    for i, name in enumerate(names):
        body: dict[str, Any] = {"initial": "true"} if i == 0 else {}
        for key in ("on_enter", "on_exit"):
            if d.flag(0.25):
                body[key] = [_action(d) for _ in range(rng.randint(1, 2))]
        rules = [_rule(d, targets, False) for _ in range(rng.randint(0, 3))]
        if rules:
            body["rules"] = rules
        states[name] = body
    for name in finals:
        states[name] = {"final": "true"}
    doc["states"] = states
    if d.flag():
        doc["any_state"] = [_rule(d, targets, True) for _ in range(rng.randint(1, 2))]
    if d.flag(0.3):
        contact: dict[str, Any] = {}
        if d.flag():
            contact["windows"] = dict(rng.sample(WINDOWS, rng.randint(1, 2)))
        if d.flag():
            contact["limits"] = [{"max": d(("1", "2"), pools.NUMBERS), "per": d(DURATIONS, pools.DURATIONS)}
                                 if d.flag() else {"gap": d(DURATIONS, pools.DURATIONS)}]
        if d.flag(0.3):
            contact["compliance"] = [d(("CL", "MX", "US", "PE", "CO"), pools.SCALARS)]
        doc["contact"] = contact
    if d.flag(0.2):
        doc["rates"] = {"UF": d(("rates/uf.csv",), pools.RATE_PATHS)}
    return doc


# -- YAML trees -------------------------------------------------------------------------------------------


def parse_tree(text: str) -> Any:
    """A seed's YAML as a tree of strings, lists and dicts (no type resolution, like the project's reader)."""
    return yaml.load(text, Loader=yaml.BaseLoader)


def dump_yaml(doc: Any) -> str:
    """YAML text of a tree; :class:`Raw` values go in exactly as written."""
    raws: list[str] = []

    def mark(x: Any) -> Any:
        if isinstance(x, Raw):
            raws.append(str(x))
            return f"RAW{len(raws) - 1}XX"
        if isinstance(x, dict):
            return {mark(k): mark(v) for k, v in x.items()}
        if isinstance(x, list):
            return [mark(v) for v in x]
        return x

    text = yaml.safe_dump(mark(doc), sort_keys=False, allow_unicode=True, width=10_000, default_flow_style=False)
    return re.sub(r"'?RAW(\d+)XX'?", lambda m: raws[int(m.group(1))].replace("\\", "\\\\"), text) if raws else text


def _slots(tree: Any, path: tuple = ()) -> list[tuple]:
    """Paths of every value of a tree (the root excluded)."""
    out = []
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, list) else ()
    for k, v in items:
        out.append(path + (k,))
        out.extend(_slots(v, path + (k,)))
    return out


def _get(tree: Any, path: tuple) -> Any:
    for k in path:
        tree = tree[k]
    return tree


def _hostile_node(rng: random.Random, old: Any) -> Any:
    r = rng.random()
    if r < 0.6:
        typed = isinstance(old, str) and old and rng.random() < 0.7
        return Raw(pools.hostile_value(rng, _pool_for(old) if typed else None))
    if r < 0.7:
        return None
    if r < 0.8:
        return [Raw(pools.hostile_value(rng)) for _ in range(rng.randint(0, 3))]
    if r < 0.9:
        return {rng.choice(("x", "when", "do", "goto", "every", "__class__", "")): Raw(pools.hostile_value(rng))}
    return Raw(pools.deep(rng, rng.choice(("list", "map"))))


def _bloat(rng: random.Random, doc: dict) -> None:
    """Many copies of a state (renamed) and of an any_state rule: does the cost grow linearly?"""
    n = rng.choice((50, 200, 800, 800, 3000))
    states = doc.get("states")
    if isinstance(states, dict) and states:
        name, body = rng.choice([(k, v) for k, v in states.items() if isinstance(v, dict)] or [("s", {})])
        body = {k: v for k, v in body.items() if k not in ("initial", "final")}
        for i in range(n):
            states[f"{name}_{i}"] = body
    rules = doc.get("any_state")
    if isinstance(rules, list) and rules and rng.random() < 0.5:
        doc["any_state"] = rules * max(1, n // len(rules))


def mutate_tree(rng: random.Random, doc: Any, count: int = 1) -> Any:
    """Apply ``count`` structural mutations to a policy tree (in place when possible); return the tree."""
    for _ in range(count):
        if not isinstance(doc, dict):
            return doc
        r = rng.random()
        slots = _slots(doc)
        if r < 0.01:
            _bloat(rng, doc)
            continue
        if r < 0.08:
            doc.setdefault("rates", {})
            target = doc["rates"] if isinstance(doc["rates"], dict) else {}
            target[rng.choice(("UF", "BOE", "X"))] = Raw(rng.choice(pools.RATE_PATHS))
            doc["rates"] = target
            continue
        if not slots:
            continue
        path = rng.choice(slots)
        parent, key = _get(doc, path[:-1]), path[-1]
        strings = [p for p in slots if isinstance(_get(doc, p), str) and _NUMBER.search(_get(doc, p))]
        if r < 0.35 and strings:
            path = rng.choice(strings)
            parent, key = _get(doc, path[:-1]), path[-1]
            parent[key] = Raw(edge_numbers(rng, parent[key]))
        elif r < 0.6:
            parent[key] = _hostile_node(rng, parent[key])
        elif r < 0.7:
            del parent[key]
        elif r < 0.8:
            if isinstance(parent, list):
                parent.insert(key, parent[key])
            else:
                parent[rng.choice(("unknown", "wehn", "goto", "do", "on", "x" * 200))] = parent[key]
        elif r < 0.9:
            value = parent[key]
            parent[key] = [value] if not isinstance(value, list) else (value[0] if value else {})
        else:
            other = _get(doc, rng.choice(slots)[:-1]) if slots else None
            if isinstance(other, (dict, list)) and other is not parent:
                parent[key] = copy.deepcopy(other)  # a subtree copied where it does not belong
    return doc


# -- text ---------------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\d{4}-\d{2}-\d{2}(?:T[\d:]+(?:[+-]\d\d:\d\d|Z)?)?|\d+(?:\.\d+)?(?:\s*(?:%|business days?|days?|"
                    r"weeks?|months?|[A-Z]{3}\b))?|\"[^\"\n]*\"|[A-Za-z_][A-Za-z0-9_.]*")


def _pool_for(token: str) -> tuple[str, ...]:
    if re.match(r"\d{4}-\d\d-\d\d", token):
        return pools.DATES
    if token.endswith("%"):
        return pools.PERCENTS
    if re.search(r"day|week|month", token):
        return pools.DURATIONS
    if re.search(r"[A-Z]{3}$", token):
        return pools.MONEY
    if token[:1].isdigit():
        return pools.NUMBERS
    if token.startswith('"'):
        return tuple(f'"{t}"' for t in pools.TEXTS) + pools.TEXTS
    return pools.SCALARS + pools.EXPRESSIONS


def _replace_token(rng: random.Random, line: str) -> str:
    matches = list(_TOKEN.finditer(line))
    if not matches:
        return line + " " + pools.hostile_value(rng)
    m = rng.choice(matches)
    pool = _pool_for(m.group()) if rng.random() < 0.85 else pools.SCALARS
    return line[:m.start()] + pools.hostile_value(rng, pool) + line[m.end():]


_NUMBER = re.compile(r"\d{4}-\d{2}-\d{2}(?:T\d\d:\d\d(?::\d\d)?)?|\d+(?:\.\d+)?")


def edge_numbers(rng: random.Random, text: str) -> str:
    """``text`` with one number or date pushed to an edge, keeping its syntax (the unit stays)."""
    matches = list(_NUMBER.finditer(text))
    if not matches:
        return text
    m = rng.choice(matches)
    pool = pools.EDGE_DATES if "-" in m.group() else pools.EDGE_NUMBERS
    return text[:m.start()] + rng.choice(pool) + text[m.end():]


def _replace_value(rng: random.Random, line: str) -> str:
    m = re.match(r"(\s*(?:- )?[A-Za-z_]+:\s*)(.+)$", line) or re.match(r"(\s*\S+\s+)(.+)$", line)
    if not m:
        return _replace_token(rng, line)
    return m.group(1) + pools.hostile_value(rng)


def _indent(line: str) -> str:
    return line[:len(line) - len(line.lstrip(" "))]


def _encoding(rng: random.Random, text: str) -> bytes:
    r = rng.random()
    data = text.encode("utf-8", "surrogatepass")
    if r < 0.15:
        return b"\xef\xbb\xbf" + data
    if r < 0.3:
        return data.replace(b"\n", b"\r\n")
    if r < 0.4:
        return data.replace(b"\n", b"\r")
    pos = rng.randint(0, len(data))
    junk = rng.choice((b"\x00", b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", b"\x1b[2J", b"\xef\xbb\xbf", b"\x0c", b"\x85",
                       bytes(rng.randrange(256) for _ in range(64))))
    return data[:pos] + junk + data[pos:]


def mutate_text(rng: random.Random, text: str, form: str, others: list[str], count: int = 1) -> bytes:
    """Apply ``count`` text mutations to a policy of ``form`` ('yaml' or 'dsl'); ``others`` are lines to splice."""
    lines = text.split("\n")
    damaged = False
    for _ in range(count):
        r = rng.random()
        i = rng.randrange(len(lines)) if lines else 0
        if not lines:
            lines = [""]
        if r < 0.3:
            lines[i] = edge_numbers(rng, lines[i])  # the policy still parses: semantic limits
            continue
        r = (r - 0.3) / 0.7
        if r < 0.1:
            del lines[i]
        elif r < 0.18:
            lines.insert(i, lines[i])
        elif r < 0.24:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif r < 0.28:
            lines.insert(rng.randrange(len(lines) + 1), lines.pop(i))
        elif r < 0.33 and others:
            lines.insert(i, rng.choice(others))
        elif r < 0.4:
            line = lines[i]
            body = line.lstrip(" ")
            lines[i] = rng.choice(("\t" + body, _indent(line) + " " + body, _indent(line)[2:] + body,
                                   _indent(line).replace("    ", "\t") + body, " \t" + line))
        elif r < 0.62:
            lines[i] = _replace_token(rng, lines[i])
        elif r < 0.77:
            lines[i] = _replace_value(rng, lines[i])
        elif r < 0.82 and form == "yaml":
            snippet = rng.choice(pools.YAML_SNIPPETS).replace("\n", "\n" + _indent(lines[i]))
            lines.insert(i, _indent(lines[i]) + snippet)
        elif r < 0.86:
            path = rng.choice(pools.RATE_PATHS)
            lines.append(f"rates:\n  UF: {path}" if form == "yaml" else f'rate UF "{path}"')
        elif r < 0.89:
            lines = "\n".join(lines)[:rng.randrange(len("\n".join(lines)) + 1)].split("\n")
        elif r < 0.91:
            lines[i] = lines[i] + " " + pools.long_text(rng)
        elif r < 0.93:
            lines[i] = _replace_value(rng, lines[i]).rstrip() + " " + pools.deep(rng)
        elif r < 0.94:
            block = lines[i:i + rng.randint(1, 12)]
            lines[i:i] = block * rng.choice((10, 100, 1000))
        else:
            damaged = True
    out = "\n".join(lines)
    return _encoding(rng, out) if damaged else out.encode("utf-8", "surrogatepass")
