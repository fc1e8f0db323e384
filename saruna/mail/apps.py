from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "saruna.mail"
    label = "mail"
    verbose_name = "E-mail channel"

    def ready(self) -> None:
        # Huey only autodiscovers modules named ``tasks``: importing this registers the
        # periodic IMAP poll.
        from saruna.mail import imap_tasks  # noqa: F401
