"""The e-mail channel's settings screens, for owners and administrators: mailboxes (the shared
list/create/edit/delete pages of the help desk settings, plus "Test connection" and the upload
token) and mail problems — inbound mail that failed to process and outgoing mail that failed
for good. Also the raw upload of a mail by the account's own mail system."""

from __future__ import annotations

import hmac
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from saruna.accounts.decorators import manager_required
from saruna.contacts.common import delete_record
from saruna.core import ratelimit
from saruna.mail import imap, ingest, sending
from saruna.mail.actions import save_mailbox
from saruna.mail.forms import CONNECTION_FIELDS, MailboxForm
from saruna.mail.models import InboundMail, Mailbox, OutgoingMail
from saruna.mail.receive import MailTooLarge, store_inbound
from saruna.tickets.files import SANDBOX_POLICY, disposition_header
from saruna.tickets.settings_views import Kind

# The newest problems shown; older ones wait until these are dealt with.
PROBLEMS_SHOWN = 100
# Uploads per mailbox: far above a busy desk's mail, low enough to stop a runaway loop.
UPLOAD_LIMIT = "600/m"


MAILBOXES = Kind(
    name="settings_mailbox", model=Mailbox, form=MailboxForm,
    save=save_mailbox, delete=delete_record,
    title=gettext_lazy("Mailboxes"), noun=gettext_lazy("mailbox"),
    table="mail/settings/_mailboxes.html", form_template="mail/settings/mailbox_form.html",
    objects=lambda user: Mailbox.objects.select_related("department"),
    form_kwargs=lambda request: {"account": request.account},  # type: ignore[attr-defined]
)


def _connection_error(server: str, values: dict[str, Any]) -> str | None:
    if server == "imap":
        return imap.test_connection(
            values["imap_host"], values["imap_port"], values["imap_security"],
            values["imap_username"], values["imap_password"], values["imap_folder"],
        )
    return sending.test_smtp(
        values["smtp_host"], values["smtp_port"], values["smtp_security"],
        values["smtp_username"], values["smtp_password"],
    )


@manager_required
@require_POST
def mailbox_test(request: HttpRequest, object_id: str | None = None) -> HttpResponse:
    """Tries the IMAP or SMTP server (``server``) with the form's values as typed; answers
    the fragment "Test connection" shows, "Connected." or the problem in plain words."""
    mailbox = get_object_or_404(Mailbox, public_id=object_id) if object_id else None
    server = request.POST.get("server", "")
    if server not in CONNECTION_FIELDS:
        return HttpResponseBadRequest()
    form = MailboxForm(request.POST, user=request.user, instance=mailbox,  # type: ignore[arg-type]
                       account=request.account)  # type: ignore[attr-defined]
    values, problems = form.connection_values(server)
    error = " ".join(problems) if problems else _connection_error(server, values)
    return render(request, "mail/settings/_test_result.html", {"error": error})


@manager_required
@require_POST
def mailbox_new_token(request: HttpRequest, object_id: str) -> HttpResponse:
    mailbox = get_object_or_404(Mailbox, public_id=object_id)
    mailbox.rotate_upload_token()
    messages.success(request, gettext("New upload token made. The old one no longer works."))
    return redirect("settings_mailbox_edit", object_id=mailbox.public_id)


