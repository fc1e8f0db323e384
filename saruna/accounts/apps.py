from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "saruna.accounts"
    label = "accounts"
    verbose_name = "Users and access"
