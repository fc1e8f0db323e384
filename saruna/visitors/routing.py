from django.urls import path

from saruna.visitors.consumers import OnlineVisitorsConsumer

websocket_urlpatterns = [
    path("ws/visitors/", OnlineVisitorsConsumer.as_asgi()),
]
