"""The customer portal on an account's host: a ticket by its secret link, and, after a
magic-link login, all of one contact's tickets. The contact lives in the session under
``portal_contact_id``, apart from any agent login."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html, linebreaks
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from saruna.contacts.models import Contact
from saruna.core import ratelimit
from saruna.portal import login as magic
from saruna.portal.forms import LoginForm, ReplyForm
from saruna.tickets import files
from saruna.tickets.actions import SYSTEM_GROUP_TYPES, ActionError, add_customer_message
from saruna.tickets.html import sanitize_html
from saruna.tickets.models import (
    Message,
    MessageFormat,
    MessageGroup,
    MessageType,
    Status,
    StoredFile,
    Ticket,
    Visibility,
)
from saruna.tickets.queries import conversation

LOGIN_LIMIT = "10/h"  # per visitor address
LOGIN_EMAIL_LIMIT = "3/h"  # per e-mail address: nobody's inbox gets flooded
REPLY_LIMIT = "30/h"
HIDDEN_STATUSES = (Status.DELETED, Status.SPAM)
TOO_MANY = gettext_lazy("Too many attempts. Please try again later.")


def portal_contact(request: HttpRequest) -> Contact | None:
    contact_id = request.session.get(magic.SESSION_KEY)
    if contact_id is None:
        return None
    return Contact.objects.filter(pk=contact_id, merged_into__isnull=True).first()


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    contact = portal_contact(request)
    if contact is None:
        return redirect("portal_login")
    tickets = (
        Ticket.objects.filter(owner=contact).exclude(status__in=HIDDEN_STATUSES)
        .order_by("-last_activity_public", "-pk")
    )
    return render(request, "portal/home.html", {"portal_contact": contact, "tickets": tickets})


@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        account = request.account  # type: ignore[attr-defined]
        email = form.cleaned_data["email"].lower()
        client = ratelimit.client_key(request)
        if ratelimit.hit(f"{account.pk}:portal-login:{client}", LOGIN_LIMIT) and ratelimit.hit(
            f"{account.pk}:portal-login-email:{email}", LOGIN_EMAIL_LIMIT
        ):
            magic.send_login_link(account, email)
            # The same page whether or not the address is a customer's.
            return render(request, "portal/login_sent.html", {"email": email})
        form.add_error(None, TOO_MANY)
        status = 429
    return render(request, "portal/login.html", {"form": form}, status=status)


def _link_refused(request: HttpRequest, problem: magic.LinkProblem | None) -> HttpResponse:
    if problem is magic.LinkProblem.FOREIGN or problem is None:
        raise Http404
    message = (gettext("This login link was used already.") if problem is magic.LinkProblem.USED
               else gettext("This login link has expired."))
    return render(request, "portal/link_invalid.html", {"message": message}, status=410)


@require_http_methods(["GET", "POST"])
def login_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET only shows a button: mail scanners that open links must not spend them."""
    account = request.account  # type: ignore[attr-defined]
    if request.method == "GET":
        contact, problem = magic.check(account, token)
        if contact is None:
            return _link_refused(request, problem)
        return render(request, "portal/login_confirm.html")
    contact, problem = magic.redeem(account, token)
    if contact is None:
        return _link_refused(request, problem)
    if not request.user.is_authenticated:
        # A fresh session id (no fixation); an agent's tracked session keeps its id.
        request.session.cycle_key()
    request.session[magic.SESSION_KEY] = contact.pk
    return redirect("portal_home")


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    request.session.pop(magic.SESSION_KEY, None)
    messages.success(request, gettext("You are logged out of the portal."))
    return redirect("portal_login")


def _body_html(message: Message) -> SafeString:
    """Messages are sanitised when written; HTML is cleaned again here so the portal never
    depends on every writer having done it."""
    if message.format == MessageFormat.HTML:
        return mark_safe(sanitize_html(message.body))
    return mark_safe(linebreaks(message.body, autoescape=True))


