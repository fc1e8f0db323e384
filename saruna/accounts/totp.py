"""Time-based one-time passwords (RFC 6238) for two-factor login."""

from __future__ import annotations

import hmac

import pyotp
import segno
from django.core.cache import cache
from django.utils import timezone

from saruna.accounts.models import User

# One 30-second step either side of now: phones whose clocks drift a little still work.
DRIFT_STEPS = 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    """The ``otpauth://`` link authenticator apps read from the QR code."""
    issuer = f"Saruna ({user.account.name})" if user.account is not None else "Saruna"
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """An inline SVG QR code; no image file, nothing sent to a third party."""
    return segno.make(uri, error="m").svg_inline(scale=4, border=2)


def _used_key(user: User, counter: int) -> str:
    return f"{user.account_id or 'staff'}:totp-used:{user.pk}:{counter}"


def verify(user: User, code: str, secret: str | None = None) -> bool:
    """True when ``code`` matches the user's secret (or ``secret``) now, give or take
    :data:`DRIFT_STEPS`, and has not been used before: a code seen once is burned for
    as long as it could still be valid, so an observed code cannot be replayed."""
    secret = secret or user.totp_secret
    code = "".join(code.split())
    if not secret or len(code) != 6 or not code.isdigit():
        return False
    otp = pyotp.TOTP(secret)
    now_counter = otp.timecode(timezone.now())
    for counter in range(now_counter - DRIFT_STEPS, now_counter + DRIFT_STEPS + 1):
        if hmac.compare_digest(otp.generate_otp(counter), code):
            # add() succeeds only for the first use of this step's code.
            lifetime = otp.interval * (2 * DRIFT_STEPS + 2)
            return cache.add(_used_key(user, counter), True, timeout=lifetime)
    return False
