from __future__ import annotations

from django import template
from django.utils.translation import gettext

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
