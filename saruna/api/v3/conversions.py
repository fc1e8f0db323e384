"""Conversions (our extension, absent from LiveAgent v3; docs/api.md): a back end reports a
sale or goal of a customer it knows, and lists what was reported. Recording goes through
:func:`saruna.visitors.actions.record_conversion`, as the widget's ``saruna('conversion', …)``
does, so both are credited to a chat by the same rules (the account's window, last or first
chat, that chat's agent and department) and the same order id is recorded once. An answer has
the shape of the ``conversion.created`` webhook's ``data.conversion``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from saruna.api.auth import ApiError, require
from saruna.api.v3.common import (
    EQUALITY_OPERATORS,
    Column,
    DateField,
    ListSpec,
    PageQuery,
    audited,
    clock,
    page,
    responses,
)
from saruna.contacts.models import Contact, ContactEmail, normalize_email
from saruna.visitors import actions
from saruna.visitors.identity import visitor_for_token
from saruna.visitors.models import Conversion, Visitor

router = Router(tags=["conversions"])

READ = ("conversion.read", "conversion.write")
WRITE = "conversion.write"


class ConversionIn(Schema):
    """Who converted is named by ``contactid`` or ``email`` (a contact of the account), or
    by ``visitor_token``, or by a contact and a visitor token together."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    order_id: str = Field(..., min_length=1, max_length=100,
                          description="the order's id in your system; the same id is "
                                      "recorded once")
    value: Decimal | None = Field(None, ge=0, description="e.g. 49.90, kept in cents")
    currency: str | None = Field(None, description="ISO 4217 code such as EUR")
    contactid: str | None = Field(None, description="the id of the contact who converted")
    email: str | None = Field(None, description="an e-mail address of that contact "
                                                "(instead of contactid)")
    visitor_token: str | None = Field(
        None, description="the widget's visitor token (saruna._ctx.token on the web page)")


class ConversionOut(Schema):
    id: str
    order_id: str
    value: str = Field(..., description="a decimal string such as 49.90, never a float")
    currency: str | None = None
    date_created: str | None = DateField("when it was recorded")
    contactid: str | None = None
    chatid: str | None = Field(None, description="the credited chat; null when no chat of "
                                                 "the customer falls within the window")
    agentid: str | None = Field(None, description="that chat's agent")
    departmentid: str | None = Field(None, description="that chat's department")
    attribution_model: str | None = Field(None, description="last or first; null without "
                                                            "a chat")


def conversion_out(request: HttpRequest, conversion: Conversion) -> dict[str, Any]:
    return {
        "id": conversion.public_id,
        "order_id": conversion.order_id,
        "value": str(Decimal(conversion.value_minor).scaleb(-2)),  # cents → "49.90"
        "currency": conversion.currency or None,
        "date_created": clock(request).format(conversion.converted_at),
        "contactid": conversion.contact.public_id if conversion.contact else None,
        "chatid": conversion.chat_public_id or None,
        "agentid": conversion.agent_id,
        "departmentid": conversion.department_public_id or None,
        "attribution_model": conversion.attribution_model or None,
    }


CONVERSIONS = ListSpec(
    columns={
        "id": Column("public_id", "exact", EQUALITY_OPERATORS),
        "order_id": Column("order_id", "exact", EQUALITY_OPERATORS),
        "contactid": Column("contact__public_id", "exact", EQUALITY_OPERATORS),
        "chatid": Column("chat_public_id", "exact", EQUALITY_OPERATORS),
        "agentid": Column("agent_id", "exact", EQUALITY_OPERATORS),
        "departmentid": Column("department_public_id", "exact", EQUALITY_OPERATORS),
        "currency": Column("currency"),
        "date_created": Column("converted_at", "date"),
    },
    sorts={"date_created": "converted_at", "order_id": "order_id", "value": "value_minor"},
    default_sort="date_created",
    serialize=conversion_out,
)


def _contact(contact_id: str | None, email: str | None) -> Contact | None:
    """The account's contact named by id or e-mail; another account's is as unknown as a
    made-up one."""
    if contact_id and email:
        raise ApiError(400, gettext("Send contactid or email, not both."))
    if contact_id:
        found = Contact.objects.filter(public_id=contact_id, merged_into__isnull=True).first()
    elif email:
        address = ContactEmail.objects.filter(
            normalized=normalize_email(email), contact__isnull=False
        ).select_related("contact").first()
        found = address.contact if address is not None else None
    else:
        return None
    if found is None:
        raise ApiError(400, gettext("Unknown contact: %(id)s") % {"id": contact_id or email})
    return found


def _visitor(request: HttpRequest, token: str | None) -> Visitor | None:
    """The stored visitor the token names. A browser never stored (never tracked, never
    chatted) has no chat to credit, and the back end cannot say it consented to tracking,
    so none is made here."""
    if not token:
        return None
    visitor = visitor_for_token(request.account, token, create=False)  # type: ignore[attr-defined]
    if visitor is None:
        raise ApiError(400, gettext("Unknown visitor token."))
    return visitor


@router.get("/conversions", response=responses(list[ConversionOut]),
            summary="List conversions (ours)")
def list_conversions(request: HttpRequest, params: Query[PageQuery]) -> list[dict[str, Any]]:
    require(request, *READ)
    return page(request, Conversion.objects.select_related("contact"), CONVERSIONS, params)


@router.post("/conversions", response=responses(ConversionOut),
             summary="Report a conversion (ours); the same order_id answers the first record")
def report_conversion(request: HttpRequest, body: ConversionIn) -> dict[str, Any]:
    require(request, WRITE)
    conversion, created = actions.record_conversion(
        request.account,  # type: ignore[attr-defined]
        order_id=body.order_id, value=body.value, currency=body.currency or "",
        contact=_contact(body.contactid, body.email),
        visitor=_visitor(request, body.visitor_token),
    )
    audited(request, "api.conversion.reported", conversion, order_id=conversion.order_id,
            created=created)
    return conversion_out(request, conversion)
