"""The widget's JSON endpoints (widget.md: configuration, the visitor's chat, the long-poll,
files, the offline form) and the agent UI's two HTTP endpoints (chat.md).

The visitor is known by the signed token in ``X-Saruna-Visitor`` (or ``token`` in the body);
no cookie counts, so there is no CSRF to guard against. A token of another account or
another visitor finds no chat: 404, exactly like a chat that does not exist.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import uuid
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from saruna.chat import actions, queries
from saruna.chat.models import Chat, ChatButton, ChatMessage, ChatStatus, MessageKind
from saruna.contacts.common import ActionError
from saruna.core import ratelimit
from saruna.core.net import allow_any_origin
from saruna.realtime.bus import publish
from saruna.tickets import files as ticket_files
from saruna.visitors.identity import (
    issue_visitor_token,
    verify_identity,
    visitor_for_token,
    visitor_id_from_token,
)
from saruna.visitors.queries import inviting_agent

# Within the 30 s after which a client that saw nothing reconnects (widget.md).
POLL_SECONDS = 25
START_LIMIT = "20/h"
OFFLINE_LIMIT = "10/h"
MESSAGE_LIMIT = "120/m"
STATUS_FOR_CODE = {"invalid": 400, "not_found": 404, "conflict": 409, "too_large": 413,
                   "offline": 409}


def _error(message: str, status: int, **extra: Any) -> JsonResponse:
    return JsonResponse({"message": message, **extra}, status=status)


def _action_error(error: ActionError) -> JsonResponse:
    extra = {"offline": True} if error.code == "offline" else {}
    return _error(error.message, STATUS_FOR_CODE.get(error.code, 400), **extra)


def _body(request: HttpRequest) -> dict[str, Any]:
    """The JSON object a widget request sends (``text/plain`` from ``sendBeacon`` too)."""
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ActionError(gettext("The request is not valid JSON.")) from exc
    if not isinstance(data, dict):
        raise ActionError(gettext("The request must be a JSON object."))
    return data


def _token(request: HttpRequest, body: dict[str, Any] | None = None) -> object:
    return request.headers.get("X-Saruna-Visitor") or (body or {}).get("token")


def _language(request: HttpRequest, button: ChatButton) -> str:
    wanted = request.GET.get("lang") or request.headers.get("Accept-Language", "")[:5]
    return queries.widget_language(button, wanted)


def widget_endpoint(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """No cookies, no CSRF; bad input (``ActionError``) becomes ``{"message"}`` and a 4xx."""

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except ActionError as error:
            return _action_error(error)
        except Http404:
            return _error(gettext("Not found."), 404)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return csrf_exempt(wrapped)


def _button(button_id: str) -> ChatButton:
    button = ChatButton.objects.select_related("department", "account").filter(
        public_id=button_id, enabled=True).first()
    if button is None:
        raise Http404
    return button


def _chat_and_body(request: HttpRequest, chat_id: str) -> tuple[Chat, dict[str, Any]]:
    """The visitor's chat and the request's JSON: a stranger gets 404 before any complaint
    about the body."""
    try:
        body, problem = _body(request), None
    except ActionError as error:
        body, problem = {}, error
    chat = _visitor_chat(request, chat_id, body)
    if problem is not None:
        raise problem
    return chat, body


def _visitor_chat(request: HttpRequest, chat_id: str, body: dict | None = None) -> Chat:
    """The chat the request's visitor token owns, else 404."""
    visitor = visitor_for_token(request.account, _token(request, body), create=False)  # type: ignore[attr-defined]
    chat = None
    if visitor is not None:
        chat = Chat.objects.select_related(*queries.SUMMARY_RELATED, "account").filter(
            public_id=chat_id, visitor=visitor).first()
    if chat is None:
        raise Http404
    return chat


# --- configuration and starting ------------------------------------------------------------


@widget_endpoint
@require_http_methods(["GET", "OPTIONS"])
def config(request: HttpRequest, button_id: str) -> HttpResponseBase:
    """Read by the loader on the host page, another origin: it answers CORS."""
    if request.method == "OPTIONS":
        return allow_any_origin(HttpResponse(status=204), "GET, OPTIONS")
    button = _button(button_id)
    language = _language(request, button)
    data = queries.widget_config(button, language)
    if visitor_id_from_token(request.account, _token(request)) is None:  # type: ignore[attr-defined]
        data["token"] = issue_visitor_token(request.account)  # type: ignore[attr-defined]
    elif not data["online"] and request.GET.get("invitation"):
        data["online"] = _invited_by_an_agent_who_is_there(request, request.GET["invitation"])
    data["tracking"] = _tracking_config(request)
    response = JsonResponse(data)
    response["Cache-Control"] = "no-store"
    return allow_any_origin(response, "GET, OPTIONS")


def _invited_by_an_agent_who_is_there(request: HttpRequest, invitation: str) -> bool:
    """The agent who invited this visitor takes the chat, whatever their departments (asked
    by the chat UI for the invitation the visitor accepts, not on every page view)."""
    visitor = visitor_for_token(request.account, _token(request), create=False)  # type: ignore[attr-defined]
    return visitor is not None and inviting_agent(visitor, invitation) is not None


