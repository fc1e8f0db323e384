"""Filters for the logging configuration (``settings.LOGGING``); nothing here imports Django."""

from __future__ import annotations

import logging
from collections.abc import Iterable


class RoutineTasks(logging.Filter):
    """Leaves out the worker's INFO lines ("Executing …", "… executed in …") for tasks that run
    every second, such as each web process's batch of tracking beats; their warnings and
    errors still show."""

    def __init__(self, tasks: Iterable[str] = ()) -> None:
        super().__init__()
        self.tasks = tuple(tasks)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        message = record.getMessage()
        return not any(task in message for task in self.tasks)
