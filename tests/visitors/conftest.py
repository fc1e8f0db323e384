import pytest


@pytest.fixture(autouse=True)
def _write_beats_at_once(settings):
    """Each beat is written before its answer, so a test can look at the database."""
    settings.SARUNA_TRACKING_FLUSH_SECONDS = 0
