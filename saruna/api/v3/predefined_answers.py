"""Predefined answers (API §15): reusable e-mail answers with a subject and a body."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema

from saruna.api.auth import ApiError, require
from saruna.api.v3.canned_messages import OWNER_OPERATORS, owner_fields
from saruna.api.v3.common import (
    OK,
    Column,
    ListSpec,
    OkOut,
    PageQuery,
    audited,
    get_or_404,
    page,
    responses,
)
from saruna.contacts.common import delete_record
from saruna.tickets import actions
from saruna.tickets.models import PredefinedAnswer

router = Router(tags=["predefined answers"])


class PredefinedAnswerOut(Schema):
    id: str
    userid: str | None = None
    departmentid: str | None = None
    name: str = Field(..., min_length=1)
    subject: str | None = None
    body: str = Field(..., min_length=1)
    format: str = Field(..., pattern="^[TH]$")


class PredefinedAnswerIn(Schema):
    """Sparse: only the keys sent are written; ``id`` is ignored."""

    userid: str | None = None
    departmentid: str | None = None
    name: str | None = None
    subject: str | None = None
    body: str | None = None
    format: str | None = Field(None, description="T (text, default) or H (HTML)")


def answer_out(request: HttpRequest, answer: PredefinedAnswer) -> dict[str, Any]:
    return {
        "id": answer.public_id,
        "userid": answer.user_id,
        "departmentid": answer.department.public_id if answer.department else None,
        "name": answer.name,
        "subject": answer.subject or None,
        "body": answer.body,
        "format": answer.format,
    }


TEXT_SEARCH = frozenset({"L", "LIKE"})
ANSWERS = ListSpec(
    columns={
        "userid": Column("user_id", "exact", OWNER_OPERATORS),
        "departmentid": Column("department__public_id", "exact", OWNER_OPERATORS),
        "format": Column("format", "exact", frozenset({"E", "IN"})),
        "name": Column("name", operators=TEXT_SEARCH),
        "subject": Column("subject", operators=TEXT_SEARCH),
        "body": Column("body", operators=TEXT_SEARCH),
    },
    sorts={"name": "name", "id": "pk", "subject": "subject"},
    default_sort="name",
    serialize=answer_out,
)


def _answer(answer_id: str) -> PredefinedAnswer:
    return get_or_404(PredefinedAnswer.objects.select_related("department"),
                      gettext("Unknown predefined answer."), public_id=answer_id)


def _fields(payload: PredefinedAnswerIn, *, creating: bool) -> dict[str, Any]:
    sent = payload.model_dump(exclude_unset=True)
    fields = owner_fields(sent)
    for name in ("name", "body"):
        if (name in sent or creating) and not str(sent.get(name) or "").strip():
            raise ApiError(400, gettext("%(f)s cannot be empty.") % {"f": name})
    for name in ("name", "subject", "body"):
        if name in sent:
            fields[name] = (sent[name] or "").strip() if name != "body" else sent[name]
    if "format" in sent and sent["format"] is not None:
        if sent["format"] not in ("T", "H"):
            raise ApiError(400, gettext("format must be T or H."))
        fields["format"] = sent["format"]
    return fields


@router.get("/predefined_answers", response=responses(list[PredefinedAnswerOut]),
            summary="List predefined answers")
def list_answers(request: HttpRequest, params: Query[PageQuery]) -> list[dict[str, Any]]:
    require(request, "predefined_answer.read", "predefined_answer.manage")
    return page(request, PredefinedAnswer.objects.select_related("department"), ANSWERS, params)


@router.post("/predefined_answers", response=responses(PredefinedAnswerOut),
             summary="Create a predefined answer")
def create_answer(request: HttpRequest, payload: PredefinedAnswerIn) -> dict[str, Any]:
    require(request, "predefined_answer.manage")
    answer = actions.save_predefined_answer(
        request.account, None, **_fields(payload, creating=True)  # type: ignore[attr-defined]
    )
    audited(request, "predefined_answer.created", target=answer)
    return answer_out(request, answer)


@router.get("/predefined_answers/{predefinedAnswerId}", response=responses(PredefinedAnswerOut),
            summary="Get a predefined answer")
def get_answer(request: HttpRequest, predefinedAnswerId: str) -> dict[str, Any]:
    require(request, "predefined_answer.read", "predefined_answer.manage")
    return answer_out(request, _answer(predefinedAnswerId))


@router.put("/predefined_answers/{predefinedAnswerId}", response=responses(PredefinedAnswerOut),
            summary="Change a predefined answer")
def update_answer(
    request: HttpRequest, predefinedAnswerId: str, payload: PredefinedAnswerIn
) -> dict[str, Any]:
    require(request, "predefined_answer.manage")
    answer = actions.save_predefined_answer(
        request.account, _answer(predefinedAnswerId),  # type: ignore[attr-defined]
        **_fields(payload, creating=False),
    )
    audited(request, "predefined_answer.changed", target=answer)
    return answer_out(request, answer)


@router.delete("/predefined_answers/{predefinedAnswerId}", response=responses(OkOut),
               summary="Delete a predefined answer")
def delete_answer(request: HttpRequest, predefinedAnswerId: str) -> dict[str, Any]:
    key = require(request, "predefined_answer.manage")
    answer = _answer(predefinedAnswerId)
    audited(request, "predefined_answer.deleted", target=answer)
    delete_record(answer, actor=key.user)
    return OK
