from django.urls import path

from saruna.chat import api_views

# The widget's endpoints (docs/widget.md) and the agent UI's (docs/chat.md).
urlpatterns = [
    path("widget/<str:button_id>/config.json", api_views.config, name="chat_widget_config"),
    path("widget/<str:button_id>/chats/", api_views.start, name="chat_widget_start"),
    path("widget/<str:button_id>/offline/", api_views.offline, name="chat_widget_offline"),
    path("widget/chats/<str:chat_id>/messages/", api_views.messages,
         name="chat_widget_messages"),
    path("widget/chats/<str:chat_id>/poll/", api_views.poll, name="chat_widget_poll"),
    path("widget/chats/<str:chat_id>/files/", api_views.upload, name="chat_widget_upload"),
    path("widget/chats/<str:chat_id>/files/<str:file_id>/<str:signature>/",
         api_views.download, name="chat_widget_file"),
    path("widget/chats/<str:chat_id>/typing/", api_views.typing, name="chat_widget_typing"),
    path("widget/chats/<str:chat_id>/read/", api_views.read, name="chat_widget_read"),
    path("widget/chats/<str:chat_id>/end/", api_views.end, name="chat_widget_end"),
    path("widget/chats/<str:chat_id>/rating/", api_views.rating, name="chat_widget_rating"),
    path("widget/chats/<str:chat_id>/transcript/", api_views.transcript,
         name="chat_widget_transcript"),
    path("chat/agent/chats/<str:chat_id>/messages/", api_views.agent_messages,
         name="chat_agent_messages"),
    path("chat/agent/chats/<str:chat_id>/files/", api_views.agent_upload,
         name="chat_agent_upload"),
]
