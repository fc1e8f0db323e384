from django.urls import path

from saruna.chat.routing import websocket_urlpatterns as chat_routes
from saruna.realtime.consumers import AgentConsumer
from saruna.visitors.routing import websocket_urlpatterns as visitor_routes

websocket_urlpatterns = [
    path("ws/agent/", AgentConsumer.as_asgi()),
    *chat_routes,
    *visitor_routes,
]
