from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "saruna.webhooks"
    label = "webhooks"
