"""Contacts (API §8): list, create, get, update (PUT and PATCH both write only the keys sent),
delete, register for and unregister from the customer portal. The helpers shared with
companies (§9), which have the same shape, are here too."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from saruna.api.auth import ApiError, require
from saruna.api.v3.common import (
    EQUALITY_OPERATORS,
    OK,
    Column,
    CustomFieldOut,
    DateField,
    ListSpec,
    OkOut,
    PageQuery,
    audited,
    clock,
    get_or_404,
    page,
    parse_bool,
    responses,
)
from saruna.contacts import actions
from saruna.contacts.common import resolve_ids
from saruna.contacts.models import Company, Contact, ContactGroup, Party
from saruna.search import search_contacts

router = Router(tags=["contacts"])

# What a ``search`` filter considers, best first.
SEARCH_LIMIT = 1000


class CustomFieldIn(Schema):
    code: str
    value: str | None = None


class PartyIn(Schema):
    """What ``ContactRequest`` and ``CompanyRequest`` share. Every key is optional and only
    the keys sent are written; ``id`` and unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    system_name: str | None = None
    description: str | None = None
    avatar_url: str | None = None
    language: str | None = None
    city: str | None = None
    countrycode: str | None = None
    ip: str | None = None
    emails: list[str] | None = None
    phones: list[str] | None = None
    groups: list[str] | None = None
    note: str | None = None
    useragent: str | None = None
    screen: str | None = None
    time_offset: float | None = None
    latitude: float | None = None
    longitude: float | None = None
    custom_fields: list[CustomFieldIn] | None = None


class ContactIn(PartyIn):
    """``ContactRequest`` (§8.3)."""

    company_id: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    gender: str | None = None
    job_position: str | None = None


class PartyOut(Schema):
    id: str
    system_name: str | None = None
    description: str | None = None
    avatar_url: str | None = None
    language: str | None = None
    city: str | None = None
    countrycode: str | None = None
    ip: str | None = None
    emails: list[str]
    phones: list[str]
    groups: list[str]
    note: str | None = None
    useragent: str | None = None
    screen: str | None = None
    time_offset: float | None = None
    latitude: float | None = None
    longitude: float | None = None
    custom_fields: list[CustomFieldOut]
    type: str = Field("V", description="V visitor, R registered visitor")
    date_created: str | None = DateField()
    date_changed: str | None = DateField()
    registration_email: str | None = None


class ContactOut(PartyOut):
    """``Contact`` (§8.3), also the element of ``GET /contacts``."""

    company_id: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    gender: str | None = None
    job_position: str | None = None


class DeleteQuery(Schema):
    model_config = ConfigDict(populate_by_name=True)

    delete_tickets: str | None = Field(
        None, alias="deleteTickets", description="true: also move the tickets to the trash"
    )


class RegisterQuery(Schema):
    model_config = ConfigDict(populate_by_name=True)

    registration_email: str
    send_mail: str | None = Field(None, alias="sendRegistrationMail")


def _text(value: str) -> str | None:
    return value or None


def party_out(request: HttpRequest, party: Party) -> dict[str, Any]:
    when = clock(request).format
    return {
        "id": party.public_id,
        "system_name": _text(party.system_name),
        "description": _text(party.description),
        "avatar_url": _text(party.avatar_url),
        "language": _text(party.language),
        "city": _text(party.city),
        "countrycode": _text(party.countrycode),
        "ip": party.ip,
        "emails": party.email_list(),
        "phones": party.phone_list(),
        "groups": sorted(g.public_id for g in party.groups.all()),  # type: ignore[attr-defined]
        "note": _text(party.note),
        "useragent": _text(party.useragent),
        "screen": _text(party.screen),
        "time_offset": party.utc_offset(),
        "latitude": party.latitude,
        "longitude": party.longitude,
        "custom_fields": [{"code": c, "value": v} for c, v in sorted(party.custom_fields.items())],
        "type": party.type,
        "date_created": when(party.date_created),
        "date_changed": when(party.date_changed),
        "registration_email": _text(party.registration_email),
    }


