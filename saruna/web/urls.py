"""The provider's public site on the base domain."""

from django.urls import path

from saruna.web import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("signup/", views.signup, name="signup"),
    path("signup/slug-preview/", views.slug_preview, name="signup_slug_preview"),
    path("signup/done/", views.signup_done, name="signup_done"),
    path("signup/resend/", views.signup_resend, name="signup_resend"),
    path("login/", views.find_account, name="find_account"),
    path("login/forgot/", views.forgot_account, name="forgot_account"),
    path("terms/", views.terms, name="terms"),
    path("privacy/", views.privacy, name="privacy"),
    path("cookies/consent/", views.cookie_consent, name="cookie_consent"),
    path("demo/", views.demo, name="demo"),
    path("demo/thanks/", views.demo_thanks, name="demo_thanks"),
]
