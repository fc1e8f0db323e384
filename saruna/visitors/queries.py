"""Reads shared by the agent screens, the chat panel and the API."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from saruna.contacts.models import Contact
from saruna.core.models import Account
from saruna.visitors import live
from saruna.visitors.models import (
    Invitation,
    PageVisit,
    TrackingSettings,
    Visitor,
    VisitSession,
)
from saruna.visitors.sources import Source

PATH_SHOWN = 15


def place_label(city: str, region: str, country: str) -> str:
    return ", ".join(part for part in (city, region, country) if part)


def summary(state: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    """One online visitor as the live screen lists them (JSON-ready); their path is
    :func:`path`."""
    now = time.time() if now is None else now
    return {
        "id": state["visitor"],
        "name": state.get("name", ""),
        "place": place_label(state["city"], state["region"], state["country"]),
        "country": state["country"],
        "lat": state["latitude"], "lon": state["longitude"],
        "url": state["url"], "title": state["title"],
        "seconds": int(max(0, now - state["started"])),
        "started": state["started"],
        "pages": state["page_count"],
        "source": Source(state["source_type"], state["source_name"]).label,
        "source_type": state["source_type"],
        "returning": state["returning"],
        "device": " · ".join(p for p in (state["browser"], state["os"]) if p),
        "invited": bool(state.get("pending")),
    }


def path(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The pages of an online visitor's visit, the last ``PATH_SHOWN`` (JSON-ready)."""
    return [{"url": u, "title": t, "at": at} for u, t, at in state["pages"][-PATH_SHOWN:]]


def chatting_visitors(visitor_ids: list[str]) -> set[str]:
    """Which of these visitors have a chat going on."""
    if not visitor_ids:
        return set()
    from saruna.chat.models import Chat, ChatStatus

    return set(
        Chat.objects.filter(visitor__public_id__in=visitor_ids)
        .exclude(status=ChatStatus.ENDED)
        .values_list("visitor__public_id", flat=True)
    )


def agents_available(account: Account) -> bool:
    """Whether some agent is there to take a chat now, in any department (the chat server's
    own rule: online, or away within the grace period)."""
    from saruna.chat.queries import present_agents
    from saruna.tickets.models import Department

    now = timezone.now()
    return any(present_agents(department, now) for department in Department.objects.all())


def agent_can_chat(agent: Any) -> bool:
    """Whether the agent could take a chat now: online in one of their departments and their
    browser there (an agent's invitation is answered by a chat that rings them)."""
    from saruna.chat.queries import present_agents
    from saruna.tickets.models import Department

    now = timezone.now()
    return any(present.user_id == agent.pk
               for department in Department.objects.filter(agents=agent)
               for present in present_agents(department, now))


# An invitation unanswered for longer than a visit's pause no longer brings its agent.
INVITATION_OPEN = timedelta(minutes=30)


def inviting_agent(visitor: Visitor, invitation_id: str) -> Any:
    """The agent of the visitor's open invitation while they can take the chat it starts:
    their browser is there and they are not offline. The chat server offers the chat, and
    rings them first, whatever their departments."""
    from saruna.chat.models import AgentStatus
    from saruna.chat.queries import agent_availability, chat_settings, is_there

    now = timezone.now()
    invitation = Invitation.objects.filter(
        public_id=invitation_id, visitor=visitor, agent__is_active=True,
        status__in=[Invitation.Status.PENDING, Invitation.Status.SHOWN],
        created_at__gte=now - INVITATION_OPEN,
    ).select_related("agent").first()
    if invitation is None:
        return None
    availability = agent_availability(invitation.agent)
    if availability.status == AgentStatus.OFFLINE or not is_there(
            availability, chat_settings(visitor.account), now):
        return None
    return invitation.agent


def latest_session(visitor: Visitor) -> VisitSession | None:
    return VisitSession.objects.filter(visitor=visitor).order_by("-started_at").first()


def visitor_panel(visitor: Visitor | None) -> dict[str, Any]:
    """The context of ``visitors/_visitor_panel.html``: where the visitor is, what they saw in
    this visit and where they came from. The live state when they are online, else their last
    visit from the database."""
    if visitor is None:
        return {"visitor_panel": None}
    state = live.state(visitor.account_id, visitor.public_id)
    session = latest_session(visitor)
    if state is not None and (session is None or state["session"] == session.public_id):
        item = summary(state)
        pages_seen = path(state)
        panel = {
            "place": item["place"], "url": item["url"], "title": item["title"],
            "pages": item["pages"], "source": item["source"], "returning": item["returning"],
            "device": item["device"], "online": visitor.public_id in live.online_ids(
                visitor.account_id),
        }
    elif session is not None:
        pages = list(session.pages.order_by("-visited_at")[:PATH_SHOWN])[::-1]
        pages_seen = [{"url": p.url, "title": p.title, "at": p.visited_at.timestamp()}
                      for p in pages]
        panel = {
            "place": place_label(session.city, session.region, session.country),
            "url": pages[-1].url if pages else "", "title": pages[-1].title if pages else "",
            "pages": session.page_count,
            "source": Source(session.source_type, session.source_name).label,
            "returning": session.returning,
            "device": " · ".join(p for p in (session.browser, session.os) if p),
            "online": False,
        }
    else:
        return {"visitor_panel": None}
    panel["path"] = [dict(p, at=datetime.fromtimestamp(p["at"], UTC)) for p in pages_seen]
    panel["visitor"] = visitor
    return {"visitor_panel": panel}


def page_visits_for_contact(contact: Contact) -> QuerySet[PageVisit]:
    """Every kept page view of the contact's browsers (API ``/page_visits/{id}/contact``;
    ``browser`` there is ``session.public_id``)."""
    return PageVisit.objects.filter(visitor__contact=contact).select_related("session")


def attributed_chat(
    visitor: Visitor | None, contact: Contact | None, at: datetime, tracking: TrackingSettings
) -> Any:
    """The chat a conversion at ``at`` is credited to: among the chats of the visitor (and of
    the contact's other browsers) started within the window before it, the last one, or the
    first with first-touch attribution. None when there is none."""
    from saruna.chat.models import Chat

    chats = Chat.objects.filter(
        date_queued__lte=at,
        date_queued__gte=at - timedelta(days=tracking.attribution_window_days),
    ).select_related("agent", "department")
    if contact is not None and visitor is not None:
        chats = chats.filter(visitor__in=Visitor.objects.filter(contact=contact)) | chats.filter(
            visitor=visitor)
    elif contact is not None:
        chats = chats.filter(visitor__contact=contact)
    else:
        chats = chats.filter(visitor=visitor)
    first = tracking.attribution_model == TrackingSettings.AttributionModel.FIRST
    return chats.order_by(*(["date_queued", "pk"] if first else ["-date_queued", "-pk"])).first()
