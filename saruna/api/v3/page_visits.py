"""``GET /page_visits/{contactId}/contact`` (API §20): the web pages a contact visited, as
the widget's visitor tracking recorded them."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema

from saruna.api.auth import require
from saruna.api.v3.common import (
    DateField,
    ListSpec,
    PageQuery,
    clock,
    get_or_404,
    page,
    responses,
)
from saruna.contacts.models import Contact
from saruna.visitors.models import PageVisit

router = Router(tags=["page visits"])


class PageVisitOut(Schema):
    browser: str | None = Field(None, description="the visitor's browser-session id")
    date_visit: str | None = DateField()
    title: str | None = None
    url: str | None = None
    referrerurl: str | None = None


def visit_out(request: HttpRequest, visit: PageVisit) -> dict[str, Any]:
    return {
        "browser": visit.session.public_id,
        "date_visit": clock(request).format(visit.visited_at),
        "title": visit.title or None,
        "url": visit.url,
        "referrerurl": visit.referrer or None,
    }


VISITS = ListSpec(
    columns={},
    sorts={"date_visit": "visited_at", "url": "url", "title": "title"},
    default_sort="date_visit",
    serialize=visit_out,
)


@router.get("/page_visits/{contactId}/contact", response=responses(list[PageVisitOut]),
            summary="Pages a contact visited")
def contact_page_visits(
    request: HttpRequest, contactId: str, params: Query[PageQuery]
) -> list[dict[str, Any]]:
    require(request, "page_visit.read")
    contact = get_or_404(Contact.objects.all(), gettext("Unknown contact."), public_id=contactId)
    visits = PageVisit.objects.filter(visitor__contact=contact).select_related("session")
    return page(request, visits, VISITS, params)
