"""``/settings/`` on an account's host (included from :mod:`saruna.contacts.urls`)."""

from django.urls import include, path

from saruna.tickets import settings_views as views

urlpatterns = [
    path("", views.settings_index, name="settings"),
    path("departments/", include(views.DEPARTMENTS.urls())),
    path("tags/", include(views.TAGS.urls())),
    path("canned/", include(views.CANNED_MESSAGES.urls())),
    path("answers/", include(views.PREDEFINED_ANSWERS.urls())),
    path("custom-fields/", include(views.CUSTOM_FIELDS.urls())),
]
