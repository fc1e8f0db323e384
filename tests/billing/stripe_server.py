"""localstripe (PyPI): a fake but stateful Stripe HTTP server, started on a free port as a
subprocess for the Stripe adapter's tests. It answers with Stripe's shapes, keeps customers,
SetupIntents, PaymentMethods, PaymentIntents and refunds, and knows Stripe's test cards
(4000 0000 0000 0341 is saved but declined when charged, 4000 0000 0000 0002 is declined
when saved). It ignores idempotency keys; Stripe does not."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import IO

import pytest
import requests

from tests.servers import free_port

SECRET_KEY = "sk_test_saruna"
PUBLISHABLE_KEY = "pk_test_saruna"


def require_localstripe() -> None:
    """Called at the top of a test module: skips it with one line when localstripe is
    missing; with ``CI`` set it must be there (it is in the test extras)."""
    if importlib.util.find_spec("localstripe") is not None:
        return
    if os.environ.get("CI"):
        pytest.fail("CI needs localstripe (pip install -e '.[test]')", pytrace=False)
    pytest.skip("no localstripe (pip install -e '.[test]')", allow_module_level=True)


@pytest.fixture(name="localstripe", scope="module")
def localstripe_fixture() -> Iterator[str]:
    """The base URL of a localstripe server of this test module's own."""
    require_localstripe()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_up(url, server, log)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=10)


def _wait_until_up(url: str, server: subprocess.Popen, log: IO[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{url}/v1/balance", auth=(SECRET_KEY, ""), timeout=1)
            return
        except requests.ConnectionError:
            if server.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError("localstripe did not start: "
                                   + log.read().decode()[-2000:]) from None
            time.sleep(0.1)
