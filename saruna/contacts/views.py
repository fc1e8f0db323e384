"""The agent's contact pages: contacts, companies and contact groups. Every logged-in user
of the account works with contacts; which of a contact's tickets they see follows the
ticket rules of :mod:`saruna.tickets.queries`. Views read; writes go through
:mod:`saruna.contacts.actions`."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from saruna.accounts.models import User
from saruna.contacts import actions, forms
from saruna.contacts.common import ActionError, delete_record
from saruna.contacts.models import (
    Company,
    Contact,
    ContactEvent,
    ContactGroup,
    CustomField,
    Party,
)
from saruna.tickets import queries
from saruna.tickets.models import Ticket
from saruna.tickets.settings_views import Kind, posted_data

PAGE_SIZE = 50
MERGE_CANDIDATES = 20
# Names of the keys an update wrote that are not model fields of their own.
CHANGED_LABELS = {
    "emails": gettext_lazy("e-mail addresses"),
    "phones": gettext_lazy("phone numbers"),
    "tags": gettext_lazy("tags"),
    "custom_fields": gettext_lazy("custom fields"),
}


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _page(request: HttpRequest, objects: QuerySet[Any]) -> Any:
    return Paginator(objects, PAGE_SIZE).get_page(request.GET.get("page"))


def _get_contact(contact_id: str) -> Contact:
    return get_object_or_404(Contact, public_id=contact_id)


# --- Contacts ------------------------------------------------------------------------------


@login_required
def contact_list(request: HttpRequest) -> HttpResponse:
    search = forms.ContactSearchForm(request.GET)
    contacts = search.filter(
        Contact.objects.filter(merged_into__isnull=True)
        .select_related("company")
        .prefetch_related("emails")
        .order_by("system_name", "pk")
    )
    context = {"search": search, "page": _page(request, contacts), "query": _query(request)}
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "contacts/_contact_results.html", context)
    return render(request, "contacts/contact_list.html", context)


def _query(request: HttpRequest) -> str:
    """The list's filters without the page number, for the paging links."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _save_page(
    request: HttpRequest, form: forms.PartyForm, obj: Any = None
) -> HttpResponse | None:
    """Saves ``form`` through the matching action; None when the page must show the form
    (again, with errors)."""
    if request.method != "POST" or not form.is_valid():
        return None
    is_contact = isinstance(form, forms.ContactForm)
    account = request.account  # type: ignore[attr-defined]
    try:
        if obj is None:
            create = actions.create_contact if is_contact else actions.create_company
            obj = create(account, **form.action_fields())
        else:
            update = actions.update_contact if is_contact else actions.update_company
            update(obj, **form.action_fields())
    except ActionError as error:
        form.add_error(None, error.message)
        return None
    messages.success(request, _("Saved."))
    if is_contact:
        return redirect("contact_detail", contact_id=obj.public_id)
    return redirect("company_edit", company_id=obj.public_id)


@login_required
@require_http_methods(["GET", "POST"])
def contact_new(request: HttpRequest) -> HttpResponse:
    form = forms.ContactForm(posted_data(request), user=_user(request))
    return _save_page(request, form) or render(
        request, "contacts/contact_form.html", {"form": form}
    )


@login_required
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, contact_id: str) -> HttpResponse:
    contact = _get_contact(contact_id)
    form = forms.ContactForm(posted_data(request), user=_user(request), instance=contact)
    return _save_page(request, form, contact) or render(
        request, "contacts/contact_form.html", {"form": form, "contact": contact}
    )


@login_required
def contact_detail(request: HttpRequest, contact_id: str) -> HttpResponse:
    contact = get_object_or_404(
        Contact.objects.select_related("company", "merged_into").prefetch_related(
            "emails", "phones", "groups", "tags"
        ),
        public_id=contact_id,
    )
    tickets = queries.contact_tickets(_user(request), contact).select_related(
        "department", "agent"
    )
    history = contact.history.select_related("actor", "other").order_by("-at", "-pk")
    return render(request, "contacts/contact_detail.html", {
        "contact": contact,
        "custom_values": _custom_values(CustomField.Target.CONTACT, contact.custom_fields),
        "time_zone": _zone_label(contact),
        "tickets": tickets[:PAGE_SIZE],
        "ticket_count": tickets.count(),
        "history": [(event, _changed(event)) for event in history],
        "display_tz": _user(request).time_zone or request.account.time_zone or "UTC",  # type: ignore[attr-defined]
    })


def _zone_label(party: Party) -> str:
    offset = party.utc_offset()
    label = forms.offset_label(offset) if offset is not None else ""
    return f"{party.time_zone.replace('_', ' ')} ({label})" if party.time_zone else label


def _custom_values(target: str, values: dict[str, str]) -> list[tuple[str, str]]:
    return [
        (definition.name, values[definition.code])
        for definition in CustomField.objects.filter(target=target)
        if definition.code in values
    ]


def _changed(event: ContactEvent) -> list[str]:
    """The labels of what an update changed."""
    labels = []
    for name in event.details.get("fields", []):
        if name in CHANGED_LABELS:
            labels.append(str(CHANGED_LABELS[name]))
        else:
            field = Contact._meta.get_field(name)
            labels.append(str(getattr(field, "verbose_name", name)))
    return labels


