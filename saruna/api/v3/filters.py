"""Saved ticket filters (API §19): the agent inbox's saved views. Presets (``rtype`` ``P``)
every key's user sees — Mine, Unassigned, All open, Overdue, one per department the user works
in, one per status and one per active tag — which cannot be changed or deleted (409); and
custom filters (``rtype`` ``C``, :mod:`saruna.tickets.saved_filters`) made here or saved from
the inbox. Conditions use the ticket filter vocabulary of §6.2."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema

from saruna.accounts.models import User
from saruna.api.auth import ApiError, require
from saruna.api.v3.common import (
    EQUALITY_OPERATORS,
    OK,
    Column,
    OkOut,
    PageQuery,
    audited,
    clock,
    page_bounds,
    parse_filters,
    responses,
)
from saruna.contacts.common import delete_record, resolve_ids
from saruna.tickets import queries, saved_filters
from saruna.tickets.models import Department, SavedFilter, Status, Tag

router = Router(tags=["filters"])

# What "open" means in the inbox: not resolved, closed, deleted or spam.
CLOSED = "R,L,X,B"
STATUS_VIEWS = (Status.NEW, Status.OPEN, Status.ANSWERED, Status.POSTPONED, Status.RESOLVED,
                Status.CLOSED, Status.SPAM, Status.DELETED)


class FilterConditionSchema(Schema):
    field_id: str | None = None
    section_code: str | None = None
    code: str | None = None
    operator: str | None = None
    value: str | None = None


class FilterOut(Schema):
    filter_id: str
    name: str
    description: str | None = None
    filter_type: str = "T"
    user_id: str | None = None
    rtype: str = Field(..., description="C custom, P preset")
    is_public: bool
    user_ids: list[str]
    department_ids: list[str]
    conditions: list[FilterConditionSchema]


class FilterIn(Schema):
    name: str | None = None
    description: str | None = None
    is_public: bool | None = None
    user_ids: list[str] | None = None
    department_ids: list[str] | None = None
    conditions: list[FilterConditionSchema] | None = None


def _condition(code: str, operator: str, value: str) -> dict[str, Any]:
    return {"field_id": None, "section_code": "ticket", "code": code, "operator": operator,
            "value": value}


def _preset(key: str, name: str, *conditions: dict[str, Any]) -> dict[str, Any]:
    return {"filter_id": key, "name": name, "description": None, "filter_type": "T",
            "user_id": None, "rtype": "P", "is_public": True, "user_ids": [],
            "department_ids": [], "conditions": list(conditions)}


def presets(request: HttpRequest) -> list[dict[str, Any]]:
    """The inbox's saved views for the key's user, in the order the inbox shows them."""
    key = require(request)
    user = key.user
    not_closed = _condition("status", "NI", CLOSED)
    rows = [
        _preset("mine", gettext("Mine"), _condition("agentid", "E", user.pk if user else ""),
                not_closed),
        _preset("unassigned", gettext("Unassigned"), _condition("agentid", "IE", ""),
                not_closed),
        _preset("all", gettext("All open"), not_closed),
        _preset("overdue", gettext("Overdue"),
                _condition("date_due", "D<", clock(request).format(timezone.now()) or ""),
                not_closed),
    ]
    departments = Department.objects.all()
    if user is not None and not queries.sees_all_tickets(user):
        departments = departments.filter(agents=user)
    rows += [_preset(f"department:{d.public_id}", d.name,
                     _condition("departmentid", "E", d.public_id), not_closed)
             for d in departments]
    rows += [_preset(f"status:{s}", str(Status(s).label), _condition("status", "E", s))
             for s in STATUS_VIEWS]
    rows += [_preset(f"tag:{t.public_id}", t.name, _condition("tags", "CY", t.public_id),
                     not_closed)
             for t in Tag.objects.filter(is_archived=False)]
    return rows


def custom_out(saved: SavedFilter) -> dict[str, Any]:
    return {"filter_id": saved.public_id, "name": saved.name,
            "description": saved.description or None, "filter_type": "T",
            "user_id": saved.user_id, "rtype": "C", "is_public": saved.is_public,
            "user_ids": [u.pk for u in saved.shared_users.all()],
            "department_ids": [d.public_id for d in saved.shared_departments.all()],
            "conditions": saved.conditions}


def _key_user(request: HttpRequest) -> User | None:
    return require(request).user


def _custom(request: HttpRequest) -> QuerySet[SavedFilter]:
    user = _key_user(request)
    # A key acting as nobody (an integration) sees every custom filter of the account.
    return SavedFilter.objects.all() if user is None else saved_filters.visible_filters(user)


def all_rows(request: HttpRequest) -> list[dict[str, Any]]:
    return presets(request) + [custom_out(s) for s in _custom(request)]


def _find_custom(request: HttpRequest, filter_id: str) -> SavedFilter | None:
    return _custom(request).filter(public_id=filter_id).first()


def _find(request: HttpRequest, filter_id: str) -> dict[str, Any]:
    for row in presets(request):
        if row["filter_id"] == filter_id:
            return row
    saved = _find_custom(request, filter_id)
    if saved is None:
        raise ApiError(404, gettext("Unknown filter."))
    return custom_out(saved)


LIST_COLUMNS = {
    "name": Column(operators=frozenset({"E", "L", "LIKE"})),
    "rtype": Column(operators=EQUALITY_OPERATORS - {"IE", "INE"}),
    "user_id": Column(operators=EQUALITY_OPERATORS),
    "is_public": Column(kind="flag"),
}


def _matches(row: dict[str, Any], column: str, operator: str, value: str) -> bool:
    """One §3.6 condition on a row of this list, which is built in memory (presets are not
    stored)."""
    have = row[column]
    if column == "is_public":
        wanted = value.strip().upper() in ("Y", "TRUE", "1")
        return (have == wanted) == (operator == "E")
    text = "" if have is None else str(have)
    if operator in ("L", "LIKE"):
        pattern = value if "%" in value or operator == "LIKE" else f"%{value}%"
        regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
        return re.fullmatch(regex, text, re.IGNORECASE | re.DOTALL) is not None
    listed = [v.strip() for v in value.split(",")] if operator in ("IN", "NI") else [value]
    if operator in ("IE", "INE"):
        return (text == "") == (operator == "IE")
    if column == "name":
        text, listed = text.lower(), [v.lower() for v in listed]
    return (text in listed) == (operator in ("E", "IN"))


@router.get("/filters", response=responses(list[FilterOut]), summary="List saved filters")
def list_filters(request: HttpRequest, params: Query[PageQuery]) -> list[dict[str, Any]]:
    require(request, "filter.read", "filter.write")
    rows = all_rows(request)
    for condition in parse_filters(params.filters, LIST_COLUMNS):
        rows = [r for r in rows if _matches(r, condition.column, condition.operator,
                                            str(condition.value))]
    sort = params.sort_field or "name"
    if sort not in ("name", "filter_id"):
        raise ApiError(400, gettext("Unknown sort field: %(f)s") % {"f": sort})
    descending = (params.sort_dir or "ASC").upper() == "DESC"
    rows.sort(key=lambda r: (str(r[sort]).lower(), r["filter_id"]), reverse=descending)
    if all(v is None for v in (params.page, params.per_page, params.from_, params.to)):
        return rows
    start, stop = page_bounds(params)
    return rows[start:stop]


def _sharing(request: HttpRequest, payload: FilterIn) -> dict[str, Any]:
    """The agents and departments named by ``user_ids``/``department_ids``; an unknown one
    is a 400 naming it."""
    shared: dict[str, Any] = {}
    if payload.user_ids is not None:
        users = list(User.objects.filter(account=request.account,  # type: ignore[attr-defined]
                                         pk__in=payload.user_ids, is_active=True))
        unknown = set(payload.user_ids) - {u.pk for u in users}
        if unknown:
            raise ApiError(400, gettext("user_ids: unknown agent %(id)s")
                           % {"id": sorted(unknown)[0]})
        shared["users"] = users
    if payload.department_ids is not None:
        shared["departments"] = resolve_ids(Department, payload.department_ids)
    return shared


def _fields(payload: FilterIn) -> dict[str, Any]:
    fields = payload.model_dump(exclude_unset=True, exclude={"user_ids", "department_ids"})
    if fields.get("description") is None:
        fields.pop("description", None)
    for flag in ("is_public", "name", "conditions"):
        if flag in fields and fields[flag] is None:
            raise ApiError(400, gettext("%(f)s cannot be null.") % {"f": flag})
    return fields


@router.post("/filters", response=responses(FilterOut), summary="Create a saved filter")
def create_filter(request: HttpRequest, payload: FilterIn) -> dict[str, Any]:
    require(request, "filter.write")
    if not (payload.name or "").strip():
        raise ApiError(400, gettext("name is required."))
    saved = saved_filters.save_saved_filter(
        request.account, actor=_key_user(request),  # type: ignore[attr-defined]
        **_sharing(request, payload), **_fields(payload))
    audited(request, "savedfilter.created", target=saved)
    return custom_out(saved)


@router.get("/filters/{filterId}", response=responses(FilterOut), summary="Get a saved filter")
def get_filter(request: HttpRequest, filterId: str) -> dict[str, Any]:
    require(request, "filter.read", "filter.write")
    return _find(request, filterId)


def _changeable(request: HttpRequest, filter_id: str, preset_refusal: str) -> SavedFilter:
    """The custom filter the key's user may change; a preset is a 409 ``preset_refusal``."""
    saved = _find_custom(request, filter_id)
    if saved is None:
        _find(request, filter_id)  # 404 when it is no preset either
        raise ApiError(409, preset_refusal)
    if not saved_filters.may_change(_key_user(request), saved):
        raise ApiError(403, gettext("Only the filter's creator or an administrator may "
                                    "change it."))
    return saved


@router.put("/filters/{filterId}", response=responses(FilterOut),
            summary="Change a saved filter (presets cannot be changed)")
def update_filter(request: HttpRequest, filterId: str, payload: FilterIn) -> dict[str, Any]:
    require(request, "filter.write")
    saved = _changeable(request, filterId, gettext("Preset filters cannot be changed."))
    saved = saved_filters.save_saved_filter(
        request.account, saved, actor=_key_user(request),  # type: ignore[attr-defined]
        **_sharing(request, payload), **_fields(payload))
    audited(request, "savedfilter.changed", target=saved)
    return custom_out(saved)


@router.delete("/filters/{filterId}", response=responses(OkOut),
               summary="Delete a saved filter (presets cannot be deleted)")
def delete_filter(request: HttpRequest, filterId: str) -> dict[str, Any]:
    require(request, "filter.write")
    saved = _changeable(request, filterId, gettext("Preset filters cannot be deleted."))
    delete_record(saved, actor=_key_user(request))
    return OK
