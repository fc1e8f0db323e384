"""`saruna serve` as a newcomer runs it: a fresh var/ directory, SQLite, no other server."""

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.servers import free_port


def fetch(port: int, host: str, path: str = "/") -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def served(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "SARUNA_TESTING", "DJANGO_SETTINGS_MODULE"}}
    env.update(SARUNA_VAR_DIR=str(tmp_path / "var"), SARUNA_PUBLIC_PORT=str(port),
               SARUNA_BASE_DOMAIN="localhost", SARUNA_EMAIL_BACKEND="console")
    log = open(tmp_path / "serve.log", "w+")  # noqa: SIM115 - read back after the process ends
    process = subprocess.Popen(
        [sys.executable, "-m", "saruna", "serve", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + 90
    while True:
        try:
            fetch(port, "localhost")
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail("saruna serve did not start:\n" + log.read())
            time.sleep(0.3)
    yield port, env, log
    children = children_of(process.pid)
    assert children  # the worker
    process.terminate()  # as systemd stops it
    process.wait(timeout=20)
    deadline = time.monotonic() + 15
    while any(running(child) for child in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(running(child) for child in children), "serve left its worker running"


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_serve_migrates_serves_and_runs_the_worker(served):
    port, env, log = served
    status, body = fetch(port, "localhost")
    assert status == 200 and "Saruna" in body
    assert fetch(port, "nosuch.localhost")[0] == 404
    assert fetch(port, "evil.example")[0] == 400

    # Mail queued from another process is delivered by the worker `serve` started.
    subprocess.run(
        [sys.executable, "-m", "saruna", "shell", "-c",
         "from saruna.core.models import OutboundEmail\n"
         "from saruna.core.tasks import deliver_email\n"
         "m = OutboundEmail.objects.create(to=['x@example.com'], subject='Worker is alive',"
         " body_text='hello')\n"
         "deliver_email(m.pk)\n"],
        env=env, check=True, timeout=60,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        log.seek(0)
        if "Subject: Worker is alive" in log.read():
            break
        time.sleep(0.3)
    else:
        log.seek(0)
        pytest.fail("the worker did not deliver the mail:\n" + log.read())