def _shown_groups(ticket: Ticket) -> QuerySet[MessageGroup]:
    """The groups the portal shows (their messages: the public ones only); what a customer
    may download is decided by the same rule."""
    return conversation(ticket, public_only=True).exclude(type__in=SYSTEM_GROUP_TYPES)


def _file_link(ticket: Ticket, message: Message) -> str:
    """A file message's name (escaped by the template), or a link to download the file;
    a file message whose file is gone shows the name only."""
    stored = next(iter(message.files.all()), None)
    if stored is None:
        return message.text
    url = reverse("portal_file", kwargs={
        "urlcode": ticket.public_access_urlcode, "file_id": stored.public_id,
    })
    return format_html('<a href="{}">{}</a>', url, message.text)


def _groups(ticket: Ticket) -> list[dict[str, Any]]:
    result = []
    for group in _shown_groups(ticket):
        parts: list[dict[str, Any]] = []
        for message in group.messages.all():
            if message.format == MessageFormat.JSON:
                parts.append({"file": _file_link(ticket, message)})
            else:
                parts.append({"html": _body_html(message),
                              "quoted": message.type == MessageType.QUOTED_TEXT})
        if parts:
            result.append({"author": group.author_name, "date": group.datecreated,
                           "mine": group.author_contact_id == ticket.owner_id,
                           "parts": parts})
    return result


def _ticket_for_link(urlcode: str) -> Ticket:
    """The ticket a portal link opens, for anyone holding the link: a merged ticket's link
    opens the ticket it was merged into (when that one is shown); deleted, spam and unknown
    tickets are not found. Callers redirect when the answer has another link."""
    found = Ticket.objects.select_related("owner", "account").filter(
        public_access_urlcode=urlcode
    ).first()
    if found is None:
        raise Http404
    if found.merged_into_id is not None:
        target = Ticket.objects.select_related("owner", "account").filter(
            pk=found.merged_into_id
        ).first()
        if target is not None and target.status not in HIDDEN_STATUSES:
            return target
    if found.status in HIDDEN_STATUSES:
        raise Http404
    return found


@require_GET
def ticket_file(request: HttpRequest, urlcode: str, file_id: str) -> HttpResponseBase:
    """A file attached to a message the ticket's page shows, always as a download; any other
    file (an internal note's, another ticket's, a missing one) is not found."""
    found = _ticket_for_link(urlcode)
    if found.public_access_urlcode != urlcode:
        return redirect("portal_file", urlcode=found.public_access_urlcode, file_id=file_id)
    stored = StoredFile.objects.filter(
        public_id=file_id,
        message__visibility=Visibility.PUBLIC,
        message__group__in=_shown_groups(found).values("pk"),
    ).first()
    if stored is None:
        raise Http404
    return files.file_response(stored, inline=False)


@require_http_methods(["GET", "POST"])
def ticket(request: HttpRequest, urlcode: str) -> HttpResponse:
    found = _ticket_for_link(urlcode)
    if found.public_access_urlcode != urlcode:
        return redirect("portal_ticket", urlcode=found.public_access_urlcode)
    owner = found.owner
    form = ReplyForm(request.POST or None) if owner is not None else None
    if request.method == "POST":
        if form is None or owner is None:
            raise Http404
        if form.is_valid():
            key = f"{found.account_id}:portal-reply:{ratelimit.client_key(request)}"
            if not ratelimit.hit(key, REPLY_LIMIT):
                form.add_error(None, TOO_MANY)
            else:
                try:
                    add_customer_message(found, owner, form.cleaned_data["body"])
                except ActionError as error:
                    form.add_error("body", error.message)
                else:
                    messages.success(request, gettext("Your reply was sent."))
                    return redirect("portal_ticket", urlcode=urlcode)
    return render(request, "portal/ticket.html", {
        "ticket": found, "groups": _groups(found), "form": form,
        "portal_contact": portal_contact(request),
    }, status=400 if form is not None and form.errors else 200)
