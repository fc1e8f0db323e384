"""Annual prepaid credit (terms §5): it pays for the seats from the end of the period already
paid, burns seats x annual seat price / 365 a day, lasts longer with fewer seats and shorter
with more, and leaving early refunds half of what is unused through the gateway."""

import datetime
import re
from collections import defaultdict
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saruna.billing import actions, codes, prepaid
from saruna.billing.gateways.offline import fail_next_charge
from saruna.billing.models import PrepaidCredit, Refund
from saruna.billing.simulator import simulate
from saruna.core.models import AuditEvent
from tests.billing import test_properties
from tests.billing.conftest import invoices

LV = {"country": "LV", "vat_id": None, "currency": "USD"}


def summary(result):
    """Per entry: what happened, documents as "number subtotal+tax=total", refunds, the
    refusal if any, and the credit as "status left last-day"."""
    rows = []
    for entry in result["events"]:
        credit = entry["state"]["prepaid_credit"]
        rows.append((
            entry["do"],
            [f"{d['number']} {d['subtotal']}+{d['tax']}={d['total']}"
             for d in entry["documents"]],
            [f"{r['invoice']} {r['amount']} {r['status']}" for r in entry["refunds"]],
            entry.get("refused", ""),
            f"{credit['status']} {credit['left']} {credit['last_day']}" if credit else None,
        ))
    return rows