def contact_out(request: HttpRequest, contact: Contact) -> dict[str, Any]:
    return {
        **party_out(request, contact),
        "company_id": contact.company.public_id if contact.company is not None else None,
        "firstname": _text(contact.firstname),
        "lastname": _text(contact.lastname),
        "gender": contact.gender,
        "job_position": _text(contact.job_position),
    }


PARTY_TEXT = ("system_name", "description", "avatar_url", "language", "city", "countrycode",
              "ip", "note", "useragent", "screen", "latitude", "longitude")


def party_fields(body: PartyIn, text_fields: tuple[str, ...]) -> dict[str, Any]:
    """The keys the client sent, as the contact actions take them (ids → objects)."""
    sent = body.model_fields_set
    fields: dict[str, Any] = {
        name: getattr(body, name) for name in (*PARTY_TEXT, *text_fields) if name in sent
    }
    if "ip" in fields and fields["ip"] == "":
        fields["ip"] = None
    if "time_offset" in sent:
        fields["time_offset"] = int(body.time_offset) if body.time_offset is not None else None
    for name in ("emails", "phones"):
        if name in sent:
            fields[name] = getattr(body, name) or []
    if "groups" in sent:
        fields["groups"] = resolve_ids(ContactGroup, body.groups or [])
    if "custom_fields" in sent:
        fields["custom_fields"] = {f.code: f.value for f in body.custom_fields or []}
    return fields


def contact_fields(body: ContactIn) -> dict[str, Any]:
    fields = party_fields(body, ("firstname", "lastname", "gender", "job_position"))
    if "company_id" in body.model_fields_set:
        fields["company"] = None
        if body.company_id:
            fields["company"] = Company.objects.filter(public_id=body.company_id).first()
            if fields["company"] is None:
                raise ApiError(400, gettext("Unknown company: %(id)s") % {"id": body.company_id})
    return fields


def contacts(request: HttpRequest) -> QuerySet[Contact]:
    return Contact.objects.filter(merged_into__isnull=True).select_related(
        "company"
    ).prefetch_related("emails", "phones", "groups")


def _search(request: HttpRequest, queryset: QuerySet[Any], text: str) -> QuerySet[Any]:
    found = search_contacts(request.account, text, within=queryset,  # type: ignore[attr-defined]
                            limit=SEARCH_LIMIT)
    return queryset.filter(pk__in=found)


DATES = {"date_created": "date_created", "datecreated": "date_created",
         "date_changed": "date_changed", "datechanged": "date_changed"}

PARTY_COLUMNS = {
    "id": Column("public_id", "exact", EQUALITY_OPERATORS),
    "type": Column("type", "exact", EQUALITY_OPERATORS),
    "countrycode": Column("countrycode"),
    "language": Column("language"),
    "system_name": Column("system_name"),
    "city": Column("city"),
    "emails": Column("emails__email", "multi", elements=True),
    "phones": Column("phones__phone", "multi", elements=True),
    "registration_email": Column("registration_email"),
    "groups": Column("groups__public_id", "multi"),
    **{name: Column(path, "date") for name, path in DATES.items()},
}

CONTACTS = ListSpec(
    columns={
        **PARTY_COLUMNS,
        "company_id": Column("company__public_id", "exact", EQUALITY_OPERATORS),
        "gender": Column("gender", "exact", EQUALITY_OPERATORS),
        "firstname": Column("firstname"),
        "lastname": Column("lastname"),
        "job_position": Column("job_position"),
        "search": Column(kind="search", search=_search),
    },
    sorts={**DATES, "firstname": "firstname", "lastname": "lastname",
           "system_name": "system_name", "id": "public_id"},
    default_sort="date_created",
    serialize=contact_out,
)


def find_contact(request: HttpRequest, contact_id: str) -> Contact:
    return get_or_404(contacts(request), gettext("Unknown contact: %(id)s") % {"id": contact_id},
                      public_id=contact_id)


