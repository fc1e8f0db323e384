"""Forms of the agent inbox. Choices come from the active account's scope; tickets are
looked up by the views through ``queries.visible_tickets`` only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from saruna.accounts.models import User
from saruna.tickets.html import sanitize_html
from saruna.tickets.inbox_actions import UNDELETE
from saruna.tickets.models import Department, Status, Tag, Ticket
from saruna.tickets.queries import default_reply_subject


def agent_choices() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True).exclude(role=User.Role.STAFF),
        required=False, label=_("Agent"), empty_label=_("Nobody"),
    )


STATUS_CHOICES = [
    (Status.OPEN, _("Open")),
    (Status.ANSWERED, _("Answered")),
    (Status.RESOLVED, _("Resolved")),
    (Status.POSTPONED, _("Postponed")),
    (Status.CLOSED, _("Closed")),
    (Status.SPAM, _("Spam")),
    (Status.DELETED, _("Trash")),
    (UNDELETE, _("Restore")),
]


class ReplyForm(forms.Form):
    """The composer: ``body`` is the plain-text fallback (no JavaScript); the rich-text
    editor puts its HTML in ``body_html``, which wins when given. That HTML is untrusted: it
    is sanitised as soon as the form sees it, so neither the stored reply nor the composer
    shown again after an error carries anything the sanitiser does not allow."""

    body = forms.CharField(label=_("Message"), required=False, widget=forms.Textarea(
        attrs={"rows": 5}))
    body_html = forms.CharField(required=False, strip=False, widget=forms.HiddenInput(
        attrs={"data-editor-html": ""}))
    # Empty: the default, shown as the placeholder (``queries.default_reply_subject``).
    subject = forms.CharField(label=_("Subject"), max_length=500, required=False)
    # Comma-separated addresses, checked by ``actions.mail_options``.
    cc = forms.CharField(label=_("Cc"), max_length=2000, required=False, widget=forms.TextInput(
        attrs={"placeholder": _("Copies, separated by commas"), "autocomplete": "email"}))
    bcc = forms.CharField(label=_("Bcc"), max_length=2000, required=False,
                          widget=forms.TextInput(attrs={"autocomplete": "email"}))
    note = forms.BooleanField(label=_("Internal note"), required=False)
    resolve = forms.BooleanField(required=False)

    def __init__(
        self, data: Any = None, *args: Any, ticket: Ticket | None = None, **kwargs: Any
    ) -> None:
        if data is not None and data.get("body_html"):
            data = data.copy()
            data["body_html"] = sanitize_html(data["body_html"])
        super().__init__(data, *args, **kwargs)
        if ticket is not None:
            self.fields["subject"].widget.attrs["placeholder"] = default_reply_subject(ticket)


class AssignForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agent"] = agent_choices()


class DepartmentForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"] = forms.ModelChoiceField(
            queryset=Department.objects.all(), to_field_name="public_id",
            label=_("Department"),
        )


class TagsForm(forms.Form):
    def __init__(self, *args: Any, ticket: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Archived tags a ticket has already may stay on it.
        # A subquery, not a join: OR over a join to every tagged ticket needs DISTINCT, which
        # a large account pays for on every ticket view.
        tags = Tag.objects.all() if ticket is None else Tag.objects.filter(
            Q(is_archived=False) | Q(pk__in=ticket.tags.values("pk"))
        )
        self.fields["tags"] = forms.ModelMultipleChoiceField(
            queryset=tags, to_field_name="public_id", required=False, label=_("Tags"),
        )


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=STATUS_CHOICES)
    until = forms.DateTimeField(
        label=_("Until"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class MergeForm(forms.Form):
    target = forms.CharField(label=_("Merge into ticket (code or id)"), max_length=20)


class SplitForm(forms.Form):
    group = forms.IntegerField(widget=forms.HiddenInput)


class BulkForm(forms.Form):
    ACTIONS = [
        ("assign", _("Assign")), ("tag", _("Add tag")), ("status", _("Set status")),
        ("merge", _("Merge")),
    ]
    tickets = forms.MultipleChoiceField(
        choices=[], error_messages={"required": _("Select at least one ticket.")}
    )
    action = forms.ChoiceField(choices=ACTIONS, label=_("Action"))
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False, label=_("Status"))
    target = forms.CharField(
        label=_("Merge into (code or id; empty: the oldest)"), max_length=20, required=False
    )

    def __init__(self, *args: Any, ticket_ids: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["tickets"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(i, i) for i in ticket_ids]
        self.fields["agent"] = agent_choices()
        self.fields["tag"] = forms.ModelChoiceField(
            queryset=Tag.objects.filter(is_archived=False), to_field_name="public_id",
            required=False, label=_("Tag"),
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "tag" and not data.get("tag"):
            self.add_error("tag", _("Choose a tag."))
        if data.get("action") == "status" and not data.get("status"):
            self.add_error("status", _("Choose a status."))
        if data.get("action") == "merge" and len(data.get("tickets") or []) < 2 and not (
            data.get("target")
        ):
            self.add_error("tickets", _("Select at least two tickets to merge."))
        return data


class SavedFilterForm(forms.Form):
    """The inbox's "Save this view": what it shows now, under a name."""

    name = forms.CharField(label=_("Name"), max_length=200)
    is_public = forms.BooleanField(label=_("Share with everyone"), required=False)
    view = forms.CharField(widget=forms.HiddenInput, max_length=100)
    q = forms.CharField(widget=forms.HiddenInput, required=False, max_length=500)
