"""The e-mail channel's settings screens, for owners and administrators: mailboxes (the shared
list/create/edit/delete pages of the help desk settings, plus "Test connection") and mail
problems — inbound mail that failed to process and outgoing mail that failed for good."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from saruna.accounts.decorators import manager_required
from saruna.contacts.common import delete_record
from saruna.mail import imap, ingest, sending
from saruna.mail.actions import save_mailbox
from saruna.mail.forms import CONNECTION_FIELDS, MailboxForm
from saruna.mail.models import InboundMail, Mailbox, OutgoingMail
from saruna.tickets.files import SANDBOX_POLICY, disposition_header
from saruna.tickets.settings_views import Kind

# The newest problems shown; older ones wait until these are dealt with.
PROBLEMS_SHOWN = 100


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
