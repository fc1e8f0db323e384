"""``/settings/webhooks/`` on an account's host."""

from django.urls import path

from saruna.webhooks import views

urlpatterns = [
    path("settings/webhooks/", views.webhook_list, name="webhook_list"),
    path("settings/webhooks/new/", views.webhook_new, name="webhook_new"),
    path("settings/webhooks/<str:webhook_id>/", views.webhook_edit, name="webhook_edit"),
    path("settings/webhooks/<str:webhook_id>/delete/", views.webhook_delete,
         name="webhook_delete"),
    path("settings/webhooks/<str:webhook_id>/secret/", views.webhook_secret,
         name="webhook_secret"),
    path("settings/webhooks/<str:webhook_id>/test/", views.webhook_test, name="webhook_test"),
    path("settings/webhooks/<str:webhook_id>/log/", views.webhook_log, name="webhook_log"),
    path("settings/webhooks/<str:webhook_id>/log/<str:delivery_id>/resend/",
         views.delivery_resend, name="webhook_resend"),
]
