"""URLs of the provider's own site on the base domain."""

from django.contrib import admin
from django.urls import include, path

from saruna.billing.urls import public_urlpatterns as billing_public_urls

urlpatterns = [
    path("admin/", admin.site.urls),
    path("provider/", include("saruna.accounts.support_urls_public")),
    path("", include(billing_public_urls)),
    path("", include("saruna.web.urls")),
]
