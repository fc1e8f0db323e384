"""The provider's support-access screens on the base domain (under ``/provider/``)."""

from django.urls import path

from saruna.accounts import support_views

urlpatterns = [
    path("support/", support_views.provider_support, name="provider_support"),
    path(
        "support/<int:pk>/enter/", support_views.provider_reenter, name="provider_support_reenter"
    ),
]
