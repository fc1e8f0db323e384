"""Property tests: whatever the owner does, in whatever order, the only credit is the
correction's credit note, nothing is refunded, and invoice numbers have no gaps."""

import datetime
import re
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saruna.billing.simulator import simulate

PLANS = {
    "all-inclusive": {"name": "All-inclusive", "monthly": "39.00", "annual": "390.00"},
    "premium": {"name": "Premium", "monthly": "59.00", "annual": "590.00"},
}

event = st.one_of(
    st.builds(lambda n: {"do": "set_seats", "seats": n}, st.integers(1, 6)),
    st.builds(lambda p: {"do": "change_plan", "plan": p},
              st.sampled_from(["free", "all-inclusive", "premium"])),
    st.builds(lambda p: {"do": "change_period", "period": p},
              st.sampled_from(["monthly", "annual"])),
    st.just({"do": "add_card"}),
    st.just({"do": "payment_fails"}),
    st.just({"do": "add_agent"}),
    st.just({"do": "remove_agent"}),
    st.builds(lambda v: {"do": "set_vat_id", "vat_id": v},
              st.sampled_from(["EE100931558", "LV40003245752", ""])),
    st.builds(lambda c: {"do": "correct_billing_details", "company": c},
              st.sampled_from(["Acme", "Acme Baltic", "Acme Nordic"])),
    st.just({"do": "advance"}),
)
# Mostly short gaps, so changes land inside periods and corrections inside their 15 days.
gap = st.sampled_from([0, 1, 3, 10, 20, 45, 100])
timeline = st.lists(st.tuples(gap, event), min_size=1, max_size=12)
ending = st.sampled_from([[], [{"do": "cancel"}]])


def scenario(steps, end, cycle, seats, card_first=True):
    moment = datetime.datetime(2026, 1, 1, 10, tzinfo=datetime.UTC)
    events = [{"at": moment.isoformat(), "do": "signup", "plan": "all-inclusive",
               "period": cycle, "seats": seats}]
    if card_first:
        events.append({"do": "add_card"})
    for days, step in steps:
        moment += datetime.timedelta(days=days, hours=1)
        events.append({"at": moment.isoformat(), **step})
    for step in end:
        events.append({"at": (moment + datetime.timedelta(days=1)).isoformat(), **step})
    events.append({"at": (moment + datetime.timedelta(days=400)).isoformat(), "do": "advance"})
    return {"customer": {"country": "EE", "currency": "USD"}, "plans": PLANS,
            "vies": {"EE100931558": True}, "events": events}


def run(data):
    """Each example in a savepoint of its own, rolled back after it."""
    savepoint = transaction.savepoint()
    try:
        return simulate(data)
    finally:
        transaction.savepoint_rollback(savepoint)


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=timeline, end=ending, cycle=st.sampled_from(["monthly", "annual"]),
       seats=st.integers(1, 4), card_first=st.booleans())
def test_no_credit_but_corrections_no_refund_and_no_gaps(db, steps, end, cycle, seats,
                                                        card_first):
    result = run(scenario(steps, end, cycle, seats, card_first))
    assert result["refunds"] == []
    numbers = defaultdict(list)
    for entry in result["events"]:
        for document in entry["documents"]:
            series, year, number = re.fullmatch(r"(INV|CN)-(\d{4})-(\d{6})",
                                                document["number"]).groups()
            numbers[series, year].append(int(number))
            if document["type"] == "credit_note":
                # A credit note only ever comes from a correction, for an invoice it cancels.
                assert entry["do"] == "correct_billing_details"
                assert document["credits"] is not None
            for line in document["lines"]:
                assert not line["amount"].startswith("-")
            assert Decimal(document["total"]) == (
                Decimal(document["subtotal"]) + Decimal(document["tax"]))
        for payment in entry["payments"]:
            assert not payment["amount"].startswith("-")
    for series_numbers in numbers.values():
        assert series_numbers == list(range(1, len(series_numbers) + 1))
