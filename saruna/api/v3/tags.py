"""Tags (API §13). ``GET``/``PUT /tags/{tagId}`` answer a one-element array, as LiveAgent's
client declares them. Archived tags are listed (clients filter on ``is_archived``)."""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema

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
    yn,
)
from saruna.contacts.common import delete_record
from saruna.tickets import actions
from saruna.tickets.models import Tag

router = Router(tags=["tags"])

COLOUR = r"^#[0-9a-fA-F]{6}$"


class TagOut(Schema):
    id: str
    name: str = Field(..., min_length=1)
    color: str | None = None
    background_color: str | None = None
    is_public: str = Field(..., pattern="^[YN]?$")
    is_archived: str = Field(..., pattern="^[YN]$")


class TagIn(Schema):
    """Sparse: only the keys sent are written; ``id`` is ignored."""

    name: str | None = None
    color: str | None = Field(None, description="#RRGGBB; empty or null clears it")
    background_color: str | None = Field(None, description="#RRGGBB; empty or null clears it")
    is_public: str | None = Field(None, description="Y, N or empty (N)")
    is_archived: str | None = Field(None, description="Y or N")


def tag_out(request: HttpRequest, tag: Tag) -> dict[str, Any]:
    return {
        "id": tag.public_id,
        "name": tag.name,
        "color": tag.color or None,
        "background_color": tag.background_color or None,
        "is_public": yn(tag.is_public),
        "is_archived": yn(tag.is_archived),
    }


TAGS = ListSpec(
    columns={
        "id": Column("public_id", "exact"),
        "name": Column("name"),
        "is_public": Column("is_public", "flag"),
        "is_archived": Column("is_archived", "flag"),
    },
    sorts={"name": "name", "id": "public_id"},
    default_sort="name",
    serialize=tag_out,
)


def _fields(payload: TagIn) -> dict[str, Any]:
    sent = payload.model_dump(exclude_unset=True)
    fields: dict[str, Any] = {}
    if "name" in sent:
        if not (sent["name"] or "").strip():
            raise ApiError(400, gettext("name: a tag needs a name."))
        fields["name"] = sent["name"].strip()
    for colour in ("color", "background_color"):
        if colour in sent:
            value = (sent[colour] or "").strip()
            if value and not _is_colour(value):
                raise ApiError(400, gettext("%(f)s must be a colour as #RRGGBB.") % {"f": colour})
            fields[colour] = value
    for flag in ("is_public", "is_archived"):
        if flag in sent and sent[flag] is not None:
            value = sent[flag].strip().upper()
            if value not in ("Y", "N") and not (flag == "is_public" and value == ""):
                raise ApiError(400, gettext("%(f)s must be Y or N.") % {"f": flag})
            fields[flag] = value == "Y"
    return fields


def _is_colour(value: str) -> bool:
    return re.fullmatch(COLOUR, value) is not None


def _tag(tag_id: str) -> Tag:
    return get_or_404(Tag.objects.all(), gettext("Unknown tag."), public_id=tag_id)


@router.get("/tags", response=responses(list[TagOut]), summary="List tags")
def list_tags(request: HttpRequest, params: Query[PageQuery]) -> list[dict[str, Any]]:
    require(request, "tag.read", "tag.manage")
    return unpaged(request, Tag.objects.all(), TAGS, params)


@router.post("/tags", response=responses(TagOut), summary="Create a tag")
def create_tag(request: HttpRequest, payload: TagIn) -> dict[str, Any]:
    require(request, "tag.manage")
    fields = _fields(payload)
    if "name" not in fields:
        raise ApiError(400, gettext("name: a tag needs a name."))
    tag = actions.save_tag(request.account, None, **fields)  # type: ignore[attr-defined]
    audited(request, "tag.created", target=tag)
    return tag_out(request, tag)


@router.get("/tags/{tagId}", response=responses(list[TagOut]),
            summary="Get a tag (an array of one)")
def get_tag(request: HttpRequest, tagId: str) -> list[dict[str, Any]]:
    require(request, "tag.read", "tag.manage")
    return [tag_out(request, _tag(tagId))]


@router.put("/tags/{tagId}", response=responses(list[TagOut]),
            summary="Change a tag (an array of one)")
def update_tag(request: HttpRequest, tagId: str, payload: TagIn) -> list[dict[str, Any]]:
    require(request, "tag.manage")
    tag = actions.save_tag(request.account, _tag(tagId), **_fields(payload))  # type: ignore[attr-defined]
    audited(request, "tag.changed", target=tag)
    return [tag_out(request, tag)]


@router.delete("/tags/{tagId}", response=responses(OkOut),
               summary="Delete a tag (it leaves every ticket)")
def delete_tag(request: HttpRequest, tagId: str) -> dict[str, Any]:
    key = require(request, "tag.manage")
    tag = _tag(tagId)
    audited(request, "tag.deleted", target=tag)
    delete_record(tag, actor=key.user)
    return OK