@login_required
@require_http_methods(["GET", "POST"])
def contact_merge(request: HttpRequest, contact_id: str) -> HttpResponse:
    """Picks another contact, then confirms: the other one is merged into this one."""
    contact = _get_contact(contact_id)
    other_id = request.POST.get("other") or request.GET.get("other")
    candidates = Contact.objects.filter(merged_into__isnull=True).exclude(pk=contact.pk)
    if not other_id:
        search = forms.ContactSearchForm(request.GET)
        found = search.filter(candidates.prefetch_related("emails").order_by("system_name"))
        context = {"contact": contact, "search": search,
                   "candidates": found[:MERGE_CANDIDATES] if request.GET.get("q") else []}
        if request.htmx:  # type: ignore[attr-defined]
            return render(request, "contacts/_merge_candidates.html", context)
        return render(request, "contacts/contact_merge.html", context)
    other = candidates.filter(public_id=other_id).first()
    if other is None:
        messages.error(request, _("Choose another contact to merge."))
        return redirect("contact_merge", contact_id=contact.public_id)
    if request.method == "POST":
        try:
            actions.merge_contacts(contact, other, actor=_user(request))
        except ActionError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("%(other)s was merged into %(contact)s.")
                             % {"other": other, "contact": contact})
        return redirect("contact_detail", contact_id=contact.public_id)
    return render(request, "contacts/contact_merge_confirm.html", {
        "contact": contact, "other": other,
        "other_tickets": Ticket.objects.filter(owner=other).count(),
    })


def _hidden_tickets(user: User, tickets: QuerySet[Ticket]) -> bool:
    """Whether some of ``tickets`` are out of this user's sight (then they may not trash
    them)."""
    return tickets.exclude(pk__in=queries.visible_tickets(user).values("pk")).exists()


def _delete_page(
    request: HttpRequest, obj: Contact | Company, tickets: QuerySet[Ticket]
) -> HttpResponse:
    user = _user(request)
    form = forms.DeleteContactForm(posted_data(request))
    if request.method == "POST" and form.is_valid():
        trash = form.cleaned_data["delete_tickets"]
        if trash and _hidden_tickets(user, tickets):
            form.add_error("delete_tickets", _(
                "Some of these tickets are in departments you do not belong to; ask an "
                "administrator to move them to the trash."))
        else:
            if isinstance(obj, Contact):
                actions.delete_contact(obj, delete_tickets=trash, actor=user)
            else:
                actions.delete_company(obj, delete_tickets=trash, actor=user)
            messages.success(request, _("%(name)s was deleted.") % {"name": obj})
            return redirect("contacts" if isinstance(obj, Contact) else "companies")
    return render(request, "contacts/delete.html", {
        "object": obj, "form": form, "ticket_count": tickets.count(),
        "is_contact": isinstance(obj, Contact),
    })


@login_required
@require_http_methods(["GET", "POST"])
def contact_delete(request: HttpRequest, contact_id: str) -> HttpResponse:
    contact = _get_contact(contact_id)
    return _delete_page(request, contact, Ticket.objects.filter(owner=contact))


# --- Companies -----------------------------------------------------------------------------


@login_required
def company_list(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "").strip()
    companies = Company.objects.annotate(contact_count=Count("contacts")).order_by(
        "system_name", "pk"
    )
    if text:
        companies = companies.filter(system_name__icontains=text)
    return render(request, "contacts/company_list.html", {
        "q": text, "page": _page(request, companies), "query": _query(request),
    })


@login_required
@require_http_methods(["GET", "POST"])
def company_new(request: HttpRequest) -> HttpResponse:
    form = forms.CompanyForm(posted_data(request), user=_user(request))
    return _save_page(request, form) or render(
        request, "contacts/company_form.html", {"form": form}
    )


@login_required
@require_http_methods(["GET", "POST"])
def company_edit(request: HttpRequest, company_id: str) -> HttpResponse:
    company = get_object_or_404(Company, public_id=company_id)
    form = forms.CompanyForm(posted_data(request), user=_user(request), instance=company)
    return _save_page(request, form, company) or render(
        request, "contacts/company_form.html", {
            "form": form, "company": company,
            "members": company.contacts.filter(merged_into__isnull=True).order_by("system_name"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def company_delete(request: HttpRequest, company_id: str) -> HttpResponse:
    company = get_object_or_404(Company, public_id=company_id)
    return _delete_page(request, company, Ticket.objects.filter(owner__company=company))


# --- Contact groups: the settings pages' list/create/edit/delete helper --------------------

CONTACT_GROUPS = Kind(
    name="contact_group", model=ContactGroup, form=forms.ContactGroupForm,
    save=actions.save_contact_group, delete=delete_record,
    title=gettext_lazy("Contact groups"), noun=gettext_lazy("contact group"),
    table="contacts/_groups.html", back="contacts", managers_only=False,
    objects=lambda user: ContactGroup.objects.annotate(contact_count=Count("contacts")),
)
