"""The provider's own site: demo bookings and cookie consent (not tenant-owned)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DemoBooking(models.Model):
    """A "Schedule a demo" request from the landing page. Lands in the provider account as a
    ticket once tickets exist; until then it is listed in the provider admin."""

    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("e-mail"))
    company = models.CharField(_("company"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    preferred_times = models.TextField(_("preferred times"))
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    message = models.TextField(_("message"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    handled = models.BooleanField(default=False)
    # The ticket the request became in the provider account.
    ticket_code = models.CharField(max_length=11, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class CookieConsent(models.Model):
    """One visitor's answer to the cookie notice, kept as proof of consent."""

    consent_id = models.CharField(max_length=32, db_index=True)
    analytics = models.BooleanField(default=False)
    policy_version = models.CharField(max_length=32)
    given_at = models.DateTimeField(default=timezone.now)
    ip_network = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-given_at"]
