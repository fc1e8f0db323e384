from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from saruna.accounts import sessions
from saruna.accounts.devices import REQUESTED_CLIENT_HINTS

# Reachable while a login waits on the concurrent-login screen: the screen, the way out,
# and the heartbeat of pages opened before.
_OPEN_WHILE_PENDING = ("concurrent_login", "logout", "session_heartbeat")


class SessionTrackingMiddleware:
    """On an account's host: keeps the login session's heartbeat, and holds a login that
    waits for the concurrent-login decision on that screen."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if getattr(request, "account", None) is None:
            return self.get_response(request)
        if sessions.is_tracked(request):
            if sessions.is_pending(request) and not self._open_while_pending(request.path):
                return self._to_screen(request)
            sessions.touch(request)
        response = self.get_response(request)
        response.headers.setdefault("Accept-CH", REQUESTED_CLIENT_HINTS)
        return response

    @staticmethod
    def _open_while_pending(path: str) -> bool:
        if path.startswith(settings.STATIC_URL):
            return True
        # The handler has not switched to the tenant URLconf yet at this point.
        urlconf = settings.SARUNA_TENANT_URLCONF
        return any(path == reverse(name, urlconf=urlconf) for name in _OPEN_WHILE_PENDING)

    @staticmethod
    def _to_screen(request: HttpRequest) -> HttpResponse:
        url = reverse("concurrent_login", urlconf=settings.SARUNA_TENANT_URLCONF)
        if request.headers.get("HX-Request"):
            # HTMX would swap the screen into a fragment; make it load the whole page.
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return HttpResponseRedirect(url)
