"""The tracking endpoint's work: accept a beat cheaply, write in batches elsewhere.

A beat (a page view, a heartbeat while the page is visible, or the page's unload) is checked
and answered at once, but only queued in memory. Every ``SARUNA_TRACKING_FLUSH_SECONDS`` (or
when it holds ``FLUSH_AT`` beats) the web process's flusher hands the queue to the background
worker as one Huey task (``tasks.write_tracked_beats``), so the web process spends its CPU on
answering. The worker writes the batch: the page visits of each account with one statement,
the visit sessions' counters, and the live state agents watch, which lives in the cache (Redis
in production) so every process sees it. Batches of one account are written one at a time
(``_writing``), in whichever thread or process. With the setting at 0 (tests) each beat is
written before the answer, in the web process.

Nothing about a visitor is queued when the account requires consent and the page has not
given it, or when the browser asks not to be tracked and the account honours that. The IP
address is used to locate the visitor at the start of a visit and then truncated or dropped.

A web process that dies loses at most the beats of its last interval (page visits are
statistics, not messages); one that stops cleanly hands over what is queued. A batch handed
over waits in Huey's queue (Redis, or SQLite in ``./var/``) until a worker runs.
"""

from __future__ import annotations

import atexit
import ipaddress
import logging
import signal
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError, connection, transaction
from django_scopes import scope, scopes_disabled
from ua_parser import parse as parse_user_agent

from saruna.contacts.common import ActionError
from saruna.core import geo
from saruna.core.ids import new_id
from saruna.core.models import Account
from saruna.core.text import storable
from saruna.visitors import live, rules
from saruna.visitors.config import tracking_settings
from saruna.visitors.identity import visitor_id_from_token
from saruna.visitors.models import PageVisit, TrackingSettings, Visitor, VisitSession
from saruna.visitors.sources import classify, utm_parameters

logger = logging.getLogger(__name__)

EVENTS = ("view", "ping", "leave")
# A pause longer than this starts a new visit.
SESSION_GAP = timedelta(minutes=30)
FLUSH_AT = 2000
MAX_URL = 2000


class Beat(NamedTuple):
    """A tuple, so that a batch handed to the worker pickles small and fast."""

    account_id: str
    visitor_id: str
    event: str
    at: float
    url: str
    title: str = ""
    referrer: str = ""
    screen: str = ""
    lang: str = ""
    tz: str = ""
    ip: str | None = None
    user_agent: str = ""
    locate: bool = True
    page_seconds: int = 0


def _text(payload: dict[str, Any], key: str, limit: int) -> str:
    value = payload.get(key)
    return storable(value[:limit]) if isinstance(value, str) else ""


def _web_address(value: str) -> str:
    if not value:
        return ""
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    return value if parts.scheme in ("http", "https") and parts.netloc else ""


def declines_tracking(headers: dict[str, str]) -> bool:
    """Do Not Track or Global Privacy Control set by the browser."""
    return headers.get("HTTP_DNT") == "1" or headers.get("HTTP_SEC_GPC") == "1"


def consent_of(payload: dict[str, Any]) -> dict[str, Any]:
    consent = payload.get("consent")
    return consent if isinstance(consent, dict) else {}


def may_track(tracking: TrackingSettings, consent: dict[str, Any], *, declined: bool) -> bool:
    """Whether anything about this visitor may be stored."""
    if not tracking.enabled:
        return False
    if tracking.consent_required and consent.get("tracking") is not True:
        return False
    return not (tracking.respect_dnt and declined)


def read_beat(
    account: Account, payload: object, *, ip: str | None, user_agent: str,
    declined: bool, tracking: TrackingSettings,
) -> Beat | None:
    """The beat to queue, or None when the visitor must not be tracked; bad input is an
    ``ActionError``."""
    if not isinstance(payload, dict):
        raise ActionError("The body must be a JSON object.")
    visitor_id = visitor_id_from_token(account, payload.get("token"))
    if visitor_id is None:
        raise ActionError("Unknown visitor token.")
    event = payload.get("event")
    if event not in EVENTS:
        raise ActionError("event must be view, ping or leave.")
    url = _web_address(_text(payload, "url", MAX_URL + 1))
    if not url or len(url) > MAX_URL:
        raise ActionError("url must be a web address.")
    consent = consent_of(payload)
    if not may_track(tracking, consent, declined=declined):
        return None
    seconds = payload.get("seconds")
    return Beat(
        account_id=account.pk, visitor_id=visitor_id, event=event, at=time.time(), url=url,
        title=_text(payload, "title", 300),
        referrer=_web_address(_text(payload, "referrer", MAX_URL)),
        screen=_text(payload, "screen", 20), lang=_text(payload, "lang", 35),
        tz=_text(payload, "tz", 64), ip=ip, user_agent=user_agent[:512],
        locate=not tracking.geolocation_consent_required or consent.get("geolocation") is True,
        page_seconds=seconds if isinstance(seconds, int) and 0 <= seconds < 86400 else 0,
    )


