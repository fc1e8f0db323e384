"""Absolute URLs for links that leave the request (e-mails, redirects between hosts)."""

from django.conf import settings


def public_url(host: str, path: str = "/") -> str:
    port = settings.SARUNA_PUBLIC_PORT
    default_port = {"http": "80", "https": "443"}[settings.SARUNA_PUBLIC_SCHEME]
    netloc = host if not port or port == default_port else f"{host}:{port}"
    return f"{settings.SARUNA_PUBLIC_SCHEME}://{netloc}{path}"


def base_url(path: str = "/") -> str:
    """A URL on the provider's own site (the base domain)."""
    return public_url(settings.SARUNA_BASE_DOMAIN, path)
