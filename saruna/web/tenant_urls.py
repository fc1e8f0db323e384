from django.urls import path

from saruna.web import tenant_views

urlpatterns = [
    path("", tenant_views.dashboard, name="dashboard"),
    path("verify/resend/", tenant_views.verify_resend, name="verify_resend"),
    path("verify/<str:token>/", tenant_views.verify_email, name="verify_email"),
]
