"""Saved ticket filters (API §19): the agent inbox's saved views, as presets (``rtype`` ``P``)
every key's user sees — Mine, Unassigned, All open, Overdue, one per department the user works
in, one per status and one per active tag. Conditions use the ticket filter vocabulary of §6.2.

Saruna has no custom (agent-made) saved views yet: creating one answers 501, and presets
cannot be changed or deleted (409)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema

from saruna.api.auth import ApiError, require
from saruna.api.v3.common import OkOut, PageQuery, clock, page_bounds, responses
from saruna.tickets import queries
from saruna.tickets.models import Department, Status, Tag

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


def _find(request: HttpRequest, filter_id: str) -> dict[str, Any]:
    for row in presets(request):
        if row["filter_id"] == filter_id:
            return row
    raise ApiError(404, gettext("Unknown filter."))


@router.get("/filters", response=responses(list[FilterOut]), summary="List saved filters")
def list_filters(request: HttpRequest, params: Query[PageQuery]) -> list[dict[str, Any]]:
    require(request, "filter.read", "filter.write")
    if params.filters:
        raise ApiError(400, gettext(
            "Saved filters are all presets; _filters is not supported on this list."))
    rows = presets(request)
    sort = params.sort_field or "name"
    if sort not in ("name", "filter_id"):
        raise ApiError(400, gettext("Unknown sort field: %(f)s") % {"f": sort})
    descending = (params.sort_dir or "ASC").upper() == "DESC"
    rows.sort(key=lambda r: (str(r[sort]).lower(), r["filter_id"]), reverse=descending)
    if all(v is None for v in (params.page, params.per_page, params.from_, params.to)):
        return rows
    start, stop = page_bounds(params)
    return rows[start:stop]


@router.post("/filters", response=responses(FilterOut), summary="Create a saved filter")
def create_filter(request: HttpRequest, payload: FilterIn) -> dict[str, Any]:
    require(request, "filter.write")
    raise ApiError(501, gettext("Not implemented: custom saved filters (only presets exist)."))


@router.get("/filters/{filterId}", response=responses(FilterOut), summary="Get a saved filter")
def get_filter(request: HttpRequest, filterId: str) -> dict[str, Any]:
    require(request, "filter.read", "filter.write")
    return _find(request, filterId)


@router.put("/filters/{filterId}", response=responses(FilterOut),
            summary="Change a saved filter (presets cannot be changed)")
def update_filter(request: HttpRequest, filterId: str, payload: FilterIn) -> dict[str, Any]:
    require(request, "filter.write")
    _find(request, filterId)
    raise ApiError(409, gettext("Preset filters cannot be changed."))


@router.delete("/filters/{filterId}", response=responses(OkOut),
               summary="Delete a saved filter (presets cannot be deleted)")
def delete_filter(request: HttpRequest, filterId: str) -> dict[str, Any]:
    require(request, "filter.write")
    _find(request, filterId)
    raise ApiError(409, gettext("Preset filters cannot be deleted."))
