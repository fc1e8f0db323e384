"""Settings → Webhooks (owners and admins): destinations, their secrets, a test ping, and
the delivery log with "Send again". Views read; the actions write."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from saruna.accounts.models import User
from saruna.contacts.common import ActionError
from saruna.webhooks import actions
from saruna.webhooks.forms import WebhookForm
from saruna.webhooks.models import Delivery, Event, Webhook

LOG_PAGE_SIZE = 50


def _manager(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not user.can_manage_account:
        raise PermissionDenied
    return user


def _webhook(request: HttpRequest, webhook_id: str) -> tuple[User, Webhook]:
    user = _manager(request)
    return user, get_object_or_404(Webhook, public_id=webhook_id)


@login_required
def webhook_list(request: HttpRequest) -> HttpResponse:
    _manager(request)
    return render(request, "webhooks/list.html", {
        "webhooks": Webhook.objects.all(), "event_names": dict(Event.choices),
    })


@login_required
@require_http_methods(["GET", "POST"])
def webhook_new(request: HttpRequest) -> HttpResponse:
    user = _manager(request)
    form = WebhookForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            webhook = actions.create_webhook(
                request.account, actor=user, **form.cleaned_data)  # type: ignore[attr-defined]
        except ActionError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Webhook added. Copy its secret to verify signatures."))
            return redirect("webhook_edit", webhook_id=webhook.public_id)
    return render(request, "webhooks/form.html", {"form": form, "webhook": None})


@login_required
@require_http_methods(["GET", "POST"])
def webhook_edit(request: HttpRequest, webhook_id: str) -> HttpResponse:
    user, webhook = _webhook(request, webhook_id)
    form = WebhookForm(request.POST if request.method == "POST" else None, instance=webhook)
    if form.is_valid():
        try:
            actions.update_webhook(webhook, actor=user, **form.cleaned_data)
        except ActionError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Saved."))
            return redirect("webhook_edit", webhook_id=webhook.public_id)
    return render(request, "webhooks/form.html", {
        "form": form, "webhook": webhook,
        "deliveries": webhook.deliveries.all()[:10],
    })


@login_required
@require_http_methods(["GET", "POST"])
def webhook_delete(request: HttpRequest, webhook_id: str) -> HttpResponse:
    user, webhook = _webhook(request, webhook_id)
    if request.method == "POST":
        actions.delete_webhook(webhook, actor=user)
        messages.success(request, _("Deleted."))
        return redirect("webhook_list")
    return render(request, "webhooks/delete.html", {"webhook": webhook})


@login_required
@require_POST
def webhook_secret(request: HttpRequest, webhook_id: str) -> HttpResponse:
    user, webhook = _webhook(request, webhook_id)
    actions.new_webhook_secret(webhook, actor=user)
    messages.success(request, _("A new secret is set; the old one no longer signs events."))
    return redirect("webhook_edit", webhook_id=webhook.public_id)


@login_required
@require_POST
def webhook_test(request: HttpRequest, webhook_id: str) -> HttpResponse:
    _user, webhook = _webhook(request, webhook_id)
    delivery = actions.send_test(webhook)
    delivered = delivery.status == Delivery.Status.SENT
    (messages.success if delivered else messages.error)(request, actions.test_outcome(delivery))
    return redirect("webhook_log", webhook_id=webhook.public_id)


@login_required
def webhook_log(request: HttpRequest, webhook_id: str) -> HttpResponse:
    _user, webhook = _webhook(request, webhook_id)
    page = Paginator(webhook.deliveries.all(), LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "webhooks/log.html", {"webhook": webhook, "page": page})


@login_required
@require_POST
def delivery_resend(request: HttpRequest, webhook_id: str, delivery_id: str) -> HttpResponse:
    user, webhook = _webhook(request, webhook_id)
    original = get_object_or_404(webhook.deliveries, public_id=delivery_id)
    try:
        actions.redeliver(original, actor=user)
    except ActionError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Queued to be sent again."))
    return redirect("webhook_log", webhook_id=webhook.public_id)
