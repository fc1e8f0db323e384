from django.urls import path

from saruna.accounts import views

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/code/", views.login_totp, name="login_totp"),
    path("logout/", views.logout_view, name="logout"),
    path("password/reset/", views.password_reset, name="password_reset"),
    path("password/reset/sent/", views.password_reset_sent, name="password_reset_sent"),
    path("password/reset/<str:uidb64>/<str:token>/", views.password_reset_confirm,
         name="password_reset_confirm"),
    path("profile/", views.profile, name="profile"),
    path("profile/password/", views.password_change, name="password_change"),
    path("security/", views.security, name="security"),
    path("security/totp/start/", views.totp_start, name="totp_start"),
    path("security/totp/", views.totp_enrol, name="totp_enrol"),
    path("security/totp/disable/", views.totp_disable, name="totp_disable"),
    path("users/", views.users, name="users"),
    path("users/invite/", views.invite, name="invite_user"),
    path("users/invitations/<str:invitation_id>/resend/", views.resend_invitation,
         name="resend_invitation"),
    path("users/invitations/<str:invitation_id>/revoke/", views.revoke_invitation,
         name="revoke_invitation"),
    path("users/<str:user_id>/", views.user_detail, name="user_detail"),
    path("users/<str:user_id>/role/", views.change_role, name="change_role"),
    path("users/<str:user_id>/deactivate/", views.deactivate_user, name="deactivate_user"),
    path("users/<str:user_id>/reactivate/", views.reactivate_user, name="reactivate_user"),
    path("users/<str:user_id>/transfer/", views.transfer_ownership, name="transfer_ownership"),
    path("invitation/<str:token>/", views.accept_invitation, name="accept_invitation"),
    path("audit/", views.audit_log, name="audit_log"),
]
