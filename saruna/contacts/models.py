"""Contacts, companies, contact groups and custom-field definitions.

Fields carry the names and one-letter codes of the LiveAgent v3 wire models (API sections 8
to 10), so the API emits them without translation. Contacts and companies share one abstract
base because the API gives them the same shape; their e-mail addresses and phones share one
table each.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from saruna.contacts.common import ActionError, PublicIdModel
from saruna.core.models import TenantModel
from saruna.core.timezones import utc_offset_seconds, validate_zone_name


class ContactType(models.TextChoices):
    VISITOR = "V", _("Visitor")
    REGISTERED = "R", _("Registered visitor")


class Gender(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")
    OTHER = "O", _("Other")
    UNSPECIFIED = "X", _("Unspecified")


class ContactGroup(PublicIdModel):
    """A segment of contacts and companies (API §10 ``Group``)."""

    name = models.CharField(_("name"), max_length=100)
    color = models.CharField(_("text colour"), max_length=7, blank=True)
    background_color = models.CharField(_("background colour"), max_length=7, blank=True)

    class Meta(PublicIdModel.Meta):
        verbose_name = _("contact group")
        ordering = ["name"]
        constraints = [
            *PublicIdModel.Meta.constraints,
            models.UniqueConstraint(fields=["account", "name"], name="contact_group_name"),
        ]

    def __str__(self) -> str:
        return self.name


class CustomField(PublicIdModel):
    """One custom field an account defines for contacts, companies or tickets. Values live
    as JSON on the owner (``custom_fields = {code: "text"}``), matching the API's
    ``[{code, value}]`` arrays whose values are always text."""

    class Target(models.TextChoices):
        CONTACT = "contact", _("Contact")
        COMPANY = "company", _("Company")
        TICKET = "ticket", _("Ticket")

    class Type(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        CHOICE = "choice", _("Choice")
        CHECKBOX = "checkbox", _("Checkbox")

    target = models.CharField(max_length=8, choices=Target.choices)
    code = models.SlugField(_("code"), max_length=64)
    name = models.CharField(_("name"), max_length=100)
    type = models.CharField(_("type"), max_length=8, choices=Type.choices, default=Type.TEXT)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta(PublicIdModel.Meta):
        verbose_name = _("custom field")
        ordering = ["target", "position", "name"]
        constraints = [
            *PublicIdModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["account", "target", "code"], name="custom_field_code"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def merge_values(
        cls, target: str, current: Mapping[str, str], incoming: Mapping[str, Any]
    ) -> dict[str, str]:
        """``current`` updated with ``incoming`` ({code: value}) as the API's updates do: codes
        not sent keep their value, ``None`` or ``""`` clears one; values are stored as text.
        An undefined code is an ``ActionError`` (the API answers 400)."""
        known = set(cls.objects.filter(target=target).values_list("code", flat=True))
        unknown = sorted(set(incoming) - known)
        if unknown:
            raise ActionError(
                gettext("Unknown custom field: %(codes)s") % {"codes": ", ".join(unknown)}
            )
        merged = dict(current)
        for code, value in incoming.items():
            if value is None or value == "":
                merged.pop(code, None)
            else:
                merged[code] = str(value)
        return merged


class Party(PublicIdModel):
    """What contacts and companies have in common (``ContactRequest`` / ``CompanyRequest``)."""

    system_name = models.CharField(_("display name"), max_length=255, blank=True)
    description = models.TextField(_("description"), blank=True)
    avatar_url = models.URLField(_("avatar URL"), max_length=1000, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    countrycode = models.CharField(_("country"), max_length=2, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    useragent = models.CharField(_("browser"), max_length=1000, blank=True)
    screen = models.CharField(_("screen"), max_length=32, blank=True)
    time_offset = models.IntegerField(_("UTC offset (seconds)"), null=True, blank=True)
    # IANA name; when set it wins over ``time_offset``, which then follows it (daylight saving).
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True, validators=[validate_zone_name]
    )
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    type = models.CharField(max_length=1, choices=ContactType.choices, default=ContactType.VISITOR)
    # Lower-case; set only while type is R. Unique per account (constraint on each subclass).
    registration_email = models.EmailField(_("portal login e-mail"), blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    date_created = models.DateTimeField(default=timezone.now, editable=False)
    date_changed = models.DateTimeField(default=timezone.now, editable=False)

    class Meta(PublicIdModel.Meta):
        abstract = True
        constraints = [
            *PublicIdModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["account", "registration_email"],
                condition=~Q(registration_email=""),
                name="%(app_label)s_%(class)s_registration_email",
            ),
        ]

    def __str__(self) -> str:
        return self.system_name or self.public_id

    def email_list(self) -> list[str]:
        """Addresses in order, primary first (uses a ``prefetch_related("emails")`` cache)."""
        return [e.email for e in self.emails.all()]  # type: ignore[attr-defined]

    def phone_list(self) -> list[str]:
        return [p.phone for p in self.phones.all()]  # type: ignore[attr-defined]

    def utc_offset(self) -> int | None:
        """Seconds east of UTC now: from the named zone when known, else as reported."""
        return utc_offset_seconds(self.time_zone) if self.time_zone else self.time_offset

    @property
    def primary_email(self) -> str:
        emails = self.email_list()
        return emails[0] if emails else ""


class Company(Party):
    name = models.CharField(_("name"), max_length=255, blank=True)
    groups = models.ManyToManyField(ContactGroup, blank=True, related_name="companies")

    class Meta(Party.Meta):
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["date_created", "pk"]


class Contact(Party):
    firstname = models.CharField(_("first name"), max_length=100, blank=True)
    lastname = models.CharField(_("last name"), max_length=100, blank=True)
    gender = models.CharField(
        _("gender"), max_length=1, choices=Gender.choices, default=Gender.UNSPECIFIED
    )
    job_position = models.CharField(_("job position"), max_length=200, blank=True)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    groups = models.ManyToManyField(ContactGroup, blank=True, related_name="contacts")
    # A contact merged into another stays as a tombstone so both keep their history.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta(Party.Meta):
        verbose_name = _("contact")
        ordering = ["date_created", "pk"]
        indexes = [models.Index(fields=["account", "date_changed"])]


class Reachable(TenantModel):
    """An e-mail address or phone number of exactly one contact or one company, in order."""

    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.CASCADE)
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.CASCADE)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(contact__isnull=False, company__isnull=True)
                | Q(contact__isnull=True, company__isnull=False),
                name="%(app_label)s_%(class)s_one_owner",
            )
        ]


class ContactEmail(Reachable):
    email = models.EmailField(_("e-mail"), max_length=254)
    # The address lower-cased: an address belongs to at most one contact (and, separately,
    # at most one company) per account.
    normalized = models.CharField(max_length=254, editable=False)

    class Meta(Reachable.Meta):
        default_related_name = "emails"
        constraints = [
            *Reachable.Meta.constraints,
            models.UniqueConstraint(
                fields=["account", "normalized"],
                condition=Q(contact__isnull=False),
                name="contact_email_unique",
            ),
            models.UniqueConstraint(
                fields=["account", "normalized"],
                condition=Q(company__isnull=False),
                name="company_email_unique",
            ),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.normalized = normalize_email(self.email)
        super().save(*args, **kwargs)


class ContactPhone(Reachable):
    phone = models.CharField(_("phone"), max_length=64)

    class Meta(Reachable.Meta):
        default_related_name = "phones"


class ContactEvent(TenantModel):
    """One entry of a contact's history shown on its page (created, merged, registered...)."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        MERGED_IN = "merged_in", _("Another contact was merged into this one")
        MERGED_AWAY = "merged_away", _("Merged into another contact")
        REGISTERED = "registered", _("Registered for the customer portal")
        UNREGISTERED = "unregistered", _("Unregistered from the customer portal")

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="history")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    # The other contact of a merge; ``details`` also names it, in case it is deleted later.
    other = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    details = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]


def normalize_email(address: str) -> str:
    return address.strip().lower()
