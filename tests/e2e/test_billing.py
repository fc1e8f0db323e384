"""Billing tried as a new user would (issue 8, "Done means"), in a real browser: start a trial,
add a card (offline gateway), see the invoice and the receipt e-mail, add two agent seats on
an annual plan and see the prorated charge, correct the company name 10 days after that
invoice and get a credit note and a re-issued invoice, try 16 days after it and be refused.

The clock: the live server is a thread of this test process (tests/servers.py), so
time-machine moves the server's clock with the test's. The walk starts on 2 March 2027 with a
ticking clock and jumps forward between steps; the browser keeps its own clock, which only
decides cookie lifetimes (Max-Age, unaffected)."""

import datetime
import importlib
import re
import time

import pytest
import time_machine
from django.core import mail
from django.db import OperationalError, connection

from tests.billing.test_lifetime_codes import restore_the_catalogue
from tests.e2e.conftest import screenshot

START = datetime.datetime(2027, 3, 2, 9, 0, tzinfo=datetime.UTC)
PASSWORD = "a sturdy pass phrase 42"


@pytest.fixture
def invoices_cleared_before_the_flush(transactional_db):
    """The database refuses to delete finalised invoices (migration 0002's triggers), and on
    SQLite the flush after a browser test deletes row by row: remove the billing documents
    with the triggers lifted for a moment, then put the triggers back. (PostgreSQL flushes
    with TRUNCATE, which its row triggers do not see.)"""
    yield
    if connection.vendor != "sqlite":
        return
    immutable = importlib.import_module("saruna.billing.migrations.0002_immutable_documents")
    with connection.cursor() as cursor:
        for sql in immutable.SQLITE_REVERSE:
            _while_locked(cursor.execute, sql)
        for table in ("billing_prepaidcredit", "billing_refund", "billing_payment",
                      "billing_documentline", "billing_billingdocument"):
            cursor.execute(f"DELETE FROM {table}")
        for sql in immutable.SQLITE:
            _while_locked(cursor.execute, sql)


def _while_locked(execute, sql: str, seconds: float = 10) -> None:
    """Runs a schema change, again while another connection of the shared in-memory
    database (one of the live server's threads, finishing a request or a socket's last
    write) holds it locked: shared cache refuses at once instead of waiting. A refused DROP
    TRIGGER left the invoices in place, and every later flush of the worker failed."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            execute(sql)
            return
        except OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_a_schema_change_refused_while_the_database_is_locked_is_tried_again():
    refusals = [OperationalError("database table is locked: sqlite_master")] * 2
    ran: list[str] = []

    def execute(sql: str) -> None:
        if refusals:
            raise refusals.pop()
        ran.append(sql)

    _while_locked(execute, "DROP TRIGGER billing_document_immutable")
    assert ran == ["DROP TRIGGER billing_document_immutable"] and not refusals

    def broken(sql: str) -> None:
        raise OperationalError("no such trigger")

    with pytest.raises(OperationalError, match="no such trigger"):
        _while_locked(broken, "DROP TRIGGER gone")


def words(page):
    """The page's text, messages included, as one line."""
    return " ".join(page.locator("body").inner_text().split())


