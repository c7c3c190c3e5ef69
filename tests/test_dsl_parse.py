"""The DSL reader: every construct of SPEC §3, the node tree it builds, positions, comments."""

from __future__ import annotations

import datetime as _dt
import textwrap
from decimal import Decimal


from dunning_engine.policy import ir
from dunning_engine.policy.dsl import load_dsl, parse_dsl
from dunning_engine.policy.load import load_policy_text
from dunning_engine.policy.nodes import MapNode, NodeFactory, ScalarNode, SeqNode
from dunning_engine.values import Duration

SPEC_DSL = '''\
policy b2b_friendly version 3
description "Friendly B2B collections, Chile"
timezone "America/Santiago"
calendar CL
currency CLP
send at 09:00

segment vip: customer.segment == "vip"

state upcoming initial:
    rule pre_due at due - 3 days unless vip:
        remind "pre_due" via email
    at due + 1 day -> overdue

state overdue:
    on enter:
        remind "first_notice" via email, whatsapp
    after 7 days:
        remind "second_notice"
    at due + 15 days when balance > 50000 CLP -> late:
        fee 2% of balance max 100000 CLP
    on promise_to_pay -> promised

state promised:
    at promise.date + 1 day when balance > 0 -> overdue:
        remind "broken_promise"

state late:
    on enter:
        offer plan 3 installments every 30 days
        task call assign "collections"
    every 7 days max 4:
        remind "late_notice" via sms
    at due + 60 days -> legal:
        escalate to legal

state legal
state disputed:
    on dispute_resolved -> previous
state paid final

any state:
    on payment when balance <= 0 -> paid
any state except disputed:
    on dispute_opened -> disputed
'''

SPEC_YAML = '''\
policy: b2b_friendly
version: 3
description: Friendly B2B collections, Chile
scope: invoice
timezone: America/Santiago
calendar: CL
currency: CLP
send_at: "09:00"
segments:
  vip: customer.segment == "vip"
states:
  upcoming:
    initial: true
    rules:
      - name: pre_due
        at: due - 3 days
        unless: vip
        do:
          - remind: {template: pre_due, via: [email]}
      - at: due + 1 day
        goto: overdue
  overdue:
    on_enter:
      - remind: {template: first_notice, via: [email, whatsapp]}
    rules:
      - after: 7 days
        do:
          - remind: {template: second_notice}
      - at: due + 15 days
        when: balance > 50000 CLP
        do:
          - fee: {percent: 2%, of: balance, max: 100000 CLP}
        goto: late
      - on: promise_to_pay
        goto: promised
  promised:
    rules:
      - at: promise.date + 1 day
        when: balance > 0
        do:
          - remind: {template: broken_promise}
        goto: overdue
  late:
    on_enter:
      - offer_plan: {installments: 3, every: 30 days}
      - task: {kind: call, assign: collections}
    rules:
      - every: 7 days
        max: 4
        do:
          - remind: {template: late_notice, via: [sms]}
      - at: due + 60 days
        do:
          - escalate: {to: legal}
        goto: legal
  legal: {}
  disputed:
    rules:
      - on: dispute_resolved
        goto: previous
  paid:
    final: true
any_state:
  - on: payment
    when: balance <= 0
    goto: paid
  - on: dispute_opened
    goto: disputed
    except: [disputed]
'''


def policy(body: str, head: str = "policy p\ncurrency CLP\n") -> ir.Policy:
    return load_dsl(head + textwrap.dedent(body))


def test_the_spec_example_equals_its_yaml():
    assert load_dsl(SPEC_DSL, "spec.dunning") == load_policy_text(SPEC_YAML, format="yaml")


