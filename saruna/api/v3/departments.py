"""Departments (API §12). The ``default`` department always exists (it is made on first
use). ``online_status`` holds the channel letters at least one member agent serves now."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema

from saruna.accounts.models import User
from saruna.api.auth import ApiError, require
from saruna.api.v3.agents import statuses, with_presence
from saruna.api.v3.common import OK, Column, ListSpec, OkOut, PageQuery, page, responses
from saruna.mail.models import Mailbox
from saruna.tickets import actions
from saruna.tickets.models import Department

router = Router(tags=["departments"])

CHANNEL_ORDER = "RMTP"


class DepartmentOut(Schema):
    department_id: str
    agent_count: int
    name: str
    online_status: str = Field(..., description="channel letters served now (R M T P)")
    agent_ids: list[str]
    mailaccount_id: str | None = None


def department_out(request: HttpRequest, department: Department) -> dict[str, Any]:
    agents = list(department.active_agents)  # type: ignore[attr-defined]
    letters: set[str] = set()
    for agent in agents:
        for row in statuses(agent):
            if row["departmentid"] == department.public_id:
                letters |= set(row["online_status"])
    mailbox = Mailbox.objects.filter(department=department).order_by("pk").first()
    return {
        "department_id": department.public_id,
        "agent_count": len(agents),
        "name": department.name,
        "online_status": "".join(c for c in CHANNEL_ORDER if c in letters),
        "agent_ids": [a.pk for a in agents],
        "mailaccount_id": mailbox.public_id if mailbox is not None else None,
    }


DEPARTMENTS = ListSpec(
    columns={
        "department_id": Column("public_id", "exact", frozenset({"E", "IN"})),
        "id": Column("public_id", "exact", frozenset({"E", "IN"})),
        "name": Column("name", operators=frozenset({"E", "L", "LIKE"})),
    },
    sorts={"name": "name", "department_id": "public_id", "id": "public_id"},
    default_sort="name",
    serialize=department_out,
)


def _departments(request: HttpRequest) -> Any:
    actions.default_department(request.account)  # type: ignore[attr-defined]
    members = with_presence(request, User.objects.filter(is_active=True)).order_by("pk")
    return Department.objects.prefetch_related(
        Prefetch("agents", queryset=members, to_attr="active_agents")
    )


def _department(request: HttpRequest, department_id: str) -> Department:
    found = _departments(request).filter(public_id=department_id).first()
    if found is None:
        raise ApiError(404, gettext("Unknown department."))
    return found  # type: ignore[no-any-return]


@router.get("/departments", response=responses(list[DepartmentOut]),
            summary="List departments")
def list_departments(request: HttpRequest, params: Query[PageQuery]) -> list[dict[str, Any]]:
    require(request)
    return page(request, _departments(request), DEPARTMENTS, params)


@router.get("/departments/{departmentId}", response=responses(DepartmentOut),
            summary="Get a department")
def get_department(request: HttpRequest, departmentId: str) -> dict[str, Any]:
    require(request)
    return department_out(request, _department(request, departmentId))


@router.get("/departments/{departmentId}/{agentId}", response=responses(OkOut),
            summary="{} when the agent belongs to the department, else 404")
def department_member(request: HttpRequest, departmentId: str, agentId: str) -> dict[str, Any]:
    key = require(request)
    if agentId == "me" and key.user is not None:
        agentId = key.user.pk
    department = _department(request, departmentId)
    if not any(a.pk == agentId for a in department.active_agents):  # type: ignore[attr-defined]
        raise ApiError(404, gettext("The agent is not in this department."))
    return OK
