from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "saruna.billing"
    label = "billing"
    verbose_name = "Billing"
