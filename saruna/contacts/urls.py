"""Contacts, companies and contact groups on an account's host, and (below) the help desk's
settings pages."""

from django.urls import include, path

from saruna.contacts import views

urlpatterns = [
    path("contacts/", views.contact_list, name="contacts"),
    path("contacts/new/", views.contact_new, name="contact_new"),
    path("contacts/groups/", include(views.CONTACT_GROUPS.urls())),
    path("contacts/<str:contact_id>/", views.contact_detail, name="contact_detail"),
    path("contacts/<str:contact_id>/edit/", views.contact_edit, name="contact_edit"),
    path("contacts/<str:contact_id>/merge/", views.contact_merge, name="contact_merge"),
    path("contacts/<str:contact_id>/delete/", views.contact_delete, name="contact_delete"),
    path("companies/", views.company_list, name="companies"),
    path("companies/new/", views.company_new, name="company_new"),
    path("companies/<str:company_id>/", views.company_edit, name="company_edit"),
    path("companies/<str:company_id>/delete/", views.company_delete, name="company_delete"),
    # Included here rather than in saruna/urls_tenant.py, a file shared by several people.
    path("settings/", include("saruna.tickets.settings_urls")),
]
