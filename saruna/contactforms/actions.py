"""Every write of the contact-form channel: saving forms and turning a submission into a
contact, a ticket (channel ``M``) and a confirmation e-mail, in one transaction each."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from saruna.accounts.models import User
from saruna.contactforms.models import (
    ALWAYS_REQUIRED,
    BUILTIN_KEYS,
    BUILTIN_TYPES,
    ContactForm,
    FieldType,
)
from saruna.contacts.actions import find_or_create_contact_by_email
from saruna.contacts.common import ActionError, save_record
from saruna.contacts.models import CustomField
from saruna.core import audit
from saruna.core.models import Account
from saruna.core.outbox import queue_email
from saruna.portal.links import home_url, ticket_url
from saruna.tickets.actions import open_ticket
from saruna.tickets.models import ChannelType, Ticket


def build_fields(
    *, ask_name: bool, require_name: bool, ask_subject: bool, require_subject: bool,
    questions: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """The stored layout: name, e-mail, subject, the custom questions, then the message."""

    def builtin(key: str, required: bool) -> dict[str, Any]:
        return {"key": key, "label": "", "type": BUILTIN_TYPES[key], "required": required,
                "choices": [], "ticket_field": ""}

    fields = []
    if ask_name:
        fields.append(builtin("name", require_name))
    fields.append(builtin("email", True))
    if ask_subject:
        fields.append(builtin("subject", require_subject))
    fields.extend(questions)
    fields.append(builtin("message", True))
    return fields


def _check_fields(fields: list[dict[str, Any]]) -> None:
    keys = [f.get("key") for f in fields]
    if len(set(keys)) != len(keys) or not set(keys) >= ALWAYS_REQUIRED:
        raise ActionError(gettext("The form needs an e-mail and a message field, once each."))
    for field in fields:
        if field["key"] in BUILTIN_KEYS:
            continue
        if field.get("type") not in FieldType.values or not str(field.get("label", "")).strip():
            raise ActionError(gettext("Each question needs a label and an answer type."))
        if field["type"] == FieldType.SELECT and not field.get("choices"):
            raise ActionError(gettext("A choice from a list needs at least one choice."))


def save_contact_form(
    account: Account, contact_form: ContactForm | None = None, *, actor: User | None = None,
    **fields: Any,
) -> ContactForm:
    """Creates or changes a form (``name``, ``department``, ``confirmation_text``,
    ``fields``, ``is_active``); the change is in the audit log."""
    if "fields" in fields:
        _check_fields(fields["fields"])
    department = fields.get("department")
    if department is not None and department.account_id != account.pk:
        raise ActionError(gettext("Unknown department."))
    with transaction.atomic():
        created = contact_form is None
        saved = save_record(
            ContactForm, account, contact_form, fields,
            ("name", "department", "confirmation_text", "fields", "is_active"),
            conflict=gettext("This form exists already."),
        )
        verb = "contactform.created" if created else "contactform.changed"
        if "is_active" in fields and not created and len(fields) == 1:
            verb = "contactform.activated" if saved.is_active else "contactform.deactivated"
        audit.record(account, verb, actor=actor, target=saved)
    return saved


def _answer_text(spec: Mapping[str, Any], value: Any) -> str:
    if spec["type"] == FieldType.CHECKBOX:
        return gettext("Yes") if value else gettext("No")
    return str(value or "").strip()


def submit(contact_form: ContactForm, answers: Mapping[str, Any]) -> Ticket:
    """A visitor's validated answers (keyed by field key) become a ticket of the form's
    department owned by the contact with that e-mail (created if new), with the custom
    answers below the message; the submitter is sent a confirmation with the portal link."""
    account = contact_form.account
    specs = contact_form.field_list()
    custom = [s for s in specs if s["key"] not in BUILTIN_KEYS]
    lines = [str(answers.get("message") or "").strip()]
    if custom:
        lines.append("")
        lines.extend(f"{s['label']}: {_answer_text(s, answers.get(s['key']))}" for s in custom)
    known = set(
        CustomField.objects.filter(target=CustomField.Target.TICKET).values_list("code", flat=True)
    )
    ticket_fields = {
        s["ticket_field"]: _answer_text(s, answers.get(s["key"]))
        for s in custom if s.get("ticket_field") in known
    }
    email = str(answers["email"])
    with transaction.atomic():
        contact, _created = find_or_create_contact_by_email(
            account, email, name=str(answers.get("name") or "")
        )
        ticket = open_ticket(
            account, str(answers.get("subject") or ""), "\n".join(lines), contact,
            ChannelType.CONTACT_FORM, department=contact_form.department,
            custom_fields=ticket_fields or None,
        )
        queue_email(
            email, "contactforms/email/confirmation",
            {"ticket": ticket, "form": contact_form, "account": account,
             "ticket_url": ticket_url(ticket), "portal_url": home_url(account)},
            account=account,
        )
    return ticket
