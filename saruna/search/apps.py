from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "saruna.search"
    label = "search"
