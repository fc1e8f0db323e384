"""The channel layer of a single process (no ``REDIS_URL``)."""

import time

from channels.layers import InMemoryChannelLayer


class SingleProcessChannelLayer(InMemoryChannelLayer):
    """Channels' in-memory layer, cleaning up at most once a second.

    Its clean-up (messages past their expiry, group memberships past theirs) walks every
    channel and every group of the process, and Channels runs it on every ``receive`` and
    ``group_send``: with a socket per visitor and per agent tab, each event cost a walk over
    all of them, and a thousand chats kept a core busy with nothing else. Expiry is a
    minute (a day for groups), so a walk a second loses nothing."""

    CLEAN_EVERY = 1.0

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._cleaned_at = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._cleaned_at >= self.CLEAN_EVERY:
            self._cleaned_at = now
            super()._clean_expired()
