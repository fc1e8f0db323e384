"""The billing simulator: a table of scenarios with their outcomes worked out by hand, the
command on a throw-away database, and refusals of what cannot run."""

import json
import os
import subprocess
import sys

import pytest

from saruna.billing.simulator import ScenarioError, check, simulate

LV = {"country": "LV", "vat_id": None, "currency": "USD"}


def summary(result):
    """Per entry: what happened, documents as "number subtotal+tax=total", payments as
    "invoice#attempt status", the refusal if any, and the account and subscription state."""
    return [
        (
            entry["do"],
            [f"{d['number']} {d['subtotal']}+{d['tax']}={d['total']}"
             for d in entry["documents"]],
            [f"{p['invoice']}#{p['attempt']} {p['status']}" for p in entry["payments"]],
            entry.get("refused", ""),
            entry["state"]["account"],
            entry["state"]["subscription"],
        )
        for entry in result["events"]
    ]


SCENARIOS = {
    # Annual, 3 seats. Card on 5 Jan: period 5 Jan 2026 - 4 Jan 2027 (365 days).
    # 3 * 390.00 = 1170.00; VAT 21 % = 245.70; 1415.70.
    # 5 seats on 10 Mar: 301 days left (22 in March, 275 Apr-Dec, 4 in Jan 2027);
    # 2 * 390 * 301 / 365 = 643.2329 → 643.23; VAT 135.0783 → 135.08; 778.31.
    # Renewal on 5 Jan 2027 at midnight UTC: 5 * 390 = 1950.00 + 409.50 = 2359.50.
    "annual seats added mid-period, then renewal": (
        {"customer": LV, "events": [
            {"at": "2026-01-01T10:00:00Z", "do": "signup", "plan": "all-inclusive",
             "period": "annual", "seats": 3},
            {"at": "2026-01-05T10:00:00Z", "do": "add_card"},
            {"at": "2026-03-10T10:00:00Z", "do": "set_seats", "seats": 5},
            {"at": "2027-01-10T00:00:00Z", "do": "advance"},
        ]},
        [
            ("signup", [], [], "", "active", "trialing"),
            ("add_card", ["INV-2026-000001 1170.00+245.70=1415.70"],
             ["INV-2026-000001#1 succeeded"], "", "active", "active"),
            ("set_seats", ["INV-2026-000002 643.23+135.08=778.31"],
             ["INV-2026-000002#1 succeeded"], "", "active", "active"),
            ("jobs", ["INV-2027-000001 1950.00+409.50=2359.50"],
             ["INV-2027-000001#1 succeeded"], "", "active", "active"),
            ("advance", [], [], "", "active", "active"),
        ],
    ),
    # Monthly from 31 Jan: 2 * 39.00 = 78.00 + 16.38 = 94.38, period 31 Jan - 27 Feb.
    # 4 seats on 10 Feb: nothing now. Renewal 28 Feb: 4 * 39 = 156.00 + 32.76 = 188.76.
    # Renewal 31 Mar (the anchor, not the 28th): 188.76 again.
    "monthly changes wait for the next invoice; month ends do not drift": (
        {"customer": LV, "events": [
            {"at": "2026-01-31T08:00:00Z", "do": "signup", "period": "monthly", "seats": 2},
            {"do": "add_card"},
            {"at": "2026-02-10T08:00:00Z", "do": "set_seats", "seats": 4},
            {"at": "2026-04-01T00:00:00Z", "do": "advance"},
        ]},
        [
            ("signup", [], [], "", "active", "trialing"),
            ("add_card", ["INV-2026-000001 78.00+16.38=94.38"],
             ["INV-2026-000001#1 succeeded"], "", "active", "active"),
            ("set_seats", [], [], "", "active", "active"),
            ("jobs", ["INV-2026-000002 156.00+32.76=188.76"],
             ["INV-2026-000002#1 succeeded"], "", "active", "active"),
            ("jobs", ["INV-2026-000003 156.00+32.76=188.76"],
             ["INV-2026-000003#1 succeeded"], "", "active", "active"),
            ("advance", [], [], "", "active", "active"),
        ],
    ),
    # The trial ends 15 Jan 10:00 without a card: suspended. A card on 20 Jan restores the
    # account and invoices 1 * 39.00 + 8.19 = 47.19 for 20 Jan - 19 Feb.
    "a trial without a card suspends; a card restores": (
        {"customer": LV, "events": [
            {"at": "2026-01-01T10:00:00Z", "do": "signup", "period": "monthly", "seats": 1},
            {"at": "2026-01-20T09:00:00Z", "do": "add_card"},
        ]},
        [
            ("signup", [], [], "", "active", "trialing"),
            ("jobs", [], [], "", "suspended", "suspended"),
            ("add_card", ["INV-2026-000001 39.00+8.19=47.19"],
             ["INV-2026-000001#1 succeeded"], "", "active", "active"),
        ],
    ),
    # An Estonian business with a VIES-confirmed number: reverse charge, no VAT.
    "reverse charge for a business in another EU country": (
        {"customer": {"country": "EE", "vat_id": "EE100931558", "currency": "USD"},
         "vies": {"EE100931558": True},
         "events": [
             {"at": "2026-01-01T10:00:00Z", "do": "signup", "period": "monthly", "seats": 2},
             {"do": "add_card"},
         ]},
        [
            ("signup", [], [], "", "active", "trialing"),
            ("add_card", ["INV-2026-000001 78.00+0.00=78.00"],
             ["INV-2026-000001#1 succeeded"], "", "active", "active"),
        ],
    ),
    # A German consumer pays German VAT: 39.00 * 19 % = 7.41; a US customer pays none.
    "an EU consumer pays their country's rate": (
        {"customer": {"country": "DE", "currency": "USD"}, "events": [
            {"at": "2026-01-01T10:00:00Z", "do": "signup", "period": "monthly", "seats": 1},
            {"do": "add_card"},
        ]},
        [
            ("signup", [], [], "", "active", "trialing"),
            ("add_card", ["INV-2026-000001 39.00+7.41=46.41"],
             ["INV-2026-000001#1 succeeded"], "", "active", "active"),
        ],
    ),
    "no VAT outside the EU": (
        {"customer": {"country": "US", "currency": "USD"}, "events": [
            {"at": "2026-01-01T10:00:00Z", "do": "signup", "period": "annual", "seats": 1},
            {"do": "add_card"},
        ]},
        [
            ("signup", [], [], "", "active", "trialing"),
            ("add_card", ["INV-2026-000001 390.00+0.00=390.00"],
             ["INV-2026-000001#1 succeeded"], "", "active", "active"),
        ],
    ),
    # Invoice 1 Jan (47.19). Day 10: credit note for it and a re-issued invoice, same
    # amounts, settled by the first payment (no new charge). Day 16: refused.
    "a correction on day 10 is made, on day 16 refused": (
        {"customer": LV, "events": [
            {"at": "2026-01-01T10:00:00Z", "do": "signup", "period": "monthly", "seats": 1},
            {"do": "add_card"},
            {"at": "2026-01-11T10:00:00Z", "do": "correct_billing_details",
             "company": "Acme Baltic SIA"},
            {"at": "2026-01-17T10:00:00Z", "do": "correct_billing_details",
             "company": "Acme Nordic SIA"},
        ]},
        [
            ("signup", [], [], "", "active", "trialing"),
            ("add_card", ["INV-2026-000001 39.00+8.19=47.19"],
             ["INV-2026-000001#1 succeeded"], "", "active", "active"),
            ("correct_billing_details",
             ["CN-2026-000001 39.00+8.19=47.19", "INV-2026-000002 39.00+8.19=47.19"], [], "",
             "active", "active"),
            ("correct_billing_details", [], [],
             "Invoice INV-2026-000002 was issued more than 15 days ago, so it can no longer "
             "be corrected. The new details apply from the next invoice.", "active", "active"),
        ],
    ),
    # The first charge fails (past due, 47.19 due); a new card pays it at once, before the
    # retry a day later.
    "a failed charge and a new card": (
        {"customer": LV, "events": [
            {"at": "2026-01-01T10:00:00Z", "do": "signup", "period": "monthly", "seats": 1},
            {"do": "payment_fails"},
            {"do": "add_card"},
            {"at": "2026-01-01T18:00:00Z", "do": "add_card", "card": "5555 5555 5555 4444"},
        ]},
        [
            ("signup", [], [], "", "active", "trialing"),
            ("payment_fails", [], [], "", "active", "trialing"),
            ("add_card", ["INV-2026-000001 39.00+8.19=47.19"],
             ["INV-2026-000001#1 failed"], "", "active", "past_due"),
            ("add_card", [], ["INV-2026-000001#2 succeeded"], "", "active", "active"),
        ],
    ),
    # Annual, 2 seats from 1 Jan (780.00 + 163.80 = 943.80). On 1 Jul (184 days left):
    # agent 1 takes the 2nd seat (free); agent 2 needs a 3rd seat: 390 * 184 / 365 =
    # 196.6027 → 196.60 + 41.29 (41.286) = 237.89. Removing agent 2 and adding agent 3 on
    # 1 Aug re-uses the paid 3rd seat: nothing. Cancelling on 1 Sep: no refund, and no
    # renewal on 1 Jan 2027.
    "agents on an annual plan: no seat is paid twice; cancelling ends charges": (
        {"customer": LV, "events": [
            {"at": "2026-01-01T10:00:00Z", "do": "signup", "period": "annual", "seats": 2},
            {"do": "add_card"},
            {"at": "2026-07-01T10:00:00Z", "do": "add_agent"},
            {"do": "add_agent"},
            {"at": "2026-08-01T10:00:00Z", "do": "remove_agent"},
            {"do": "add_agent"},
            {"at": "2026-09-01T10:00:00Z", "do": "cancel"},
            {"at": "2027-02-01T10:00:00Z", "do": "advance"},
        ]},
        [
            ("signup", [], [], "", "active", "trialing"),
            ("add_card", ["INV-2026-000001 780.00+163.80=943.80"],
             ["INV-2026-000001#1 succeeded"], "", "active", "active"),
            ("add_agent", [], [], "", "active", "active"),
            ("add_agent", ["INV-2026-000002 196.60+41.29=237.89"],
             ["INV-2026-000002#1 succeeded"], "", "active", "active"),
            ("remove_agent", [], [], "", "active", "active"),
            ("add_agent", [], [], "", "active", "active"),
            ("cancel", [], [], "", "closed", "cancelled"),
            ("advance", [], [], "", "closed", "cancelled"),
        ],
    ),
    # A price change announced 1 Jan for 31 Jan (30 days' notice): the 1 Feb renewal is at
    # 45.00 (+ 9.45 VAT). One announced on 5 Jan for 20 Jan is refused.
    "a price change with 30 days' notice": (
        {"customer": LV, "events": [
            {"at": "2026-01-01T10:00:00Z", "do": "signup", "period": "monthly", "seats": 1},
            {"do": "add_card"},
            {"do": "schedule_price_change", "plan": "all-inclusive", "monthly": "45.00",
             "annual": "450.00", "effective": "2026-01-31"},
            {"at": "2026-01-05T10:00:00Z", "do": "schedule_price_change",
             "plan": "all-inclusive", "monthly": "49.00", "annual": "490.00",
             "effective": "2026-01-20"},
            {"at": "2026-02-01T10:00:00Z", "do": "advance"},
        ]},
        [
            ("signup", [], [], "", "active", "trialing"),
            ("add_card", ["INV-2026-000001 39.00+8.19=47.19"],
             ["INV-2026-000001#1 succeeded"], "", "active", "active"),
            ("schedule_price_change", [], [], "", "active", "active"),
            ("schedule_price_change", [], [],
             "A price change needs 30 days' notice: the earliest effective date is "
             "2026-02-04.", "active", "active"),
            ("jobs", ["INV-2026-000002 45.00+9.45=54.45"],
             ["INV-2026-000002#1 succeeded"], "", "active", "active"),
            ("advance", [], [], "", "active", "active"),
        ],
    ),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario(db, name):
    scenario, expected = SCENARIOS[name]
    assert summary(simulate(scenario)) == expected


def test_documents_carry_lines_with_periods_and_proration(db):
    scenario = SCENARIOS["annual seats added mid-period, then renewal"][0]
    proration = simulate(scenario)["documents"][1]
    assert proration["type"] == "invoice" and proration["currency"] == "USD"
    assert proration["issued_at"] == "2026-03-10T10:00:00Z"
    assert proration["lines"] == [{
        "description": "All-inclusive plan, additional agent seat, rest of the annual period",
        "quantity": 2, "unit_amount": "390.00", "proration": "301/365", "amount": "643.23",
        "period_start": "2026-03-10", "period_end": "2027-01-04",
    }]


def test_the_price_change_notice_is_mailed_to_the_owner(db):
    scenario = SCENARIOS["a price change with 30 days' notice"][0]
    entry = simulate(scenario)["events"][2]
    assert entry["emails"] == [{"to": ["owner@customer.test"],
                                "subject": "The price of the All-inclusive plan changes"}]


@pytest.mark.parametrize("event, message", [
    ({"do": "fly"}, "event 2 (fly): unknown event"),
    ({"do": "advance", "at": "2025-01-01T00:00:00Z"}, "events must be in time order"),
])
def test_scenarios_that_cannot_run_are_refused_up_front(event, message):
    scenario = {"events": [{"at": "2026-01-01T00:00:00Z", "do": "signup"}, event]}
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check(scenario)


def test_the_command_runs_on_a_throw_away_database(tmp_path):
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(SCENARIOS["no VAT outside the EU"][0]))
    env = {**os.environ, "SARUNA_VAR_DIR": str(tmp_path / "var")}
    done = subprocess.run([sys.executable, "-m", "saruna", "billing", "simulate", str(path)],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert summary(result) == SCENARIOS["no VAT outside the EU"][1]
    if "DATABASE_URL" not in os.environ:  # the installation's own database was not touched
        assert not (tmp_path / "var" / "saruna.sqlite3").exists()

    path.write_text(json.dumps({"events": [{"at": "2026-01-01T00:00:00Z", "do": "signup"},
                                           {"do": "fly"}]}))
    refused = subprocess.run([sys.executable, "-m", "saruna", "billing", "simulate", str(path)],
                             env=env, capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 1
    assert "event 2 (fly): unknown event" in refused.stderr
