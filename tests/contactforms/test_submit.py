"""A visitor sends a contact form: hosted page, fallback form and the embed script's JSON."""

import json
import re

import pytest
from django.core import mail
from django_scopes import scope

from saruna.contactforms import views
from saruna.contacts.actions import create_contact
from saruna.contacts.models import Contact
from saruna.tickets.models import ChannelType, Ticket
from tests.contactforms.helpers import answers, make_form
from tests.tenancy import host_client

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture(autouse=True)
def _no_wait(settings):
    settings.SARUNA_SIGNUP_MIN_SECONDS = 0


def counts(account):
    with scope(account=account):
        return Contact.objects.count(), Ticket.objects.count()


def test_submission_opens_a_ticket_and_confirms_by_mail(
    account, django_capture_on_commit_callbacks
):
    contact_form = make_form(account)
    client = host_client(account)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/f/{contact_form.public_id}/submit",
                               answers(client, contact_form))
    assert response.status_code == 302
    assert response["Location"] == f"/f/{contact_form.public_id}/thanks/"
    assert "we answer within a day" in client.get(response["Location"]).content.decode()

    with scope(account=account):
        ticket = Ticket.objects.get()
        assert ticket.channel_type == ChannelType.CONTACT_FORM
        assert ticket.department.name == "Sales"
        assert ticket.subject == "Billing question"
        assert ticket.custom_fields == {"plan": "Pro"}
        assert ticket.owner.primary_email == "ann@example.com"
        assert ticket.owner.system_name == "Ann Visitor"
        text = ticket.groups.get().messages.get().text
    assert text.startswith("Why was I charged twice?")
    assert "Plan: Pro" in text and "Newsletter: Yes" in text

    [sent] = mail.outbox
    assert sent.to == ["ann@example.com"]
    assert ticket.code in sent.subject and ticket.code in sent.body
    assert f"http://acme.saruna.test/portal/t/{ticket.public_access_urlcode}/" in sent.body
    assert "http://acme.saruna.test/portal/\n" in sent.body
    assert "we answer within a day" in sent.body


def test_an_existing_contact_is_reused(account, scoped):
    existing = create_contact(account, firstname="Ann", emails=["Ann@Example.com"])
    contact_form = make_form(account)
    client = host_client(account)
    client.post(f"/f/{contact_form.public_id}/submit",
                answers(client, contact_form, email="ann@example.com", name="Someone Else"))
    assert Contact.objects.get() == existing
    assert Ticket.objects.get().owner == existing
    assert Contact.objects.get().firstname == "Ann"


def test_missing_and_bad_fields_show_errors_and_create_nothing(account):
    contact_form = make_form(account)
    client = host_client(account)
    response = client.post(f"/f/{contact_form.public_id}/submit",
                           answers(client, contact_form, email="not-an-address", message="",
                                   q_plan=""))
    assert response.status_code == 400
    page = response.content.decode()
    prefix = f"cf-{contact_form.public_id}"
    for name in ("email", "message", "q_plan"):
        # The error list is named by the field it belongs to.
        assert f'aria-describedby="{prefix}-{name}-errors"' in page
        assert f'id="{prefix}-{name}-errors"' in page
    assert "Enter a valid email address." in page
    assert "Ann Visitor" in page  # what was typed stays
    assert counts(account) == (0, 0)
    assert mail.outbox == []

    response = client.post(f"/f/{contact_form.public_id}/submit",
                           answers(client, contact_form, message=""), **JSON)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"message"}
    assert counts(account) == (0, 0)


def test_honeypot_too_fast_and_rate_limit_create_nothing(account, settings, monkeypatch):
    contact_form = make_form(account)
    client = host_client(account)
    url = f"/f/{contact_form.public_id}/submit"

    response = client.post(url, answers(client, contact_form, website="http://spam.test"))
    assert response.status_code == 400
    assert "We could not accept this form" in response.content.decode()

    settings.SARUNA_SIGNUP_MIN_SECONDS = 60
    response = client.post(url, answers(client, contact_form), **JSON)
    assert response.status_code == 400
    assert response.json()["started"]  # a fresh stamp for the script to try again with
    assert counts(account) == (0, 0)

    settings.SARUNA_SIGNUP_MIN_SECONDS = 0
    # The two bot-like posts above counted: two more fill the limit of four.
    monkeypatch.setattr(views, "SUBMIT_LIMIT", "4/h")
    client.post(url, answers(client, contact_form))
    client.post(url, answers(client, contact_form))
    response = client.post(url, answers(client, contact_form))
    assert response.status_code == 429
    assert "Too many messages" in response.content.decode()
    response = client.post(url, answers(client, contact_form), **JSON)
    assert response.status_code == 429
    assert counts(account)[1] == 2