SCENARIOS = {
    # Annual, 3 seats from 1 Jan 2026: 3 * 390.00 = 1170.00 + 21 % 245.70 = 1415.70.
    # Credit of 1170.00 bought on 1 Jun (invoiced like the period: 1415.70). It waits for the
    # paid period to end on 31 Dec; at 3 seats a day costs 3 * 390 / 365 = 3.2055 and the
    # credit lasts 1170 / 3.2055 = 365 days: 1 Jan - 31 Dec 2027.
    # 1 Apr 2027, 2 seats: 90 days used at 3 seats = 288.4932, left 881.5068 → 881.51; at
    # 2 seats (2.1370 a day) that is 412.5 days → 413 (a last part-day is covered), so it
    # lasts until 17 May 2028: later.
    # 1 Jul 2027, 4 seats: 91 more days at 2 seats = 194.4658, left 687.0411 → 687.04; at
    # 4 seats (4.2740 a day) 160.75 → 161 days: until 8 Dec 2027, sooner. The two added
    # seats are paid by the credit: no invoice.
    # 9 Dec 2027 the credit is used up and an ordinary annual period starts that day:
    # 4 * 390.00 = 1560.00 + 327.60 = 1887.60.
    "fewer seats make the credit last longer, more seats shorter": (
        {"customer": LV, "events": [
            {"at": "2026-01-01T10:00:00Z", "do": "signup", "period": "annual", "seats": 3},
            {"do": "add_card"},
            {"at": "2026-06-01T10:00:00Z", "do": "add_prepaid_credit", "amount": "1170.00"},
            {"at": "2027-04-01T10:00:00Z", "do": "set_seats", "seats": 2},
            {"at": "2027-07-01T10:00:00Z", "do": "set_seats", "seats": 4},
            {"at": "2027-12-10T00:00:00Z", "do": "advance"},
        ]},
        [
            ("signup", [], [], "", None),
            ("add_card", ["INV-2026-000001 1170.00+245.70=1415.70"], [], "", None),
            ("add_prepaid_credit", ["INV-2026-000002 1170.00+245.70=1415.70"], [], "",
             "waiting 1170.00 2027-12-31"),
            ("jobs", [], [], "", "running 1170.00 2027-12-31"),
            ("set_seats", [], [], "", "running 881.51 2028-05-17"),
            ("set_seats", [], [], "", "running 687.04 2027-12-08"),
            ("jobs", ["INV-2027-000001 1560.00+327.60=1887.60"], [], "", None),
            ("advance", [], [], "", None),
        ],
    ),
    # Annual, 2 seats: 780.00 + 163.80 = 943.80, and the same again as credit on 1 Feb. The
    # credit runs from 1 Jan 2027; leaving on 11 Apr 2027 (100 days used, the day of leaving
    # not counted) leaves 265 of 365 days unused: 943.80 * 265 / 365 = 685.2247 → 685.22
    # of what was paid; half is refunded, 342.61, half is the fee, 342.61.
    "leaving early refunds half of the unused part": (
        {"customer": LV, "events": [
            {"at": "2026-01-01T10:00:00Z", "do": "signup", "period": "annual", "seats": 2},
            {"do": "add_card"},
            {"at": "2026-02-01T10:00:00Z", "do": "add_prepaid_credit", "amount": "780.00"},
            {"at": "2027-04-11T10:00:00Z", "do": "cancel"},
            {"at": "2028-01-05T00:00:00Z", "do": "advance"},
        ]},
        [
            ("signup", [], [], "", None),
            ("add_card", ["INV-2026-000001 780.00+163.80=943.80"], [], "", None),
            ("add_prepaid_credit", ["INV-2026-000002 780.00+163.80=943.80"], [], "",
             "waiting 780.00 2027-12-31"),
            ("jobs", [], [], "", "running 780.00 2027-12-31"),
            ("cancel", [], ["INV-2026-000002 342.61 succeeded"], "", None),
            ("advance", [], [], "", None),
        ],
    ),
    # Monthly, 1 seat from 1 Jan: 39.00 + 8.19 = 47.19. Credit of 390.00 (471.90) on 10 Jan
    # waits for the monthly period to end: at 1 seat it covers 365 days from 1 Feb, until
    # 31 Jan 2027. Leaving on 20 Jan, before it started: all of it is unused, 235.95 back.
    # In the trial, credit is refused: it starts when a paid period ends.
    "credit waits for the paid month; leaving before it starts refunds half of it": (
        {"customer": LV, "events": [
            {"at": "2026-01-01T10:00:00Z", "do": "signup", "period": "monthly", "seats": 1},
            {"do": "add_prepaid_credit", "amount": "390.00"},
            {"do": "add_card"},
            {"at": "2026-01-10T10:00:00Z", "do": "add_prepaid_credit", "amount": "390.00"},
            {"at": "2026-01-20T10:00:00Z", "do": "cancel"},
        ]},
        [
            ("signup", [], [], "", None),
            ("add_prepaid_credit", [], [],
             "Prepaid credit starts when a paid period ends: add a payment method first.", None),
            ("add_card", ["INV-2026-000001 39.00+8.19=47.19"], [], "", None),
            ("add_prepaid_credit", ["INV-2026-000002 390.00+81.90=471.90"], [], "",
             "waiting 390.00 2027-01-31"),
            ("cancel", [], ["INV-2026-000002 235.95 succeeded"], "", None),
        ],
    ),
    # One credit at a time, priced on its plan: a second one and a plan change are refused
    # while it lasts; so is credit for less than one day of the seats (2 * 390 / 365 = 2.14).
    "one credit at a time, and no plan change while it lasts": (
        {"customer": LV, "plans": {"premium": {"name": "Premium", "monthly": "59.00",
                                               "annual": "590.00"}},
         "events": [
             {"at": "2026-01-01T10:00:00Z", "do": "signup", "period": "monthly", "seats": 2},
             {"do": "add_card"},
             {"do": "add_prepaid_credit", "amount": "2.13"},
             {"do": "add_prepaid_credit", "amount": "100.00"},
             {"do": "add_prepaid_credit", "amount": "100.00"},
             {"do": "change_plan", "plan": "premium"},
         ]},
        [
            ("signup", [], [], "", None),
            ("add_card", ["INV-2026-000001 78.00+16.38=94.38"], [], "", None),
            ("add_prepaid_credit", [], [],
             "The credit must pay for at least one day of the current seats.", None),
            ("add_prepaid_credit", ["INV-2026-000002 100.00+21.00=121.00"], [], "",
             "waiting 100.00 2026-03-19"),
            ("add_prepaid_credit", [], [],
             "This account already has prepaid credit. Add more once it is used up.",
             "waiting 100.00 2026-03-19"),
            ("change_plan", [], [], "This account has prepaid credit for its current plan. "
             "Change the plan once the credit is used up.", "waiting 100.00 2026-03-19"),
        ],
    ),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario(db, name):
    scenario, expected = SCENARIOS[name]
    assert summary(simulate(scenario)) == expected


def test_the_fee_and_the_refund_are_recorded_and_the_refund_goes_through_the_gateway(
    paying, clock, committed
):
    account = paying(cycle="monthly", seats=1)
    clock.move_to(datetime.datetime(2026, 1, 10, 10, tzinfo=datetime.UTC))
    credit = committed(prepaid.add_prepaid_credit, account, "390.00")
    assert invoices(account)[-1].total_cents == 47190  # 390.00 + 21 % VAT, charged at once
    committed(actions.cancel, account)
    credit.refresh_from_db()
    assert credit.status == PrepaidCredit.Status.ENDED_EARLY
    assert (credit.unused_cents, credit.fee_cents) == (47190, 23595)
    refund = Refund.objects.get()
    assert refund == credit.refund
    assert refund.amount_cents == 23595 and refund.payment.invoice == credit.invoice
    assert refund.status == Refund.Status.SUCCEEDED
    assert refund.reference == f"offline_re_saruna-refund-{refund.pk}"
    assert "cancellation fee (235.95 USD)" in refund.reason
    event = AuditEvent.objects.get(verb="billing.prepaid_credit_ended_early")
    assert event.details == {"unused": "471.90 USD", "refund": "235.95 USD",
                             "fee": "235.95 USD"}


def test_an_unpaid_credit_refunds_nothing(paying, committed):
    account = paying(cycle="monthly", seats=1)
    fail_next_charge(account)
    committed(prepaid.add_prepaid_credit, account, "390.00")
    committed(actions.cancel, account)
    credit = PrepaidCredit.objects.get()
    assert (credit.unused_cents, credit.fee_cents, credit.refund) == (0, 0, None)
    assert not Refund.objects.exists()


def test_a_lifetime_account_takes_no_credit(customer, committed):
    codes.import_codes(name="Deal", csv_text="LTD-0001",
                       redeem_by=datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC))
    committed(codes.redeem_code, customer, "LTD-0001")
    with pytest.raises(actions.BillingError, match="lifetime account"):
        prepaid.add_prepaid_credit(customer, "390.00")


