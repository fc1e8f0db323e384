"""Owners and administrators manage forms at /settings/forms/; the page shows the snippet."""

from django_scopes import scope

from saruna.contactforms.models import ContactForm
from saruna.core.models import AuditEvent
from saruna.tickets.actions import save_department
from tests.contactforms.helpers import make_form
from tests.tenancy import host_client


def formset(*rows):
    data = {"q-TOTAL_FORMS": str(len(rows)), "q-INITIAL_FORMS": "0",
            "q-MIN_NUM_FORMS": "0", "q-MAX_NUM_FORMS": "30"}
    for index, row in enumerate(rows):
        data.update({f"q-{index}-{name}": value for name, value in row.items()})
    return data


def test_owner_creates_a_form_and_gets_the_snippet(account, owner):
    with scope(account=account):
        sales = save_department(account, name="Sales")
    client = host_client(account, owner)
    assert client.get("/settings/forms/new/").status_code == 200
    response = client.post("/settings/forms/new/", {
        "name": "Support", "department": sales.pk, "confirmation_text": "Thanks!",
        "ask_name": "on", "ask_subject": "on", "require_subject": "on",
        **formset({"label": "Order number", "type": "text", "required": "on"},
                  {"label": "Size", "type": "select", "choices": "S\nM\n\nL"},
                  {"label": "", "type": "text"}),
    })
    assert response.status_code == 302
    with scope(account=account):
        contact_form = ContactForm.objects.get()
        assert contact_form.department == sales
        assert [(f["key"], f["required"]) for f in contact_form.fields][:3] == [
            ("name", False), ("email", True), ("subject", True)]
        custom = contact_form.fields[3:5]
        assert [f["label"] for f in custom] == ["Order number", "Size"]
        assert custom[1]["choices"] == ["S", "M", "L"]
        assert contact_form.fields[-1]["key"] == "message"
        assert AuditEvent.objects.filter(verb="contactform.created").exists()

    page = client.get(response["Location"]).content.decode()
    form_id = contact_form.public_id
    assert (f"&lt;script src=&quot;http://acme.saruna.test/f/{form_id}/embed.js&quot; async"
            "&gt;&lt;/script&gt;") in page
    assert (f"&lt;form method=&quot;post&quot; action=&quot;http://acme.saruna.test/f/{form_id}"
            "/submit&quot;&gt;") in page
    assert f"http://acme.saruna.test/f/{form_id}/" in page

    # Editing keeps the questions' keys, so answers stay comparable over time.
    keys = [f["key"] for f in custom]
    client.post(f"/settings/forms/{form_id}/", {
        "name": "Support", "department": "", "confirmation_text": "",
        **formset({"key": keys[0], "label": "Order no.", "type": "text"},
                  {"key": keys[1], "label": "Size", "type": "select", "choices": "S",
                   "DELETE": "on"}),
    })
    with scope(account=account):
        contact_form.refresh_from_db()
    assert contact_form.department is None
    # Name and subject were unticked; the deleted question is gone.
    assert [(f["key"], f["label"]) for f in contact_form.fields] == [
        ("email", ""), (keys[0], "Order no."), ("message", "")]


def test_a_select_question_needs_choices(account, owner):
    response = host_client(account, owner).post("/settings/forms/new/", {
        "name": "Support", **formset({"label": "Size", "type": "select", "choices": ""})})
    assert response.status_code == 200
    assert "Give at least one choice." in response.content.decode()
    with scope(account=account):
        assert not ContactForm.objects.exists()


def test_deactivate_and_activate(account, owner):
    contact_form = make_form(account)
    client = host_client(account, owner)
    url = f"/settings/forms/{contact_form.public_id}/active/"
    assert client.post(url, {"active": "0"}).status_code == 302
    assert host_client(account).get(f"/f/{contact_form.public_id}/").status_code == 404
    assert "Deactivated" in client.get("/settings/forms/").content.decode()
    client.post(url, {"active": "1"})
    assert host_client(account).get(f"/f/{contact_form.public_id}/").status_code == 200
    with scope(account=account):
        verbs = set(AuditEvent.objects.values_list("verb", flat=True))
    assert {"contactform.deactivated", "contactform.activated"} <= verbs


def test_agents_and_strangers_cannot_manage_forms(account, agent):
    contact_form = make_form(account)
    for path in ("/settings/forms/", "/settings/forms/new/",
                 f"/settings/forms/{contact_form.public_id}/"):
        assert host_client(account, agent).get(path).status_code == 403
        assert host_client(account).get(path).status_code == 302
    assert host_client(account, agent).post(
        f"/settings/forms/{contact_form.public_id}/active/", {"active": "0"}).status_code == 403


def test_forms_of_account_a_are_not_found_on_b(two_tenants):
    contact_form = make_form(two_tenants.a)
    two_tenants.assert_isolated(f"/settings/forms/{contact_form.public_id}/")
    assert two_tenants.a.name not in two_tenants.client_b().get("/settings/forms/").content.decode()
