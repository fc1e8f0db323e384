"""The mailbox form of the e-mail channel's settings: it checks input for the kind of mailbox
chosen and turns it into the fields the save action writes, keeping stored secrets unless a
new one is typed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.forms.boundfield import BoundField
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from dkim.crypto import UnparsableKeyError, parse_pem_private_key

from saruna.core.models import Account
from saruna.mail.models import Mailbox, Security
from saruna.mail.tokens import mail_domain
from saruna.tickets.models import Department
from saruna.tickets.settings_forms import ActionForm, department_field

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise  # a development dependency

# Never shown again once stored; an empty field on edit keeps the stored value.
SECRET_FIELDS = ("imap_password", "smtp_password", "dkim_private_key")
IMAP_FIELDS = ("imap_host", "imap_port", "imap_security", "imap_username", "imap_password",
               "imap_folder", "processed_action", "processed_folder", "poll_seconds", "use_idle")
SMTP_FIELDS = ("smtp_host", "smtp_port", "smtp_security", "smtp_username", "smtp_password")
# What "Test connection" sends to saruna.mail.imap.test_connection / sending.test_smtp.
CONNECTION_FIELDS = {
    "imap": ("imap_host", "imap_port", "imap_security", "imap_username", "imap_password",
             "imap_folder"),
    "smtp": SMTP_FIELDS,
}
# "+" is left out: <slug>+<token>@ is the reply address of every ticket.
FORWARD_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$")
DNS_LABELS = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$",
                        re.IGNORECASE)


def port_field(label: StrOrPromise, initial: int) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=1, max_value=65535, initial=initial,
                              widget=forms.NumberInput(attrs={"size": 6}))


def secret_field(label: StrOrPromise, widget: forms.Widget | None = None) -> forms.CharField:
    return forms.CharField(
        label=label, required=False, strip=False, max_length=8000,
        widget=widget or forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


@dataclass
class FieldGroup:
    """Some of a form's fields, shaped like a form for ``web/_fields.html``."""

    fields: list[BoundField]
    non_field_errors: Sequence[Any] = ()
    hidden_fields: tuple[BoundField, ...] = ()

    def visible_fields(self) -> list[BoundField]:
        return self.fields


