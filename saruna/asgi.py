"""One ASGI application for HTTP and WebSockets (``saruna serve`` runs it under uvicorn)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saruna.settings")
django_http = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402 - needs Django set up
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from saruna.core.heap import freeze_startup_objects  # noqa: E402
from saruna.realtime.middleware import TenantWebSocketMiddleware  # noqa: E402
from saruna.realtime.routing import socket_routes, websocket_urlpatterns  # noqa: E402
from saruna.realtime.sockets import SocketRouter  # noqa: E402
from saruna.visitors.fastpath import TrackingASGI  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Visitor tracking beats, the busiest requests, are answered before Django's middleware.
        "http": TrackingASGI(django_http),
        "websocket": SocketRouter(socket_routes, fallback=AllowedHostsOriginValidator(
            TenantWebSocketMiddleware(URLRouter(websocket_urlpatterns))
        )),
    }
)
freeze_startup_objects()
