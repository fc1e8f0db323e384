import pytest


@pytest.fixture(autouse=True)
def _public_site_settings(settings):
    settings.SARUNA_SIGNUP_MIN_SECONDS = 0
