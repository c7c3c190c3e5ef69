"""Compliance caps on money actions: a pack reduces a fee or an interest posting, and the action
carries the amount before the cap as `capped_from` (SPEC §1 contact rules; compliance packs)."""

from decimal import Decimal

from conftest import local_date, run

D = Decimal

# Chile (pack CL): no collection charge before 20 days of delay, once per debt, at most 9% of the first
# 10 UF of the unpaid principal, 6% from 10 to 50 UF, 3% above; interest capped at the TMC table.
CL = """
policy: caps
currency: CLP
timezone: America/Santiago
states:
  overdue:
    initial: true
    rules:
      - name: early_fee
        at: due + 10 days
        do: [{fee: {amount: 5000 CLP}}]
      - name: fee
        at: due + 25 days
        do: [{fee: {percent: 20%, of: balance}}]
      - name: second_fee
        at: due + 26 days
        do: [{fee: {amount: 1000 CLP}}]
      - name: interest
        at: due + 30 days
        do: [{interest: {annual_rate: 50%}}]
contact:
  compliance: [CL]
rates:
  UF: {"2026-01-01": 40000}
  TMC: {"2026-01-01": 30}
"""

INV = [{"id": "A1", "customer": "C1", "amount": "1000000", "issued": "2026-01-01", "due": "2026-01-31"}]


def test_cl_caps_the_collection_charge_and_interest():
    r = run(CL, INV)
    assert not r.errors, r.errors
    got = [(local_date(a), a["rule"], a["amount"], a["params"].get("capped_from")) for a in r.actions]
    # - the 5,000 fee at 10 days of delay: capped to 0 (none before 20 days), not emitted;
    # - 20% of 1,000,000 = 200,000 at 25 days: 1,000,000 CLP = 25 UF -> 9% of 10 UF + 6% of 15 UF = 1.8 UF
    #   = 72,000 CLP;
    # - the second fee: once per debt, capped to 0, not emitted;
    # - interest 50% for 30 days on 1,000,000 = 41,095.89 -> 41,096; at the TMC (30%): 24,657.53 -> 24,657
    #   (caps round down)
    assert got == [("2026-02-25", "fee", D("72000"), D("200000")),
                   ("2026-03-02", "interest", D("24657"), D("41096"))]
    fee = r.actions[0]
    assert fee["params"]["computed"] == D("200000.00")
    s = r.states[0]
    assert (s["fees"], s["interest"], s["balance"]) == (D("72000"), D("24657"), D("1096657"))
    assert r.engine.cases["A1"].ledger.balanced()


def test_no_pack_no_cap():
    text = CL.replace("contact:\n  compliance: [CL]\n", "")
    r = run(text, INV)
    # without the pack: 5,000; 20% of 1,005,000 = 201,000; 1,000; 41,096 (on principal)
    assert [a["amount"] for a in r.actions] == [D("5000"), D("201000"), D("1000"), D("41096")]
    assert all("capped_from" not in a["params"] for a in r.actions)
