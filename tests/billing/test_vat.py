"""EU VAT: checksums, VIES (a local fake server; tests never reach the real one), and the
rate each kind of customer gets."""

import datetime
import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from saruna.billing import actions, vat
from saruna.billing.models import BillingProfile
from tests.billing.conftest import invoices

D = datetime.date
VALID_LV = "LV40003245752"
VALID_EE = "EE100931558"
VALID_DE = "DE136695976"


class FakeVies(BaseHTTPRequestHandler):
    """Answers ``GET /ms/<prefix>/vat/<number>`` with VIES's JSON shapes."""

    registered = {"EE100931558": True, "DE136695976": False}

    def do_GET(self):
        _, _ms, prefix, _vat, number = self.path.split("/")
        known = self.registered.get(prefix + number)
        if prefix == "DE" and known is None:
            answer = {"isValid": False, "userError": "MS_UNAVAILABLE"}
        elif known is None:
            answer = {"isValid": False, "userError": "INVALID"}
        else:
            answer = {"isValid": known, "userError": "VALID" if known else "INVALID"}
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def vies_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeVies)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_checksum_error_is_invalid_without_asking_vies():
    check = vat.check_vat_number("LV 4000 3245 753")
    assert (check.number, check.status) == ("LV40003245753", vat.INVALID)
    assert vat.check_vat_number("US123456789").status == vat.INVALID


def test_vies_answers_valid_and_invalid(vies_url):
    service = vat.ViesService(vies_url)
    assert vat.check_vat_number(VALID_EE, vies=service).status == vat.VALID
    refused = vat.check_vat_number("EL094259216", vies=service)
    assert (refused.country, refused.status) == ("GR", vat.INVALID)


def test_an_unreachable_or_busy_vies_is_not_verified_yet_never_invalid(vies_url):
    # A member state's register being down: VIES says isValid=false with MS_UNAVAILABLE.
    busy = vat.check_vat_number("DE129273398", vies=vat.ViesService(vies_url))
    assert busy.status == vat.UNVERIFIED
    closed = vat.ViesService("http://127.0.0.1:9", timeout=1)  # nothing listens there
    assert vat.check_vat_number(VALID_LV, vies=closed).status == vat.UNVERIFIED
    assert vat.check_vat_number(VALID_LV).status == vat.UNVERIFIED  # no VIES in tests


def test_the_rate_table_is_dated():
    assert vat.standard_rate("EE", D(2025, 6, 30)) == Decimal("22")
    assert vat.standard_rate("EE", D(2025, 7, 1)) == Decimal("24")
    assert vat.standard_rate("FI", D(2024, 9, 1)) == Decimal("25.5")
    assert vat.standard_rate("LV", D(2026, 1, 1)) == Decimal("21")


@pytest.mark.parametrize("country, number, status, expected", [
    # A business in another EU country with a good number: reverse charge.
    ("EE", VALID_EE, vat.VALID, (vat.REVERSE_CHARGE, "0", "")),
    ("EE", VALID_EE, vat.UNVERIFIED, (vat.REVERSE_CHARGE, "0", "")),
    # The seller's own country, with or without a number: Latvian VAT.
    ("LV", VALID_LV, vat.VALID, (vat.STANDARD, "21", "LV")),
    # An EU consumer: their country's rate.
    ("EE", "", "", (vat.STANDARD, "24", "EE")),
    ("DE", "", "", (vat.STANDARD, "19", "DE")),
    # Outside the EU: no VAT.
    ("US", "", "", (vat.OUTSIDE_EU, "0", "")),
    # Not known yet: the seller's rate.
    ("", "", "", (vat.STANDARD, "21", "LV")),
])
def test_who_pays_which_rate(country, number, status, expected):
    treatment = vat.treatment(buyer_country=country, vat_number=number, vat_status=status,
                              on=D(2026, 1, 1))
    assert (treatment.kind, treatment.rate, treatment.country) == (
        expected[0], Decimal(expected[1]), expected[2])
    if treatment.kind == vat.REVERSE_CHARGE:
        assert "Reverse charge" in treatment.note and "Article 196" in treatment.note


def test_a_vat_number_added_later_applies_from_the_next_invoice(paying, clock, committed,
                                                               settings):
    settings.SARUNA_SELLER_VAT_ID = VALID_LV
    account = paying(cycle="monthly", seats=1)
    committed(actions.update_billing_details, account, country="EE", vat_number=VALID_EE)
    first, = invoices(account)
    assert (first.vat_treatment, first.tax_cents) == (vat.STANDARD, 819)  # LV 21 % of $39
    clock.move_to(datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC))
    committed(actions.run_due_jobs)
    second = invoices(account)[-1]
    assert (second.vat_treatment, second.vat_rate, second.tax_cents) == (
        vat.REVERSE_CHARGE, 0, 0)
    assert second.seller["vat_number"] == VALID_LV and second.buyer["vat_number"] == VALID_EE
    assert "Reverse charge" in second.vat_note
    # And the first invoice kept its VAT: no refund.
    assert invoices(account)[0].tax_cents == 819


def test_a_number_vies_refuses_is_not_saved(vies_url, customer, settings):
    with pytest.raises(actions.BillingError, match="not a registered VAT number"):
        actions.update_billing_details(customer, vat_number=VALID_DE,
                                       vies=vat.ViesService(vies_url))
    assert BillingProfile.objects.get(account=customer).vat_number == ""


def test_numbers_vies_could_not_confirm_are_asked_again(vies_url, customer, clock):
    actions.update_billing_details(customer, country="EE", vat_number=VALID_EE)
    profile = BillingProfile.objects.get(account=customer)
    assert profile.vat_status == vat.UNVERIFIED
    service = vat.ViesService(vies_url)
    actions.recheck_vat_numbers(vies=service)  # too soon: not asked yet
    assert BillingProfile.objects.get(account=customer).vat_status == vat.UNVERIFIED
    clock.shift(datetime.timedelta(hours=6))
    actions.recheck_vat_numbers(vies=service)
    assert BillingProfile.objects.get(account=customer).vat_status == vat.VALID


def test_a_number_vies_later_refuses_pays_vat_from_the_next_invoice(vies_url, paying, clock,
                                                                    committed):
    account = paying(cycle="monthly", seats=1)
    committed(actions.update_billing_details, account, country="DE", vat_number=VALID_DE)
    clock.shift(datetime.timedelta(days=1))
    actions.recheck_vat_numbers(vies=vat.ViesService(vies_url))  # the fake says: invalid
    assert BillingProfile.objects.get(account=account).vat_status == vat.INVALID
    clock.move_to(datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC))
    committed(actions.run_due_jobs)
    # A German consumer now: 19 % of $39.00 = $7.41.
    assert invoices(account)[-1].tax_cents == 741