class MailboxForm(ActionForm):
    name = forms.CharField(label=_("Name"), max_length=100,
                           help_text=_("For you and your team, for example “Support”."))
    email = forms.EmailField(
        label=_("E-mail address"), max_length=254,
        help_text=_("The address customers write to. Replies are sent from it."),
    )
    kind = forms.ChoiceField(label=_("How mail arrives"), choices=Mailbox.Kind.choices,
                             widget=forms.RadioSelect, initial=Mailbox.Kind.FORWARD)
    department = department_field(
        help_text=_("New tickets from this mailbox go to this department."))
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    forward_local_part = forms.CharField(
        label=_("Forwarding name"), max_length=64, required=False,
        help_text=_("Lower-case letters, digits, dots, hyphens and underscores."),
    )

    imap_host = forms.CharField(label=_("IMAP server"), max_length=255, required=False,
                                widget=forms.TextInput(attrs={"placeholder": "imap.example.com"}))
    imap_port = port_field(_("IMAP port"), 993)
    imap_security = forms.ChoiceField(label=_("IMAP security"), choices=Security.choices)
    imap_username = forms.CharField(label=_("IMAP user name"), max_length=255, required=False)
    imap_password = secret_field(_("IMAP password"))
    imap_folder = forms.CharField(label=_("Folder"), max_length=255, initial="INBOX",
                                  required=False)
    processed_action = forms.ChoiceField(
        label=_("After a mail is stored"), choices=Mailbox.Processed.choices,
        help_text=_("Mail is never deleted from the server."),
    )
    processed_folder = forms.CharField(label=_("Move it to the folder"), max_length=255,
                                       required=False)
    poll_seconds = forms.IntegerField(label=_("Check every (seconds)"), min_value=10,
                                      max_value=86400, initial=60)
    use_idle = forms.BooleanField(
        label=_("Use IDLE when the server supports it"), required=False, initial=True,
        help_text=_("New mail then arrives within seconds instead of at the next check."),
    )

    smtp_host = forms.CharField(
        label=_("SMTP server"), max_length=255, required=False,
        help_text=_("Leave empty to send through this service's own mail server."),
        widget=forms.TextInput(attrs={"placeholder": "smtp.example.com"}),
    )
    smtp_port = port_field(_("SMTP port"), 587)
    smtp_security = forms.ChoiceField(label=_("SMTP security"), choices=Security.choices,
                                      initial=Security.STARTTLS)
    smtp_username = forms.CharField(label=_("SMTP user name"), max_length=255, required=False)
    smtp_password = secret_field(_("SMTP password"))

    dkim_selector = forms.CharField(
        label=_("DKIM selector"), max_length=63, required=False,
        help_text=_("Leave empty to send unsigned mail; a stored key is then removed."),
    )
    dkim_private_key = secret_field(
        _("DKIM private key (PEM)"),
        forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account = account
        department = self.fields["department"]
        department.queryset = Department.objects.all()  # type: ignore[attr-defined]
        department.empty_label = _("Default department")  # type: ignore[attr-defined]
        if self.instance is not None:
            for name in SECRET_FIELDS:
                if getattr(self.instance, name):
                    self.fields[name].help_text = _("Stored. Leave empty to keep it.")

    def initial_from(self, instance: models.Model) -> dict[str, Any]:
        initial = super().initial_from(instance)
        for name in SECRET_FIELDS:
            del initial[name]
        return initial

    # --- what the page shows beside the fields ---

    @property
    def mailbox(self) -> Mailbox | None:
        return self.instance if isinstance(self.instance, Mailbox) else None

    @property
    def mail_domain(self) -> str:
        return mail_domain(self.account)

    @property
    def forward_address(self) -> str:
        """The address to forward to, as saved (the page updates it while typing)."""
        local_part = self.mailbox.forward_local_part if self.mailbox else ""
        return f"{local_part}@{self.mail_domain}" if local_part else ""

    @property
    def dkim_record_name(self) -> str:
        """Where the public key is published: ``<selector>._domainkey.<domain>``."""
        mailbox = self.mailbox
        if mailbox is None or not mailbox.dkim_selector:
            return ""
        return f"{mailbox.dkim_selector}._domainkey.{mailbox.email.rpartition('@')[2]}"

    @property
    def groups(self) -> dict[str, FieldGroup]:
        """The page's sections; the form's own errors head the first one."""
        def group(*names: str) -> FieldGroup:
            return FieldGroup([self[name] for name in names])

        return {
            "mailbox": FieldGroup(
                [self[name] for name in ("name", "email", "kind", "department", "is_active")],
                non_field_errors=self.non_field_errors(),
            ),
            "forward": group("forward_local_part"),
            "imap": group(*IMAP_FIELDS),
            "smtp": group(*SMTP_FIELDS),
            "dkim": group("dkim_selector", "dkim_private_key"),
        }

    # --- checks ---

    def clean_forward_local_part(self) -> str:
        value: str = self.cleaned_data["forward_local_part"].strip().lower()
        if value and not FORWARD_NAME.match(value):
            raise ValidationError(
                _("Use lower-case letters, digits, dots, hyphens and underscores only."))
        return value

    def clean_dkim_selector(self) -> str:
        value: str = self.cleaned_data["dkim_selector"].strip()
        if value and not DNS_LABELS.match(value):
            raise ValidationError(_("Use letters, digits, hyphens and dots only."))
        return value

    def clean_dkim_private_key(self) -> str:
        # Browsers send a textarea's lines with CRLF; PEM readers expect LF.
        value: str = self.cleaned_data["dkim_private_key"].replace("\r\n", "\n").strip()
        if value:
            try:
                parse_pem_private_key(value.encode())
            except (UnparsableKeyError, ValueError) as error:
                raise ValidationError(
                    _("This is not an RSA private key in PEM format.")) from error
        return value

    def _stored(self, name: str) -> str:
        return str(getattr(self.mailbox, name, "") or "")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        # The other kind's fields are hidden: their mistakes must not block saving.
        unused = IMAP_FIELDS if kind == Mailbox.Kind.FORWARD else ("forward_local_part",)
        for name in unused:
            self.errors.pop(name, None)
            data.pop(name, None)
        if kind == Mailbox.Kind.FORWARD and not data.get("forward_local_part"):
            self.add_error("forward_local_part", _("Choose the name of the forwarding address."))
        if kind == Mailbox.Kind.IMAP:
            required = {"imap_host": _("Enter the IMAP server."),
                        "imap_username": _("Enter the user name."),
                        "imap_folder": _("Enter the folder to read, such as INBOX.")}
            for name, message in required.items():
                if name in data and not data[name]:
                    self.add_error(name, message)
            if not data.get("imap_password") and not self._stored("imap_password"):
                self.add_error("imap_password", _("Enter the password."))
            if (data.get("processed_action") == Mailbox.Processed.MOVE
                    and "processed_folder" in data and not data["processed_folder"]):
                self.add_error("processed_folder", _("Enter the folder to move mail to."))
        selector = data.get("dkim_selector")
        if selector and not data.get("dkim_private_key") and not self._stored("dkim_private_key"):
            self.add_error("dkim_private_key", _("Paste the private key for this selector."))
        if data.get("dkim_private_key") and "dkim_selector" in data and not selector:
            self.add_error("dkim_selector", _("Enter the selector the key is published under."))
        return data

    def action_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if data["kind"] == Mailbox.Kind.IMAP:
            data["forward_local_part"] = ""  # one way in per mailbox
        for name in SECRET_FIELDS:
            if not data.get(name):
                data.pop(name, None)  # keeps the stored one
        if not data["dkim_selector"]:
            data["dkim_private_key"] = ""  # no selector, no signing: the key goes
        return data

    def connection_values(self, server: str) -> tuple[dict[str, Any], list[str]]:
        """The values "Test connection" uses for ``server`` (``imap`` or ``smtp``) as typed,
        with the stored password when its field is empty; or the problems with them."""
        values: dict[str, Any] = {}
        problems: list[str] = []
        for name in CONNECTION_FIELDS[server]:
            form_field = self.fields[name]
            try:
                values[name] = form_field.clean(self[name].data)
            except ValidationError as error:
                problems.append(f"{form_field.label}: {' '.join(error.messages)}")
        if not problems and not values[f"{server}_host"]:
            problems.append(gettext("Enter the server to test."))
        password = f"{server}_password"
        values[password] = values.get(password) or self._stored(password)
        return values, problems
