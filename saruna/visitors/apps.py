from django.apps import AppConfig


class VisitorsConfig(AppConfig):
    name = "saruna.visitors"
    label = "visitors"
