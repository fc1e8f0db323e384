"""The ``data`` of a delivery: objects in their API v3 shape (field names, ``Y/N`` flags and
``YYYY-MM-DD HH:MM:SS`` dates in the account's time zone), so a receiver can parse a webhook
with the same code as an API answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from saruna.contacts.models import Contact
from saruna.core.models import Account
from saruna.tickets.models import MessageGroup, Ticket


def date(value: datetime | None, account: Account) -> str | None:
    if value is None:
        return None
    return value.astimezone(ZoneInfo(account.time_zone or "UTC")).strftime("%Y-%m-%d %H:%M:%S")


def custom_fields(values: dict[str, Any]) -> list[dict[str, str]]:
    return [{"code": code, "value": "" if value is None else str(value)}
            for code, value in sorted(values.items())]


def ticket(ticket: Ticket) -> dict[str, Any]:
    account = ticket.account
    return {
        "id": ticket.public_id,
        "owner_contactid": ticket.owner.public_id if ticket.owner else None,
        "owner_email": ticket.owner_email,
        "owner_name": ticket.owner_name,
        "departmentid": ticket.department.public_id,
        "agentid": ticket.agent_id,
        "status": ticket.status,
        "tags": sorted(ticket.tags.values_list("public_id", flat=True)),
        "code": ticket.code,
        "channel_type": ticket.channel_type,
        "date_created": date(ticket.date_created, account),
        "date_changed": date(ticket.date_changed, account),
        "date_resolved": date(ticket.date_resolved, account),
        "date_due": date(ticket.date_due, account),
        "date_deleted": date(ticket.date_deleted, account),
        "last_activity": date(ticket.last_activity, account),
        "last_activity_public": date(ticket.last_activity_public, account),
        "public_access_urlcode": ticket.public_access_urlcode,
        "subject": ticket.subject,
        "custom_fields": custom_fields(ticket.custom_fields),
    }


def message_group(group: MessageGroup) -> dict[str, Any]:
    account = group.ticket.account
    return {
        "id": str(group.pk),
        "parent_id": str(group.parent_id) if group.parent_id else None,
        "userid": group.author_id,
        "user_full_name": group.author_name,
        "type": group.type,
        "status": group.status,
        "datecreated": date(group.datecreated, account),
        "datefinished": date(group.datefinished, account),
        "sort_order": group.sort_order,
        "mail_msg_id": group.mail_msg_id,
        "pop3_msg_id": group.pop3_msg_id,
        "messages": [
            {"id": str(message.pk), "userid": message.author_id, "type": message.type,
             "datecreated": date(message.datecreated, account), "format": message.format,
             "message": message.body, "visibility": message.visibility}
            for message in group.messages.order_by("datecreated", "pk")
        ],
    }


def contact(contact: Contact) -> dict[str, Any]:
    account = contact.account
    return {
        "id": contact.public_id,
        "company_id": contact.company.public_id if contact.company else None,
        "firstname": contact.firstname,
        "lastname": contact.lastname,
        "system_name": contact.system_name,
        "description": contact.description,
        "avatar_url": contact.avatar_url,
        "type": contact.type,
        "gender": contact.gender,
        "language": contact.language,
        "city": contact.city,
        "countrycode": contact.countrycode,
        "ip": contact.ip,
        "emails": contact.email_list(),
        "phones": contact.phone_list(),
        "groups": sorted(contact.groups.values_list("public_id", flat=True)),
        "job_position": contact.job_position,
        "note": contact.note,
        "useragent": contact.useragent,
        "screen": contact.screen,
        "time_offset": contact.utc_offset(),
        "latitude": contact.latitude,
        "longitude": contact.longitude,
        "registration_email": contact.registration_email or None,
        "date_created": date(contact.date_created, account),
        "date_changed": date(contact.date_changed, account),
        "custom_fields": custom_fields(contact.custom_fields),
    }
