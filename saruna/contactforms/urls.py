from django.urls import path

from saruna.contactforms import views

urlpatterns = [
    path("settings/forms/", views.form_list, name="contactform_list"),
    path("settings/forms/new/", views.form_create, name="contactform_create"),
    path("settings/forms/<str:form_id>/", views.form_edit, name="contactform_edit"),
    path("settings/forms/<str:form_id>/active/", views.form_set_active,
         name="contactform_set_active"),
    path("f/<str:form_id>/", views.hosted_page, name="contactform_page"),
    path("f/<str:form_id>/embed.js", views.embed_script, name="contactform_embed"),
    path("f/<str:form_id>/submit", views.submit, name="contactform_submit"),
    path("f/<str:form_id>/thanks/", views.thanks, name="contactform_thanks"),
]
