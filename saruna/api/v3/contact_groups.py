"""Contact groups (API §10). ``GET`` and ``PUT /groups/{groupId}`` answer an array with one
group, as LiveAgent's client declares."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Query, Router, Schema
from pydantic import ConfigDict

from saruna.api.auth import ApiError, require
from saruna.api.v3.common import (
    OK,
    Column,
    ListSpec,
    OkOut,
    PageQuery,
    audited,
    get_or_404,
    responses,
    unpaged,
)
from saruna.contacts import actions
from saruna.contacts.common import delete_record
from saruna.contacts.models import ContactGroup

router = Router(tags=["groups"])


class GroupIn(Schema):
    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    name: str | None = None
    color: str | None = None
    background_color: str | None = None


class GroupOut(Schema):
    id: str
    name: str
    color: str | None = None
    background_color: str | None = None


def group_out(request: HttpRequest, group: ContactGroup) -> dict[str, Any]:
    return {"id": group.public_id, "name": group.name, "color": group.color or None,
            "background_color": group.background_color or None}


GROUPS = ListSpec(
    columns={"id": Column("public_id", "exact"), "name": Column("name")},
    sorts={"name": "name", "id": "public_id"},
    default_sort="name",
    serialize=group_out,
)


def _fields(body: GroupIn) -> dict[str, Any]:
    return {name: getattr(body, name) or "" for name in ("name", "color", "background_color")
            if name in body.model_fields_set}


def find_group(group_id: str) -> ContactGroup:
    return get_or_404(ContactGroup.objects.all(),
                      gettext("Unknown group: %(id)s") % {"id": group_id}, public_id=group_id)


@router.get("/groups", response=responses(list[GroupOut]), summary="List contact groups")
def list_groups(request: HttpRequest, params: Query[PageQuery]) -> list[dict[str, Any]]:
    require(request, "contact.read")
    return unpaged(request, ContactGroup.objects.all(), GROUPS, params)


@router.post("/groups", response=responses(GroupOut), summary="Create a contact group")
def create_group(request: HttpRequest, body: GroupIn) -> dict[str, Any]:
    require(request, "contact.edit")
    if not (body.name or "").strip():
        raise ApiError(400, gettext("name is required."))
    group = actions.save_contact_group(request.account, **_fields(body))  # type: ignore[attr-defined]
    audited(request, "api.contact_group.created", group)
    return group_out(request, group)


@router.get("/groups/{groupId}", response=responses(list[GroupOut]),
            summary="Get a contact group (an array of one)")
def get_group(request: HttpRequest, groupId: str) -> list[dict[str, Any]]:
    require(request, "contact.read")
    return [group_out(request, find_group(groupId))]


@router.put("/groups/{groupId}", response=responses(list[GroupOut]),
            summary="Change a contact group (answers an array of one)")
def put_group(request: HttpRequest, groupId: str, body: GroupIn) -> list[dict[str, Any]]:
    require(request, "contact.edit")
    group = actions.save_contact_group(
        request.account, find_group(groupId), **_fields(body)  # type: ignore[attr-defined]
    )
    audited(request, "api.contact_group.changed", group)
    return [group_out(request, group)]


@router.delete("/groups/{groupId}", response=responses(OkOut), summary="Delete a contact group")
def delete_group(request: HttpRequest, groupId: str) -> dict[str, Any]:
    key = require(request, "contact.edit")
    group = find_group(groupId)
    audited(request, "api.contact_group.deleted", group)
    delete_record(group, actor=key.user)
    return OK
