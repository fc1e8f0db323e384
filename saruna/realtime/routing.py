"""Every WebSocket route. Only agents' sockets read the session and its user: a visitor's chat
socket, one per open widget, carries neither (they cost a query and memory per socket)."""

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from django.urls import path, re_path

from saruna.chat.routing import visitor_websocket_urlpatterns as chat_visitor_routes
from saruna.chat.routing import websocket_urlpatterns as chat_routes
from saruna.realtime.consumers import AgentConsumer
from saruna.visitors.routing import websocket_urlpatterns as visitor_routes

websocket_urlpatterns = [
    *chat_visitor_routes,
    re_path(r"^", AuthMiddlewareStack(URLRouter([
        path("ws/agent/", AgentConsumer.as_asgi()),
        *chat_routes,
        *visitor_routes,
    ]))),
]
