from django.urls import path

from saruna.portal import views

urlpatterns = [
    path("", views.home, name="portal_home"),
    path("login/", views.login, name="portal_login"),
    path("login/<str:token>/", views.login_link, name="portal_login_link"),
    path("logout/", views.logout, name="portal_logout"),
    path("t/<str:urlcode>/", views.ticket, name="portal_ticket"),
    path("t/<str:urlcode>/files/<str:file_id>/", views.ticket_file, name="portal_file"),
]
