"""The owner's form screens, and the public side of a form: hosted page, embed script and the
submit endpoint that both post to."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from saruna.accounts.decorators import manager_required
from saruna.accounts.models import User
from saruna.contactforms import actions
from saruna.contactforms.forms import (
    ContactFormSettings,
    QuestionFormSet,
    SubmissionForm,
    questions_initial,
)
from saruna.contactforms.models import ContactForm
from saruna.contacts.common import ActionError
from saruna.core import ratelimit
from saruna.core.urls import public_url

# Per visitor address and account; only submissions that would create a ticket (or look like
# bots) count, so someone correcting a typo is never locked out.
SUBMIT_LIMIT = "10/h"
DEFAULT_THANKS = gettext_lazy("Thank you. We have received your message and will reply soon.")
TOO_MANY = gettext_lazy("Too many messages from your network. Please try again later.")
FIX_ERRORS = gettext_lazy("Please correct the marked fields.")
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Content-Type",
    "Access-Control-Max-Age": "86400",
}


# --- the owner's screens -------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # manager_required: a logged-in user


@manager_required
@require_GET
def form_list(request: HttpRequest) -> HttpResponse:
    forms = ContactForm.objects.select_related("department")
    return render(request, "contactforms/list.html", {"forms": forms})


def _save(request: HttpRequest, contact_form: ContactForm | None) -> HttpResponse:
    initial: dict[str, Any] = {}
    questions: list[dict[str, Any]] = []
    if contact_form is not None:
        initial = ContactFormSettings.initial_for(contact_form)
        questions = questions_initial(contact_form)
    data = request.POST if request.method == "POST" else None
    settings_form = ContactFormSettings(data, initial=initial)
    formset = QuestionFormSet(data, initial=questions, prefix="q")
    if data is not None and settings_form.is_valid() and formset.is_valid():
        cleaned = settings_form.cleaned_data
        fields = actions.build_fields(
            ask_name=cleaned["ask_name"], require_name=cleaned["require_name"],
            ask_subject=cleaned["ask_subject"], require_subject=cleaned["require_subject"],
            questions=[spec for form in formset if (spec := form.spec()) is not None],
        )
        try:
            saved = actions.save_contact_form(
                request.account, contact_form, actor=_user(request),  # type: ignore[attr-defined]
                name=cleaned["name"], department=cleaned["department"],
                confirmation_text=cleaned["confirmation_text"], fields=fields,
            )
        except ActionError as error:
            settings_form.add_error(None, error.message)
        else:
            messages.success(request, gettext("The form is saved."))
            return redirect("contactform_edit", form_id=saved.public_id)
    context: dict[str, Any] = {"form": settings_form, "formset": formset,
                               "contact_form": contact_form}
    if contact_form is not None:
        context["snippet"] = embed_snippet(contact_form)
        context["page_url"] = _absolute(contact_form, "contactform_page")
    return render(request, "contactforms/edit.html", context)


@manager_required
def form_create(request: HttpRequest) -> HttpResponse:
    return _save(request, None)


@manager_required
def form_edit(request: HttpRequest, form_id: str) -> HttpResponse:
    return _save(request, get_object_or_404(ContactForm, public_id=form_id))


@manager_required
@require_POST
def form_set_active(request: HttpRequest, form_id: str) -> HttpResponse:
    contact_form = get_object_or_404(ContactForm, public_id=form_id)
    active = request.POST.get("active") == "1"
    actions.save_contact_form(
        request.account, contact_form, actor=_user(request),  # type: ignore[attr-defined]
        is_active=active,
    )
    messages.success(
        request,
        gettext("The form is active again.") if active else gettext(
            "The form is deactivated: its page, script and submissions answer “not found”."),
    )
    return redirect("contactform_list")


def _absolute(contact_form: ContactForm, name: str) -> str:
    path = reverse(name, kwargs={"form_id": contact_form.public_id})
    return public_url(contact_form.account.host, path)


def embed_snippet(contact_form: ContactForm) -> str:
    """What an owner pastes into a web page: the script, and a plain form for browsers
    without JavaScript (its first send comes back once for a time stamp: see ``submit``)."""
    return render_to_string("contactforms/snippet.html", {
        "form": SubmissionForm(contact_form),
        "script_url": _absolute(contact_form, "contactform_embed"),
        "submit_url": _absolute(contact_form, "contactform_submit"),
    }).strip()


# --- the public side -----------------------------------------------------------------------


def _active_form(form_id: str) -> ContactForm:
    contact_form = ContactForm.objects.filter(public_id=form_id, is_active=True).first()
    if contact_form is None:
        raise Http404
    return contact_form


def _page(request: HttpRequest, contact_form: ContactForm, form: SubmissionForm,
          status: int = 200) -> HttpResponse:
    return render(request, "contactforms/page.html", {
        "contact_form": contact_form, "form": form,
        "submit_url": reverse("contactform_submit", kwargs={"form_id": contact_form.public_id}),
    }, status=status)


@require_GET
def hosted_page(request: HttpRequest, form_id: str) -> HttpResponse:
    contact_form = _active_form(form_id)
    return _page(request, contact_form, SubmissionForm(contact_form))


@require_GET
def thanks(request: HttpRequest, form_id: str) -> HttpResponse:
    contact_form = _active_form(form_id)
    return render(request, "contactforms/thanks.html", {
        "contact_form": contact_form,
        "text": contact_form.confirmation_text or DEFAULT_THANKS,
    })


@require_GET
def embed_script(request: HttpRequest, form_id: str) -> HttpResponse:
    contact_form = _active_form(form_id)
    form = SubmissionForm(contact_form)
    config = {
        "id": contact_form.public_id,
        "action": _absolute(contact_form, "contactform_submit"),
        "fields": [
            {"key": s["key"], "label": s["label"], "type": s["type"],
             "required": bool(s.get("required")),
             "choices": s.get("choices", [])}
            for s in form.specs
        ],
        "started": form.fields["started"].initial,
        "text": {
            "honeypot": str(form.fields["website"].label),
            "send": gettext("Send"),
            "sending": gettext("Sending…"),
            "failed": gettext("The message could not be sent. Please try again."),
        },
    }
    # Escaped like json_script, so no value can end the script or open markup.
    data = json.dumps(config).translate({ord("<"): "\\u003C", ord(">"): "\\u003E",
                                         ord("&"): "\\u0026"})
    script = render_to_string("contactforms/embed.js").replace("__CONFIG__", data)
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    # Short: the script carries the fill-time stamp; a cached stamp only makes it older.
    patch_cache_control(response, public=True, max_age=300)
    patch_vary_headers(response, ["Accept-Language"])
    return response


def _cors(response: HttpResponse) -> HttpResponse:
    for name, value in CORS_HEADERS.items():
        response[name] = value
    return response


def _json_error(message: str, status: int, **extra: Any) -> HttpResponse:
    return _cors(JsonResponse({"message": message, **extra}, status=status))


@csrf_exempt
def submit(request: HttpRequest, form_id: str) -> HttpResponse:
    """Posted to by the hosted page, the embed script (``Accept: application/json``, from any
    origin, without cookies) and the plain fallback form. No CSRF token can exist for a form
    on someone else's site; the honeypot, the signed fill-time stamp and the per-address
    rate limit stand in for it, and no cookie-borne identity is used."""
    wants_json = "application/json" in request.headers.get("Accept", "")
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204))
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST", "OPTIONS"])
    try:
        contact_form = _active_form(form_id)
    except Http404:
        if wants_json:
            return _json_error(gettext("This form does not exist."), 404)
        raise
    form = SubmissionForm(contact_form, request.POST)
    valid = form.is_valid()
    if valid or form.bot_suspected:
        key = f"{contact_form.account_id}:contactform:{ratelimit.client_key(request)}"
        if not ratelimit.hit(key, SUBMIT_LIMIT) and valid:
            if wants_json:
                return _json_error(str(TOO_MANY), 429)
            form.add_error(None, TOO_MANY)
            return _page(request, contact_form, form, status=429)
    if valid:
        try:
            ticket = actions.submit(contact_form, form.answers())
        except ActionError as error:
            form.add_error("email", error.message)
        else:
            if wants_json:
                return _cors(JsonResponse({
                    "message": contact_form.confirmation_text or str(DEFAULT_THANKS),
                    "code": ticket.code,
                }))
            return redirect("contactform_thanks", form_id=contact_form.public_id)
    if wants_json:
        errors = {name: [str(m) for m in msgs] for name, msgs in form.errors.items()}
        general = errors.pop("__all__", None)
        return _json_error(
            general[0] if general else str(FIX_ERRORS), 400, errors=errors,
            started=form.data.get("started") if form.bot_suspected else None,
        )
    return _page(request, contact_form, form, status=400)
