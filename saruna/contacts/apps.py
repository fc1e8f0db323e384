from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "saruna.contacts"
    label = "contacts"
