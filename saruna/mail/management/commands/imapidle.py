"""``saruna imapidle``: fetch IMAP mail the moment it arrives.

Keeps one IDLE connection per active IMAP mailbox that has "use IDLE" on, and fetches when
the server announces new mail (servers without IDLE are polled every ``poll_seconds``).
Optional: without it the worker's periodic task still checks every mailbox on its interval;
with it, mail shows up within seconds. Mailboxes added or switched on later are picked up
within a minute; one switched off or deleted is let go after its next wait.
"""

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand
from django_scopes import scopes_disabled

from saruna.mail.imap import watch_mailbox
from saruna.mail.models import Mailbox

RESCAN_SECONDS = 60


class Command(BaseCommand):
    help = "Watch IMAP mailboxes with IDLE and fetch new mail as soon as it arrives."

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        watchers: dict[int, threading.Thread] = {}
        self.stdout.write("Watching IMAP mailboxes that use IDLE (Ctrl-C stops)")
        while not stop.is_set():
            with scopes_disabled():
                wanted = list(Mailbox.objects.filter(
                    kind=Mailbox.Kind.IMAP, is_active=True, use_idle=True,
                ).values_list("pk", "account_id"))
            for mailbox_id, account_id in wanted:
                watcher = watchers.get(mailbox_id)
                if watcher is None or not watcher.is_alive():
                    watcher = threading.Thread(
                        target=watch_mailbox, args=(account_id, mailbox_id, stop),
                        name=f"imapidle-{mailbox_id}", daemon=True,
                    )
                    watchers[mailbox_id] = watcher
                    watcher.start()
            stop.wait(RESCAN_SECONDS)
        for watcher in watchers.values():
            watcher.join(timeout=5)  # each notices within a second, unless mid-fetch