@router.get("/contacts", response=responses(list[ContactOut]), summary="List contacts")
def list_contacts(request: HttpRequest, params: Query[PageQuery]) -> list[dict[str, Any]]:
    require(request, "contact.read")
    return page(request, contacts(request), CONTACTS, params)


@router.post("/contacts", response=responses(ContactOut), summary="Create a contact")
def create_contact(request: HttpRequest, body: ContactIn) -> dict[str, Any]:
    key = require(request, "contact.create")
    contact = actions.create_contact(
        request.account, actor=key.user, **contact_fields(body)  # type: ignore[attr-defined]
    )
    audited(request, "api.contact.created", contact)
    return contact_out(request, find_contact(request, contact.public_id))


@router.get("/contacts/{contactId}", response=responses(ContactOut), summary="Get a contact")
def get_contact(request: HttpRequest, contactId: str) -> dict[str, Any]:
    require(request, "contact.read")
    return contact_out(request, find_contact(request, contactId))


def _update(request: HttpRequest, contact_id: str, body: ContactIn) -> dict[str, Any]:
    key = require(request, "contact.edit")
    contact = find_contact(request, contact_id)
    actions.update_contact(contact, actor=key.user, **contact_fields(body))
    audited(request, "api.contact.changed", contact, fields=sorted(body.model_fields_set))
    return contact_out(request, find_contact(request, contact_id))


@router.put("/contacts/{contactId}", response=responses(ContactOut),
            summary="Change a contact (only the keys sent)")
def put_contact(request: HttpRequest, contactId: str, body: ContactIn) -> dict[str, Any]:
    return _update(request, contactId, body)


@router.patch("/contacts/{contactId}", response=responses(ContactOut),
              summary="Change a contact (only the keys sent)")
def patch_contact(request: HttpRequest, contactId: str, body: ContactIn) -> dict[str, Any]:
    return _update(request, contactId, body)


@router.delete("/contacts/{contactId}", response=responses(OkOut), summary="Delete a contact")
def delete_contact(
    request: HttpRequest, contactId: str, params: Query[DeleteQuery]
) -> dict[str, Any]:
    key = require(request, "contact.delete")
    contact = find_contact(request, contactId)
    trash = parse_bool(params.delete_tickets, "deleteTickets", False)
    audited(request, "api.contact.deleted", contact, delete_tickets=trash)
    actions.delete_contact(contact, delete_tickets=trash, actor=key.user)
    return OK


def register(request: HttpRequest, party: Party, params: RegisterQuery) -> None:
    """Registers ``party`` for the customer portal and, unless told not to, mails the
    address a login link (when it is one of the contact's own addresses)."""
    key = require(request, "contact.edit")
    actions.register(party, params.registration_email, actor=key.user)
    if parse_bool(params.send_mail, "sendRegistrationMail", True) and isinstance(party, Contact):
        from saruna.portal.login import send_login_link

        send_login_link(party.account, party.registration_email)
    kind = "contact" if isinstance(party, Contact) else "company"
    audited(request, f"api.{kind}.registered", party)


@router.put("/contacts/{contactId}/_register", response=responses(ContactOut),
            summary="Register a contact for the customer portal")
def register_contact(
    request: HttpRequest, contactId: str, params: Query[RegisterQuery]
) -> dict[str, Any]:
    register(request, find_contact(request, contactId), params)
    return contact_out(request, find_contact(request, contactId))


@router.delete("/contacts/{contactId}/_unregister", response=responses(ContactOut),
               summary="Unregister a contact from the customer portal")
def unregister_contact(request: HttpRequest, contactId: str) -> dict[str, Any]:
    key = require(request, "contact.edit")
    contact = find_contact(request, contactId)
    actions.unregister(contact, actor=key.user)
    audited(request, "api.contact.unregistered", contact)
    return contact_out(request, find_contact(request, contactId))
