"""SLA levels (API §17) and a ticket's SLA state (§6.9): ``/slas``, ``/slas/{levelId}``,
``/slas/{ticketId}/history`` and ``/tickets/{ticketId}/sla``. Read-only: levels are made in
Settings → SLA levels."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Query, Router, Schema

from saruna.api.auth import ApiError, require
from saruna.api.v3.common import (
    Column,
    DateField,
    ListSpec,
    PageQuery,
    clock,
    get_or_404,
    page,
    responses,
)
from saruna.sla.business_time import WEEKDAYS
from saruna.sla.models import Metric, SlaLevel, SlaRecord
from saruna.tickets.models import Ticket

router = Router(tags=["slas"])


class SlaValuesOut(Schema):
    first_answer: int | None = None
    first_assign: int | None = None
    first_resolve: int | None = None
    next_answer: int | None = None
    chat_answer: int | None = None
    call_answer: int | None = None


class DayIntervalOut(Schema):
    start: str
    end: str


class SlaBusinessHoursOut(Schema):
    timezone: str
    monday: DayIntervalOut | None = None
    tuesday: DayIntervalOut | None = None
    wednesday: DayIntervalOut | None = None
    thursday: DayIntervalOut | None = None
    friday: DayIntervalOut | None = None
    saturday: DayIntervalOut | None = None
    sunday: DayIntervalOut | None = None
    exclude_holidays: list[str]


class SlaOut(Schema):
    id: str
    name: str
    values: SlaValuesOut
    business_hours: SlaBusinessHoursOut


class SlaHistoryOut(Schema):
    id: str | None = None
    sla_level_id: str | None = None
    sla_type: str | None = None
    date_created: str | None = DateField("start of the measurement")
    date_due: str | None = DateField("deadline")
    date_closed: str | None = DateField("when met; null while running")
    total_time: int | None = None
    elapsed_time: int | None = None


class TicketSlaOut(Schema):
    conversationid: str
    sla_level_id: str | None = None
    sla_level_name: str | None = None
    first_answer: str | None = DateField("due moment")
    first_assign: str | None = DateField("due moment")
    first_resolve: str | None = DateField("due moment")
    next_answer: str | None = DateField("due moment")


def sla_out(request: HttpRequest, level: SlaLevel) -> dict[str, Any]:
    hours: dict[str, Any] = {day: level.business_hours.get(day) for day in WEEKDAYS}
    return {
        "id": level.public_id,
        "name": level.name,
        "values": {metric: level.target(metric) for metric in Metric.values},
        "business_hours": {
            "timezone": level.time_zone, **hours, "exclude_holidays": list(level.holidays),
        },
    }


def history_out(request: HttpRequest, record: SlaRecord | None) -> dict[str, Any]:
    if record is None:  # an object of nulls: the client reads {} as "nothing" (§17)
        return {name: None for name in SlaHistoryOut.model_fields}
    when = clock(request)
    return {
        "id": str(record.pk),
        "sla_level_id": record.level.public_id,
        "sla_type": record.metric,
        "date_created": when.format(record.date_created),
        "date_due": when.format(record.date_due),
        "date_closed": when.format(record.date_closed),
        "total_time": record.total_time,
        "elapsed_time": record.elapsed_seconds(),
    }


SLAS = ListSpec(
    columns={"id": Column("public_id", "exact"), "name": Column("name")},
    sorts={"name": "name", "id": "public_id"},
    default_sort="name",
    serialize=sla_out,
)


def _ticket(ticket_id: str) -> Ticket:
    """By id or by code (``ABC-DEF-GHI``); another account's ticket is not found (§6.1)."""
    found = Ticket.objects.filter(Q(public_id=ticket_id) | Q(code=ticket_id)).first()
    if found is None:
        raise ApiError(404, gettext("Unknown ticket."))
    return found


@router.get("/slas", response=responses(list[SlaOut]), summary="List SLA levels")
def list_slas(request: HttpRequest, params: Query[PageQuery]) -> list[dict[str, Any]]:
    require(request, "sla.read")
    return page(request, SlaLevel.objects.all(), SLAS, params)


@router.get("/slas/{ticketId}/history", response=responses(SlaHistoryOut),
            summary="The ticket's most recent SLA record (one object)")
def ticket_sla_history(request: HttpRequest, ticketId: str) -> dict[str, Any]:
    require(request, "sla.read")
    ticket = _ticket(ticketId)
    records = SlaRecord.objects.filter(ticket=ticket).select_related("level")
    # The one still running, else the last one closed.
    latest = records.filter(date_closed__isnull=True).order_by("-date_created", "-pk").first()
    if latest is None:
        latest = records.order_by("-date_closed", "-pk").first()
    return history_out(request, latest)


@router.get("/slas/{levelId}", response=responses(SlaOut), summary="Get an SLA level")
def get_sla(request: HttpRequest, levelId: str) -> dict[str, Any]:
    require(request, "sla.read")
    level = get_or_404(SlaLevel.objects.all(), gettext("Unknown SLA level."), public_id=levelId)
    return sla_out(request, level)


@router.get("/tickets/{ticketId}/sla", response=responses(TicketSlaOut),
            summary="The ticket's SLA level and the due moments of its pending metrics")
def ticket_sla(request: HttpRequest, ticketId: str) -> dict[str, Any]:
    require(request, "sla.read", "ticket.read", "ticket.read_all")
    ticket = _ticket(ticketId)
    records = list(SlaRecord.objects.filter(ticket=ticket).select_related("level"))
    level = records[-1].level if records else None
    when = clock(request)
    due = {r.metric: when.format(r.date_due) for r in records if r.date_closed is None}
    return {
        "conversationid": ticket.public_id,
        "sla_level_id": level.public_id if level else None,
        "sla_level_name": level.name if level else None,
        **{m: due.get(m) for m in ("first_answer", "first_assign", "first_resolve",
                                    "next_answer")},
    }