def test_the_tree_has_the_yaml_shape():
    root = parse_dsl(SPEC_DSL, "spec.dunning")
    assert isinstance(root, MapNode)
    assert root.keys() == ["policy", "version", "description", "timezone", "calendar", "currency", "send_at",
                           "segments", "states", "any_state"]
    states = root.get("states")
    assert states.keys() == ["upcoming", "overdue", "promised", "late", "legal", "disputed", "paid"]
    rule = states.get("overdue").get("rules").items[1]
    assert rule.keys() == ["at", "when", "goto", "do"]
    fee = rule.get("do").items[0]
    assert fee.keys() == ["fee"]
    assert fee.get("fee").keys() == ["percent", "of", "max"]
    assert [r.get("except") is not None for r in root.get("any_state").items] == [False, True]


def test_expressions_are_slices_of_the_file_with_their_positions():
    root = parse_dsl(SPEC_DSL, "spec.dunning")
    rule = root.get("states").get("overdue").get("rules").items[1]
    when = rule.get("when")
    assert isinstance(when, ScalarNode)
    assert when.text == "balance > 50000 CLP"
    assert (when.location.line, when.location.column) == (20, 27)
    loc = when.origin(10, 5)
    assert (loc.line, loc.column, loc.length) == (20, 37, 5)
    assert not when.is_null()
    at = rule.get("at")
    assert at.text == "due + 15 days"
    goto = rule.get("goto")
    line = SPEC_DSL.splitlines()[19]
    assert (goto.text, goto.location.column) == ("late", line.index("late") + 1)


def test_expression_across_lines_in_parentheses():
    p = policy('''\
        state a initial:
            at (due +
                15 days) -> b
        state b final
    ''')
    assert p.states[0].rules[0].trigger.expr.canonical == "due + 15 days"


def test_every_action():
    p = policy('''\
        state a initial:
            on enter:
                remind "t" via email, sms to customer.email
                fee 5000 CLP
                fee 2% of principal min 1000 CLP max 100000 CLP
                interest 24% per year basis 360 on balance
                discount 10% until due + 30 days
                discount 5000 CLP until today + 7 days
                offer plan 6 installments every 1 month first today + 7 days down 10%
                escalate to agency note "over 60 days"
                task visit assign "field team" note "bring the contract"
                suspend
                resume
                write off
                custom "cancel" with account = customer.id, owed = balance
                custom "ping"
    ''')
    got = [(a.kind, {k: getattr(v, "canonical", v) for k, v in a.params}) for a in p.states[0].on_enter]
    assert got == [
        ("remind", {"template": "t", "via": ("email", "sms"), "to": "customer.email"}),
        ("fee", {"amount": "5000 CLP"}),
        ("fee", {"percent": "2%", "of": "principal", "min": "1000 CLP", "max": "100000 CLP"}),
        ("interest", {"annual_rate": "24%", "basis": 360, "on": "balance"}),
        ("discount", {"percent": "10%", "until": "due + 30 days"}),
        ("discount", {"amount": "5000 CLP", "until": "today + 7 days"}),
        ("offer_plan", {"installments": 6, "every": Duration(1, "months"), "first": "today + 7 days",
                        "down_payment": "10%"}),
        ("escalate", {"to": "agency", "note": "over 60 days"}),
        ("task", {"kind": "visit", "assign": "field team", "note": "bring the contract"}),
        ("suspend", {}), ("resume", {}), ("write_off", {}),
        ("custom", {"name": "cancel", "params": p.states[0].on_enter[12].get("params")}),
        ("custom", {"name": "ping"}),
    ]
    assert [(n, e.canonical) for n, e in p.states[0].on_enter[12].get("params")] == [
        ("account", "customer.id"), ("owed", "balance")]


def test_percent_or_amount_is_told_by_the_type():
    p = policy('''\
        state a initial:
            on enter:
                fee max(2%, 1%) of balance
                fee min(balance, 500)
                discount principal * 0 until due
    ''')
    assert [a.params[0][0] for a in p.states[0].on_enter] == ["percent", "amount", "amount"]


