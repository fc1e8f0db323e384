"""Companies (API §9): the shape and rules of contacts (§8.2) with a ``name``; ``PATCH`` is
ours, offered for symmetry with contacts."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Query, Router

from saruna.api.auth import require
from saruna.api.v3.common import (
    OK,
    Column,
    ListSpec,
    OkOut,
    PageQuery,
    audited,
    get_or_404,
    page,
    parse_bool,
    responses,
)
from saruna.api.v3.contacts import (
    DATES,
    PARTY_COLUMNS,
    DeleteQuery,
    PartyIn,
    PartyOut,
    RegisterQuery,
    party_fields,
    party_out,
    register,
)
from saruna.contacts import actions
from saruna.contacts.models import Company

router = Router(tags=["companies"])


class CompanyIn(PartyIn):
    """``CompanyRequest`` (§9)."""

    name: str | None = None


class CompanyOut(PartyOut):
    """``Company`` (§9), also the element of ``GET /companies``."""

    name: str | None = None


def company_out(request: HttpRequest, company: Company) -> dict[str, Any]:
    return {**party_out(request, company), "name": company.name or None}


def companies() -> QuerySet[Company]:
    return Company.objects.prefetch_related("emails", "phones", "groups")


COMPANIES = ListSpec(
    columns={**PARTY_COLUMNS, "name": Column("name")},
    sorts={**DATES, "name": "name", "system_name": "system_name", "id": "public_id"},
    default_sort="date_created",
    serialize=company_out,
)


def find_company(company_id: str) -> Company:
    return get_or_404(companies(), gettext("Unknown company: %(id)s") % {"id": company_id},
                      public_id=company_id)


@router.get("/companies", response=responses(list[CompanyOut]), summary="List companies")
def list_companies(request: HttpRequest, params: Query[PageQuery]) -> list[dict[str, Any]]:
    require(request, "contact.read")
    return page(request, companies(), COMPANIES, params)


@router.post("/companies", response=responses(CompanyOut), summary="Create a company")
def create_company(request: HttpRequest, body: CompanyIn) -> dict[str, Any]:
    key = require(request, "contact.create")
    company = actions.create_company(
        request.account, actor=key.user,  # type: ignore[attr-defined]
        **party_fields(body, ("name",)),
    )
    audited(request, "api.company.created", company)
    return company_out(request, find_company(company.public_id))


@router.get("/companies/{companyId}", response=responses(CompanyOut), summary="Get a company")
def get_company(request: HttpRequest, companyId: str) -> dict[str, Any]:
    require(request, "contact.read")
    return company_out(request, find_company(companyId))


def _update(request: HttpRequest, company_id: str, body: CompanyIn) -> dict[str, Any]:
    key = require(request, "contact.edit")
    company = find_company(company_id)
    actions.update_company(company, actor=key.user, **party_fields(body, ("name",)))
    audited(request, "api.company.changed", company, fields=sorted(body.model_fields_set))
    return company_out(request, find_company(company_id))


@router.put("/companies/{companyId}", response=responses(CompanyOut),
            summary="Change a company (only the keys sent)")
def put_company(request: HttpRequest, companyId: str, body: CompanyIn) -> dict[str, Any]:
    return _update(request, companyId, body)


@router.patch("/companies/{companyId}", response=responses(CompanyOut),
              summary="Change a company (only the keys sent; Saruna extension)")
def patch_company(request: HttpRequest, companyId: str, body: CompanyIn) -> dict[str, Any]:
    return _update(request, companyId, body)


@router.delete("/companies/{companyId}", response=responses(OkOut), summary="Delete a company")
def delete_company(
    request: HttpRequest, companyId: str, params: Query[DeleteQuery]
) -> dict[str, Any]:
    key = require(request, "contact.delete")
    company = find_company(companyId)
    trash = parse_bool(params.delete_tickets, "deleteTickets", False)
    audited(request, "api.company.deleted", company, delete_tickets=trash)
    actions.delete_company(company, delete_tickets=trash, actor=key.user)
    return OK


@router.put("/companies/{companyId}/_register", response=responses(CompanyOut),
            summary="Register a company for the customer portal")
def register_company(
    request: HttpRequest, companyId: str, params: Query[RegisterQuery]
) -> dict[str, Any]:
    register(request, find_company(companyId), params)
    return company_out(request, find_company(companyId))


@router.delete("/companies/{companyId}/_unregister", response=responses(CompanyOut),
               summary="Unregister a company from the customer portal")
def unregister_company(request: HttpRequest, companyId: str) -> dict[str, Any]:
    key = require(request, "contact.edit")
    company = find_company(companyId)
    actions.unregister(company, actor=key.user)
    audited(request, "api.company.unregistered", company)
    return company_out(request, find_company(companyId))
