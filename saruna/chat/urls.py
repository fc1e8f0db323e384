from django.urls import include, path

# The visitor-facing JSON endpoints and the agent/widget pages are kept apart.
urlpatterns = [
    path("", include("saruna.chat.api_urls")),
    path("", include("saruna.chat.ui_urls")),
]
