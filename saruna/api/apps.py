from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "saruna.api"
    label = "api"
