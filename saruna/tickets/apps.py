from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "saruna.tickets"
    label = "tickets"
