"""Browser tests: Debian's Chromium driven by Playwright against a real ASGI server."""

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("SARUNA_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(os.environ.get("SARUNA_SCREENSHOTS", "")) if os.environ.get(
    "SARUNA_SCREENSHOTS") else None


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def chromium(monkeypatch_module):
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI needs Chromium at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    # Playwright's sync API runs an event loop in this thread while it is open; the ORM calls
    # the tests make between browser steps are still plain synchronous code. Module scope: the
    # loop is gone again before another module's tests (which may call async_to_sync) run.
    monkeypatch_module.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture
def new_page(chromium):
    """Pages in separate browser contexts: separate cookies, like separate people/devices."""
    contexts = []

    def make(**options):
        context = chromium.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> None:
    """Saves README screenshots when SARUNA_SCREENSHOTS names a folder."""
    if SCREENSHOTS is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