def _upload_answer(message: str, status: int) -> JsonResponse:
    response = JsonResponse({"message": message}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="mail"'
    return response


def _upload_mailbox(request: HttpRequest, mailbox_id: str) -> Mailbox | None:
    """The mailbox whose token the request carries; None for a wrong or missing token, an
    unknown id or another account's mailbox alike (the account's scope hides those)."""
    mailbox = Mailbox.objects.filter(public_id=mailbox_id).first()
    scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
    expected = mailbox.upload_token if mailbox else ""
    valid = hmac.compare_digest(token.strip().encode(), expected.encode())
    return mailbox if mailbox and scheme.lower() == "bearer" and valid else None


@csrf_exempt
def inbound_upload(request: HttpRequest, mailbox_id: str) -> HttpResponse:
    """A raw mail as the request body, from the account's own mail system (a pipe from its
    MTA, a script): stored first like SMTP mail, processed after the commit. The bearer
    token, not a session, is the proof; no cookie-borne identity is used, so no CSRF."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    mailbox = _upload_mailbox(request, mailbox_id)
    if mailbox is None:
        return _upload_answer(gettext("The upload token is missing or wrong."), 401)
    if not mailbox.is_active:
        return _upload_answer(gettext("This mailbox is turned off."), 403)
    # Counted only once the token is right, so strangers cannot use up a mailbox's limit.
    if not ratelimit.hit(f"mail-upload:{mailbox.pk}", UPLOAD_LIMIT):
        return _upload_answer(gettext("Too many uploads. Try again in a minute."), 429)
    too_large = gettext("The mail is larger than this service accepts.")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > settings.SARUNA_MAIL_MAX_BYTES:
        return _upload_answer(too_large, 413)  # refused before reading the body
    # read(), not .body: .body stops at DATA_UPLOAD_MAX_MEMORY_SIZE, far below a mail's limit.
    raw = request.read(settings.SARUNA_MAIL_MAX_BYTES + 1)
    if not raw:
        return _upload_answer(gettext("The request has no mail in its body."), 400)
    try:
        mail = store_inbound(
            request.account, raw, source=InboundMail.Source.API,  # type: ignore[attr-defined]
            mailbox=mailbox, envelope_from=request.GET.get("from", ""),
            envelope_to=request.GET.getlist("to"),
        )
    except MailTooLarge:
        return _upload_answer(too_large, 413)
    return JsonResponse({"id": mail.pk, "state": mail.state}, status=202)


@manager_required
@require_GET
def mail_problems(request: HttpRequest) -> HttpResponse:
    failed = InboundMail.objects.filter(state=InboundMail.State.FAILED).defer("raw")
    dead = OutgoingMail.objects.filter(status=OutgoingMail.Status.DEAD)
    user = request.user
    return render(request, "mail/settings/problems.html", {
        "failed": failed[:PROBLEMS_SHOWN], "failed_count": failed.count(),
        "dead": dead[:PROBLEMS_SHOWN], "dead_count": dead.count(),
        "shown": PROBLEMS_SHOWN,
        "display_tz": user.time_zone or request.account.time_zone or "UTC",  # type: ignore[union-attr,attr-defined]
    })


@manager_required
@require_POST
def inbound_replay(request: HttpRequest, inbound_id: int) -> HttpResponse:
    # Looked up in this account's scope first: replay itself finds a mail in any account.
    inbound = get_object_or_404(InboundMail.objects.defer("raw"), pk=inbound_id)
    outcome = ingest.replay(inbound.pk)
    inbound.refresh_from_db(fields=["state"])
    failed_again = inbound.state == InboundMail.State.FAILED
    (messages.error if failed_again else messages.success)(request, outcome)
    return redirect("mail_problems")


@manager_required
@require_GET
def inbound_download(request: HttpRequest, inbound_id: int) -> HttpResponse:
    """The mail exactly as it arrived, as a file for a mail program (never shown inline)."""
    inbound = get_object_or_404(InboundMail, pk=inbound_id)
    response = HttpResponse(bytes(inbound.raw), content_type="message/rfc822")
    response["Content-Disposition"] = disposition_header(
        f"mail-{inbound.pk}.eml", "message/rfc822", inline=False
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX_POLICY
    return response


@manager_required
@require_POST
def outgoing_retry(request: HttpRequest, outgoing_id: int) -> HttpResponse:
    outgoing = get_object_or_404(OutgoingMail, pk=outgoing_id)
    if outgoing.status != OutgoingMail.Status.DEAD:
        messages.info(request, gettext("This mail is no longer waiting for another try."))
        return redirect("mail_problems")
    sending.retry(outgoing.pk)
    messages.success(request, gettext("The mail will be sent again in a moment."))
    return redirect("mail_problems")
