"""Walks every URL of an account's host as tenant B's owner, pointed at tenant A's objects
and links. A route that takes an id must answer 404 exactly like a missing object; a route
that takes a signed link must refuse A's link on B's host; no page may show A's data.

A route that takes a secret in a header must refuse A's secret on B's host like a wrong one.

A new route with a parameter fails here until it is added to OBJECT_ROUTES, LINK_ROUTES or
TOKEN_ROUTES.

The REST API (``/api/v3/``) is left out: it answers a session with 401 whatever the path, so
walking it as B's logged-in owner would prove nothing. It gets its own two-tenant checks with
each tenant's API key: tests/api/test_isolation.py and the schemathesis run in
tests/api/test_schemathesis.py (no object of A readable or writable with B's key).
"""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_scopes import scope, scopes_disabled

from saruna.accounts import actions, signup, support
from saruna.accounts.models import Invitation, SharingFinding, User, UserSession
from saruna.contacts.models import Contact
from saruna.core.models import Account
from saruna.mail.models import InboundMail, Mailbox, OutgoingMail
from saruna.tickets.models import Department
from tests.chat import alpha as chat_alpha
from tests.factories import make_user
from tests.portal import alpha as portal_alpha
from tests.visitors import alpha as visitors_alpha

TENANT_URLCONF = "saruna.urls_tenant"
API_PREFIX = "api/v3/"


def tenant_routes():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if route.startswith(API_PREFIX):
                continue
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                yield pattern.name, pattern.pattern.converters

    return list(walk(get_resolver(TENANT_URLCONF).url_patterns))


class AlphaObjects:
    """One of each kind of thing tenant A owns that a URL can name."""

    def __init__(self, pair):
        a = pair.a
        self.pair = pair
        with scope(account=a):
            self.invitation = Invitation.objects.create(
                account=a, email="new@alpha.test", invited_by=pair.owner_a,
                expires_at=timezone.now() + timedelta(days=7),
            )
            self.session = UserSession.objects.create(
                account=a, user=pair.agent_a, session_key="alpha-session", device="d",
            )
            self.finding = SharingFinding.objects.create(
                account=a, user=pair.agent_a, kind=SharingFinding.Kind.IMPOSSIBLE_TRAVEL,
            )
        with scopes_disabled():
            Account.objects.filter(pk=a.pk).update(status=Account.Status.UNVERIFIED)
            a.refresh_from_db()
            staff = make_user(None, "staff@provider.test")
            grant = support.grant_support_access(
                staff, a, reason="Walking every route", duration=timedelta(hours=1)
            )
        self.support_token = support.entry_url(grant).rstrip("/").rsplit("/", 1)[-1]


def alpha_desk(o):
    """Tenant A's contact, company and help desk settings, made on first use; the settings
    attributes are the public ids the settings URLs take."""
    if not hasattr(o, "desk"):
        from saruna.contacts import actions as contacts
        from saruna.sla.actions import save_sla_level
        from saruna.tickets import actions as tickets

        a = o.pair.a
        with scope(account=a):
            company = contacts.create_company(a, name="Alpha Ltd")
            o.desk = SimpleNamespace(
                company=company,
                contact=contacts.create_contact(a, firstname="Alpha", company=company),
                contact_group=contacts.save_contact_group(a, name="Alpha VIP").public_id,
                settings_department=tickets.save_department(a, name="Alpha sales").public_id,
                settings_tag=tickets.save_tag(a, name="Alpha tag").public_id,
                settings_canned=tickets.save_canned_message(
                    a, messagetext="Alpha hello").public_id,
                settings_answer=tickets.save_predefined_answer(
                    a, name="Alpha answer", body="Hi").public_id,
                settings_custom_field=contacts.save_custom_field(
                    a, target="contact", code="alpha", name="Alpha field").public_id,
                settings_sla=save_sla_level(a, name="Alpha SLA", first_answer=60).public_id,
            )
    return o.desk


