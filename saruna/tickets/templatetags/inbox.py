"""Small display helpers for the inbox templates."""

from __future__ import annotations

from django import template

from saruna.tickets.actions import SYSTEM_GROUP_TYPES
from saruna.tickets.models import GroupType, MessageGroup, Status

register = template.Library()


@register.filter
def group_kind(group: MessageGroup) -> str:
    """How a message group is drawn: ``note``, ``system``, ``agent`` or ``customer``."""
    if group.type == GroupType.INTERNAL:
        return "note"
    if group.type in SYSTEM_GROUP_TYPES or group.is_internal:
        return "system"
    return "agent" if group.author_user_id is not None else "customer"


@register.filter
def event_value(value: str, field: str) -> str:
    """A history value as people read it: status letters become their names."""
    if field in ("status", "created") and value in Status.values:
        return str(Status(value).label)
    return value
