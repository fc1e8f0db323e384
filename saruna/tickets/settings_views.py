"""The help desk's settings pages: departments, tags, canned messages, predefined answers and
custom fields, plus the one list/create/edit/delete helper they share (the contacts app
uses it for contact groups too). Views only read; writes go through the actions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from saruna.accounts.models import User
from saruna.contacts import actions as contact_actions
from saruna.contacts.common import ActionError, delete_record
from saruna.contacts.models import CustomField
from saruna.tickets import actions, settings_forms
from saruna.tickets.models import (
    DEFAULT_DEPARTMENT_ID,
    CannedMessage,
    Department,
    PredefinedAnswer,
    Tag,
)


@dataclass(frozen=True)
class Kind:
    """One kind of simple record and how its pages list, save and delete it.

    ``name`` prefixes the URL names (``<name>_list``, ``_new``, ``_edit``, ``_delete``);
    ``save(account, instance_or_None, **fields)`` and ``delete(instance, actor=user)`` are
    the actions; ``table`` is the template of the list's table; ``form_template`` extends
    ``tickets/settings/form.html`` where a form needs more than its fields, and
    ``form_kwargs(request)`` gives its form more than the user and the instance."""

    name: str
    model: type[Model]
    form: type[settings_forms.ActionForm]
    save: Callable[..., Model]
    delete: Callable[..., None]
    title: Promise
    noun: Promise
    table: str
    form_template: str = "tickets/settings/form.html"
    back: str = "settings"
    managers_only: bool = True
    objects: Callable[[User], QuerySet[Any]] | None = None
    deletable: Callable[[Any], bool] = field(default=lambda obj: True)
    form_kwargs: Callable[[HttpRequest], dict[str, Any]] = field(default=lambda request: {})

    def queryset(self, user: User) -> QuerySet[Any]:
        if self.objects is not None:
            return self.objects(user)
        return self.model.objects.all()  # type: ignore[attr-defined,no-any-return]

    def urls(self) -> list[URLPattern]:
        return [
            path("", object_list, {"kind": self}, name=f"{self.name}_list"),
            path("new/", object_new, {"kind": self}, name=f"{self.name}_new"),
            path("<str:object_id>/", object_edit, {"kind": self}, name=f"{self.name}_edit"),
            path("<str:object_id>/delete/", object_delete, {"kind": self},
                 name=f"{self.name}_delete"),
        ]


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def posted_data(request: HttpRequest) -> Any:
    """The form data of a POST, even an empty one (``request.POST or None`` would leave a
    form with only unticked checkboxes unbound)."""
    return request.POST if request.method == "POST" else None


def _allowed(request: HttpRequest, kind: Kind) -> User:
    user = _user(request)
    if kind.managers_only and not user.can_manage_account:
        raise PermissionDenied
    return user


@login_required
def object_list(request: HttpRequest, kind: Kind) -> HttpResponse:
    user = _allowed(request, kind)
    return render(request, "tickets/settings/list.html", {
        "kind": kind, "objects": kind.queryset(user),
    })


def _form_page(
    request: HttpRequest, kind: Kind, user: User, instance: Model | None
) -> HttpResponse:
    form = kind.form(
        posted_data(request), user=user, instance=instance, **kind.form_kwargs(request)
    )
    if request.method == "POST" and form.is_valid():
        try:
            kind.save(request.account, instance, **form.action_fields())  # type: ignore[attr-defined]
        except ActionError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Saved."))
            return redirect(f"{kind.name}_list")
    return render(request, kind.form_template, {
        "kind": kind, "form": form, "object": instance,
        "deletable": instance is not None and kind.deletable(instance),
    })


@login_required
@require_http_methods(["GET", "POST"])
def object_new(request: HttpRequest, kind: Kind) -> HttpResponse:
    return _form_page(request, kind, _allowed(request, kind), None)


@login_required
@require_http_methods(["GET", "POST"])
def object_edit(request: HttpRequest, kind: Kind, object_id: str) -> HttpResponse:
    user = _allowed(request, kind)
    instance = get_object_or_404(kind.queryset(user), public_id=object_id)
    return _form_page(request, kind, user, instance)


@login_required
@require_http_methods(["GET", "POST"])
def object_delete(request: HttpRequest, kind: Kind, object_id: str) -> HttpResponse:
    user = _allowed(request, kind)
    instance = get_object_or_404(kind.queryset(user), public_id=object_id)
    if request.method == "POST":
        try:
            kind.delete(instance, actor=user)
        except ActionError as error:
            messages.error(request, error.message)
            return redirect(f"{kind.name}_edit", object_id=object_id)
        messages.success(request, _("Deleted."))
        return redirect(f"{kind.name}_list")
    return render(request, "tickets/settings/delete.html", {
        "kind": kind, "object": instance, "deletable": kind.deletable(instance),
    })


@login_required
def settings_index(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    kinds = [k for k in KINDS if user.can_manage_account or not k.managers_only]
    return render(request, "tickets/settings/index.html", {"kinds": kinds})


def _canned_messages(user: User) -> QuerySet[CannedMessage]:
    # Someone's personal messages are theirs alone; shared ones are the managers' to edit.
    mine = CannedMessage.objects.filter(user=user)
    if user.can_manage_account:
        return mine | CannedMessage.objects.filter(user__isnull=True)
    return mine


def _departments(user: User) -> QuerySet[Department]:
    # The default department is made on first use; its settings page is such a use.
    actions.default_department(user.account)  # type: ignore[arg-type]
    return Department.objects.prefetch_related("agents")


DEPARTMENTS = Kind(
    name="settings_department", model=Department, form=settings_forms.DepartmentForm,
    save=actions.save_department, delete=actions.delete_department,
    title=gettext_lazy("Departments"), noun=gettext_lazy("department"),
    table="tickets/settings/_departments.html",
    objects=lambda user: _departments(user),
    deletable=lambda department: department.public_id != DEFAULT_DEPARTMENT_ID,
)
TAGS = Kind(
    name="settings_tag", model=Tag, form=settings_forms.TagForm,
    save=actions.save_tag, delete=delete_record,
    title=gettext_lazy("Tags"), noun=gettext_lazy("tag"),
    table="tickets/settings/_tags.html",
)
CANNED_MESSAGES = Kind(
    name="settings_canned", model=CannedMessage, form=settings_forms.CannedMessageForm,
    save=actions.save_canned_message, delete=delete_record,
    title=gettext_lazy("Canned messages"), noun=gettext_lazy("canned message"),
    table="tickets/settings/_canned.html", managers_only=False,
    objects=lambda user: _canned_messages(user).select_related("user", "department"),
)
PREDEFINED_ANSWERS = Kind(
    name="settings_answer", model=PredefinedAnswer, form=settings_forms.PredefinedAnswerForm,
    save=actions.save_predefined_answer, delete=delete_record,
    title=gettext_lazy("Predefined answers"), noun=gettext_lazy("predefined answer"),
    table="tickets/settings/_answers.html",
    objects=lambda user: PredefinedAnswer.objects.select_related("department"),
)
CUSTOM_FIELDS = Kind(
    name="settings_custom_field", model=CustomField, form=settings_forms.CustomFieldForm,
    save=contact_actions.save_custom_field, delete=contact_actions.delete_custom_field,
    title=gettext_lazy("Custom fields"), noun=gettext_lazy("custom field"),
    table="tickets/settings/_custom_fields.html",
)
KINDS = (DEPARTMENTS, TAGS, CANNED_MESSAGES, PREDEFINED_ANSWERS, CUSTOM_FIELDS)