# The list/create/edit/delete pages of saruna.tickets.settings_views.Kind: <kind>_edit/_delete.
DESK_KINDS = ("contact_group", "settings_department", "settings_tag", "settings_canned",
              "settings_answer", "settings_custom_field", "settings_sla")


def desk_id(kind):
    return lambda o: {"object_id": getattr(alpha_desk(o), kind)}


def alpha_inbox(o):
    """Tenant A's ticket with an attached file, made on first use (inbox routes)."""
    if not hasattr(o, "inbox"):
        from saruna.contacts import actions as contacts
        from saruna.tickets import actions as tickets
        from saruna.tickets.saved_filters import save_saved_filter

        a = o.pair.a
        with scope(account=a):
            owner = contacts.create_contact(a, firstname="Alpha", emails=["c@alpha.test"])
            ticket = tickets.open_ticket(a, "Alpha ticket", "Hello", owner)
            stored = tickets.store_file(a, "alpha.txt", b"Alpha file")
            tickets.attach_file(ticket.groups.get(), stored)
            saved = save_saved_filter(a, name="Alpha view", is_public=True)
        o.inbox = SimpleNamespace(ticket=ticket.public_id, file=stored.public_id,
                                  saved_filter=saved.public_id)
    return o.inbox


def alpha_mail(o):
    """Tenant A's mailbox, a mail that failed to process and one that could not be sent,
    made on first use (mail settings routes)."""
    if not hasattr(o, "mail"):
        a = o.pair.a
        with scope(account=a):
            mailbox = Mailbox.objects.create(account=a, name="Alpha mail", email="in@alpha.test")
            inbound = InboundMail.objects.create(
                account=a, mailbox=mailbox, source="smtp", raw=b"Subject: Alpha\r\n\r\nHi",
                sha256="0" * 64, size=21, state=InboundMail.State.FAILED, error="Alpha broke")
            outgoing = OutgoingMail.objects.create(
                account=a, message_id="<alpha@alpha.test>", from_email="in@alpha.test",
                subject="Alpha reply", status=OutgoingMail.Status.DEAD)
        o.mail = SimpleNamespace(mailbox=mailbox.public_id, inbound=inbound.pk,
                                 outgoing=outgoing.pk, upload_token=mailbox.upload_token)
    return o.mail


def alpha_invoice(o):
    """Tenant A's invoice number, made on first use ("My account" routes)."""
    if not hasattr(o, "invoice"):
        from saruna.billing import documents
        from saruna.billing.documents import LineDraft

        a = o.pair.a
        with scope(account=a):
            o.invoice = documents.issue_invoice(a, [LineDraft(
                item="plan", description="Alpha seat", quantity=1, unit_cents=3900,
            )], currency="USD").number
    return o.invoice


def alpha_integrations(o):
    """Tenant A's webhook with one logged delivery, and its API key, made on first use
    (Settings → Webhooks and API keys routes)."""
    if not hasattr(o, "integrations"):
        from saruna.api.actions import create_api_key
        from saruna.webhooks import actions as webhooks

        a = o.pair.a
        with scope(account=a):
            hook = webhooks.create_webhook(a, url="https://93.184.215.14/alpha",
                                           events=["ticket.created"], description="Alpha hook")
            (delivery,) = webhooks.emit(a, "ticket.created", {"note": "Alpha event"})
            key, _secret = create_api_key(a, name="Alpha key", created_by=o.pair.owner_a)
        o.integrations = SimpleNamespace(
            webhook=hook.public_id, delivery=delivery.public_id, key=key.pk)
    return o.integrations