def log_in(page, server):
    page.goto(server.url("acme", "/login/"))
    page.get_by_label("E-mail").fill("anna@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(server.url("acme", "/"))


def test_trial_card_invoice_seats_and_corrections(asgi_server, new_page, settings,
                                                  invoices_cleared_before_the_flush):
    settings.SARUNA_SIGNUP_MIN_SECONDS = 0
    restore_the_catalogue()
    with time_machine.travel(START, tick=True) as clock:
        page = new_page(viewport={"width": 1280, "height": 1000})
        page.goto(asgi_server.url(path="/signup/"))
        page.get_by_label("Full name").fill("Anna Bērziņa")
        page.get_by_label("E-mail").fill("anna@acme.test")
        page.get_by_label("Company or organisation").fill("Acme Ltd.")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_label("I am 18 or older").check()
        page.get_by_label("I accept the Terms of Service").check()
        page.get_by_role("button", name="Create my account").click()
        page.get_by_text("acme.localhost").first.wait_for()
        page.goto(re.search(r"http://acme\.localhost:\d+/verify/\S+", mail.outbox[-1].body)[0])
        page.wait_for_url(asgi_server.url("acme", "/"))

        # The trial: nothing to pay for 14 days.
        page.get_by_role("link", name="My account").click()
        assert "All-inclusive · Trial" in words(page)
        assert "Free until 2027-03-16 09:00" in words(page)
        page.get_by_label("Billing period:").select_option("annual")
        page.get_by_role("button", name="Save the subscription").click()
        page.get_by_text("Subscription updated.").wait_for()
        page.get_by_label("Company:", exact=True).fill("Acme Ltd.")
        page.get_by_label("Country:").fill("LV")
        page.get_by_role("button", name="Save for the next invoice").click()
        page.get_by_text("Billing details saved.").wait_for()

        # A card ends the trial: the first year is invoiced and paid at once,
        # 390.00 + 21 % VAT 81.90 = 471.90, and the receipt comes by e-mail with the PDF.
        page.get_by_label("Card number:").fill("4242 4242 4242 4242")
        page.get_by_role("button", name="Add the payment method").click()
        page.get_by_text("Test card •••• 4242 is now the payment method.").wait_for()
        screenshot(page, "my-account")
        invoice_row = page.get_by_role("row", name=re.compile("INV-2027-000001")).first
        assert "471.90 USD" in invoice_row.inner_text()
        assert "Paid" in page.get_by_role("row", name=re.compile("Test card")).inner_text()
        with page.expect_download() as download:
            invoice_row.get_by_role("link", name="INV-2027-000001").click()
        assert download.value.suggested_filename == "INV-2027-000001.pdf"
        receipt = mail.outbox[-1]
        assert receipt.subject == "Receipt for invoice INV-2027-000001"
        assert receipt.to == ["anna@acme.test"]
        assert [name for name, _content, _type in receipt.attachments] == [
            "INV-2027-000001.pdf"]

        # The next day, two more agent seats on the annual plan: 365 of the period's 366
        # days are left (2 Mar 2027 - 1 Mar 2028 has 29 Feb), so
        # 2 * 390.00 * 365 / 366 = 777.8689 → 777.87 + 21 % VAT 163.3527 → 163.35 = 941.22.
        clock.move_to(START + datetime.timedelta(days=1))
        page.goto(asgi_server.url("acme", "/account/"))
        page.get_by_label("Agent seats:").fill("3")
        page.get_by_role("button", name="Save the subscription").click()
        page.get_by_text("Subscription updated.").wait_for()
        assert "3 paid, 1 in use" in words(page)
        assert "941.22 USD" in page.get_by_role(
            "row", name=re.compile("INV-2027-000002")).first.inner_text()

        # Ten days after that invoice: the company name is corrected on it.
        clock.move_to(START + datetime.timedelta(days=11))
        page.goto(asgi_server.url("acme", "/account/"))
        assert "Until 2027-03-18 you can correct invoice INV-2027-000002" in words(page)
        page.get_by_label("Company:", exact=True).fill("Acme Baltic SIA")
        page.get_by_role("button", name="Save and correct invoice INV-2027-000002").click()
        page.get_by_text("credit note CN-2027-000001 cancels the invoice").wait_for()
        assert "INV-2027-000003 replaces it with the new details" in words(page)
        assert "cancels INV-2027-000002" in page.get_by_role(
            "row", name=re.compile("CN-2027-000001")).inner_text()
        assert "941.22 USD" in page.get_by_role(
            "row", name=re.compile("INV-2027-000003")).first.inner_text()
        screenshot(page, "my-account-correction")

        # Sixteen days after it: too late. (The login of day 0 has expired by then.)
        clock.move_to(START + datetime.timedelta(days=17))
        log_in(page, asgi_server)
        page.get_by_role("link", name="My account").click()
        refusal = ("Invoice INV-2027-000003 was issued more than 15 days ago, so it can no "
                   "longer be corrected. The new details apply from the next invoice.")
        assert refusal in words(page)
        assert page.get_by_role("button", name=re.compile("Save and correct")).count() == 0
        page.get_by_label("Company:", exact=True).fill("Acme Nordic SIA")
        page.get_by_role("button", name="Save for the next invoice").click()
        page.get_by_text("They apply from the next invoice.").wait_for()
        assert page.get_by_role("row", name=re.compile("CN-2027-000002")).count() == 0
