import gc
import os
import subprocess
import sys


def test_the_server_entry_points_freeze_what_start_up_made():
    """In a fresh process (the test run's own heap would say nothing): after importing the
    ASGI application, start-up's objects are frozen, views included."""
    script = (
        "import gc, sys; import saruna.asgi; "
        "print(gc.get_freeze_count(), 'saruna.tickets.views' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "saruna.settings"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, env=env)
    frozen, views_loaded = out.stdout.split()
    assert int(frozen) > 50_000 and views_loaded == "True"
    assert gc.isenabled()  # the collector still runs for what requests leave
