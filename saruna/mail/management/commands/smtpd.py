"""``saruna smtpd``: receive mail for forwarding addresses ``<anything>@<slug>.<base-domain>``.

Point the MX record of ``*.<base-domain>`` at this server (port 25, usually through a port
forward to ``SARUNA_SMTPD_PORT``). ``saruna serve`` starts it too when ``SARUNA_SMTPD`` is on.
"""

import logging
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from saruna.mail.smtpd import ForwardingServer


class Command(BaseCommand):
    help = "Receive mail for the accounts' forwarding addresses over SMTP."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.SARUNA_SMTPD_HOST)
        parser.add_argument("--port", type=int, default=settings.SARUNA_SMTPD_PORT)

    def handle(self, *args: Any, **options: Any) -> None:
        # aiosmtpd logs every command of every session at INFO: too much for a log people read.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        server = ForwardingServer(options["host"], options["port"])
        server.start()
        self.stdout.write(
            f"Receiving mail for *@<account>.{settings.SARUNA_BASE_DOMAIN} "
            f"on {options['host']}:{options['port']}"
        )
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        stop.wait()
        server.stop()
