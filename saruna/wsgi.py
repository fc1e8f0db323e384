import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saruna.settings")
django_http = get_wsgi_application()

from saruna.core.heap import freeze_startup_objects  # noqa: E402 - needs Django set up first
from saruna.visitors.fastpath import TrackingWSGI  # noqa: E402

# Visitor tracking beats, the busiest requests, are answered before Django's middleware.
application = TrackingWSGI(django_http)

freeze_startup_objects()