def test_options_in_any_order():
    a = policy('state a initial:\n    on enter:\n        remind "t" to customer.email via sms\n')
    b = policy('state a initial:\n    on enter:\n        remind "t" via sms to customer.email\n')
    assert a == b


def test_every_trigger_and_clause():
    p = policy('''\
        state a initial:
            rule r1 at due + 1 day when balance > 0 unless paid > 0 expires 2 days -> b
            after 7 days expires 1 day -> b
            every 7 days max 4 starting due + 30 days:
                remind "weekly"
            on payment, credit_note when event.amount > 0 -> b
            when days_overdue > 30 -> b
            unless balance > 0 -> b
        state b final
    ''')
    r = p.states[0].rules
    assert r[0].name == "r1" and r[0].named and r[0].expires == Duration(2)
    assert isinstance(r[0].trigger, ir.At) and r[0].unless.canonical == "paid > 0"
    assert isinstance(r[1].trigger, ir.After) and r[1].trigger.duration == Duration(7)
    assert r[2].trigger == ir.Every(Duration(7), 4, r[2].trigger.starting)
    assert r[2].trigger.starting.canonical == "due + 30 days"
    assert r[3].trigger == ir.On(("payment", "credit_note"))
    assert r[4].is_condition and r[4].when.canonical == "days_overdue > 30"
    assert r[5].is_condition and r[5].unless is not None
    assert [x.name for x in r] == ["r1", "a.2", "a.3", "a.4", "a.5", "a.6"]


def test_on_exit_and_flags():
    p = policy('''\
        state a initial:
            on exit:
                resume
            on enter:
                suspend
            when balance <= 0 -> b
        state b final:
            on enter:
                remind "thanks"
    ''')
    a, b = p.states
    assert (a.on_enter[0].kind, a.on_exit[0].kind) == ("suspend", "resume")
    assert b.final and b.on_enter[0].kind == "remind"


def test_any_state_blocks_repeat_and_join_in_file_order():
    p = policy('''\
        state a initial:
            at due -> b
        state b
        state c final
        any state:
            on payment when balance <= 0 -> c
        any state except b, a:
            on dispute_opened -> b
            on hold -> a
        any state:
            rule last on release -> a
    ''')
    assert [(r.name, r.except_) for r in p.any_state] == [
        ("any_state.1", ()), ("any_state.2", ("b", "a")), ("any_state.3", ("b", "a")), ("last", ())]


def test_settings_contact_rates_allocation_segments():
    p = load_dsl(textwrap.dedent('''\
        policy c-1 version 7
        description "Tab\\tand \\"quotes\\" \\u00e9"
        scope customer
        timezone "Europe/Madrid"
        calendar MX
        currency MXN
        send at 10:30
        allocation fees, interest, principal
        segment big: open_balance > 100000
        segment risky: big and oldest_days_overdue > 30

        state a initial:
            when risky -> b
        state b final

        contact:
            window mon-fri 08:00-20:00
            window "sat,sun" 10:00-12:00
            window sun 00:00-24:00
            no contact on holidays
            limit 2 per 7 days via email, sms
            gap 2 days via email
            limit 1 per 1 day
            compliance MX, CL

        rate UF "rates/uf.csv"
        rate USD_CLP:
            2026-02-01 951.25
            2026-01-01 -1
        rate EMPTY
    '''))
    assert (p.id, p.version, p.scope, p.timezone, p.calendar, p.currency) == \
        ("c-1", 7, "customer", "Europe/Madrid", "MX", "MXN")
    assert p.description == 'Tab\tand "quotes" é'
    assert p.send_at == _dt.time(10, 30)
    assert p.allocation == ("fees", "interest", "principal")
    assert [n for n, _ in p.segments] == ["big", "risky"]
    c = p.contact
    assert [w.spec for w in c.windows] == ["mon-fri", "sat,sun", "sun"]
    assert c.windows[2].end == _dt.time.max
    assert c.holidays is False
    assert c.limits == (ir.Limit(max=2, per=Duration(7), via=("email", "sms")), ir.Limit(gap=Duration(2), via=("email",)),
                        ir.Limit(max=1, per=Duration(1)))
    assert c.compliance == ("MX", "CL")
    assert p.rates == (ir.RateTable("UF", path="rates/uf.csv"),
                       ir.RateTable("USD_CLP", values=((_dt.date(2026, 1, 1), Decimal("-1")),
                                                       (_dt.date(2026, 2, 1), Decimal("951.25")))),
                       ir.RateTable("EMPTY"))


