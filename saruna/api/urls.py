"""``/api/v3/`` on an account's host. Every API view is wrapped (:func:`api_view`) so that,
whatever ninja or Django would answer, the client gets LiveAgent's transport rules (API §1):
JSON ``{"message"}`` errors (also 404 for unknown paths and 405 for a wrong method), no
redirects (a trailing slash is served like none), the rate-limit headers, and writes that run
in one transaction together with their audit event."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import nullcontext
from functools import wraps
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, URLPattern, include, path, resolve
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt

from saruna.api import views
from saruna.api.v3 import api, error, webhooks
from saruna.api.v3.common import audited
from saruna.core.text import storable

PREFIX = "api/v3/"
OWN_TRANSACTIONS = frozenset({webhooks.TEST_URL_NAME})
READS = frozenset({"GET", "HEAD", "OPTIONS"})


def api_view(view: Callable[..., HttpResponse], *, atomic: bool = True
             ) -> Callable[..., HttpResponse]:
    """``atomic`` False: the operation keeps its own transactions (one that waits on the
    network must not hold the write lock meanwhile)."""
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if unstorable_input(request):
            return finish(request, error(request, 400, gettext(
                "Text must not contain NUL characters or unpaired surrogates.")))
        write = request.method not in READS
        with transaction.atomic() if write and atomic else nullcontext():
            response = view(request, *args, **kwargs)
            if write and response.status_code == 200 and not getattr(
                request, "_api_audited", False
            ):
                audited(request, "api.write", method=request.method, path=request.path)
            if write and atomic and response.status_code >= 400:
                transaction.set_rollback(True)
        return finish(request, response)

    return wrapped


def _unstorable(value: Any) -> bool:
    if isinstance(value, str):
        return storable(value) != value
    if isinstance(value, dict):
        return any(_unstorable(k) or _unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_unstorable(v) for v in value)
    return False


def unstorable_input(request: HttpRequest) -> bool:
    """Whether the query or a JSON body holds text no database can store (NUL, a lone
    surrogate from a ``\\ud800`` escape): refused as bad input rather than failing at the
    database with a 500."""
    if any(_unstorable(v) for values in request.GET.lists() for v in values[1]):
        return True
    if request.method in READS or request.content_type != "application/json":
        return False
    try:
        return _unstorable(json.loads(request.body))
    except ValueError:
        return False  # ninja answers malformed JSON itself


def finish(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    if response.status_code == 405 and not response.get("Content-Type", "").startswith(
        "application/json"
    ):
        allowed = response.get("Allow", "")
        response = error(request, 405, gettext("Method not allowed; use %(m)s.")
                         % {"m": allowed or "another method"})
        if allowed:
            response["Allow"] = allowed
    usage = getattr(request, "api_rate", None)
    if usage is not None:
        response["X-RateLimit-Limit"] = str(usage.limit)
        response["X-RateLimit-Remaining"] = str(usage.remaining)
    return response


@csrf_exempt
def fallback(request: HttpRequest, rest: str) -> HttpResponse:
    """Paths no operation matched: with a trailing slash, the same path without it;
    otherwise a JSON 404."""
    if rest.endswith("/"):
        try:
            match = resolve("/" + PREFIX + rest.rstrip("/"))
        except Resolver404:
            match = None
        if match is not None and match.func is not fallback:
            return match.func(request, *match.args, **match.kwargs)
    return finish(request, error(request, 404, gettext("Unknown API path.")))


def _wrapped_patterns() -> list[URLPattern]:
    patterns, _app_name, _namespace = api.urls
    return [
        URLPattern(p.pattern, api_view(p.callback, atomic=p.name not in OWN_TRANSACTIONS),
                   p.default_args, p.name)
        for p in patterns
        if isinstance(p, URLPattern)
    ]


urlpatterns = [
    # Settings → API keys (the agent UI, not the API).
    path("settings/api-keys/", views.apikey_list, name="apikey_list"),
    path("settings/api-keys/new/", views.apikey_new, name="apikey_new"),
    path("settings/api-keys/<int:key_id>/revoke/", views.apikey_revoke, name="apikey_revoke"),
    path(PREFIX, include((_wrapped_patterns(), api.urls_namespace), namespace=api.urls_namespace)),
    path(PREFIX + "<path:rest>", fallback, name="api_fallback"),
]