def _tracking_config(request: HttpRequest) -> dict[str, Any] | None:
    """The visitor tracking's part of the configuration (its own app decides)."""
    try:
        from saruna.visitors.config import tracking_config
    except ImportError:  # tracking not installed in this build: the loader tracks nothing
        return {"enabled": False}
    return tracking_config(request.account)  # type: ignore[attr-defined]


@widget_endpoint
@require_POST
def start(request: HttpRequest, button_id: str) -> HttpResponse:
    button = _button(button_id)
    body = _body(request)
    visitor = visitor_for_token(request.account, _token(request, body))  # type: ignore[attr-defined]
    if visitor is None:
        return _error(gettext("The visitor token is missing or not valid here."), 403)
    key = f"{request.account.pk}:chatstart:{ratelimit.client_key(request)}"  # type: ignore[attr-defined]
    if not ratelimit.hit(key, START_LIMIT):
        return _error(gettext("Too many chats from here. Please try again later."), 429)
    language = queries.widget_language(button, body.get("language") or _language(request, button))
    identity = verify_identity(request.account, body.get("identity"))  # type: ignore[attr-defined]
    invitation = body.get("invitation")
    with translation.override(language):
        chat, _created = actions.start_chat(
            button, visitor, fields=body.get("fields"), message=body.get("message"),
            client_id=body.get("client_id"), identity=identity, language=language,
            invitation=invitation if isinstance(invitation, str) else "",
        )
    chat.refresh_from_db()
    state = queries.visitor_state(chat)
    return JsonResponse({
        "chat": chat.public_id, "status": chat.status,
        "queue_position": state["queue_position"], "estimated_wait": state["estimated_wait"],
        "last_seq": chat.last_seq, "state": state,
    }, status=201 if _created else 200)


@widget_endpoint
@require_POST
def offline(request: HttpRequest, button_id: str) -> HttpResponse:
    button = _button(button_id)
    body = _body(request)
    key = f"{request.account.pk}:chatoffline:{ratelimit.client_key(request)}"  # type: ignore[attr-defined]
    if not ratelimit.hit(key, OFFLINE_LIMIT):
        return _error(gettext("Too many messages from here. Please try again later."), 429)
    visitor = visitor_for_token(request.account, _token(request, body))  # type: ignore[attr-defined]
    identity = verify_identity(request.account, body.get("identity"))  # type: ignore[attr-defined]
    fields = body.get("fields") if isinstance(body.get("fields"), dict) else body
    with translation.override(_language(request, button)):
        ticket = actions.submit_offline(button, visitor, fields, identity=identity)
    return JsonResponse({"ticket": ticket.code}, status=201)


# --- one chat ------------------------------------------------------------------------------


def _after_seq(request: HttpRequest) -> int:
    try:
        return max(0, int(request.GET.get("after_seq", "0")))
    except ValueError as exc:
        raise ActionError(gettext("after_seq must be a whole number.")) from exc


def _catch_up(chat: Chat, after_seq: int) -> dict[str, Any]:
    chat.refresh_from_db()
    return {"messages": queries.payloads_after(chat, after_seq),
            "state": queries.visitor_state(chat)}


@widget_endpoint
def messages(request: HttpRequest, chat_id: str) -> HttpResponse:
    """GET: everything after ``after_seq``; POST: send one message (a repeated client id
    answers the message stored the first time, with 200 instead of 201)."""
    if request.method == "GET":
        chat = _visitor_chat(request, chat_id)
        actions.visitor_seen(chat)
        return JsonResponse(_catch_up(chat, _after_seq(request)))
    if request.method != "POST":
        return _error(gettext("Method not allowed."), 405)
    chat, body = _chat_and_body(request, chat_id)
    if not ratelimit.hit(f"{chat.account_id}:chatmsg:{chat.public_id}", MESSAGE_LIMIT):
        return _error(gettext("Too many messages. Please slow down."), 429)
    with translation.override(chat.language or None):
        message, created = actions.post_visitor_message(
            chat, body.get("client_id"), body.get("body"))
    return JsonResponse(queries.message_payload(message, chat), status=201 if created else 200)


def _poll_chat(request: HttpRequest, chat_id: str) -> tuple[Chat, int]:
    chat = _visitor_chat(request, chat_id)
    actions.visitor_seen(chat)
    actions.check_chat_timers(chat)
    return chat, _after_seq(request)