def test_a_free_plan_has_nothing_to_prepay(customer, committed, free_plan):
    committed(actions.start_subscription, customer, plan=free_plan)
    with pytest.raises(actions.BillingError):
        prepaid.add_prepaid_credit(customer, "390.00")


# --- Property: the only refund is half of unused credit, on leaving ------------------------------

credit_event = st.builds(lambda amount: {"do": "add_prepaid_credit", "amount": amount},
                         st.sampled_from(["100.00", "390.00", "1170.00"]))
steps = st.lists(st.tuples(test_properties.gap, st.one_of(test_properties.event, credit_event)),
                 min_size=1, max_size=12)


@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=steps, end=test_properties.ending, cycle=st.sampled_from(["monthly", "annual"]),
       seats=st.integers(1, 4))
def test_refunds_come_only_from_leaving_with_credit_and_never_exceed_half(db, steps, end,
                                                                         cycle, seats):
    result = test_properties.run(test_properties.scenario(steps, end, cycle, seats))
    totals = {d["number"]: Decimal(d["total"]) for d in result["documents"]}
    credit_invoices = {
        d["number"] for entry in result["events"] if entry["do"] == "add_prepaid_credit"
        for d in entry["documents"]
    }
    numbers = defaultdict(list)
    for entry in result["events"]:
        for refund in entry["refunds"]:
            assert entry["do"] == "cancel"
            assert refund["invoice"] in credit_invoices
            assert Decimal(refund["amount"]) * 2 <= totals[refund["invoice"]] + Decimal("0.01")
        for document in entry["documents"]:
            series, year, number = re.fullmatch(r"(INV|CN)-(\d{4})-(\d{6})",
                                                document["number"]).groups()
            numbers[series, year].append(int(number))
            if document["type"] == "credit_note":
                assert entry["do"] == "correct_billing_details"
    assert len(result["refunds"]) <= 1
    for series_numbers in numbers.values():
        assert series_numbers == list(range(1, len(series_numbers) + 1))
