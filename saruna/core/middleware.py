from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import set_urlconf
from django_scopes import scope

from saruna.core.tenancy import account_for_slug, account_slug_for_host


class TenantMiddleware:
    """Selects the account from the Host header and runs the request inside its scope.

    The base domain serves the provider's site; ``<slug>.<base>`` serves that account with
    the tenant URLconf; an unknown (or closed) account is a 404 page that names no account.
    Host headers outside ``ALLOWED_HOSTS`` are refused by Django before they get here.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        slug = account_slug_for_host(request.get_host())
        if slug is None:
            request.account = None  # type: ignore[attr-defined]
            with scope(account=None):
                return self.get_response(request)
        account = account_for_slug(slug) if slug else None
        if account is None or account.status == account.Status.CLOSED:
            return TemplateResponse(
                request, "web/unknown_account.html", {"host": request.get_host()}, status=404
            ).render()
        request.account = account  # type: ignore[attr-defined]
        request.urlconf = settings.SARUNA_TENANT_URLCONF  # type: ignore[attr-defined]
        # Also for pages that middleware renders before Django resolves the view.
        set_urlconf(settings.SARUNA_TENANT_URLCONF)
        with scope(account=account):
            return self.get_response(request)