def answer_beat(
    account: Account, payload: object, *, ip: str | None, user_agent: str, declined: bool,
) -> dict[str, Any] | None:
    """Everything the endpoint does: check, queue, and hand over a waiting invitation
    (the answer's body; None for 204). Bad input is an ``ActionError``."""
    from saruna.visitors.actions import mark_invitation_shown

    beat = read_beat(account, payload, ip=ip, user_agent=user_agent, declined=declined,
                     tracking=tracking_settings(account))
    if beat is None:
        return None
    queue.add(beat)
    invitation = live.take_invitation(account.pk, beat.visitor_id)
    if invitation is None:
        return None
    mark_invitation_shown(account, beat.visitor_id, invitation["id"])
    return {"invitation": invitation}


# --- the queue -------------------------------------------------------------------------------

class BeatQueue:
    """Beats waiting to be handed over, and the thread that hands them to the worker."""

    def __init__(self, *, start_writer: bool = True) -> None:
        self.start_writer = start_writer
        self.beats: list[Beat] = []
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None

    def add(self, beat: Beat) -> None:
        interval = settings.SARUNA_TRACKING_FLUSH_SECONDS
        if interval <= 0:
            write_beats([beat])
            return
        with self.lock:
            self.beats.append(beat)
            full = len(self.beats) >= FLUSH_AT
            if self.start_writer and (self.thread is None or not self.thread.is_alive()):
                self.thread = threading.Thread(
                    target=self._run, args=(interval,), name="saruna-tracking", daemon=True)
                self.thread.start()
        if full:
            self.wake.set()

    def hand_over_rest(self) -> None:
        """At the process's exit: what is still queued (a clean stop loses nothing)."""
        beats = self.take()
        if beats:
            hand_over(beats)

    def take(self) -> list[Beat]:
        with self.lock:
            beats, self.beats = self.beats, []
        return beats

    def _run(self, interval: float) -> None:
        while True:
            self.wake.wait(interval)
            self.wake.clear()
            beats = self.take()
            if not beats:
                continue
            try:
                hand_over(beats)
            except Exception:  # an unreachable queue must not stop the flusher
                logger.exception("Handing %d tracking beats to the worker failed", len(beats))


def hand_over(beats: list[Beat]) -> None:
    """One Huey task for the batch (run at once, in this thread, when Huey is immediate)."""
    from saruna.visitors.tasks import write_tracked_beats

    write_tracked_beats(beats)


def _hand_over_and_stop(signum: int, frame: object) -> None:
    queue.hand_over_rest()
    signal.signal(signum, signal.SIG_DFL)
    signal.raise_signal(signum)


queue = BeatQueue()
atexit.register(queue.hand_over_rest)
# uvicorn stops cleanly on SIGTERM and then raises it again with the handler it found, which by
# default ends the process without running atexit: this one hands the queue over first. It
# finds it when it loads the application before serving (one process, `saruna serve`), not in
# its worker processes (``--workers N``), which lose their last interval on a stop.
if (threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL):
    signal.signal(signal.SIGTERM, _hand_over_and_stop)


# --- writing ---------------------------------------------------------------------------------

@lru_cache(maxsize=2048)
def describe_user_agent(user_agent: str) -> tuple[str, str, str]:
    """(browser, operating system, device kind: desktop, mobile, tablet or bot)."""
    result = parse_user_agent(user_agent)
    browser = result.user_agent.family if result.user_agent else ""
    system = result.os.family if result.os else ""
    device_family = (result.device.family if result.device else "") or ""
    lowered = user_agent.lower()
    if device_family == "Spider" or "bot" in lowered or "crawler" in lowered:
        kind = "bot"
    elif "ipad" in lowered or "tablet" in lowered or (
            "android" in lowered and "mobile" not in lowered):
        kind = "tablet"
    elif "mobi" in lowered or system in ("iOS", "Android"):
        kind = "mobile"
    else:
        kind = "desktop"
    return (
        "" if browser == "Other" else browser[:60],
        "" if system == "Other" else system[:60],
        kind,
    )