OBJECT_ROUTES = {
    "resend_invitation": lambda o: {"invitation_id": o.invitation.pk},
    "revoke_invitation": lambda o: {"invitation_id": o.invitation.pk},
    "user_detail": lambda o: {"user_id": o.pair.agent_a.pk},
    "change_role": lambda o: {"user_id": o.pair.agent_a.pk},
    "deactivate_user": lambda o: {"user_id": o.pair.agent_a.pk},
    "reactivate_user": lambda o: {"user_id": o.pair.agent_a.pk},
    "transfer_ownership": lambda o: {"user_id": o.pair.agent_a.pk},
    "session_end": lambda o: {"pk": o.session.pk},
    "sharing_dismiss": lambda o: {"pk": o.finding.pk},
    **{name: lambda o: {"ticket_id": alpha_inbox(o).ticket} for name in (
        "ticket_detail", "ticket_row", "ticket_reply", "ticket_assign", "ticket_department",
        "ticket_tags", "ticket_status", "ticket_merge", "ticket_split")},
    "ticket_answer": lambda o: {"ticket_id": alpha_inbox(o).ticket,
                                "answer_id": alpha_desk(o).settings_answer},
    **{name: lambda o: {"file_id": alpha_inbox(o).file} for name in (
        "file_view", "file_download")},
    "inbox_delete_view": lambda o: {"filter_id": alpha_inbox(o).saved_filter},
    "contactform_edit": portal_alpha.form_id,
    "contactform_set_active": portal_alpha.form_id,
    "contactform_page": portal_alpha.form_id,
    "contactform_embed": portal_alpha.form_id,
    "contactform_submit": portal_alpha.form_id,
    "contactform_thanks": portal_alpha.form_id,
    **{name: lambda o: {"contact_id": alpha_desk(o).contact.public_id} for name in (
        "contact_detail", "contact_edit", "contact_merge", "contact_delete")},
    **{name: lambda o: {"company_id": alpha_desk(o).company.public_id} for name in (
        "company_edit", "company_delete")},
    **{f"{kind}_{verb}": desk_id(kind) for kind in DESK_KINDS for verb in ("edit", "delete")},
    **{name: lambda o: {"object_id": alpha_mail(o).mailbox} for name in (
        "settings_mailbox_edit", "settings_mailbox_delete", "settings_mailbox_test",
        "settings_mailbox_token")},
    **{name: lambda o: {"inbound_id": alpha_mail(o).inbound} for name in (
        "mail_inbound_replay", "mail_inbound_download")},
    "mail_outgoing_retry": lambda o: {"outgoing_id": alpha_mail(o).outgoing},
    "billing_document_pdf": lambda o: {"number": alpha_invoice(o)},
    **{name: chat_alpha.button_id for name in (
        "chat_widget_config", "chat_widget_start", "chat_widget_offline")},
    **{name: chat_alpha.chat_id for name in (
        "chat_widget_messages", "chat_widget_poll", "chat_widget_upload", "chat_widget_typing",
        "chat_widget_read", "chat_widget_end", "chat_widget_rating", "chat_widget_transcript",
        "chat_agent_messages", "chat_agent_upload")},
    **{name: chat_alpha.button_id for name in (
        "chat_widget_page", "chat_button_edit", "chat_button_delete")},
    "chat_visitor_panel": chat_alpha.chat_id,
    **{name: lambda o: {"webhook_id": alpha_integrations(o).webhook} for name in (
        "webhook_edit", "webhook_delete", "webhook_secret", "webhook_test", "webhook_log")},
    "webhook_resend": lambda o: {"webhook_id": alpha_integrations(o).webhook,
                                 "delivery_id": alpha_integrations(o).delivery},
    "apikey_revoke": lambda o: {"key_id": alpha_integrations(o).key},
    "visitor_invite": visitors_alpha.visitor_id,
    "widget_invitation_decline": visitors_alpha.invitation_id,
    "visitor_rule_delete": visitors_alpha.rule_id,
}

LINK_ROUTES = {
    "accept_invitation": lambda o: {"token": actions.invitation_token(o.invitation)},
    "password_reset_confirm": lambda o: {
        "uidb64": urlsafe_base64_encode(force_bytes(o.pair.agent_a.pk)),
        "token": default_token_generator.make_token(o.pair.agent_a),
    },
    "verify_email": lambda o: {"token": signup.verification_token(o.pair.a, "owner@alpha.test")},
    "support_enter": lambda o: {"token": o.support_token},
    "portal_ticket": portal_alpha.ticket_link,
    "portal_file": portal_alpha.ticket_file,
    "portal_login_link": portal_alpha.login_link,
    "chat_widget_file": chat_alpha.file_link,
}

