"""Contact forms: an account's web forms whose submissions become tickets (channel ``M``).

``fields`` is the form's layout, in display order: a list of dicts
``{"key", "label", "type", "required", "choices", "ticket_field"}``. The four built-in keys
(``name``, ``email``, ``subject``, ``message``) have an empty ``label`` (the translated
default is shown); ``email`` and ``message`` are always present and required. Other keys are
custom questions whose answers go into the ticket's first message and, when ``ticket_field``
names a ticket custom field, into the ticket's custom fields as well.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saruna.contacts.common import PublicIdModel
from saruna.tickets.models import Department

BUILTIN_KEYS = ("name", "email", "subject", "message")
ALWAYS_REQUIRED = frozenset({"email", "message"})
BUILTIN_TYPES = {"name": "text", "email": "email", "subject": "text", "message": "textarea"}
BUILTIN_LABELS = {
    "name": _("Your name"),
    "email": _("Your e-mail"),
    "subject": _("Subject"),
    "message": _("Message"),
}


class FieldType(models.TextChoices):
    TEXT = "text", _("Short text")
    TEXTAREA = "textarea", _("Long text")
    SELECT = "select", _("Choice from a list")
    CHECKBOX = "checkbox", _("Checkbox")


def default_fields() -> list[dict[str, Any]]:
    return [
        {"key": key, "label": "", "type": BUILTIN_TYPES[key], "required": key != "subject",
         "choices": [], "ticket_field": ""}
        for key in BUILTIN_KEYS
    ]


class ContactForm(PublicIdModel):
    name = models.CharField(_("name"), max_length=100)
    # Null when the department was deleted: submissions then go to the default department.
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("department"),
    )
    fields = models.JSONField(default=default_fields)
    confirmation_text = models.TextField(
        _("confirmation text"), blank=True,
        help_text=_("Shown after sending and repeated in the confirmation e-mail."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_created = models.DateTimeField(default=timezone.now, editable=False)

    class Meta(PublicIdModel.Meta):
        verbose_name = _("contact form")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def field_list(self) -> list[dict[str, Any]]:
        """``fields`` with each field's label filled in (built-ins: the translated default)."""
        result = []
        for field in self.fields:
            label = field.get("label") or BUILTIN_LABELS.get(field["key"], field["key"])
            result.append({**field, "label": str(label)})
        return result
