"""``saruna serve``: everything one machine needs in one command.

Migrates, starts a Huey worker process (and the SMTP server for forwarding addresses when
``SARUNA_SMTPD`` is on), and serves HTTP and WebSockets on one port with uvicorn. Stopping it
(Ctrl-C) stops those processes too.
"""

import os
import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Migrate, start a background worker and serve HTTP + WebSockets on one port."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("SARUNA_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=2, help="Huey worker threads.")
        parser.add_argument("--no-worker", action="store_true", help="Do not start Huey.")
        parser.add_argument("--no-migrate", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        import uvicorn

        from saruna.realtime.protocol import WS_PROTOCOL

        if not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=1)
        commands = []
        if not options["no_worker"]:
            commands.append(["run_huey", "--workers", str(options["workers"]),
                             "--worker-type", "thread"])
        if settings.SARUNA_SMTPD:
            commands.append(["smtpd"])
        # Background processes keep their database connection between jobs: reconnecting
        # per job costs more than processing a mail (docs/deploy.md).
        env = {"SARUNA_DB_CONN_MAX_AGE": "60", **os.environ}
        children = [subprocess.Popen([sys.executable, "-m", "saruna", *command], env=env)
                    for command in commands]
        # uvicorn stops cleanly on SIGTERM and then raises it again with the handler it found:
        # the default one ended this process there, before the children were stopped below,
        # and left the worker running. Exiting instead runs the ``finally`` (and ``atexit``).
        signal.signal(signal.SIGTERM, _exit)
        base = settings.SARUNA_BASE_DOMAIN
        self.stdout.write(
            f"Saruna on http://{base}:{options['port']}/ "
            f"(accounts at http://<account>.{base}:{options['port']}/)"
        )
        try:
            uvicorn.run(
                "saruna.asgi:application",
                host=options["host"],
                port=options["port"],
                log_level="info",
                proxy_headers=settings.SARUNA_TRUST_X_FORWARDED_FOR,
                lifespan="off",
                ws=WS_PROTOCOL,
            )
        finally:
            for child in children:
                child.send_signal(signal.SIGINT)
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()


def _exit(signum: int, frame: object) -> None:
    sys.exit(0)
