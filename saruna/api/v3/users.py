"""``GET /users/{userId}`` (API §25): any user — an agent, a contact or the system user —
as an array of one, as LiveAgent's client declares it. ``me`` is the key's user."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Field, Router, Schema

from saruna.accounts.models import User
from saruna.api.auth import ApiError, require
from saruna.api.v3.common import responses
from saruna.contacts.models import Contact, ContactType
from saruna.tickets.models import SYSTEM_USER_ID

router = Router(tags=["users"])

USER_ROLES = ("owner", "admin", "agent", "visitor", "ext_admin", "reg_visitor", "system",
              "unknown_role")


class UserOut(Schema):
    id: str
    name: str | None = None
    email: str | None = None
    role: str = Field(..., description=" ".join(USER_ROLES))
    avatar_url: str | None = None


def agent_user(user: User) -> dict[str, Any]:
    return {"id": user.pk, "name": user.full_name, "email": user.email,
            "role": user.role if user.role in USER_ROLES else "unknown_role",
            "avatar_url": None}


def contact_user(contact: Contact) -> dict[str, Any]:
    registered = contact.type == ContactType.REGISTERED
    return {"id": contact.public_id, "name": contact.system_name or None,
            "email": contact.primary_email or None,
            "role": "reg_visitor" if registered else "visitor",
            "avatar_url": contact.avatar_url or None}


@router.get("/users/{userId}", response=responses(list[UserOut]),
            summary="Get any user (an array of one)")
def get_user(request: HttpRequest, userId: str) -> list[dict[str, Any]]:
    key = require(request)
    if userId == SYSTEM_USER_ID:
        return [{"id": SYSTEM_USER_ID, "name": "System", "email": None, "role": "system",
                 "avatar_url": None}]
    if userId == "me":
        if key.user is None:
            raise ApiError(404, gettext("This API key acts as no user."))
        userId = key.user.pk
    agent = User.objects.filter(pk=userId).first()
    if agent is not None:
        require(request, "agent.read", "user.read", *(
            ["agent.own"] if key.user is not None and key.user.pk == agent.pk else []))
        return [agent_user(agent)]
    contact = Contact.objects.filter(public_id=userId).first()
    if contact is not None:
        require(request, "contact.read", "user.read")
        return [contact_user(contact)]
    raise ApiError(404, gettext("Unknown user."))
