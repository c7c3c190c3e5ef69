"""Limits on policies (SPEC §12; issue 11): size, YAML bombs, expression depth, and compile time.

Every limit is a clear error with its position, never a traceback, a hang or a blow-up; and
checking, compiling and running a policy costs time and memory about in proportion to its size.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import tracemalloc

import pytest
from click.testing import CliRunner

from dunning_engine import load_policy, load_policy_text, simulate
from dunning_engine.cli.main import cli
from dunning_engine.engine import compiled as compiled_mod
from dunning_engine.engine.compiled import CompiledPolicy
from dunning_engine.errors import PolicyError
from dunning_engine.expr.parser import MAX_DEPTH, MAX_LENGTH
from dunning_engine.policy.build import MAX_ERRORS
from dunning_engine.policy.load import MAX_POLICY_BYTES

INVOICE = {"id": "A1", "customer": "C1", "amount": "1000", "issued": "2026-04-01", "due": "2026-04-30"}


def yaml_with_guard(guard: str) -> str:
    return ("policy: t\ncurrency: USD\nstates:\n  open:\n    initial: true\n    rules:\n"
            f"      - when: '{guard}'\n        goto: done\n  done:\n    final: true\n")


def dsl_with_guard(guard: str) -> str:
    return f"policy t version 1\ncurrency USD\n\nstate open initial:\n    when {guard} -> done\nstate done final\n"


FORMS = {"yaml": (yaml_with_guard, "p.yaml", 7), "dsl": (dsl_with_guard, "p.dunning", 5)}


def refused(text: str, form: str) -> PolicyError:
    started = time.monotonic()
    with pytest.raises(PolicyError) as e:
        load_policy_text(text, format=form)
    assert time.monotonic() - started < 60
    return e.value


def cli_refuses(path, *fragments: str) -> str:
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 1, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    for f in fragments:
        assert f in res.output, res.output
    return res.output


# -- policy size ---------------------------------------------------------------------------------

@pytest.mark.parametrize("form", ["yaml", "dsl"])
def test_a_policy_over_one_megabyte_is_refused(tmp_path, form):
    make, name, _ = FORMS[form]
    text = make("balance > 0").replace("version 1", "version 1\ndescription \"" + "x" * MAX_POLICY_BYTES + "\"") \
        if form == "dsl" else make("balance > 0") + "description: " + "x" * MAX_POLICY_BYTES + "\n"
    assert len(text.encode()) > MAX_POLICY_BYTES
    err = refused(text, form)
    assert "too large" in err.message and "1000000" in err.message.replace(",", "")
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(PolicyError, match="too large") as e:
        load_policy(path)
    assert str(path) in e.value.render()
    cli_refuses(path, "too large", str(path))
    # exactly at the limit is fine (the description is padded to it)
    fits = text.replace("x" * (len(text.encode()) - MAX_POLICY_BYTES), "", 1)
    assert len(fits.encode()) == MAX_POLICY_BYTES
    assert load_policy_text(fits, format=form).id == "t"


def test_a_huge_policy_file_is_refused_without_reading_it_all(tmp_path):
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as f:
        f.truncate(4 * 1024 ** 3)  # 4 GB, sparse
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(PolicyError, match="too large"):
            load_policy(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 30
    assert peak < 20 * MAX_POLICY_BYTES  # at most the limit (and a byte) was read
    cli_refuses(path, "too large")


def test_a_policy_path_that_is_a_fifo_or_a_directory_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "p.yaml"
    os.mkfifo(fifo)
    done: dict = {}

    def target():
        try:
            load_policy(fifo)
        except PolicyError as e:
            done["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(30)
    if t.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("load_policy waited on a FIFO")
    assert "not a regular file" in done["error"].message
    folder = tmp_path / "d.yaml"
    folder.mkdir()
    with pytest.raises(PolicyError, match="not a regular file"):
        load_policy(folder)


# -- YAML bombs ----------------------------------------------------------------------------------

LAUGHS = """policy: t
currency: USD
x: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
states: {open: {initial: true}}
"""


def test_billion_laughs_is_refused_quickly_with_a_position(tmp_path):
    path = tmp_path / "laughs.yaml"
    path.write_text(LAUGHS)
    started = time.monotonic()
    with pytest.raises(PolicyError) as e:
        load_policy(path)
    assert time.monotonic() - started < 10
    err = e.value.errors[0]
    assert "alias" in err.message and err.file == str(path) and err.line in range(4, 13)
    cli_refuses(path, "alias")


def test_a_huge_node_count_is_refused_quickly_with_a_position(tmp_path):
    path = tmp_path / "nodes.yaml"
    path.write_text("policy: t\ncurrency: USD\nstates: {open: {initial: true}}\nx: [" + ",".join(["a"] * 100_010) + "]\n")
    started = time.monotonic()
    with pytest.raises(PolicyError) as e:
        load_policy(path)
    assert time.monotonic() - started < 60
    assert "too many nodes" in e.value.message and e.value.line == 4


# -- expression depth ----------------------------------------------------------------------------

DEEP = {
    # name: (guard, what the error says)
    "parens-10000": ("(" * 10_000 + "balance" + ")" * 10_000 + " > 0", "expression too long"),
    "not-2400": ("not " * 2_400 + "true", "nested too deeply"),
    "not-10000": ("not " * 10_000 + "true", "expression too long"),
    "minus-5000": ("-" * 5_000 + "balance > 0", "nested too deeply"),
    "plus-chain-900": ("balance" + " + balance" * 900 + " > 0", "nested too deeply"),
    "plus-chain-5000": ("balance" + " + balance" * 5_000 + " > 0", "expression too long"),
    "and-chain-1000": ("true" + " and true" * 1_000, "nested too deeply"),
    "lists-3000": ("[" * 3_000 + "]" * 3_000 + " == null", "nested too deeply"),
    "calls-1500": ("abs(" * 1_500 + "1" + ")" * 1_500 + " > 0", "nested too deeply"),
    "members-3000": ("customer" + ".a" * 3_000 + " == 1", "nested too deeply"),
}


@pytest.mark.parametrize("form", ["yaml", "dsl"])
@pytest.mark.parametrize("name", DEEP)
def test_deep_expressions_get_a_positioned_error(tmp_path, form, name):
    guard, expected = DEEP[name]
    make, filename, line = FORMS[form]
    err = refused(make(guard), form)
    assert expected in err.message, err.message
    assert err.line == line and err.column >= 1
    assert err.help
    path = tmp_path / filename
    path.write_text(make(guard))
    cli_refuses(path, expected, f"{path}:{line}:")


@pytest.mark.parametrize("form", ["yaml", "dsl"])
def test_the_depth_limit_itself_is_usable(form):
    make, _, _ = FORMS[form]
    p = load_policy_text(make("not " * (MAX_DEPTH - 2) + "(balance > 0)"), format=form)
    assert simulate(p, invoices=[INVOICE], until="2026-05-01").state_of("A1") == "done"
    ok = "(" * 2_000 + "balance > 0" + ")" * 2_000  # parentheses add no nesting
    assert len(ok) < MAX_LENGTH
    assert load_policy_text(make(ok), format=form).states


# -- segments that use segments ------------------------------------------------------------------

def segment_chain(n: int, form: str, base: str = "balance > 0") -> str:
    if form == "yaml":
        segs = f"  s0: {base}\n" + "".join(f"  s{i}: s{i - 1}\n" for i in range(1, n))
        return ("policy: t\ncurrency: USD\nsegments:\n" + segs + "states:\n  open:\n    initial: true\n    rules:\n"
                f"      - when: s{n - 1}\n        goto: done\n  done:\n    final: true\n")
    segs = f"segment s0: {base}\n" + "".join(f"segment s{i}: s{i - 1}\n" for i in range(1, n))
    return (f"policy t version 1\ncurrency USD\n" + segs +
            f"\nstate open initial:\n    when s{n - 1} -> done\nstate done final\n")


@pytest.mark.parametrize("form", ["yaml", "dsl"])
def test_a_long_chain_of_segments_is_refused_where_it_gets_too_deep(form):
    """3,000 segments each using the one before: a RecursionError at compile (and at run) before."""
    err = refused(segment_chain(3_000, form), form)
    assert len(err.errors) == 1  # not one error per later segment
    assert "segment 's99' is nested too deeply" in err.message and f"limit is {MAX_DEPTH}" in err.message
    first_segment_line = 4 if form == "yaml" else 3
    assert err.line == first_segment_line + 99


@pytest.mark.parametrize("form", ["yaml", "dsl"])
def test_a_chain_of_segments_within_the_limit_runs(form):
    p = load_policy_text(segment_chain(MAX_DEPTH - 5, form), format=form)
    r = simulate(p, invoices=[INVOICE], until="2026-05-01")
    assert r.state_of("A1") == "done" and not r.errors


def test_a_clock_read_through_a_chain_of_segments_wakes_the_case():
    """The compiler finds, without recursion, that the guard reads the clock through 90 segments."""
    p = load_policy_text(segment_chain(90, "yaml", base="days_overdue >= 4"))
    cp = CompiledPolicy(p)
    assert cp.any_clock and cp.states[0].conds[0].clock
    r = simulate(p, invoices=[INVOICE], until="2026-05-10")
    assert r.state_of("A1") == "done"
    entered = dt.datetime.fromtimestamp(r.engine.cases["A1"].entered, dt.timezone.utc)
    assert entered.date() == dt.date(2026, 5, 4)  # the day days_overdue reached 4 (due 2026-04-30)


def test_a_segment_may_use_only_the_segments_before_it():
    text = ("policy: t\ncurrency: USD\nsegments:\n  a: b\n  b: balance > 0\n  c: c and b\n"
            "states:\n  open:\n    initial: true\n    rules:\n      - when: a\n        goto: done\n  done:\n    final: true\n")
    err = refused(text, "yaml")
    messages = [(e.line, e.message) for e in err.errors]
    assert messages == [(4, "segment 'a' uses 'b', which is written after it"), (6, "segment 'c' uses itself")]


def test_many_segments_check_in_linear_time():
    """Every expression used to build a schema of every segment: 3,000 segments took minutes."""
    def policy(n):
        segs = "".join(f"  s{i}: balance > {i}\n" for i in range(n))
        return ("policy: t\ncurrency: USD\nsegments:\n" + segs + "states:\n  open:\n    initial: true\n    rules:\n"
                + "".join(f"      - when: s{i}\n        do: [{{remind: {{template: t}}}}]\n" for i in range(0, n, 2))
                + "  done:\n    final: true\n")
    assert_linear(lambda n: load_policy_text(policy(n)), 250, 1_000)


# -- many errors ---------------------------------------------------------------------------------

def test_checking_stops_after_max_errors():
    """3,000 gotos to undefined states each asked 'did you mean' of 3,000 states: quadratic before."""
    n = 3_000
    rules = "".join(f"  s{i}: {{rules: [{{after: 1 day, goto: t{i}}}]}}\n" for i in range(1, n))
    text = "policy: t\ncurrency: USD\nstates:\n  s0: {initial: true}\n" + rules
    started = time.monotonic()
    err = refused(text, "yaml")
    assert time.monotonic() - started < 60
    assert len(err.errors) == MAX_ERRORS + 1
    assert any("too many errors: checking stopped after" in e.message for e in err.errors)
    assert all(len(e.help or "") < 200 for e in err.errors)  # no list of 3,000 state names per error


# -- compile time and memory grow linearly ---------------------------------------------------------

def big_policy(states: int, shared: int) -> str:
    """``states`` states in a chain and ``shared`` any_state rules of every kind (some with except)."""
    out = ["policy: big", "currency: USD", "states:"]
    for i in range(states):
        out.append(f"  s{i}:")
        if i == 0:
            out.append("    initial: true")
        out.append(f"    rules: [{{after: {i % 5 + 1} days, do: [{{remind: {{template: t{i}}}}}], goto: s{i + 1}}}]")
    out.append(f"  s{states}: {{final: true}}")
    out.append("any_state:")
    for j in range(shared):
        kind = j % 3
        if kind == 0:
            out.append(f"  - {{on: payment, when: balance > {j}, do: [{{remind: {{template: a{j}}}}}]}}")
        elif kind == 1:
            out.append(f"  - {{after: {j % 7 + 10} days, do: [{{task: {{kind: call}}}}], except: [s{j % states}]}}")
        else:
            out.append(f"  - {{when: balance > {j + 5000}, do: [{{remind: {{template: c{j}}}}}]}}")
    return "\n".join(out) + "\n"


def validate_compile_run(n: int) -> None:
    policy = load_policy_text(big_policy(n, n))
    simulate(policy, invoices=[INVOICE], until="2026-05-03")


def cpu_seconds(fn, n: int) -> float:
    best = float("inf")
    for _ in range(2):
        started = time.process_time()
        fn(n)
        best = min(best, time.process_time() - started)
    return best


def assert_linear(fn, small: int, large: int) -> None:
    """4x the size may take at most 8x the time (linear: 4x; quadratic: 16x), best of two runs."""
    fn(small)  # warm up (imports, the expression parser)
    t_small, t_large = cpu_seconds(fn, small), cpu_seconds(fn, large)
    assert t_large <= 8 * max(t_small, 0.05), (t_small, t_large)


def test_validate_compile_and_a_small_run_grow_linearly():
    """2,000 states with 2,000 any_state rules took 20 s and 1 GB (one rule object per state and
    any_state rule, and Policy.state() scanning); 250 -> 1,000 must stay about linear."""
    assert_linear(validate_compile_run, 250, 1_000)


def test_compiling_creates_no_rule_object_per_state_and_any_state_rule(monkeypatch):
    """Count the work: compiling builds no rule tables; a run builds those of the states it enters,
    sharing one object per any_state rule (and position) between them."""
    made = []
    real_init = compiled_mod.CRule.__init__

    def counting_init(self, *args, **kw):
        made.append(1)
        real_init(self, *args, **kw)

    monkeypatch.setattr(compiled_mod.CRule, "__init__", counting_init)
    counts = {}
    for n in (250, 1_000):
        policy = load_policy_text(big_policy(n, n))
        del made[:]
        cp = CompiledPolicy(policy)
        assert not made  # nothing per state at compile time
        simulate(policy, invoices=[INVOICE], until="2026-05-03")
        counts[n] = len(made)
        # the own rule of each state entered (a dozen), and each any_state rule at most a few times
        # (an 'except' shifts the position of the rules after it); not one per state and rule
        assert len(made) <= 3 * n + 100, (n, len(made))
        assert len(cp.states) == n + 1
    assert counts[1_000] <= 4 * counts[250] + 50


def test_compiling_takes_memory_in_proportion_to_the_policy():
    peaks = {}
    for n in (250, 1_000):
        policy = load_policy_text(big_policy(n, n))
        tracemalloc.start()
        try:
            CompiledPolicy(policy)
            peaks[n] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peaks[1_000] <= 8 * peaks[250], peaks


def test_policy_state_is_a_lookup_not_a_scan():
    from dunning_engine.policy import ir

    n = 20_000
    policy = ir.Policy(id="p", version=1, states=tuple(ir.State(f"s{i}", initial=i == 0) for i in range(n)))
    started = time.process_time()
    for i in range(0, n, 2):
        assert policy.state(f"s{i}").name == f"s{i}"
    assert time.process_time() - started < 2.0  # a scan: 10,000 lookups x 10,000 comparisons on average
    with pytest.raises(KeyError):
        policy.state("nope")
    assert policy.rules_of("s1") == ()
