from django.urls import path

from saruna.visitors import views

urlpatterns = [
    path("widget/track/", views.track, name="widget_track"),
    path("widget/track.js", views.track_script, name="widget_track_script"),
    path("widget/conversion/", views.conversion, name="widget_conversion"),
    path("widget/identify/", views.identify, name="widget_identify"),
    path("widget/invitations/<str:invitation_id>/decline/", views.decline,
         name="widget_invitation_decline"),
    path("visitors/", views.online_visitors, name="online_visitors"),
    path("visitors/world.json", views.world_outline, name="visitors_world"),
    path("visitors/<str:visitor_id>/invite/", views.invite, name="visitor_invite"),
    path("settings/visitors/", views.visitor_settings, name="visitor_settings"),
    path("settings/visitors/rules/<str:rule_id>/delete/", views.delete_rule,
         name="visitor_rule_delete"),
]
