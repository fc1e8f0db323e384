from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "saruna.mail"
    label = "mail"
    verbose_name = "E-mail channel"
