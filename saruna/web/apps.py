from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "saruna.web"
    label = "web"
    verbose_name = "Public site and layout"
