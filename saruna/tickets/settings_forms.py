"""Forms of the help desk's settings pages. They check input and turn it into the keyword
arguments of the matching action; the actions in :mod:`saruna.tickets.actions` and
:mod:`saruna.contacts.actions` write."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from saruna.accounts.models import User
from saruna.contacts.models import CustomField
from saruna.tickets.models import Department, MessageFormat

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise  # a development dependency


class ActionForm(forms.Form):
    """A form for one record: ``instance`` (None when creating) fills the initial values of the
    declared fields of the same name, and :meth:`action_fields` answers what to pass to the
    action. ``user`` is who submits it (ownership and audit)."""

    def __init__(
        self, *args: Any, user: User, instance: models.Model | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.user, self.instance = user, instance
        if instance is not None:  # also when bound: ``changed_data`` compares with it
            self.initial = {**self.initial_from(instance), **self.initial}

    def initial_from(self, instance: models.Model) -> dict[str, Any]:
        return {name: getattr(instance, name) for name in self.fields if hasattr(instance, name)}

    def action_fields(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


def colour_field(label: StrOrPromise) -> forms.RegexField:
    # Text, not <input type=color>: a colour picker always sends a value, so "none" is lost.
    return forms.RegexField(
        label=label, regex=r"^#[0-9a-fA-F]{6}$", required=False, max_length=7,
        error_messages={"invalid": _("Enter a colour as #RRGGBB.")},
        widget=forms.TextInput(attrs={"placeholder": "#1f6feb", "size": 8}),
    )


def department_field(**kwargs: Any) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        Department.objects.none(), label=_("Department"), to_field_name="public_id",
        required=False, empty_label=_("All departments"), **kwargs,
    )


class DepartmentForm(ActionForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    agents = forms.ModelMultipleChoiceField(
        User.objects.none(), label=_("Agents"), required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Querysets are built per request: the account's scope is active only then.
        self.fields["agents"].queryset = User.objects.filter(is_active=True)  # type: ignore[attr-defined]

    def initial_from(self, instance: models.Model) -> dict[str, Any]:
        assert isinstance(instance, Department)
        return {"name": instance.name, "agents": list(instance.agents.all())}

    def action_fields(self) -> dict[str, Any]:
        return {**self.cleaned_data, "actor": self.user}


class TagForm(ActionForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    color = colour_field(_("Text colour"))
    background_color = colour_field(_("Background colour"))
    is_public = forms.BooleanField(label=_("Shown to customers"), required=False)
    is_archived = forms.BooleanField(
        label=_("Archived"), required=False,
        help_text=_("Archived tags stay where they are but cannot be added any more."),
    )


class CannedMessageForm(ActionForm):
    messagetext = forms.CharField(
        label=_("Message"), widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Variables such as {$contact_name}, {$agent_name} and {$ticket_code} "
                    "are filled in when the message is inserted."),
    )
    keywords = forms.CharField(label=_("Keywords"), max_length=255, required=False)
    owner = forms.ChoiceField(
        label=_("Who can use it"),
        choices=[("me", _("Only me")), ("shared", _("Everyone in the account"))],
    )
    department = department_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.all()  # type: ignore[attr-defined]
        if not self.user.can_manage_account:
            # Agents keep messages of their own; shared ones are the administrators' to write.
            del self.fields["owner"]

    def initial_from(self, instance: models.Model) -> dict[str, Any]:
        return {
            **super().initial_from(instance),
            "owner": "me" if getattr(instance, "user_id", None) else "shared",
        }

    def action_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        shared = data.pop("owner", "me") == "shared"
        return {**data, "user": None if shared else self.user}


class PredefinedAnswerForm(ActionForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    subject = forms.CharField(label=_("Subject"), max_length=500, required=False)
    body = forms.CharField(label=_("Body"), widget=forms.Textarea(attrs={"rows": 8}))
    format = forms.ChoiceField(
        label=_("Format"),
        choices=[(MessageFormat.TEXT, _("Text")), (MessageFormat.HTML, _("HTML"))],
        help_text=_("HTML is cleaned of scripts and other unsafe markup when saved."),
    )
    department = department_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.all()  # type: ignore[attr-defined]


class CustomFieldForm(ActionForm):
    target = forms.ChoiceField(label=_("For"), choices=CustomField.Target.choices)
    code = forms.SlugField(
        label=_("Code"), max_length=64,
        help_text=_("How the API and imports name the field; it cannot be changed later."),
    )
    name = forms.CharField(label=_("Name"), max_length=100)
    type = forms.ChoiceField(label=_("Type"), choices=CustomField.Type.choices)
    choices = forms.CharField(
        label=_("Choices"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For the choice type: one choice a line."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            # Values are stored under the code on every contact, company or ticket.
            self.fields["target"].disabled = True
            self.fields["code"].disabled = True

    def initial_from(self, instance: models.Model) -> dict[str, Any]:
        assert isinstance(instance, CustomField)
        return {**super().initial_from(instance), "choices": "\n".join(instance.choices)}

    def clean_choices(self) -> list[str]:
        lines = (line.strip() for line in self.cleaned_data["choices"].splitlines())
        return list(dict.fromkeys(line for line in lines if line))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("type") == CustomField.Type.CHOICE and not data.get("choices"):
            self.add_error("choices", _("Enter at least one choice."))
        return data

    def action_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if self.instance is not None:
            del data["target"], data["code"]
        return data
