from django.urls import path

from saruna.tickets import views

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/bulk/", views.bulk, name="inbox_bulk"),
    path("inbox/views/", views.save_view, name="inbox_save_view"),
    path("inbox/views/<str:filter_id>/delete/", views.delete_view, name="inbox_delete_view"),
    path("tickets/<str:ticket_id>/", views.ticket_detail, name="ticket_detail"),
    path("tickets/<str:ticket_id>/row/", views.ticket_row, name="ticket_row"),
    path("tickets/<str:ticket_id>/reply/", views.ticket_reply, name="ticket_reply"),
    path("tickets/<str:ticket_id>/answers/<str:answer_id>/", views.ticket_answer,
         name="ticket_answer"),
    path("tickets/<str:ticket_id>/assign/", views.ticket_assign, name="ticket_assign"),
    path("tickets/<str:ticket_id>/department/", views.ticket_department,
         name="ticket_department"),
    path("tickets/<str:ticket_id>/tags/", views.ticket_tags, name="ticket_tags"),
    path("tickets/<str:ticket_id>/status/", views.ticket_status, name="ticket_status"),
    path("tickets/<str:ticket_id>/merge/", views.ticket_merge, name="ticket_merge"),
    path("tickets/<str:ticket_id>/split/", views.ticket_split, name="ticket_split"),
    path("files/<str:file_id>/view", views.file_view, name="file_view"),
    path("files/<str:file_id>/download", views.file_download, name="file_download"),
]
