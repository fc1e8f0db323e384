from django.urls import include, path

from saruna.sla.views import SLA_LEVELS

urlpatterns = [path("settings/sla/", include(SLA_LEVELS.urls()))]
