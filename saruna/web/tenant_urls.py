from django.urls import path

from saruna.web import tenant_views

urlpatterns = [
    path("", tenant_views.dashboard, name="dashboard"),
]
