import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _public_site_settings(settings):
    settings.SARUNA_SIGNUP_MIN_SECONDS = 0
    cache.clear()  # rate-limit counters
