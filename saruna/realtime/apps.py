from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "saruna.realtime"
    label = "realtime"
