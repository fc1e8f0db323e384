"""The tracking endpoint in front of Django, for throughput.

Beats are the busiest requests by far (every visitor, every 20 s) and need nothing of
Django's request machinery: no session, user, CSRF, locale or template. These wrappers answer
``POST /widget/track/`` themselves with the same checks as the Django view
(``tracking.answer_beat``) and pass every other request on unchanged; so does a beat for a
host that is not an active account's, for Django's answer. The account and its tracking
settings are kept in memory for a few seconds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django_scopes import scope

from saruna.contacts.common import ActionError
from saruna.core.models import Account
from saruna.core.tenancy import account_for_slug, account_slug_for_host
from saruna.visitors import tracking

PATH = "/widget/track/"
ACCOUNT_SECONDS = 10
MAX_BODY = 16 * 1024
CORS = [("Access-Control-Allow-Origin", "*")]
_accounts: dict[str, tuple[float, Account | None]] = {}


def _account(host: str) -> Account | None:
    slug = account_slug_for_host(host)
    if not slug:
        return None
    now = time.monotonic()
    cached = _accounts.get(slug)
    if cached is None or cached[0] < now:
        account = account_for_slug(slug)
        if account is not None and account.status == Account.Status.CLOSED:
            account = None
        cached = (now + ACCOUNT_SECONDS, account)
        _accounts[slug] = cached
    return cached[1]


def _client_ip(headers: dict[str, str], peer: str | None) -> str | None:
    if settings.SARUNA_TRUST_X_FORWARDED_FOR and headers.get("HTTP_X_FORWARDED_FOR"):
        return headers["HTTP_X_FORWARDED_FOR"].split(",")[0].strip() or None
    return peer


def respond(account: Account, body: bytes, headers: dict[str, str], peer: str | None
            ) -> tuple[int, bytes]:
    """(status, JSON body) for one beat."""
    if len(body) > MAX_BODY:
        return 413, b'{"message": "The request is too large."}'
    try:
        payload = json.loads(body or b"{}")
        with scope(account=account):
            answer = tracking.answer_beat(
                account, payload, ip=_client_ip(headers, peer),
                user_agent=headers.get("HTTP_USER_AGENT", ""),
                declined=tracking.declines_tracking(headers),
            )
    except ValueError:
        return 400, b'{"message": "The body must be JSON."}'
    except ActionError as error:
        return 400, json.dumps({"message": error.message}).encode()
    if answer is None:
        return 204, b""
    close_old_connections()  # handing over an invitation wrote to the database
    return 200, json.dumps(answer).encode()


REASONS = {200: "OK", 204: "No Content", 400: "Bad Request", 413: "Payload Too Large"}


class TrackingWSGI:
    def __init__(self, application: Callable[..., Iterable[bytes]]) -> None:
        self.application = application

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.application(environ, start_response)
        account = _account(environ.get("HTTP_HOST", ""))
        if account is None:
            return self.application(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(min(length, MAX_BODY + 1))
        status, content = respond(account, body, environ, environ.get("REMOTE_ADDR"))
        headers = [*CORS, ("Content-Length", str(len(content)))]
        if content:
            headers.append(("Content-Type", "application/json"))
        start_response(f"{status} {REASONS[status]}", headers)
        return [content]


class TrackingASGI:
    def __init__(self, application: Callable[..., Any]) -> None:
        self.application = application

    async def __call__(self, scope_: dict[str, Any], receive: Callable[..., Any],
                       send: Callable[..., Any]) -> None:
        if (scope_["type"] != "http" or scope_.get("path") != PATH
                or scope_.get("method") != "POST"):
            return await self.application(scope_, receive, send)
        headers = {"HTTP_" + k.decode("latin-1").upper().replace("-", "_"): v.decode("latin-1")
                   for k, v in scope_.get("headers", [])}
        account = await sync_to_async(_account)(headers.get("HTTP_HOST", ""))
        if account is None:
            return await self.application(scope_, receive, send)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body") or len(body) > MAX_BODY:
                break
        peer = (scope_.get("client") or [None])[0]
        status, content = await sync_to_async(respond)(account, body, headers, peer)
        response_headers = [(b"access-control-allow-origin", b"*"),
                            (b"content-length", str(len(content)).encode())]
        if content:
            response_headers.append((b"content-type", b"application/json"))
        await send({"type": "http.response.start", "status": status,
                    "headers": response_headers})
        await send({"type": "http.response.body", "body": content})
        return None
