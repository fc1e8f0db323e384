"""The LiveAgent v3 wire-compatible REST API (``docs/api.md``, the wire format in API §1 to §25):
one :class:`ninja.NinjaAPI` at ``/api/v3/`` on every account's host, one module per resource.

To add a resource: write ``saruna/api/v3/<name>.py`` with ``router = Router(tags=[...])`` and
its operations (conventions in :mod:`saruna.api.v3.common`), then add ONE line to
``RESOURCES`` below. Order matters only where paths overlap: fixed paths (``/tickets/history``)
are declared before ``/{id}`` paths inside a module, and the 501 paths of Appendix A come
first of all so that no ``/{id}`` route swallows them.
"""

from __future__ import annotations

import logging
from importlib import import_module

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.operation import Operation

from saruna.api.auth import ApiError, ApiKeyAuth
from saruna.contacts.common import ActionError

logger = logging.getLogger(__name__)

RESOURCES = [
    "not_implemented",  # first: Appendix A paths answer 501 before any /{id} route
    "ping",
    "tickets",
    "messages",
    "contacts",
    "companies",
    "contact_groups",
    "files",
    "slas",
    "tags",
    "canned_messages",
    "predefined_answers",
    "agents",
    "departments",
    "users",
    "time_zones",
    "page_visits",
    "conversions",
    "chats",
    "filters",
    "api_keys",
    "billing",
    "my_account",
    "webhooks",
]

ACTION_STATUS = {"invalid": 400, "not_found": 404, "conflict": 409, "too_large": 413}


class SarunaAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        """``tickets_create_ticket`` rather than ``saruna_api_v3_tickets_create_ticket``: the
        names generated clients give their methods."""
        func = operation.view_func
        return f"{func.__module__.rsplit('.', 1)[-1]}_{func.__name__}"


api = SarunaAPI(
    title="Saruna API",
    version="3.0.0",
    description=(
        "LiveAgent API v3 wire-compatible. Authenticate with the `apikey` header. Every "
        "success is a 200; lists are bare JSON arrays; dates are `YYYY-MM-DD HH:MM:SS` in the "
        "account's time zone; errors are `{\"message\": \"...\"}`. See docs/api.md."
    ),
    auth=ApiKeyAuth(),
    urls_namespace="api-v3",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def error(request: HttpRequest, status: int, message: str,
          headers: dict[str, str] | None = None) -> HttpResponse:
    response = api.create_response(request, {"message": message}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error(request, exc.status, exc.message, exc.headers)


@api.exception_handler(ActionError)
def _action_error(request: HttpRequest, exc: ActionError) -> HttpResponse:
    return error(request, ACTION_STATUS.get(exc.code, 400), exc.message)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    parts = []
    for item in exc.errors:
        where = [str(p) for p in item.get("loc", ()) if p not in ("body", "query", "path",
                                                                    "payload", "params")]
        parts.append(f"{'.'.join(where) or 'request'}: {item.get('msg', 'invalid')}")
    return error(request, 400, "; ".join(parts) or gettext("Invalid request."))


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error(request, 401, gettext("An API key is required in the apikey header."))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return error(request, exc.status_code, str(exc))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error(request, 404, gettext("Not found."))


@api.exception_handler(Exception)
def _failure(request: HttpRequest, exc: Exception) -> HttpResponse:
    if settings.DEBUG and getattr(settings, "SARUNA_API_RAISE", False):
        raise exc
    logger.exception("API failure on %s %s", request.method, request.path)
    return error(request, 500, "Internal Server Error")


for _name in RESOURCES:
    api.add_router("/", import_module(f"saruna.api.v3.{_name}").router)
