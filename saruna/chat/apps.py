from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "saruna.chat"
    label = "chat"
