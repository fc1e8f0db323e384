from django.urls import URLPattern, path
from django.views.generic import RedirectView

urlpatterns: list[URLPattern] = [
    path("leave/", RedirectView.as_view(url="/"), name="support_leave"),
]
