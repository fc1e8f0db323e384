from django.urls import path

from saruna.chat.consumers import AgentChatConsumer, VisitorChatConsumer

# The visitor's socket proves itself with the visitor token (``hello``): no session, no user.
visitor_websocket_urlpatterns = [
    path("ws/chat/visitor/<str:chat_id>/", VisitorChatConsumer.as_asgi()),
]
# An agent's socket is the session's user.
websocket_urlpatterns = [
    path("ws/chat/agent/", AgentChatConsumer.as_asgi()),
]
