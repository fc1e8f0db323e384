"""The e-mail channel's settings pages and raw mail upload on an account's host."""

from django.urls import include, path

from saruna.mail import views

urlpatterns = [
    path("settings/mailboxes/new/test/", views.mailbox_test, name="settings_mailbox_test_new"),
    path("settings/mailboxes/<str:object_id>/test/", views.mailbox_test,
         name="settings_mailbox_test"),
    path("settings/mailboxes/<str:object_id>/token/", views.mailbox_new_token,
         name="settings_mailbox_token"),
    path("settings/mailboxes/", include(views.MAILBOXES.urls())),
    path("settings/mail-problems/", views.mail_problems, name="mail_problems"),
    path("settings/mail-problems/in/<int:inbound_id>/retry/", views.inbound_replay,
         name="mail_inbound_replay"),
    path("settings/mail-problems/in/<int:inbound_id>/mail.eml", views.inbound_download,
         name="mail_inbound_download"),
    path("settings/mail-problems/out/<int:outgoing_id>/retry/", views.outgoing_retry,
         name="mail_outgoing_retry"),
    path("mail/inbound/<str:mailbox_id>/", views.inbound_upload, name="mail_inbound_upload"),
]
