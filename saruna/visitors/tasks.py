"""Background jobs: writing tracking beats, the retention sweep and Google Analytics 4
Measurement Protocol events."""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django_scopes import scope, scopes_disabled
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from saruna.core.models import Account
from saruna.core.tenancy import in_account
from saruna.visitors import actions, tracking
from saruna.visitors.config import tracking_settings
from saruna.visitors.models import Conversion, Invitation

logger = logging.getLogger(__name__)


@db_task()
def write_tracked_beats(beats: list[tracking.Beat]) -> None:
    """A web process's batch of beats (its flusher hands one over per interval). Not retried:
    a batch that failed half-way would store its page visits twice."""
    tracking.write_beats(beats)


@db_periodic_task(crontab(hour="3", minute="17"))
def sweep_old_page_visits() -> None:
    """Raw page visits older than each account's retention period go; safe to run again."""
    with scopes_disabled():
        accounts = list(Account.objects.exclude(status=Account.Status.CLOSED))
    for account in accounts:
        with scope(account=account):
            actions.sweep_page_visits(account)


def send_ga_event(account: Account, client_id: str, name: str, params: dict[str, Any]) -> None:
    """One event through the GA4 Measurement Protocol with the account's measurement id and
    API secret; nothing when the account has not set them."""
    tracking = tracking_settings(account)
    if not (tracking.ga_measurement_id and tracking.ga_api_secret):
        return
    query = urlencode({"measurement_id": tracking.ga_measurement_id,
                       "api_secret": tracking.ga_api_secret})
    body = json.dumps({"client_id": client_id, "events": [{"name": name, "params": params}]})
    request = urllib.request.Request(
        f"{settings.SARUNA_GA_ENDPOINT}?{query}", data=body.encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


@db_task(retries=3, retry_delay=60)
@in_account
def send_conversion_to_ga(account: Account, conversion_id: int) -> None:
    conversion = Conversion.objects.select_related("visitor", "agent").filter(
        pk=conversion_id).first()
    if conversion is None:
        return
    client_id = conversion.visitor.public_id if conversion.visitor else conversion.order_id
    send_ga_event(account, client_id, "saruna_conversion", {
        "transaction_id": conversion.order_id, "value": conversion.value_minor / 100,
        "currency": conversion.currency, "saruna_chat": conversion.chat_public_id,
        "saruna_agent": conversion.agent.full_name if conversion.agent else "",
        "saruna_department": conversion.department_public_id,
    })


@db_task(retries=3, retry_delay=60)
@in_account
def send_chat_to_ga(account: Account, chat_id: int, event: str) -> None:
    """``saruna_chat_started`` or ``saruna_chat_ended``, with the same client id as the
    visitor's conversions so that GA joins them."""
    from saruna.chat.models import Chat

    chat = Chat.objects.select_related("visitor", "agent", "department", "button").filter(
        pk=chat_id).first()
    if chat is None:
        return
    send_ga_event(account, chat.visitor.public_id if chat.visitor else chat.public_id, event, {
        "saruna_chat": chat.public_id,
        "saruna_button": chat.button.public_id if chat.button else "",
        "saruna_department": chat.department.public_id,
        "saruna_agent": chat.agent.full_name if chat.agent else "",
        "saruna_invitation": chat.invitation_id,
    })


@db_task(retries=3, retry_delay=60)
@in_account
def send_invitation_to_ga(account: Account, invitation_id: str, event: str) -> None:
    """``saruna_invitation_shown`` or ``saruna_invitation_accepted``, with the visitor's client
    id; ``saruna_invitation`` is the one the chat it starts carries."""
    invitation = Invitation.objects.select_related("visitor", "agent", "rule").filter(
        public_id=invitation_id).first()
    if invitation is None:
        return
    send_ga_event(account, invitation.visitor.public_id, event, {
        "saruna_invitation": invitation.public_id,
        "saruna_agent": invitation.agent.full_name if invitation.agent else "",
        "saruna_rule": invitation.rule.name if invitation.rule else "",
    })
