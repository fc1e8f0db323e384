import re

from saruna.chat.consumers import AgentChatSocket, VisitorChatSocket
from saruna.realtime.sockets import Route

# The visitor's socket proves itself with the visitor token (``hello``): no session, no user.
# An agent's socket is the session's user.
socket_routes: list[Route] = [
    (re.compile(r"^/ws/chat/visitor/(?P<chat_id>[^/]+)/$"), VisitorChatSocket.open),
    (re.compile(r"^/ws/chat/agent/$"), AgentChatSocket.open),
]