def reduced_ip(ip: str | None, handling: str) -> str | None:
    """What is kept of an address: the network part (IPv4 /24, IPv6 /48) or nothing."""
    if not ip or handling == TrackingSettings.IpHandling.DROP:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def _moment(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def write_beats(beats: list[Beat]) -> None:
    by_account: dict[str, list[Beat]] = defaultdict(list)
    for beat in beats:
        by_account[beat.account_id].append(beat)
    for account_id, account_beats in by_account.items():
        with scopes_disabled():
            account = Account.objects.filter(pk=account_id).first()
        if account is None:
            continue
        with scope(account=account), _writing(account_id):
            _write_retrying(account, account_beats)


# Two batches of one account written at once would race on a visitor in both: each would
# start the visit's session, or save its live state over the other's. A writer takes the
# account's key in the cache (shared by every process); one that died holding it holds it for
# WRITING_SECONDS at most, longer than any batch takes.
WRITING_SECONDS = 60
WAIT_SECONDS = 0.005
# Threads of one process queue on a lock first: the file cache's ``add`` is not atomic
# between them (between processes it need not be: without Redis one worker process writes).
_writing_here: dict[str, threading.Lock] = {}


@contextmanager
def _writing(account_id: str) -> Iterator[None]:
    key, holder = f"{account_id}:visitors:writing", uuid.uuid4().hex
    with _writing_here.setdefault(account_id, threading.Lock()):
        while not cache.add(key, holder, WRITING_SECONDS):
            time.sleep(WAIT_SECONDS)
        try:
            yield
        finally:
            if cache.get(key) == holder:  # not one taken over after it expired
                cache.delete(key)


def _write_retrying(account: Account, beats: list[Beat], attempts: int = 8) -> None:
    """SQLite's shared in-memory test database refuses a second writer ("table is locked")
    instead of waiting like a file database does: the batch (one transaction) is tried
    again a moment later."""
    for attempt in range(attempts):
        try:
            _write_account(account, beats)
            return
        except OperationalError as error:
            if "locked" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


@dataclass
class _VisitorWork:
    beats: list[Beat] = field(default_factory=list)
    state: dict[str, Any] | None = None


def _write_account(account: Account, beats: list[Beat]) -> None:
    tracking = tracking_settings(account)
    work: dict[str, _VisitorWork] = defaultdict(_VisitorWork)
    for beat in beats:
        work[beat.visitor_id].beats.append(beat)
    states = live.states(account.pk, list(work))
    for visitor_id, item in work.items():
        item.state = states.get(visitor_id)
    with transaction.atomic():
        visitors = _visitors(account, list(work), beats)
        sessions = {s.public_id: s for s in VisitSession.objects.filter(
            public_id__in=[i.state["session"] for i in work.values() if i.state])}
        # Visitors not on the live map now who were here before: one query for the batch.
        returning = set(VisitSession.objects.filter(visitor_id__in=[
            visitors[v].pk for v, item in work.items() if item.state is None
        ]).values_list("visitor_id", flat=True).distinct())
        new_sessions: list[VisitSession] = []
        pages: list[_Page] = []
        for visitor_id, item in work.items():
            visitor = visitors[visitor_id]
            for beat in item.beats:
                item.state = _apply(account, tracking, visitor, item.state, beat, sessions,
                                    new_sessions, pages, visitor.pk in returning)
        VisitSession.objects.bulk_create(new_sessions)
        _insert_pages(account, pages)
        new_ids = {s.public_id for s in new_sessions}
        touched = [sessions[i.state["session"]] for i in work.values()
                   if i.state and i.state["session"] in sessions
                   and i.state["session"] not in new_ids]
        _update_sessions(touched)
        last_seen = _moment(max(beat.at for beat in beats))
        Visitor.objects.filter(pk__in=[v.pk for v in visitors.values()]).update(
            last_seen=last_seen)
    fresh = {visitor_id: item.state for visitor_id, item in work.items() if item.state}
    live.save_states(account.pk, fresh)
    rules.offer_invitations(account, tracking, fresh)


# The flush writes its rows with one statement run by the driver for each row: the ORM's
# bulk_update (a CASE per row) and bulk_create (a model instance per row) cost more in Python
# than the database spends on them, on the busiest path there is.


def _update_sessions(sessions: list[VisitSession]) -> None:
    """Their ``last_seen`` and ``page_count``."""
    if not sessions:
        return
    meta = VisitSession._meta
    last_seen, page_count = meta.get_field("last_seen"), meta.get_field("page_count")
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {meta.db_table} SET {last_seen.column} = %s, {page_count.column} = %s "
            f"WHERE {meta.pk.column} = %s",
            [(last_seen.get_db_prep_value(s.last_seen, connection), s.page_count, s.pk)
             for s in sessions])


