from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.translation import gettext

from saruna.sla.models import SlaRecord
from saruna.tickets.models import Ticket

register = template.Library()


@register.filter
def sla_duration(seconds: int | None) -> str:
    """A target time for people: ``1 h 30 min``; ``—`` when the metric is not measured."""
    if seconds is None:
        return "—"
    hours, minutes = divmod(seconds // 60, 60)
    if hours and minutes:
        return gettext("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    if hours:
        return gettext("%(h)d h") % {"h": hours}
    return gettext("%(m)d min") % {"m": minutes}


@register.simple_tag
def sla_deadlines(ticket: Ticket) -> list[SlaRecord]:
    """The ticket's running SLA measurements, the nearest deadline first."""
    return list(
        SlaRecord.objects.filter(ticket=ticket, date_closed__isnull=True).order_by("date_due")
    )


@register.filter
def is_past(moment: datetime | None) -> bool:
    return moment is not None and moment < timezone.now()
