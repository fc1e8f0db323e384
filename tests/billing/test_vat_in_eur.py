"""VAT stated in euros on documents in other currencies (Art. 230 of the VAT directive): the
ECB's rate files, the rate of a day, the snapshot on the document, its PDF line, the daily
fetch (a local server; never the internet) and the command."""

import datetime
import io
import logging
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from saruna.billing import actions, documents, fx
from saruna.billing.documents import LineDraft
from saruna.billing.models import DocumentLine, ExchangeRate
from saruna.billing.simulator import simulate
from tests.billing.conftest import invoices
from tests.billing.test_documents import pdf_text

ECB_XML = (Path(__file__).parent / "ecb_rates.xml").read_bytes()
D = datetime.date


@pytest.fixture
def rates(db):
    fx.load_ecb_xml(ECB_XML)


def test_the_ecb_file_is_read_with_its_namespaces(db):
    assert fx.parse_ecb_xml(ECB_XML) == [
        ("USD", D(2026, 1, 5), Decimal("1.0900")), ("JPY", D(2026, 1, 5), Decimal("162.10")),
        ("USD", D(2025, 12, 30), Decimal("1.0812")), ("JPY", D(2025, 12, 30), Decimal("161.53")),
    ]
    assert fx.load_ecb_xml(ECB_XML) == 4
    assert fx.load_ecb_xml(ECB_XML) == 4  # loading again replaces, never duplicates
    assert ExchangeRate.objects.count() == 4


@pytest.mark.parametrize("data", [
    b"not xml", b"<Envelope><Cube/></Envelope>",
    b'<Cube><Cube time="2026-01-05"><Cube currency="USD"/></Cube></Cube>',
])
def test_other_files_are_refused(data):
    with pytest.raises(fx.RatesFileError):
        fx.parse_ecb_xml(data)


def test_a_day_without_a_rate_takes_the_latest_earlier_one(rates):
    assert fx.rate_on("USD", D(2025, 12, 30)).rate == Decimal("1.0812")
    # No rates on New Year's Day or the weekend after: 30 December's rate still applies.
    assert fx.rate_on("usd", D(2026, 1, 4)).date == D(2025, 12, 30)
    assert fx.rate_on("USD", D(2026, 1, 5)).rate == Decimal("1.0900")
    assert fx.rate_on("USD", D(2025, 12, 29)) is None
    assert fx.rate_on("GBP", D(2026, 1, 5)) is None


def test_a_usd_invoice_with_latvian_vat_states_it_in_euros(rates, paying):
    account = paying(cycle="annual", seats=3)
    invoice = invoices(account)[0]
    # 3 x $390.00 = $1,170.00; 21 % LV VAT = $245.70. Issued 1 January 2026, when the latest
    # rate is 30 December's 1.0812 USD per EUR: 245.70 / 1.0812 = 227.2475… → €227.25.
    assert (invoice.currency, invoice.tax_cents) == ("USD", 24570)
    assert invoice.vat_eur_cents == 22725
    assert (invoice.eur_rate, invoice.eur_rate_date) == (Decimal("1.0812"), D(2025, 12, 30))
    assert "VAT in EUR: 227.25 EUR (ECB rate 1.0812 of 2025-12-30)" in pdf_text(invoice)


def test_a_credit_note_states_the_euros_of_the_invoice_it_cancels(rates, paying, committed,
                                                                  clock):
    account = paying(cycle="annual", seats=3)
    clock.move_to("2026-01-06T10:00:00Z")  # a newer rate (1.0900) is known by now
    correction = committed(actions.correct_billing_details, account, company="Acme Baltic SIA")
    assert correction.credit_note.vat_eur_cents == 22725
    assert correction.credit_note.eur_rate == Decimal("1.0812")
    # The re-issued invoice is a new document of its own day: 245.70 / 1.09 = 225.4128… → 225.41
    assert correction.invoice.vat_eur_cents == 22541
    assert correction.invoice.eur_rate_date == D(2026, 1, 5)


