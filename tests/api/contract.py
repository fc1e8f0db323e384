"""The field tables of the wire format (API §3.9, §6.10, §8.3, §9, §10, §18) as data, and a
checker: every key of the table present, of its type or null, enum-checked fields within
their letters (never ``""``), dates as ``YYYY-MM-DD HH:MM:SS``, SDK-required fields set."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


@dataclass(frozen=True)
class Enum:
    values: tuple[str, ...]


@dataclass(frozen=True)
class ListOf:
    item: Any


DATE = "date"
NUMBER = "number"
REQUIRED = "required"  # SDK-req: present and not null

CUSTOM_FIELD = {"code": str, "value": str}

TICKET = {
    "id": str, "owner_contactid": str, "owner_email": str, "owner_name": str,
    "departmentid": str, "agentid": str, "status": Enum(tuple("INTPRXBACWL")),
    "tags": ListOf(str), "code": str, "channel_type": str, "date_created": DATE,
    "date_changed": DATE, "date_resolved": DATE, "date_due": DATE, "date_deleted": DATE,
    "last_activity": DATE, "last_activity_public": DATE, "public_access_urlcode": str,
    "subject": str, "custom_fields": ListOf(CUSTOM_FIELD),
}

TICKET_INFORMATION = {
    "id": str, "ownerid": str, "owner_contactid": str, "departmentid": str, "agentid": str,
    "status": str, "tags": str, "code": str, "channel_type": str, "date_created": DATE,
    "public_access_urlcode": str, "subject": str, "custom_fields": ListOf(CUSTOM_FIELD),
}

MESSAGE = {
    "id": str, "userid": str, "type": Enum(tuple("MYQIFTEDHRJSUGV1NLZBWPCKX02A3O456")),
    "datecreated": DATE, "format": Enum(tuple("THJXYZ")), "message": str, "visibility": str,
}

MESSAGE_GROUP = {
    "id": str, "parent_id": str, "userid": str, "user_full_name": str,
    "type": Enum(tuple("MCPV1IUZSTJXBGFWYAKROQL234567HEDN")),
    "status": Enum(tuple("DPVSMIRC")), "datecreated": DATE, "datefinished": DATE,
    "sort_order": int, "mail_msg_id": str, "pop3_msg_id": str, "messages": ListOf(MESSAGE),
}

TICKET_HISTORY = {
    "id": str, "conversation_id": str, "conversation_code": str, "department_id": str,
    "department_name": str, "agent_id": str, "status": str, "date_from": DATE,
    "date_to": DATE, "elapsed_time": str,
}

TICKET_ATTRIBUTE = {"id": str, "name": (str, REQUIRED), "value": str}

PARTY = {
    "id": str, "system_name": str, "description": str, "avatar_url": str, "language": str,
    "city": str, "countrycode": str, "ip": str, "emails": ListOf(str), "phones": ListOf(str),
    "groups": ListOf(str), "note": str, "useragent": str, "screen": str,
    "time_offset": NUMBER, "latitude": NUMBER, "longitude": NUMBER,
    "custom_fields": ListOf(CUSTOM_FIELD), "type": Enum(("V", "R")), "date_created": DATE,
    "date_changed": DATE, "registration_email": str,
}

CONTACT = {**PARTY, "company_id": str, "firstname": str, "lastname": str, "gender": str,
           "job_position": str}

COMPANY = {**PARTY, "name": str}

GROUP = {"id": str, "name": (str, REQUIRED), "color": str, "background_color": str}

STORED_FILE = {"id": (str, REQUIRED), "name": str, "type": str, "size": NUMBER}

COUNT = {"count": NUMBER}


def check(value: Any, table: dict[str, Any], where: str = "") -> None:
    assert isinstance(value, dict), f"{where}: not an object: {value!r}"
    missing = set(table) - set(value)
    assert not missing, f"{where}: keys missing: {sorted(missing)}"
    for key, rule in table.items():
        _check_value(value[key], rule, f"{where}.{key}")


def check_list(values: Any, table: dict[str, Any], where: str = "") -> None:
    assert isinstance(values, list), f"{where}: a bare array expected, got {type(values)}"
    for i, value in enumerate(values):
        check(value, table, f"{where}[{i}]")


def _check_value(value: Any, rule: Any, where: str) -> None:
    required = False
    if isinstance(rule, tuple) and len(rule) == 2 and rule[1] == REQUIRED:
        rule, required = rule[0], True
    if value is None:
        assert not required, f"{where}: required but null"
        assert not isinstance(rule, ListOf), f"{where}: arrays are [] when empty, never null"
        return
    if isinstance(rule, Enum):
        assert value in rule.values, f"{where}: {value!r} not in {rule.values}"
    elif isinstance(rule, ListOf):
        assert isinstance(value, list), f"{where}: array expected"
        for i, item in enumerate(value):
            if isinstance(rule.item, dict):
                check(item, rule.item, f"{where}[{i}]")
            else:
                _check_value(item, rule.item, f"{where}[{i}]")
    elif rule == DATE:
        assert isinstance(value, str) and DATE_RE.match(value), f"{where}: bad date {value!r}"
    elif rule == NUMBER:
        assert isinstance(value, int | float) and not isinstance(value, bool), where
    elif rule is int:
        assert isinstance(value, int) and not isinstance(value, bool), where
    elif rule is str:
        assert isinstance(value, str), f"{where}: string expected, got {value!r}"
        if required:
            assert value, f"{where}: required and empty"
    elif isinstance(rule, dict):
        check(value, rule, where)
