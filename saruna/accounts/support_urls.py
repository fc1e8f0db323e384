"""Support access on an account's host."""

from django.urls import path

from saruna.accounts import support_views

urlpatterns = [
    path("enter/<str:token>/", support_views.enter, name="support_enter"),
    path("leave/", support_views.leave, name="support_leave"),
]
