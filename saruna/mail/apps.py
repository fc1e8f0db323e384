from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "saruna.mail"
    label = "mail"
    verbose_name = "E-mail channel"

    def ready(self) -> None:
        # Huey only autodiscovers modules named ``tasks``: importing these registers the
        # periodic IMAP poll and the reply mailer's delivery tasks; ``sending`` also connects
        # the reply mailer to ``agent_replied``.
        from saruna.mail import imap_tasks, sending, sending_tasks  # noqa: F401
