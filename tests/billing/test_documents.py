"""Invoices and credit notes: gapless numbers per series and year, immutable once final (in
the model and in the database), and a PDF with what an EU invoice needs."""

import datetime
import io

import pytest
from django.db import DatabaseError, connection, transaction
from pypdf import PdfReader

from saruna.billing import actions, documents, pdf
from saruna.billing.documents import LineDraft
from saruna.billing.models import BillingDocument, DocumentLine, FinalisedDocumentError
from tests.billing.conftest import invoices


def line(cents=1000):
    return LineDraft(item=DocumentLine.Item.PLAN, description="Seat", quantity=1,
                     unit_cents=cents)


def test_numbers_run_per_series_and_start_again_each_year(customer, clock):
    first = documents.issue_invoice(customer, [line()], currency="USD")
    second = documents.issue_invoice(customer, [line()], currency="USD")
    note, reissued = documents.reissue_with_new_details(second)
    clock.move_to(datetime.datetime(2027, 1, 1, 0, 0, 1, tzinfo=datetime.UTC))
    next_year = documents.issue_invoice(customer, [line()], currency="USD")
    assert [first.number, second.number, note.number, reissued.number, next_year.number] == [
        "INV-2026-000001", "INV-2026-000002", "CN-2026-000001", "INV-2026-000003",
        "INV-2027-000001",
    ]


def test_the_year_and_date_follow_the_sellers_time_zone(customer, clock, settings):
    settings.SARUNA_SELLER_TIME_ZONE = "Europe/Riga"
    clock.move_to(datetime.datetime(2026, 12, 31, 22, 30, tzinfo=datetime.UTC))  # 00:30 in Riga
    invoice = documents.issue_invoice(customer, [line()], currency="USD")
    assert invoice.number == "INV-2027-000001"
    assert invoice.issue_date == datetime.date(2027, 1, 1)


def test_a_rolled_back_finalisation_gives_its_number_back(customer):
    with pytest.raises(RuntimeError), transaction.atomic():
        documents.issue_invoice(customer, [line()], currency="USD")
        raise RuntimeError("the charge step failed")
    assert documents.issue_invoice(customer, [line()], currency="USD").number == (
        "INV-2026-000001")


def test_a_finalised_document_refuses_changes_in_the_model(customer):
    invoice = documents.issue_invoice(customer, [line()], currency="USD")
    invoice.total_cents = 1
    with pytest.raises(FinalisedDocumentError):
        invoice.save()
    with pytest.raises(FinalisedDocumentError):
        invoice.delete()
    with pytest.raises(FinalisedDocumentError):
        BillingDocument.objects.filter(pk=invoice.pk).update(total_cents=1)
    with pytest.raises(FinalisedDocumentError):
        BillingDocument.objects.filter(pk=invoice.pk).delete()
    first_line = invoice.lines.get()
    first_line.amount_cents = 1
    with pytest.raises(FinalisedDocumentError):
        first_line.save()
    with pytest.raises(FinalisedDocumentError):
        DocumentLine(account=customer, document=invoice, position=2, item="plan",
                     description="more", quantity=1, unit_cents=1, amount_cents=1).save()


@pytest.mark.parametrize("statement", [
    "UPDATE billing_billingdocument SET total_cents = 1 WHERE id = %s",
    "DELETE FROM billing_billingdocument WHERE id = %s",
    "UPDATE billing_documentline SET amount_cents = 1 WHERE document_id = %s",
    "DELETE FROM billing_documentline WHERE document_id = %s",
    "INSERT INTO billing_documentline (account_id, document_id, position, item, description,"
    " quantity, unit_cents, amount_cents) SELECT account_id, id, 9, 'plan', 'x', 1, 1, 1"
    " FROM billing_billingdocument WHERE id = %s",
])
def test_the_database_refuses_changes_to_a_finalised_document(customer, statement):
    invoice = documents.issue_invoice(customer, [line(1234)], currency="USD")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [invoice.pk])
    invoice = BillingDocument.objects.get(pk=invoice.pk)
    # $12.34 + 21 % VAT ($2.59) = $14.93, one line: as it was issued.
    assert invoice.total_cents == 1493
    assert list(invoice.lines.values_list("amount_cents", flat=True)) == [1234]


def test_a_draft_can_still_be_written(customer):
    draft = BillingDocument.objects.create(
        account=customer, kind="invoice", currency="USD", seller={}, buyer={},
        vat_treatment="standard", vat_rate=21, subtotal_cents=0, tax_cents=0, total_cents=0,
    )
    with connection.cursor() as cursor:
        cursor.execute("UPDATE billing_billingdocument SET total_cents = 5 WHERE id = %s",
                       [draft.pk])
    draft.delete()


def pdf_text(document):
    """The PDF's words with their line breaks as spaces (table cells wrap)."""
    pages = PdfReader(io.BytesIO(pdf.render(document))).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def test_the_invoice_pdf_has_what_an_eu_invoice_needs(paying, settings):
    settings.SARUNA_SELLER_NAME = "Saruna SIA"
    settings.SARUNA_SELLER_ADDRESS = ["Rūpniecības iela 5", "Rīga, LV-1045"]
    settings.SARUNA_SELLER_VAT_ID = "LV40003245752"
    settings.SARUNA_SELLER_REGISTRATION_NUMBER = "40003245752"
    account = paying(cycle="annual", seats=3)
    text = pdf_text(invoices(account)[0])
    for expected in (
        "Invoice INV-2026-000001", "Date of issue: 2026-01-01",
        "Saruna SIA", "Rūpniecības iela 5", "VAT number: LV40003245752",
        "Acme SIA", "Līga Ozola", "Brīvības iela 1", "Rīga, LV-1010",
        "All-inclusive plan, agent seat, annual", "2026-01-01 to 2026-12-31",
        "390.00 USD", "1,170.00 USD", "Taxable amount", "VAT 21% (LV)", "245.70 USD",
        "Total", "1,415.70 USD",
    ):
        assert expected in text, expected


def test_the_credit_note_and_the_reissued_invoice_name_the_original(paying, committed):
    account = paying(cycle="monthly", seats=1)
    committed(actions.correct_billing_details, account, company="Acme Baltic SIA")
    note = BillingDocument.objects.get(kind=BillingDocument.Kind.CREDIT_NOTE)
    text = pdf_text(note)
    assert "Credit note CN-2026-000001" in text
    assert "Cancels invoice INV-2026-000001" in text
    reissued = invoices(account)[-1]
    assert "Replaces invoice INV-2026-000001" in pdf_text(reissued)
    assert "Acme Baltic SIA" in pdf_text(reissued)
