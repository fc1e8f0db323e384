"""The worker's log does not print two lines a second for every web process's batch of
tracking beats; the same task's errors, and every other task, still show."""

import logging


def record(level: int, message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("huey", level, __file__, 1, message, args, None)


def test_the_worker_log_leaves_out_routine_tracking_batches():
    huey = logging.getLogger("huey")
    tracking = "saruna.visitors.tasks.write_tracked_beats: 5f0c"
    assert not huey.filter(record(logging.INFO, "Executing %s", tracking))
    assert not huey.filter(record(logging.INFO, "%s executed in %0.3fs", tracking, 0.01))
    assert huey.filter(record(logging.ERROR, "Unhandled exception in task %s.", tracking))
    assert huey.filter(record(logging.INFO, "Executing %s", "saruna.mail.tasks.fetch: 1"))
