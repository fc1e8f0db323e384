from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "saruna.portal"
    label = "portal"