# name → (URL kwargs, the secret sent as "Authorization: Bearer …").
TOKEN_ROUTES = {
    "mail_inbound_upload": lambda o: ({"mailbox_id": alpha_mail(o).mailbox},
                                      alpha_mail(o).upload_token),
}

ALPHA_MARKS = ("Alpha", "owner@alpha.test", "agent@alpha.test", "new@alpha.test")


def assert_shows_nothing_of_alpha(response, route):
    assert response.status_code < 500, f"{route}: {response.status_code}"
    body = response.content.decode(errors="replace")
    leaked = [mark for mark in ALPHA_MARKS if mark in body]
    assert leaked == [], f"{route} showed {leaked} to tenant B"


def test_every_route_with_a_parameter_is_walked():
    parametrised = {name for name, converters in tenant_routes() if converters}
    unknown = parametrised - set(OBJECT_ROUTES) - set(LINK_ROUTES) - set(TOKEN_ROUTES)
    assert unknown == set(), f"add these routes to the isolation walk: {sorted(unknown)}"


@pytest.mark.django_db
def test_tenant_b_reaches_nothing_of_tenant_a(two_tenants):
    alpha = AlphaObjects(two_tenants)
    for name, converters in tenant_routes():
        if not converters:
            continue
        headers = {}
        if name in TOKEN_ROUTES:
            kwargs, token = TOKEN_ROUTES[name](alpha)
            headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        else:
            kwargs = (OBJECT_ROUTES.get(name) or LINK_ROUTES[name])(alpha)
        path = reverse(name, urlconf=TENANT_URLCONF, kwargs=kwargs)
        for method in ("get", "post"):
            response = getattr(two_tenants.client_b(), method)(path, **headers)
            if name in TOKEN_ROUTES:
                assert response.status_code in (401, 405), (
                    f"{method} {path}: {response.status_code}")
            elif name in OBJECT_ROUTES:
                assert response.status_code in (404, 405), (
                    f"{method} {path}: {response.status_code}")
            else:
                assert response.status_code in (302, 400, 403, 404, 405, 410), (
                    f"{method} {path}: {response.status_code}")
            assert_shows_nothing_of_alpha(response, f"{method} {path}")

    # Nothing of A changed: its invitation, agent, session, finding and verification stand.
    with scope(account=two_tenants.a):
        assert Invitation.objects.get().is_open
        agent = User.objects.get(pk=two_tenants.agent_a.pk)
        assert agent.is_active and agent.role == "agent" and agent.check_password(
            "correct horse battery staple")
        assert UserSession.objects.get(pk=alpha.session.pk).ended_at is None
        assert SharingFinding.objects.get().status == SharingFinding.Status.OPEN
        assert Contact.objects.filter(public_id=alpha.desk.contact.public_id).exists()
        assert Department.objects.filter(public_id=alpha.desk.settings_department).exists()
        mailbox = Mailbox.objects.get(public_id=alpha.mail.mailbox)
        assert mailbox.upload_token == alpha.mail.upload_token
        assert not InboundMail.objects.filter(source=InboundMail.Source.API).exists()
    with scopes_disabled():
        assert Account.objects.get(pk=two_tenants.a.pk).status == Account.Status.UNVERIFIED


@pytest.mark.django_db
def test_pages_without_parameters_show_tenant_b_nothing_of_a(two_tenants):
    alpha_desk(AlphaObjects(two_tenants))
    client = two_tenants.client_b()
    for name, converters in tenant_routes():
        if converters or name in {"logout", "support_leave"}:
            continue
        path = reverse(name, urlconf=TENANT_URLCONF)
        assert_shows_nothing_of_alpha(client.get(path), f"get {path}")
