from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.messages.storage import default_storage
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django_scopes import scopes_disabled

from saruna.accounts import support
from saruna.accounts.models import SupportGrant, User
from saruna.billing import views as billing_views
from saruna.core.models import Account


class AccountAccessMiddleware:
    """On an account's host: applies provider support access (a support grant in the
    session makes the staff member the request's user).

    The grant is looked up through the scoped manager, so a session carrying another
    account's grant finds nothing here and stays anonymous.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        grant_id = None
        if getattr(request, "account", None) is not None:
            grant_id = request.session.get(support.SESSION_KEY)
        if grant_id is None:
            return self.get_response(request)
        grant = SupportGrant.objects.filter(pk=grant_id).first()
        if grant is None:
            return self.get_response(request)
        staff = None
        if grant.is_active:
            # Staff have no account, so they are invisible in the account's scope.
            with scopes_disabled():
                staff = User.objects.filter(
                    pk=grant.staff_id, account__isnull=True, is_staff=True, is_active=True
                ).first()
        if staff is None:
            if grant.ended_at is None and not grant.is_active:
                support.end_support_access(grant, request=request, expired=True)
            return self._leave(request)
        request.user = staff

        async def auser() -> User:
            return staff

        request.auser = auser  # type: ignore[attr-defined]  # async views ask this one
        request.support_grant = grant  # type: ignore[attr-defined]
        return self.get_response(request)

    def _leave(self, request: HttpRequest) -> HttpResponse:
        request.session.flush()
        response = HttpResponseRedirect(
            reverse(settings.LOGIN_URL, urlconf=settings.SARUNA_TENANT_URLCONF)
        )
        # MessageMiddleware runs after this one and is skipped by this early response, so
        # the message is stored (in the fresh session or a cookie) here.
        storage = default_storage(request)
        storage.add(messages.INFO, gettext("Provider support access has ended."))
        storage.update(response)
        return response


# Where programs, not people, call: they are answered in the API's own error format.
API_PATH = "/api/"


class SuspendedAccountMiddleware:
    """A suspended account's pages say why and how to restore it instead of opening; its data
    is kept. Provider staff under support access still get in, to help restore it, and so
    does the owner of an account suspended for billing, to log in and restore it under
    "My account". The API answers 403 with ``{"message": ...}`` (API §3.7)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        account = getattr(request, "account", None)
        if (
            account is None
            or account.status != Account.Status.SUSPENDED
            or getattr(request, "support_grant", None) is not None
            or request.path.startswith((settings.STATIC_URL, "/logout/"))
            or billing_views.open_while_suspended(request)
        ):
            return self.get_response(request)
        if request.path.startswith(API_PATH):
            return JsonResponse({"message": gettext(
                "This account is suspended; the API answers again once the account owner "
                "restores it.")}, status=403)
        context = {"billing_hold": billing_views.billing_hold(account)}
        return TemplateResponse(request, "web/account_suspended.html", context,
                                status=403).render()


class UserLanguageMiddleware:
    """The user's profile language wins over the browser's."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = getattr(request.user, "language", "") if request.user.is_authenticated else ""
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if language:
            response.headers.setdefault("Content-Language", language)
        return response
