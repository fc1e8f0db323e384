"""URLs of an account's own host, ``<slug>.<base-domain>``."""

from django.urls import include, path

urlpatterns = [
    path("", include("saruna.accounts.urls")),
    path("", include("saruna.accounts.session_urls")),
    path("support/", include("saruna.accounts.support_urls")),
    path("", include("saruna.tickets.urls")),
    path("", include("saruna.contacts.urls")),
    path("", include("saruna.contactforms.urls")),
    path("", include("saruna.mail.urls")),
    path("portal/", include("saruna.portal.urls")),
    path("", include("saruna.billing.urls")),
    path("", include("saruna.chat.urls")),
    path("", include("saruna.visitors.urls")),
    path("", include("saruna.api.urls")),
    path("", include("saruna.webhooks.urls")),
    path("", include("saruna.sla.urls")),
    path("", include("saruna.web.tenant_urls")),
]
