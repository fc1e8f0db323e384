"""The public submission form (built from a contact form's fields) and the owner's editor."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from saruna.contactforms.models import BUILTIN_KEYS, ContactForm, FieldType
from saruna.contacts.models import CustomField
from saruna.core.ids import new_id
from saruna.tickets.models import Department
from saruna.web.forms import BotProtectedForm, SiteForm

MAX_LENGTHS = {"name": 200, "subject": 500, "message": 20000, "text": 1000, "textarea": 20000}


def _form_field(spec: dict[str, Any]) -> forms.Field:
    required = bool(spec.get("required"))
    label = spec["label"]
    kind = spec["type"]
    if kind == "email":
        return forms.EmailField(label=label, required=True, max_length=254)
    if kind == FieldType.CHECKBOX:
        return forms.BooleanField(label=label, required=required)
    if kind == FieldType.SELECT:
        choices = [("", "—"), *((c, c) for c in spec.get("choices", []))]
        return forms.ChoiceField(label=label, required=required, choices=choices)
    max_length = MAX_LENGTHS.get(spec["key"], MAX_LENGTHS.get(kind, 1000))
    widget = forms.Textarea(attrs={"rows": 6}) if kind == FieldType.TEXTAREA else None
    return forms.CharField(label=label, required=required, max_length=max_length, widget=widget)


class DescribedErrors(forms.Form):
    """Screen readers announce a field's errors with the field: its input names the error
    list (``<id>-errors`` in ``contactforms/_fields.html``); Django sets aria-invalid itself."""

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["aria-describedby"] = f"{self[name].auto_id}-errors"


class SubmissionForm(DescribedErrors, BotProtectedForm):
    """One visitor's answers; field names are the contact form's field keys."""

    def __init__(self, contact_form: ContactForm, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"cf-{contact_form.public_id}-%s")
        super().__init__(*args, **kwargs)
        self.specs = contact_form.field_list()
        for spec in self.specs:
            self.fields[spec["key"]] = _form_field(spec)
            if spec["key"] == "email":
                self.fields["email"].widget.attrs["autocomplete"] = "email"
            elif spec["key"] == "name":
                self.fields["name"].widget.attrs["autocomplete"] = "name"
        self.order_fields([*(s["key"] for s in self.specs), "website", "started"])

    def answers(self) -> dict[str, Any]:
        return {spec["key"]: self.cleaned_data.get(spec["key"]) for spec in self.specs}


class ContactFormSettings(SiteForm):
    name = forms.CharField(label=_("Name"), max_length=100,
                           help_text=_("For you and your team; visitors do not see it."))
    department = forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.none(), required=False,
        empty_label=_("Default department"),
    )
    confirmation_text = forms.CharField(
        label=_("Confirmation text"), required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown after sending and repeated in the confirmation e-mail."),
    )
    ask_name = forms.BooleanField(label=_("Ask for the name"), required=False, initial=True)
    require_name = forms.BooleanField(label=_("The name is required"), required=False,
                                      initial=True)
    ask_subject = forms.BooleanField(label=_("Ask for a subject"), required=False, initial=True)
    require_subject = forms.BooleanField(label=_("The subject is required"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.all()  # type: ignore[attr-defined]

    @classmethod
    def initial_for(cls, contact_form: ContactForm) -> dict[str, Any]:
        by_key = {f["key"]: f for f in contact_form.fields}
        return {
            "name": contact_form.name,
            "department": contact_form.department,
            "confirmation_text": contact_form.confirmation_text,
            "ask_name": "name" in by_key,
            "require_name": bool(by_key.get("name", {}).get("required")),
            "ask_subject": "subject" in by_key,
            "require_subject": bool(by_key.get("subject", {}).get("required")),
        }


class QuestionForm(SiteForm):
    """One custom question; a row left without a label is ignored."""

    key = forms.CharField(widget=forms.HiddenInput, required=False)
    label = forms.CharField(label=_("Question"), max_length=200, required=False)
    type = forms.ChoiceField(label=_("Answer type"), choices=FieldType.choices,
                             initial=FieldType.TEXT)
    choices = forms.CharField(
        label=_("Choices, one per line"), required=False, max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Only for a choice from a list."),
    )
    required = forms.BooleanField(label=_("Required"), required=False)
    ticket_field = forms.ChoiceField(
        label=_("Also save the answer in the ticket field"), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        codes = CustomField.objects.filter(target=CustomField.Target.TICKET)
        self.fields["ticket_field"].choices = [  # type: ignore[attr-defined]
            ("", "—"), *((f.code, f.name) for f in codes)
        ]

    def clean_choices(self) -> list[str]:
        lines = (line.strip() for line in self.cleaned_data["choices"].splitlines())
        return list(dict.fromkeys(line for line in lines if line))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("label") and data.get("type") == FieldType.SELECT and not data.get("choices"):
            self.add_error("choices", _("Give at least one choice."))
        return data

    def spec(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if not data.get("label") or data.get("DELETE"):
            return None
        return {
            "key": data.get("key") or f"q_{new_id(6)}",
            "label": data["label"],
            "type": data["type"],
            "required": data["required"],
            "choices": data["choices"] if data["type"] == FieldType.SELECT else [],
            "ticket_field": data.get("ticket_field") or "",
        }


QuestionFormSet = forms.formset_factory(QuestionForm, extra=2, can_delete=True, max_num=30)


def questions_initial(contact_form: ContactForm) -> list[dict[str, Any]]:
    return [
        {**f, "choices": "\n".join(f.get("choices", []))}
        for f in contact_form.fields if f["key"] not in BUILTIN_KEYS
    ]
