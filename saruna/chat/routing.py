from django.urls import path

from saruna.chat.consumers import AgentChatConsumer, VisitorChatConsumer

websocket_urlpatterns = [
    path("ws/chat/agent/", AgentChatConsumer.as_asgi()),
    path("ws/chat/visitor/<str:chat_id>/", VisitorChatConsumer.as_asgi()),
]
