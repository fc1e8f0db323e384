"""The cache of an installation without Redis: files, shared by every process."""

from __future__ import annotations

import time
from typing import Any

from django.core.cache.backends.filebased import FileBasedCache

# Django's file cache counts every file of the cache on each write, to cull it when full:
# with a key per online visitor that is a directory listing of thousands of names per write.
# Counting now and then is enough to keep it near MAX_ENTRIES.
CULL_CHECK_SECONDS = 5.0


class SharedFileCache(FileBasedCache):
    """Django's file cache that checks whether to cull at most every
    ``CULL_CHECK_SECONDS`` per process, not on every write."""

    def __init__(self, directory: str, params: dict[str, Any]) -> None:
        super().__init__(directory, params)
        self._culled_at = float("-inf")

    def _cull(self) -> None:
        now = time.monotonic()
        if now - self._culled_at < CULL_CHECK_SECONDS:
            return
        self._culled_at = now
        super()._cull()  # type: ignore[misc]  # private in the stubs
