"""The chat's pages: the widget's loader script and its chat iframe (for visitors), the agent's
chat screen, and the owner's settings (chat buttons, routing). Views only read; writes go
through ``saruna.chat.actions``."""

from __future__ import annotations

import hashlib
from functools import cache

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET, require_http_methods

from saruna.accounts.decorators import manager_required
from saruna.accounts.models import User
from saruna.chat import actions, queries
from saruna.chat.forms import (
    ChatButtonForm,
    ChatSettingsForm,
    FieldRowFormSet,
    default_fields,
    field_specs,
    rows_initial,
)
from saruna.chat.models import AgentStatus, ChatButton
from saruna.contacts.common import ActionError
from saruna.tickets.files import max_attachment_bytes
from saruna.tickets.models import CannedMessage, Department
from saruna.visitors import queries as visitor_queries
from saruna.visitors.identity import widget_secret

# The loader's URL is in every customer's snippet and cannot carry a version: browsers and
# CDNs keep it an hour, then revalidate it cheaply with its ETag.
LOADER_MAX_AGE = 3600


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # behind a login decorator


# --- the widget ----------------------------------------------------------------------------


@cache
def _loader() -> tuple[bytes, str]:
    path = finders.find("chat/widget/loader.js")
    assert isinstance(path, str), "chat/widget/loader.js is missing from the static files"
    with open(path, "rb") as file:
        content = file.read()
    return content, f'"{hashlib.sha256(content).hexdigest()[:20]}"'


@require_GET
def widget_loader(request: HttpRequest) -> HttpResponse:
    content, etag = _loader() if not settings.DEBUG else _loader.__wrapped__()
    if request.headers.get("If-None-Match") == etag:
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(content, content_type="text/javascript; charset=utf-8")
    response["ETag"] = etag
    # Any site may load it; the script itself carries no account data.
    response["Access-Control-Allow-Origin"] = "*"
    patch_cache_control(response, public=True, max_age=LOADER_MAX_AGE)
    return response


EMOJIS = ["😀", "😊", "😂", "😉", "😍", "🤔", "😮", "😢", "😅", "🙏", "👍", "👎",
          "👏", "🎉", "❤️", "🔥", "✅", "❌", "👋", "🙂", "😎", "🤝", "💡", "⭐"]


def _widget_strings() -> dict[str, str]:
    """What the chat UI's script says, in the page's language."""
    return {
        "you": gettext("You"),
        "agent": gettext("The agent"),
        "sending": gettext("Sending…"),
        "read": gettext("Read"),
        "failed": gettext("Something went wrong. Please try again."),
        "queue": gettext("You are number %(position)s in the queue."),
        "wait": gettext("Estimated wait: about %(minutes)s min."),
        "connecting": gettext("Connecting you to an agent…"),
        "chatting": gettext("You are chatting with %(name)s."),
        "typing": gettext("%(name)s is typing…"),
        "ended": gettext("The chat has ended."),
        "reconnecting": gettext("Connection lost. Reconnecting…"),
        "lost": gettext("This chat is no longer available."),
        "too_big": gettext("%(name)s is too large: files up to %(size)s can be sent."),
        "uploading": gettext("Sending %(name)s…"),
        "choose_rating": gettext("Choose good or bad first."),
        "rated": gettext("Thank you for your rating."),
        "transcript_sent": gettext("The transcript is on its way to %(email)s."),
        "offline_sent": gettext("Thank you. We have received your message and will reply by "
                                "e-mail."),
    }


# The page is framed by customers' sites; its own policy allows nothing from elsewhere.
CHAT_PAGE_POLICY = ("default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
                    "style-src 'self'; script-src 'self'; base-uri 'none'; form-action 'self'")


def _page_language(requested: str, account_language: str) -> str:
    """The loader asks for the language config.json chose; this page's own strings exist in
    the installation's languages only."""
    known = {code for code, _name in settings.LANGUAGES}
    for language in (requested, account_language):
        if language in known:
            return language
    return settings.LANGUAGE_CODE


@xframe_options_exempt
@require_GET
def widget_chat(request: HttpRequest, button_id: str) -> HttpResponse:
    """The chat UI the loader shows in its iframe. Its texts, forms and colours come from
    config.json when it starts, so this page is the same for every button but the id."""
    button = ChatButton.objects.filter(public_id=button_id, enabled=True).first()
    if button is None:
        raise Http404
    account = request.account  # type: ignore[attr-defined]
    language = _page_language(request.GET.get("lang", ""), account.language)
    with translation.override(language):
        widget = {"button": button.public_id, "max_file_bytes": max_attachment_bytes(),
                  "strings": _widget_strings()}
        response = render(request, "chat/widget/chat.html", {
            "language": language, "widget": widget, "emojis": EMOJIS,
        })
    response["Content-Security-Policy"] = CHAT_PAGE_POLICY
    patch_cache_control(response, private=True, max_age=300)
    return response


