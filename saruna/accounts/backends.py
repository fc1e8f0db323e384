from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from saruna.accounts.models import User


class AccountEmailBackend(ModelBackend):
    """E-mail + password, looked up inside the active scope: on an account's host only that
    account's users can log in; on the base domain only provider staff."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        email = (kwargs.get("email") or username or "").strip().lower()
        if not email or password is None:
            return None
        user = User.objects.filter(email=email).first()
        if user is None:
            User().set_password(password)  # same work as a real check: no timing oracle
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id: Any) -> User | None:
        user = User.objects.filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
