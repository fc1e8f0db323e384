"""Billing URLs: "My account" on an account's host (``urlpatterns``), the lifetime-code signup
and the provider's tools on the base domain (``public_urlpatterns``)."""

from django.urls import path

from saruna.billing import views

urlpatterns = [
    path("account/", views.my_account, name="my_account"),
    path("account/details/", views.billing_details, name="billing_details"),
    path("account/payment-method/", views.payment_method, name="payment_method"),
    path("account/payment-method/card/", views.card_setup, name="card_setup"),
    path("account/payment-method/card/confirm/", views.card_confirm, name="card_confirm"),
    path("account/payment-method/paypal/", views.paypal_setup, name="paypal_setup"),
    path("account/payment-method/paypal/return/", views.paypal_return, name="paypal_return"),
    path("account/payment-method/paypal/cancel/", views.paypal_cancel, name="paypal_cancel"),
    path("account/subscription/", views.change_subscription, name="change_subscription"),
    path("account/prepaid/", views.prepaid_credit, name="prepaid_credit"),
    path("account/cancel/", views.cancel_account, name="cancel_account"),
    path("account/documents/<str:number>/", views.document_pdf, name="billing_document_pdf"),
]

public_urlpatterns = [
    path("signup/code/", views.code_signup, name="code_signup"),
    path("provider/billing/", views.provider_billing, name="provider_billing"),
    path("provider/billing/codes/", views.provider_codes, name="provider_codes"),
    path("provider/billing/accounts/<slug:slug>/", views.provider_billing_account,
         name="provider_billing_account"),
    path("provider/billing/accounts/<slug:slug>/limits/", views.provider_override_limits,
         name="provider_override_limits"),
    path("provider/billing/accounts/<slug:slug>/credit-note/", views.provider_credit_note,
         name="provider_credit_note"),
    path("provider/billing/accounts/<slug:slug>/code-reuse/", views.provider_code_reuse,
         name="provider_code_reuse"),
]
