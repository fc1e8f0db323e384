from django.urls import path

from saruna.accounts import session_views

urlpatterns = [
    path("concurrent-login/", session_views.concurrent_login, name="concurrent_login"),
    path("sessions/", session_views.session_list, name="session_list"),
    path("sessions/heartbeat/", session_views.heartbeat, name="session_heartbeat"),
    path("sessions/end-others/", session_views.sessions_end_others, name="sessions_end_others"),
    path("sessions/<int:pk>/end/", session_views.session_end, name="session_end"),
    path("security/sharing/", session_views.sharing_findings, name="sharing_findings"),
    path("security/sharing/<int:pk>/dismiss/", session_views.sharing_dismiss,
         name="sharing_dismiss"),
]