def test_the_script_endpoint_allows_any_origin_without_credentials(account):
    contact_form = make_form(account)
    client = host_client(account)
    url = f"/f/{contact_form.public_id}/submit"

    preflight = client.options(url, HTTP_ORIGIN="https://shop.example",
                               HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight["Access-Control-Allow-Methods"]

    response = client.post(url, answers(client, contact_form), HTTP_ORIGIN="https://shop.example",
                           **JSON)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response
    body = response.json()
    assert body["message"] == "Thanks, we answer within a day."
    with scope(account=account):
        assert body["code"] == Ticket.objects.get().code

    # Only the submit endpoint is open to other origins.
    assert "Access-Control-Allow-Origin" not in client.get(f"/f/{contact_form.public_id}/")


def test_embed_script_is_small_javascript_with_the_form_inside(account):
    contact_form = make_form(account)
    with scope(account=account):
        contact_form.fields[4]["label"] = "</script><img src=x onerror=alert(1)>"
        contact_form.save()
    response = host_client(account).get(f"/f/{contact_form.public_id}/embed.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    script = response.content.decode()
    assert len(response.content) < 8000
    assert f'"action": "http://acme.saruna.test/f/{contact_form.public_id}/submit"' in script
    assert "attachShadow" in script and 'credentials: "omit"' in script
    assert "<img" not in script and "\\u003C/script\\u003E" in script
    config = json.loads(script[script.rindex("})(") + 3:script.rindex(");")])
    assert [f["key"] for f in config["fields"]] == [
        "name", "email", "subject", "q_plan", "q_news", "message"]
    assert config["started"]


def test_hosted_page_is_a_plain_html_form(account):
    contact_form = make_form(account)
    page = host_client(account).get(f"/f/{contact_form.public_id}/").content.decode()
    assert f'<form method="post" action="/f/{contact_form.public_id}/submit">' in page
    prefix = f"cf-{contact_form.public_id}"
    for key, label in (("name", "Your name"), ("email", "Your e-mail"), ("q_plan", "Plan"),
                       ("q_news", "Newsletter"), ("message", "Message")):
        assert f'<label for="{prefix}-{key}">{label}' in page
    assert 'class="hp-field" aria-hidden="true"' in page


def test_fallback_form_without_stamp_comes_back_once_then_works(account):
    """The pasted plain form cannot carry a fresh stamp: its first send returns the page
    with the answers kept and a stamp, and sending that works."""
    contact_form = make_form(account)
    client = host_client(account)
    url = f"/f/{contact_form.public_id}/submit"
    first = client.post(url, answers(client, contact_form, started=None))
    assert first.status_code == 400
    page = first.content.decode()
    assert "Why was I charged twice?" in page
    assert counts(account) == (0, 0)
    started = re.search(r'name="started" value="([^"]+)"', page).group(1)
    second = client.post(url, answers(client, contact_form, started=started))
    assert second.status_code == 302
    assert counts(account) == (1, 1)


def test_inactive_or_unknown_forms_are_not_found(account, scoped):
    contact_form = make_form(account, is_active=False)
    client = host_client(account)
    for path in ("", "embed.js", "thanks/"):
        assert client.get(f"/f/{contact_form.public_id}/{path}").status_code == 404
        assert client.get(f"/f/nosuchid/{path}").status_code == 404
    assert client.post(f"/f/{contact_form.public_id}/submit", {
        "email": "x@example.com", "message": "hi", "q_plan": "Pro"}).status_code == 404
    response = client.post(f"/f/{contact_form.public_id}/submit", {}, **JSON)
    assert response.status_code == 404
    assert response["Access-Control-Allow-Origin"] == "*"
    assert Ticket.objects.count() == 0


def test_a_form_of_account_a_is_not_found_on_b(two_tenants):
    contact_form = make_form(two_tenants.a)
    client = host_client(two_tenants.b)
    for path in ("", "embed.js", "thanks/"):
        assert client.get(f"/f/{contact_form.public_id}/{path}").status_code == 404
    response = client.post(f"/f/{contact_form.public_id}/submit", {
        "email": "x@example.com", "message": "hi", "q_plan": "Pro"})
    assert response.status_code == 404
    assert counts(two_tenants.a) == (0, 0) and counts(two_tenants.b) == (0, 0)
