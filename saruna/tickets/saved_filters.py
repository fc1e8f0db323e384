"""Agents' own saved views of the ticket list (API §19, ``rtype`` C).

Their conditions speak the ticket filter vocabulary of the REST API (§6.2: ``status``,
``tags``, ``departmentid``, ``agentid``, ``search``…), so a filter made over the API and one
saved from the inbox are the same thing, applied by the same code."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext

from saruna.accounts.models import User
from saruna.contacts.common import ActionError, save_record
from saruna.tickets.models import Department, SavedFilter, Ticket

CONDITION_KEYS = ("field_id", "section_code", "code", "operator", "value")


def visible_filters(user: User) -> QuerySet[SavedFilter]:
    """The custom filters ``user`` sees: their own, public ones, and those shared with them
    or with a department they work in."""
    shared = (Q(user=user) | Q(is_public=True) | Q(shared_users=user)
              | Q(shared_departments__agents=user))
    return SavedFilter.objects.filter(
        pk__in=SavedFilter.objects.filter(shared).values("pk")
    ).select_related("user").prefetch_related("shared_users", "shared_departments")


def may_change(user: User | None, saved: SavedFilter) -> bool:
    return user is None or user.can_manage_account or saved.user_id == user.pk


def _ticket_columns() -> Mapping[str, Any]:
    # The API module holds the vocabulary; imported late, it imports these models.
    from saruna.api.v3.tickets import TICKETS

    return TICKETS.columns


def _as_filters(conditions: Iterable[dict[str, Any]]) -> str:
    return json.dumps([[c.get("code"), c.get("operator"), c.get("value")] for c in conditions])


def clean_conditions(conditions: Any) -> list[dict[str, Any]]:
    """The conditions as stored: each one's five keys, checked against the vocabulary (an
    unknown column or operator is an ActionError naming it; nothing is saved)."""
    from saruna.api.auth import ApiError
    from saruna.api.v3.common import parse_filters

    if not isinstance(conditions, list) or not all(isinstance(c, dict) for c in conditions):
        raise ActionError(gettext("conditions must be a list of objects."))
    cleaned = []
    for condition in conditions:
        if condition.get("code") == "custom_field":
            raise ActionError(gettext("Saved filters cannot test custom fields yet."))
        if not condition.get("code"):
            raise ActionError(gettext("Every condition needs a code (the column it tests)."))
        cleaned.append({key: _text_or_none(condition.get(key)) for key in CONDITION_KEYS})
    try:
        parsed = parse_filters(_as_filters(cleaned), _ticket_columns())
    except ApiError as error:
        raise ActionError(error.message) from error
    for condition, canonical in zip(cleaned, parsed, strict=True):
        condition["operator"] = canonical.operator
        condition["section_code"] = condition["section_code"] or "ticket"
    return cleaned


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def save_saved_filter(
    account: Any, saved: SavedFilter | None = None, *, actor: User | None = None,
    users: Iterable[User] | None = None, departments: Iterable[Department] | None = None,
    **fields: Any,
) -> SavedFilter:
    """Creates (``saved`` None, made by ``actor``) or changes a saved filter; only the
    ``fields`` given are written. The caller notes it in the audit log."""
    if "name" in fields and not str(fields["name"] or "").strip():
        raise ActionError(gettext("The name cannot be empty."))
    if "conditions" in fields:
        fields["conditions"] = clean_conditions(fields["conditions"])
    if saved is None:
        fields.setdefault("conditions", [])
        fields["user"] = actor
    with transaction.atomic():
        saved = save_record(
            SavedFilter, account, saved, fields,
            ("user", "name", "description", "is_public", "conditions"),
            conflict=gettext("This saved filter exists already."),
        )
        if users is not None:
            saved.shared_users.set(users)
        if departments is not None:
            saved.shared_departments.set(departments)
    return saved


def apply_saved_filter(
    request: HttpRequest, tickets: QuerySet[Ticket], saved: SavedFilter
) -> QuerySet[Ticket]:
    from saruna.api.auth import ApiError
    from saruna.api.v3.common import apply_filters, parse_filters

    columns = _ticket_columns()
    try:
        conditions = parse_filters(_as_filters(saved.conditions), columns)
        return apply_filters(request, tickets, columns, conditions).distinct()
    except ApiError:  # a column the vocabulary has since lost: the view shows nothing
        return tickets.none()