# --- the owner's settings -------------------------------------------------------------------


@manager_required
@require_GET
def button_list(request: HttpRequest) -> HttpResponse:
    secret = widget_secret(request.account).identity_secret  # type: ignore[attr-defined]
    return render(request, "chat/settings/buttons.html", {
        "buttons": ChatButton.objects.select_related("department"),
        "secret": secret,
    })


def _save_button(request: HttpRequest, button: ChatButton | None) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    if button is not None:
        initial = ChatButtonForm.initial_for(button)
        prechat, offline = button.prechat_fields, button.offline_fields
    else:
        initial = {}
        prechat = default_fields(message_required=False)
        offline = default_fields(message_required=True)
    form = ChatButtonForm(data, initial=initial)
    prechat_rows = FieldRowFormSet(data, initial=rows_initial(prechat), prefix="pre")
    offline_rows = FieldRowFormSet(data, initial=rows_initial(offline), prefix="off")
    if data is not None and all(f.is_valid() for f in (form, prechat_rows, offline_rows)):
        try:
            saved = actions.save_chat_button(
                request.account, button, actor=_user(request),  # type: ignore[attr-defined]
                prechat_fields=field_specs(prechat_rows),
                offline_fields=field_specs(offline_rows),
                **form.action_fields(),
            )
        except ActionError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, gettext("The chat button is saved."))
            return redirect("chat_button_edit", button_id=saved.public_id)
    return render(request, "chat/settings/button.html", {
        "form": form, "prechat_rows": prechat_rows, "offline_rows": offline_rows,
        "button": button, "snippet": queries.embed_snippet(button) if button else "",
    })


@manager_required
@require_http_methods(["GET", "POST"])
def button_new(request: HttpRequest) -> HttpResponse:
    return _save_button(request, None)


@manager_required
@require_http_methods(["GET", "POST"])
def button_edit(request: HttpRequest, button_id: str) -> HttpResponse:
    return _save_button(request, get_object_or_404(ChatButton, public_id=button_id))


@manager_required
@require_http_methods(["GET", "POST"])
def button_delete(request: HttpRequest, button_id: str) -> HttpResponse:
    button = get_object_or_404(ChatButton, public_id=button_id)
    if request.method == "POST":
        actions.delete_chat_button(button, actor=_user(request))
        messages.success(request, gettext("The chat button is deleted."))
        return redirect("chat_button_list")
    return render(request, "chat/settings/button_delete.html", {"button": button})


@manager_required
@require_http_methods(["GET", "POST"])
def routing_settings(request: HttpRequest) -> HttpResponse:
    account = request.account  # type: ignore[attr-defined]
    form = ChatSettingsForm(request.POST if request.method == "POST" else None,
                            instance=queries.chat_settings(account))
    if request.method == "POST" and form.is_valid():
        try:
            actions.save_chat_settings(account, actor=_user(request), **form.action_fields())
        except ActionError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, gettext("The chat settings are saved."))
            return redirect("chat_settings")
    return render(request, "chat/settings/routing.html", {"form": form})


# --- the agent's chat screen ----------------------------------------------------------------


@login_required
@require_GET
def desk(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    state = queries.agent_state(user)
    departments = list(Department.objects.filter(agents=user).order_by("name"))
    for department in departments:
        department.override = state["departments"].get(department.public_id, "")  # type: ignore[attr-defined]
    return render(request, "chat/desk.html", {
        "state": state,
        "statuses": AgentStatus.choices,
        "departments": departments,
        "all_departments": Department.objects.order_by("name"),
        "agents": User.objects.filter(is_active=True).exclude(pk=user.pk)
        .order_by("full_name", "pk"),
        "canned": CannedMessage.objects.filter(
            Q(user__isnull=True) | Q(user=user),
            Q(department__isnull=True) | Q(department__in=departments),
        ).order_by("keywords", "pk"),
    })


@login_required
@require_GET
def visitor_panel(request: HttpRequest, chat_id: str) -> HttpResponse:
    """Who the visitor is, beside a chat: the pre-chat answers and the contact, then the
    visitor tracking's panel (where they are, pages, source)."""
    chat = queries.visible_chat(_user(request), chat_id)
    if chat is None:
        raise Http404
    details = queries.visitor_details(chat)
    labels = {field["name"]: field["label"] for field in
              (chat.button.prechat_fields if chat.button is not None else [])}
    answers = [(labels.get(name, name), value) for name, value in details["fields"].items()
               if name not in ("name", "email")]
    return render(request, "chat/_visitor.html", {
        "details": details, "answers": answers, **visitor_queries.visitor_panel(chat.visitor),
    })
