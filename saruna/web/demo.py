""""Schedule a demo": the request is kept for the provider's staff and lands as a ticket in
the provider's own account, where its support team works."""

from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django_scopes import scope

from saruna.accounts.models import User
from saruna.contacts.actions import find_or_create_contact_by_email
from saruna.core.models import Account
from saruna.core.outbox import queue_email
from saruna.core.urls import public_url
from saruna.tickets.actions import open_ticket
from saruna.tickets.models import ChannelType
from saruna.web.models import DemoBooking


@transaction.atomic
def book_demo(details: dict[str, Any]) -> DemoBooking:
    booking = DemoBooking.objects.create(**details)
    queue_email(booking.email, "web/email/demo_ack", {"booking": booking})
    provider = Account.objects.filter(is_provider=True).first()
    if provider is None:
        return booking
    with scope(account=provider):
        contact, _created = find_or_create_contact_by_email(
            provider, booking.email, name=booking.name
        )
        ticket = open_ticket(
            provider,
            _("Demo request: %(who)s") % {"who": booking.company or booking.name},
            render_to_string("web/email/demo_details.txt", {"booking": booking}),
            contact,
            ChannelType.CONTACT_FORM,
        )
        booking.ticket_code = ticket.code
        booking.save(update_fields=["ticket_code"])
        owner = User.objects.filter(role=User.Role.OWNER, is_active=True).first()
    if owner is not None:
        queue_email(
            owner.email,
            "web/email/demo_notify",
            {"booking": booking, "admin_url": public_url(
                settings.SARUNA_BASE_DOMAIN, f"/admin/web/demobooking/{booking.pk}/change/")},
            account=provider,
            language=owner.language or provider.language,
        )
    return booking
