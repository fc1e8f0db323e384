from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from saruna.accounts import sessions


class SessionTrackingMiddleware:
    """Keeps the login session's heartbeat on an account's host."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if getattr(request, "account", None) is not None and request.user.is_authenticated:
            sessions.touch(request)
        return self.get_response(request)
