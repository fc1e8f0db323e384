"""A chat message's commit never copies the SQLite write-ahead log into the database: the
socket thread's connection leaves that to a checkpointer thread."""

from __future__ import annotations

import time
from pathlib import Path

from django.db.backends.sqlite3.base import DatabaseWrapper

from saruna.realtime import db


def sqlite_file_connection(path: Path) -> DatabaseWrapper:
    return DatabaseWrapper({
        "ENGINE": "django.db.backends.sqlite3", "NAME": str(path),
        "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;"}, "TIME_ZONE": None,
        "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False, "AUTOCOMMIT": True,
        "ATOMIC_REQUESTS": False, "USER": "", "PASSWORD": "", "HOST": "", "PORT": "",
        "TEST": {},
    })


def copied_bytes(path: Path) -> int:
    """What the database file holds (the log is copied into it at a checkpoint)."""
    return path.stat().st_size


def test_a_socket_connection_leaves_checkpoints_to_the_checkpointer(
        tmp_path, monkeypatch, django_db_blocker):
    django_db_blocker.unblock()  # a database of the test's own, not the test database
    checkpointer = db.WalCheckpointer(interval=0.05)
    monkeypatch.setattr(db, "checkpointer", checkpointer)
    path = tmp_path / "chat.sqlite3"
    connection = sqlite_file_connection(path)
    connection.ensure_connection()
    try:
        db.checkpoint_in_background(connection)
        checkpointer.stop()  # written first, copied later
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE line (body TEXT)")
            for _ in range(300):  # some 1,500 pages: past SQLite's own checkpoint
                cursor.execute("INSERT INTO line VALUES (?)", ["x" * 20000])
        assert copied_bytes(path) < 100_000  # no commit copied the log's 6 MB

        db.checkpoint_in_background(connection)
        deadline = time.monotonic() + 10
        while copied_bytes(path) < 6_000_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert copied_bytes(path) > 6_000_000
    finally:
        checkpointer.stop()
        connection.close()
        django_db_blocker.restore()


def test_in_memory_databases_have_no_log_to_copy(monkeypatch, django_db_blocker):
    django_db_blocker.unblock()
    checkpointer = db.WalCheckpointer()
    monkeypatch.setattr(db, "checkpointer", checkpointer)
    connection = sqlite_file_connection(Path(":memory:"))
    connection.ensure_connection()
    db.checkpoint_in_background(connection)
    connection.close()
    django_db_blocker.restore()
    assert checkpointer.thread is None
