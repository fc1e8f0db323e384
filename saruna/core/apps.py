from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "saruna.core"
    label = "core"
    verbose_name = "Saruna core"