def test_empty_contact_block():
    p = policy("state a initial\ncontact\n")
    assert p.contact == ir.Contact()


def test_version_on_its_own_line_and_defaults():
    p = load_dsl("policy p\nversion 4\ncurrency CLP\nstate a initial\n")
    assert p.version == 4
    assert (p.scope, p.timezone, p.send_at) == ("invoice", "UTC", _dt.time(9))
    assert load_dsl("policy p\ncurrency CLP\nstate a initial\n").version == 1


def test_comments_blank_lines_and_trailing_spaces_are_ignored():
    p = policy('''\
        # heading

        state a initial:   # the first
            # a comment line at another indentation
          # and another
            at due -> b  # why

        # between
        state b final
        # the end''')
    assert [s.name for s in p.states] == ["a", "b"]


def test_keywords_can_be_names():
    p = policy('''\
        segment when: customer.segment == "x"
        state initial initial:
            rule on at due unless when -> final
            on enter:
                task state assign "to"
                escalate to on
        state final final
    ''')
    assert [s.name for s in p.states] == ["initial", "final"]
    assert p.states[0].rules[0].name == "on"
    assert [a.get("kind") or a.get("to") for a in p.states[0].on_enter] == ["state", "on"]


def test_quoted_names_are_read_as_names():
    p = policy('state a initial:\n    on enter:\n        remind pre_due\n        task "call"\n')
    assert [a.params[0][1] for a in p.states[0].on_enter] == ["pre_due", "call"]


def test_bytes_bom_and_crlf():
    text = "\ufeffpolicy p\r\ncurrency CLP\r\nstate a initial\r\n"
    assert load_dsl(text.encode("utf-8")) == load_dsl("policy p\ncurrency CLP\nstate a initial\n")


def test_no_final_newline():
    assert load_dsl("policy p\ncurrency CLP\nstate a initial").states[0].initial


def test_load_policy_reads_dsl_files(tmp_path):
    from dunning_engine.policy.load import load_policy

    path = tmp_path / "p.dunning"
    path.write_text(SPEC_DSL)
    p = load_policy(path)
    assert p.path == str(path) and p.key == "b2b_friendly@3"
    assert load_policy_text(SPEC_DSL) == p  # the form is sniffed from the text


# ---------------------------------------------------------------------------
# the node factory
# ---------------------------------------------------------------------------


def test_node_factory_builds_positioned_nodes():
    text = 'x: "a\\"b" and more\n'
    f = NodeFactory(text, "t")
    s = f.scalar('a"b', 3, 9, "double")
    assert (s.location.line, s.location.column, s.location.length) == (1, 4, 6)
    assert s.origin(0).column == 5
    plain = f.scalar("and", 10, 13)
    assert plain.origin(2).column == 13
    m = f.mapping(0, 1, [(f.scalar("x", 0, 1), s)])
    seq = f.sequence(0, 1, [plain])
    assert m.get("x") is s and m.keys() == ["x"] and list(seq) == [plain]
    assert isinstance(seq, SeqNode)


def test_expression_nodes_are_never_null():
    # 'null' is an expression in the DSL (YAML would read an empty value)
    p = policy("state a initial:\n    on enter:\n        remind \"t\" to null\n")
    assert p.states[0].on_enter[0].get("to").canonical == "null"