async def poll(request: HttpRequest, chat_id: str) -> HttpResponse:
    """The long-poll fallback: answers at once when there are messages after ``after_seq``
    (or the chat has ended), else when anything happens in the chat, else after 25 s."""
    if request.method != "GET":
        return _error(gettext("Method not allowed."), 405)
    try:
        chat, after_seq = await sync_to_async(_poll_chat)(request, chat_id)
    except Http404:
        return _error(gettext("Not found."), 404)
    except ActionError as error:
        return _action_error(error)
    layer = get_channel_layer()
    assert layer is not None
    channel = await layer.new_channel()
    group = queries.chat_group(chat)
    await layer.group_add(group, channel)
    try:
        answer = await sync_to_async(_catch_up)(chat, after_seq)
        if not answer["messages"] and answer["state"]["status"] != ChatStatus.ENDED:
            event = await _next_event(layer, channel)
            answer = await sync_to_async(_catch_up)(chat, after_seq)
            if event is not None and event.get("type") == "chat.typing" and (
                event.get("side") != MessageKind.VISITOR
            ):
                answer["typing"] = {"typing": event["typing"], "name": event["name"]}
    finally:
        await layer.group_discard(group, channel)
    return JsonResponse(answer)


async def _next_event(layer: Any, channel: str) -> dict | None:
    try:
        return await asyncio.wait_for(layer.receive(channel), timeout=POLL_SECONDS)
    except TimeoutError:
        return None


@widget_endpoint
@require_POST
def upload(request: HttpRequest, chat_id: str) -> HttpResponse:
    chat = _visitor_chat(request, chat_id, {"token": request.POST.get("token")})
    upload_file = request.FILES.get("file")
    if upload_file is None:
        return _error(gettext("Choose a file to send."), 400)
    client_id = request.POST.get("client_id") or f"file-{uuid.uuid4().hex}"
    with translation.override(chat.language or None):
        message, created = actions.upload_file(
            chat, upload_file.name or "file", upload_file, kind=MessageKind.VISITOR,
            client_id=client_id,
        )
    return JsonResponse(queries.message_payload(message, chat), status=201 if created else 200)


@require_GET
def download(
    request: HttpRequest, chat_id: str, file_id: str, signature: str
) -> HttpResponseBase:
    """A chat's file by its signed link (the link is in the chat's messages)."""
    chat = Chat.objects.filter(public_id=chat_id).first()
    if chat is None or not hmac.compare_digest(signature, queries.file_signature(chat, file_id)):
        raise Http404
    message = ChatMessage.objects.filter(chat=chat, file__public_id=file_id).select_related(
        "file").first()
    if message is None or message.file is None:
        raise Http404
    return ticket_files.file_response(message.file, inline=request.GET.get("inline") == "1")


def _small_action(
    run: Callable[[Chat, dict[str, Any]], Any],
) -> Callable[[HttpRequest, str], HttpResponseBase]:
    """A visitor's POST on their chat answering ``{"state": ...}``."""

    @widget_endpoint
    @require_POST
    def view(request: HttpRequest, chat_id: str) -> HttpResponse:
        chat, body = _chat_and_body(request, chat_id)
        with translation.override(chat.language or None):
            run(chat, body)
        chat.refresh_from_db()
        return JsonResponse({"state": queries.visitor_state(chat)})

    return view


def _typing(chat: Chat, body: dict[str, Any]) -> None:
    publish(queries.chat_group(chat), "chat.typing", chat=chat.public_id,
            side=MessageKind.VISITOR, name="", typing=body.get("typing") is not False,
            channel="")
    actions.visitor_seen(chat)


typing = _small_action(_typing)
read = _small_action(lambda chat, body: actions.mark_read(chat, MessageKind.VISITOR,
                                                          body.get("seq")))
end = _small_action(lambda chat, body: actions.end_chat(chat, by="visitor"))
rating = _small_action(lambda chat, body: actions.rate_chat(chat, body.get("rating"),
                                                            body.get("comment") or ""))
transcript = _small_action(lambda chat, body: actions.send_transcript(chat, body.get("email")))


# --- the agent UI ---------------------------------------------------------------------------


def _agent_chat(request: HttpRequest, chat_id: str) -> Chat:
    chat = queries.visible_chat(request.user, chat_id)  # type: ignore[arg-type]
    if chat is None:
        raise Http404
    return chat


@login_required
@require_GET
def agent_messages(request: HttpRequest, chat_id: str) -> HttpResponse:
    chat = _agent_chat(request, chat_id)
    try:
        after_seq = _after_seq(request)
    except ActionError as error:
        return _action_error(error)
    return JsonResponse({"messages": queries.payloads_after(chat, after_seq),
                         "chat": queries.chat_summary(chat)})


@login_required
@require_POST
def agent_upload(request: HttpRequest, chat_id: str) -> HttpResponse:
    chat = _agent_chat(request, chat_id)
    upload_file = request.FILES.get("file")
    if upload_file is None:
        return _error(gettext("Choose a file to send."), 400)
    if chat.status != ChatStatus.CHATTING or not queries.is_member(chat, request.user):  # type: ignore[arg-type]
        return _error(gettext("You are not in this chat."), 409)
    client_id = request.POST.get("client_id") or f"file-{uuid.uuid4().hex}"
    try:
        message, created = actions.upload_file(
            chat, upload_file.name or "file", upload_file, kind=MessageKind.AGENT,
            client_id=client_id, author=request.user,  # type: ignore[arg-type]
        )
    except ActionError as error:
        return _action_error(error)
    return JsonResponse(queries.message_payload(message, chat), status=201 if created else 200)