@dataclass(slots=True)
class _Page:
    """A page view to insert; its session may be one the batch creates (no pk yet)."""

    session: VisitSession
    visitor_id: int
    beat: Beat


def _insert_pages(account: Account, pages: list[_Page]) -> None:
    if not pages:
        return
    meta = PageVisit._meta
    names = ("account", "session", "visitor", "url", "title", "referrer", "visited_at")
    column = {field.name: f"{field.column}" for field in meta.concrete_fields}
    columns = ", ".join(column[name] for name in names)
    visited_at = meta.get_field("visited_at")
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {meta.db_table} ({columns}) VALUES ({', '.join(['%s'] * len(names))})",
            [(account.pk, page.session.pk, page.visitor_id, page.beat.url, page.beat.title,
              page.beat.referrer,
              visited_at.get_db_prep_value(_moment(page.beat.at), connection))
             for page in pages])


def _visitors(account: Account, ids: list[str], beats: list[Beat]) -> dict[str, Visitor]:
    found = {v.public_id: v for v in Visitor.objects.filter(public_id__in=ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        first = {b.visitor_id: _moment(b.at) for b in reversed(beats)}
        Visitor.objects.bulk_create(
            [Visitor(account=account, public_id=i, first_seen=first[i], last_seen=first[i])
             for i in missing],
            ignore_conflicts=True,
        )
        found.update({v.public_id: v for v in Visitor.objects.filter(public_id__in=missing)})
    return found


def _apply(
    account: Account, tracking: TrackingSettings, visitor: Visitor,
    state: dict[str, Any] | None, beat: Beat, sessions: dict[str, VisitSession],
    new_sessions: list[VisitSession], pages: list[_Page], visited_before: bool,
) -> dict[str, Any] | None:
    """One beat on the visitor's live state (returned) and the rows to write;
    ``visited_before``: the visitor has sessions in the database."""
    session = sessions.get(state["session"]) if state else None
    if session is None or beat.at - state["last_seen"] > SESSION_GAP.total_seconds():  # type: ignore[index]
        if beat.event != "view":
            return state  # a heartbeat of a visit we never saw start: wait for a page view
        session = _new_session(account, tracking, visitor, beat, returning=bool(
            state or visitor.first_seen < _moment(beat.at) - SESSION_GAP or visited_before))
        sessions[session.public_id] = session
        new_sessions.append(session)
        state = live.new_state(visitor, session)
    assert state is not None
    # A batch that waited behind a later one (a backlog, several worker threads) must not
    # move the visit back in time.
    session.last_seen = max(session.last_seen, _moment(beat.at))
    state["last_seen"] = max(state["last_seen"], beat.at)
    if beat.event == "view":
        session.page_count += 1
        pages.append(_Page(session, visitor.pk, beat))
        live.add_page(state, beat.url, beat.title, beat.at)
    state["left"] = beat.event == "leave"
    state["page_count"] = session.page_count
    return state


def _new_session(
    account: Account, tracking: TrackingSettings, visitor: Visitor, beat: Beat, *,
    returning: bool,
) -> VisitSession:
    site_host = urlsplit(beat.url).hostname or ""
    source = classify(beat.url, beat.referrer, site_host)
    place = geo.locate(beat.ip) if beat.locate else None
    browser, system, device = describe_user_agent(beat.user_agent)
    utm = utm_parameters(beat.url)
    return VisitSession(
        account=account, visitor=visitor, public_id=new_id(VisitSession.id_length),
        started_at=_moment(beat.at), last_seen=_moment(beat.at),
        ip=reduced_ip(beat.ip, tracking.ip_handling),
        country=place.country if place else "", region=place.region if place else "",
        city=place.city if place else "",
        latitude=place.latitude if place else None, longitude=place.longitude if place else None,
        browser=browser, os=system, device=device, language=beat.lang, time_zone=beat.tz,
        screen=beat.screen, source_type=source.type, source_name=source.name[:100],
        referrer=beat.referrer, landing_url=beat.url, returning=returning,
        **utm,
    )
