from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "saruna.sla"
    label = "sla"
