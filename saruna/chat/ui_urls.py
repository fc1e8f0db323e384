from django.urls import path

from saruna.chat import ui_views

urlpatterns = [
    path("widget/loader.js", ui_views.widget_loader, name="chat_widget_loader"),
    path("widget/<str:button_id>/chat/", ui_views.widget_chat, name="chat_widget_page"),
    path("chat/", ui_views.desk, name="chat_desk"),
    path("chat/panes/<str:chat_id>/visitor/", ui_views.visitor_panel, name="chat_visitor_panel"),
    path("settings/chat/", ui_views.routing_settings, name="chat_settings"),
    path("settings/chat/buttons/", ui_views.button_list, name="chat_button_list"),
    path("settings/chat/buttons/new/", ui_views.button_new, name="chat_button_new"),
    path("settings/chat/buttons/<str:button_id>/", ui_views.button_edit,
         name="chat_button_edit"),
    path("settings/chat/buttons/<str:button_id>/delete/", ui_views.button_delete,
         name="chat_button_delete"),
]
