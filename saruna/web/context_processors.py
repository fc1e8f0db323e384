from typing import Any

from django.conf import settings
from django.http import HttpRequest

from saruna.core.urls import base_url


def saruna(request: HttpRequest) -> dict[str, Any]:
    return {
        "account": getattr(request, "account", None),
        "support_grant": getattr(request, "support_grant", None),
        "base_url": base_url(),
        "terms_version": settings.SARUNA_TERMS_VERSION,
    }