def _issue(account, currency):
    line = LineDraft(item=DocumentLine.Item.PLAN, description="Plan", quantity=1,
                     unit_cents=10000)
    return documents.issue_invoice(account, [line], currency=currency)


def test_a_eur_invoice_states_nothing_more(rates, customer):
    invoice = _issue(customer, "EUR")
    assert invoice.tax_cents == 2100
    assert (invoice.vat_eur_cents, invoice.eur_rate, invoice.eur_rate_date) == (None, None, None)
    assert "VAT in EUR" not in pdf_text(invoice)


def test_an_invoice_without_vat_states_nothing_more(rates, customer):
    actions.update_billing_details(customer, country="US")
    invoice = _issue(customer, "USD")
    assert invoice.tax_cents == 0 and invoice.vat_eur_cents is None


def test_without_a_known_rate_the_invoice_is_issued_without_it(customer, caplog):
    with caplog.at_level(logging.WARNING, logger="saruna.billing.documents"):
        invoice = _issue(customer, "USD")
    assert invoice.is_finalised and invoice.tax_cents == 2100
    assert invoice.vat_eur_cents is None and invoice.eur_rate is None
    assert "No ECB rate for USD" in caplog.text
    assert "VAT in EUR" not in pdf_text(invoice)


class RatesServer(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/eurofxref-hist-90d.xml":
            self.send_error(500)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.end_headers()
        self.wfile.write(ECB_XML)

    def log_message(self, *args):
        pass


@pytest.fixture
def rates_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), RatesServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_the_daily_task_loads_the_configured_file(db, rates_server):
    from saruna.billing.tasks import fetch_exchange_rates

    with override_settings(SARUNA_ECB_RATES_URL=f"{rates_server}/eurofxref-hist-90d.xml"):
        fetch_exchange_rates.call_local()
    assert ExchangeRate.objects.count() == 4


def test_a_failed_fetch_is_logged_and_never_raises(db, rates_server, caplog):
    with override_settings(SARUNA_ECB_RATES_URL=f"{rates_server}/gone.xml"), \
            caplog.at_level(logging.WARNING, logger="saruna.billing.fx"):
        assert fx.fetch_rates() is None
    assert "ECB rates not loaded" in caplog.text
    assert not ExchangeRate.objects.exists()


def test_the_fetch_has_a_timeout_and_an_empty_url_is_never_fetched(db):
    asked = []

    def opener(url, timeout):
        asked.append((url, timeout))
        return io.BytesIO(ECB_XML)

    assert fx.fetch_rates(opener) is None  # tests run with the URL empty
    with override_settings(SARUNA_ECB_RATES_URL="https://rates.test/daily.xml"):
        assert fx.fetch_rates(opener) == 4
    assert asked == [("https://rates.test/daily.xml", fx.FETCH_TIMEOUT)]


def test_the_command_loads_a_file(db, tmp_path):
    out = io.StringIO()
    call_command("billing", "rates", str(Path(__file__).parent / "ecb_rates.xml"), stdout=out)
    assert "4 rates loaded" in out.getvalue()
    broken = tmp_path / "broken.xml"
    broken.write_text("<html/>")
    with pytest.raises(CommandError, match="Cannot load"):
        call_command("billing", "rates", str(broken))


def test_the_simulator_shows_the_euro_vat(db):
    result = simulate({
        "ecb_rates": {"2025-12-30": {"USD": "1.0812"}},
        "customer": {"country": "LV", "currency": "USD"},
        "events": [
            {"at": "2026-01-01T10:00:00Z", "do": "signup", "period": "annual", "seats": 3},
            {"do": "add_card"},
        ],
    })
    invoice = result["documents"][0]
    assert (invoice["tax"], invoice["vat_eur"]) == ("245.70", "227.25")
    assert (invoice["eur_rate"], invoice["eur_rate_date"]) == ("1.0812", "2025-12-30")
