from django.apps import AppConfig


class ContactFormsConfig(AppConfig):
    name = "saruna.contactforms"
    label = "contactforms"
