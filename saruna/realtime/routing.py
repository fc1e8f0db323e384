"""Every WebSocket route. The chat's sockets, one per open widget and agent tab, are served
by ``saruna.realtime.sockets``; the others are Channels consumers of the session's user."""

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from django.urls import path, re_path

from saruna.chat.routing import socket_routes
from saruna.realtime.consumers import AgentConsumer
from saruna.visitors.routing import websocket_urlpatterns as visitor_routes

__all__ = ["socket_routes", "websocket_urlpatterns"]

websocket_urlpatterns = [
    re_path(r"^", AuthMiddlewareStack(URLRouter([
        path("ws/agent/", AgentConsumer.as_asgi()),
        *visitor_routes,
    ]))),
]
