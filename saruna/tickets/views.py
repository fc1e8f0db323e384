"""The agent inbox: saved views, the ticket list, one ticket, its actions, and its files.

Every read starts from ``queries.visible_tickets`` so an agent never reaches a ticket of a
department they are not in (404, exactly like a missing one); every write goes through
``actions`` / ``inbox_actions``. HTMX requests get the partial they target; the same URLs
without HTMX render the whole page, so links and forms also work without JavaScript.
"""

from __future__ import annotations

import json
import zoneinfo
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Q, QuerySet
from django.db.models.expressions import OrderBy
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from saruna.accounts.models import User
from saruna.contacts.common import ActionError, delete_record
from saruna.contacts.models import CustomField
from saruna.core import audit
from saruna.tickets import actions, files, inbox_actions, queries, saved_filters
from saruna.tickets.counts import cached_counts
from saruna.tickets.forms import (
    AssignForm,
    BulkForm,
    DepartmentForm,
    MergeForm,
    ReplyForm,
    SavedFilterForm,
    SplitForm,
    StatusForm,
    TagsForm,
)
from saruna.tickets.html import sanitize_html
from saruna.tickets.models import (
    Department,
    MessageFormat,
    Status,
    StoredFile,
    Tag,
    Ticket,
    TicketEvent,
)

PAGE_SIZE = 50
# Views other than a status list leave out the trash and spam.
HIDDEN = (Status.DELETED, Status.SPAM)
CLOSED = (Status.RESOLVED, Status.CLOSED, Status.DELETED, Status.SPAM)
# Each sort: (field, descending) pairs ending in a unique tie-break. A row carries the same
# order as a key (``sort_key``), so a row that arrives live finds its place on the page.
SORTS: dict[str, tuple[tuple[str, bool], ...]] = {
    "activity": (("last_activity", True), ("id", True)),
    "oldest": (("last_activity", False), ("id", False)),
    "created": (("date_created", True), ("id", True)),
    "due": (("date_due", False), ("id", False)),
    "priority": (("priority", True), ("last_activity", True), ("id", True)),
    "subject": (("subject", False), ("id", False)),
}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STATUS_VIEWS = [Status.NEW, Status.OPEN, Status.ANSWERED, Status.POSTPONED, Status.RESOLVED,
                Status.CLOSED, Status.SPAM, Status.DELETED]
UNPROCESSABLE = 422


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def agent_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Login required; dates shown and entered in the user's (or account's) time zone."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        name = _user(request).time_zone or request.account.time_zone  # type: ignore[attr-defined]
        try:
            zone = zoneinfo.ZoneInfo(name or "UTC")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = zoneinfo.ZoneInfo("UTC")
        with timezone.override(zone):
            return view(request, *args, **kwargs)

    return wrapped


# --- the list --------------------------------------------------------------------------------


def filter_tickets(request: HttpRequest, params: QueryDict) -> QuerySet[Ticket]:
    """The visible tickets of the view, search and sort named by ``params``."""
    user = _user(request)
    tickets = queries.visible_tickets(user)
    view = params.get("view") or "all"
    kind, _sep, value = view.partition(":")
    if kind == "filter":
        saved = saved_filters.visible_filters(user).filter(public_id=value).first()
        tickets = (saved_filters.apply_saved_filter(request, tickets, saved)
                   if saved is not None else tickets.none())
    elif kind == "status" and value in Status.values:
        tickets = tickets.filter(status=value)
    else:
        tickets = tickets.exclude(status__in=HIDDEN)
        if kind == "mine":
            tickets = tickets.filter(agent=user)
        elif kind == "unassigned":
            tickets = tickets.filter(agent__isnull=True)
        elif kind == "department":
            tickets = tickets.filter(department__public_id=value)
        elif kind == "tag":
            tickets = tickets.filter(tags__public_id=value)
        elif kind == "overdue":
            tickets = tickets.filter(date_due__lt=timezone.now()).exclude(status__in=CLOSED)
    query = (params.get("q") or "").strip()
    if query:
        tickets = _search(user, tickets, query)
    return tickets.order_by(*_ordering(_sort(params)))


def _sort(params: QueryDict) -> tuple[tuple[str, bool], ...]:
    return SORTS.get(params.get("sort") or "", SORTS["activity"])


def _ordering(sort: tuple[tuple[str, bool], ...]) -> list[OrderBy]:
    # A missing value (no due date) last on both engines: SQLite would put it first.
    ordering = []
    for name, descending in sort:
        nulls = {"nulls_last": True} if Ticket._meta.get_field(name).null else {}
        ordering.append(F(name).desc(**nulls) if descending else F(name).asc(**nulls))
    return ordering


def sort_key(ticket: Ticket, sort: tuple[tuple[str, bool], ...]) -> str:
    """The ticket's place in a list as JSON: lists compared item by item, ascending, order
    rows as ``filter_tickets`` does (times in microseconds, descending numbers negated,
    a missing value null, which sorts last; text by code point, as SQLite and a C-collated
    PostgreSQL order it)."""
    key: list[Any] = []
    for name, descending in sort:
        value = getattr(ticket, name)
        if isinstance(value, datetime):
            value = (value - EPOCH) // timedelta(microseconds=1)
        key.append(-value if descending and value is not None else value)
    return json.dumps(key)


def _search(user: User, tickets: QuerySet[Ticket], query: str) -> QuerySet[Ticket]:
    """Full-text search (``saruna.search``) within the tickets of the view."""
    from saruna.search.queries import search_tickets  # imports models: not at load time

    if user.account is None:  # provider staff see no tickets (visible_tickets) to search
        return tickets.none()
    return tickets.filter(pk__in=search_tickets(user.account, query, within=tickets))


def _count_views(user: User) -> dict[str, Any]:
    visible = queries.visible_tickets(user)
    active = visible.exclude(status__in=HIDDEN)
    return {
        "fixed": active.aggregate(
            mine=Count("pk", filter=Q(agent=user)),
            unassigned=Count("pk", filter=Q(agent__isnull=True)),
            all=Count("pk"),
            overdue=Count("pk", filter=Q(date_due__lt=timezone.now()) & ~Q(status__in=CLOSED)),
        ),
        "department": dict(active.values_list("department").annotate(n=Count("pk"))),
        "status": dict(visible.values_list("status").annotate(n=Count("pk"))),
        "tag": dict(active.filter(tags__isnull=False).values_list("tags").annotate(n=Count("pk"))),
    }


def saved_views(user: User) -> list[dict[str, Any]]:
    """The left column: each saved view with its count, all from the visible tickets."""
    counts = cached_counts(user, lambda: _count_views(user))
    fixed = counts["fixed"]
    views = [
        {"key": "mine", "label": _("Mine"), "count": fixed["mine"]},
        {"key": "unassigned", "label": _("Unassigned"), "count": fixed["unassigned"]},
        {"key": "all", "label": _("All open"), "count": fixed["all"]},
        {"key": "overdue", "label": _("Overdue"), "count": fixed["overdue"]},
    ]
    by_department = counts["department"]
    departments = Department.objects.all()
    if not queries.sees_all_tickets(user):
        departments = departments.filter(agents=user)
    views += [
        {"key": f"department:{d.public_id}", "label": d.name, "count": by_department.get(d.pk, 0),
         "group": "department"}
        for d in departments
    ]
    by_status = counts["status"]
    views += [
        {"key": f"status:{s}", "label": Status(s).label, "count": by_status.get(s, 0),
         "group": "status"}
        for s in STATUS_VIEWS
    ]
    by_tag = counts["tag"]
    views += [
        {"key": f"tag:{t.public_id}", "label": t.name, "count": by_tag.get(t.pk, 0),
         "group": "tag"}
        for t in Tag.objects.filter(is_archived=False)
    ]
    # Counting each custom filter on every load costs too much: they show no count.
    views += [
        {"key": f"filter:{f.public_id}", "label": f.name, "count": None, "group": "custom",
         "deletable": saved_filters.may_change(user, f)}
        for f in saved_filters.visible_filters(user)
    ]
    return views


def view_conditions(user: User, view: str, query: str) -> list[dict[str, Any]] | None:
    """A saved filter's conditions for what the inbox shows for ``view`` and the search
    ``query`` (see ``filter_tickets``); None for a view no fixed conditions express (Overdue
    moves with the clock, a custom filter is saved already)."""

    def condition(code: str, operator: str, value: str) -> dict[str, Any]:
        return {"field_id": None, "section_code": "ticket", "code": code,
                "operator": operator, "value": value}

    kind, _sep, value = view.partition(":")
    if kind == "status" and value in Status.values:
        conditions = [condition("status", "E", value)]
    else:
        by_kind = {"mine": ("agentid", "E"), "unassigned": ("agentid", "IE"),
                   "department": ("departmentid", "E"), "tag": ("tags", "CY")}
        if kind != "all" and kind not in by_kind:
            return None
        conditions = [condition("status", "NI", ",".join(HIDDEN))]
        if kind in by_kind:
            code, operator = by_kind[kind]
            conditions.append(condition(code, operator, user.pk if kind == "mine" else value))
    if query.strip():
        conditions.append(condition("search", "L", query.strip()))
    return conditions


class _CountedPaginator(Paginator):
    """Told its count when a saved view's cached count is it: counting a large account's
    visible tickets on every list load costs more than the page itself."""

    def __init__(self, object_list: Any, per_page: int, known_count: int | None) -> None:
        super().__init__(object_list, per_page)
        if known_count is not None:
            self.__dict__["count"] = known_count  # Paginator.count is a cached_property


def _list_page(request: HttpRequest, views: list[dict[str, Any]]) -> Page:
    params = request.GET
    tickets = filter_tickets(request, params).select_related(
        "owner", "agent", "department"
    )
    known = None
    if not (params.get("q") or "").strip():
        current = params.get("view") or "all"
        known = next((v["count"] for v in views if v["key"] == current), None)
    return _CountedPaginator(tickets, PAGE_SIZE, known).get_page(params.get("page"))


def _inbox_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    params = request.GET
    views = saved_views(_user(request))
    page = _list_page(request, views)
    return {
        "views": views,
        "current_view": params.get("view") or "all",
        "page": page,
        "rows": [(t, sort_key(t, _sort(params))) for t in page.object_list],
        "q": params.get("q", ""),
        "sort": params.get("sort") or "activity",
        "sorts": [("activity", _("Latest activity")), ("oldest", _("Oldest activity")),
                  ("created", _("Newest")), ("due", _("Due date")),
                  ("priority", _("Priority")), ("subject", _("Subject"))],
        "bulk_form": extra.pop("bulk_form", None) or BulkForm(ticket_ids=[]),
        **extra,
    }


@agent_view
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    part = request.GET.get("part")
    if part == "nav":
        return render(request, "tickets/_views.html", {
            "views": saved_views(_user(request)),
            "current_view": request.GET.get("view") or "all",
            "q": request.GET.get("q", ""),
        })
    if request.htmx.target == "ticket-list":  # type: ignore[attr-defined]
        return render(request, "tickets/_list.html", _inbox_context(request, oob_views=True))
    return render(request, "tickets/inbox.html", _inbox_context(request))


@agent_view
@require_GET
def ticket_row(request: HttpRequest, ticket_id: str) -> HttpResponse:
    """One list row for live updates, for the list's query string: 204 when the ticket is
    not in its view or search (it left, or it never belonged there)."""
    ticket = _visible_ticket(request, ticket_id)
    if not filter_tickets(request, request.GET).filter(pk=ticket.pk).exists():
        return HttpResponse(status=204)
    return render(request, "tickets/_row.html", {
        "t": ticket, "sort_key": sort_key(ticket, _sort(request.GET))})


@agent_view
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Assign, tag, set the status of, or merge the checked tickets; all or nothing."""
    user = _user(request)
    ids = request.POST.getlist("tickets")
    visible = {t.public_id: t for t in queries.visible_tickets(user).filter(public_id__in=ids)}
    form = BulkForm(request.POST, ticket_ids=list(visible))
    error = None
    if form.is_valid():
        tickets = [visible[i] for i in form.cleaned_data["tickets"]]
        data = form.cleaned_data
        try:
            if data["action"] == "assign":
                inbox_actions.bulk_assign(tickets, data["agent"], actor=user)
            elif data["action"] == "tag":
                inbox_actions.bulk_tag(tickets, data["tag"], actor=user)
            elif data["action"] == "status":
                inbox_actions.bulk_status(tickets, data["status"], actor=user)
            else:
                target = _merge_target(user, data["target"]) if data["target"] else min(
                    tickets, key=lambda t: (t.date_created, t.pk))
                actions.merge_tickets(target, tickets, actor=user)
        except ActionError as exc:
            error = exc.message
    if form.is_valid() and error is None:
        if not request.htmx:  # type: ignore[attr-defined]
            return redirect(f"{reverse('inbox')}?{request.GET.urlencode()}")
        return render(request, "tickets/_list.html", _inbox_context(request, oob_views=True))
    template = "tickets/_list.html" if request.htmx else "tickets/inbox.html"  # type: ignore[attr-defined]
    return render(request, template, _inbox_context(
        request, bulk_form=form, bulk_error=error, oob_views=True), status=UNPROCESSABLE)


@agent_view
@require_POST
def save_view(request: HttpRequest) -> HttpResponse:
    """Saves what the inbox shows (its view and search) as the agent's own saved filter."""
    user = _user(request)
    form = SavedFilterForm(request.POST)
    shown = {"view": request.POST.get("view", ""), "q": request.POST.get("q", "")}
    back = f"{reverse('inbox')}?{urlencode(shown)}"
    conditions = form.is_valid() and view_conditions(
        user, form.cleaned_data["view"], form.cleaned_data["q"])
    if not conditions:
        messages.error(request, _("This view cannot be saved: give it a name, and save a view "
                                  "other than Overdue."))
        return redirect(back)
    try:
        saved = saved_filters.save_saved_filter(
            user.account, actor=user, name=form.cleaned_data["name"],
            is_public=form.cleaned_data["is_public"], conditions=conditions)
    except ActionError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    audit.record(user.account, "savedfilter.created", actor=user, target=saved)  # type: ignore[arg-type]
    return redirect(f"{reverse('inbox')}?view=filter:{saved.public_id}")


@agent_view
@require_POST
def delete_view(request: HttpRequest, filter_id: str) -> HttpResponse:
    user = _user(request)
    saved = get_object_or_404(saved_filters.visible_filters(user), public_id=filter_id)
    if not saved_filters.may_change(user, saved):
        raise Http404
    delete_record(saved, actor=user)
    return redirect("inbox")


def _merge_target(user: User, ident: str) -> Ticket:
    found = queries.find_ticket(ident.strip())
    if found is None or not queries.can_see_ticket(user, found):
        raise ActionError(_("There is no ticket %(id)s.") % {"id": ident})
    return found


# --- one ticket ------------------------------------------------------------------------------


def _visible_ticket(request: HttpRequest, ticket_id: str) -> Ticket:
    return get_object_or_404(
        queries.visible_tickets(_user(request)).select_related("owner", "agent", "department"),
        public_id=ticket_id,
    )


def _ticket_context(request: HttpRequest, ticket: Ticket, **extra: Any) -> dict[str, Any]:
    user = _user(request)
    canned = [
        (c.public_id, c.keywords or c.messagetext[:40],
         queries.expand_variables(c.messagetext, ticket=ticket, agent=user))
        for c in queries.canned_messages_for(user, ticket.department)
    ]
    other = queries.contact_tickets(user, ticket.owner, exclude=ticket)[:10] if ticket.owner else []
    return {
        "ticket": ticket,
        "groups": queries.conversation(ticket),
        "events": TicketEvent.objects.filter(ticket=ticket).select_related(
            "actor_user", "actor_contact").order_by("-at", "-pk")[:50],
        "other_tickets": other,
        "custom_fields": [
            (field.name, ticket.custom_fields[field.code])
            for field in CustomField.objects.filter(target=CustomField.Target.TICKET)
            if field.code in ticket.custom_fields
        ],
        "canned": canned,
        "answers": queries.predefined_answers_for(user, ticket.department).values_list(
            "public_id", "name"),
        "reply_form": extra.pop("reply_form", None) or ReplyForm(ticket=ticket),
        "assign_form": AssignForm(initial={"agent": ticket.agent}),
        "department_form": DepartmentForm(initial={"department": ticket.department.public_id}),
        "tags_form": TagsForm(
            ticket=ticket, initial={"tags": [t.public_id for t in ticket.tags.all()]}
        ),
        "status_form": StatusForm(),
        "merge_form": MergeForm(),
        "query": request.GET.urlencode(),
        "is_closed": ticket.status in HIDDEN,
        **extra,
    }


@agent_view
@require_GET
def ticket_detail(request: HttpRequest, ticket_id: str) -> HttpResponse:
    ticket = _visible_ticket(request, ticket_id)
    context = _ticket_context(request, ticket)
    if request.GET.get("part") == "live":
        return render(request, "tickets/_ticket_live.html", context)
    if request.htmx.target == "ticket-pane":  # type: ignore[attr-defined]
        return render(request, "tickets/_ticket.html", context)
    return render(request, "tickets/inbox.html", {**_inbox_context(request), **context})


def _respond(
    request: HttpRequest, ticket: Ticket, *, error: str | None = None, **extra: Any
) -> HttpResponse:
    """After a ticket action: the pane again (HTMX) or the page; with an error, 422."""
    # Read again: the change (or a refused one) may have left the object stale.
    ticket = _visible_ticket(request, ticket.public_id)
    if error is None and not request.htmx:  # type: ignore[attr-defined]
        return redirect("ticket_detail", ticket_id=ticket.public_id)
    context = _ticket_context(request, ticket, action_error=error, **extra)
    status = UNPROCESSABLE if error else 200
    if request.htmx:  # type: ignore[attr-defined]
        response = render(request, "tickets/_ticket.html", context, status=status)
        response["HX-Push-Url"] = reverse("ticket_detail", args=[ticket.public_id])
        return response
    return render(request, "tickets/inbox.html", {**_inbox_context(request), **context},
                  status=status)


def _form_error(form: Any) -> str:
    return " ".join(str(message) for messages in form.errors.values() for message in messages)


def ticket_action(
    form_class: type[Any], change: Callable[[HttpRequest, Ticket, dict[str, Any]], Ticket | None],
) -> Callable[..., HttpResponseBase]:
    """A POST on one visible ticket: validate ``form_class``, run ``change`` (which calls the
    actions and may answer the ticket to show next); bad input shows the error, changes
    nothing."""

    @agent_view
    @require_POST
    def view(request: HttpRequest, ticket_id: str) -> HttpResponse:
        ticket = _visible_ticket(request, ticket_id)
        kwargs = {"ticket": ticket} if form_class is TagsForm else {}
        form = form_class(request.POST, **kwargs)
        if not form.is_valid():
            return _respond(request, ticket, error=_form_error(form))
        try:
            shown = change(request, ticket, form.cleaned_data)
        except (ActionError, ValidationError) as exc:
            return _respond(request, ticket, error=getattr(exc, "message", str(exc)))
        return _respond(request, shown or ticket)

    return view


def _assign(request: HttpRequest, ticket: Ticket, data: dict[str, Any]) -> None:
    agent = _user(request) if request.POST.get("me") else data["agent"]
    actions.assign_ticket(ticket, agent, actor=_user(request))


def _department(request: HttpRequest, ticket: Ticket, data: dict[str, Any]) -> None:
    actions.change_department(ticket, data["department"], actor=_user(request))


def _tags(request: HttpRequest, ticket: Ticket, data: dict[str, Any]) -> None:
    actions.set_tags(ticket, data["tags"], actor=_user(request))


def _status(request: HttpRequest, ticket: Ticket, data: dict[str, Any]) -> None:
    until: datetime | None = data["until"]
    inbox_actions.apply_status(ticket, data["status"], actor=_user(request), until=until)


def _merge(request: HttpRequest, ticket: Ticket, data: dict[str, Any]) -> Ticket:
    target = _merge_target(_user(request), data["target"])
    return actions.merge_tickets(target, [ticket], actor=_user(request))


def _split(request: HttpRequest, ticket: Ticket, data: dict[str, Any]) -> Ticket:
    group = ticket.groups.filter(pk=data["group"]).first()
    if group is None:
        raise ActionError(_("This message is not part of the ticket."))
    return actions.split_message(group, actor=_user(request))


ticket_assign = ticket_action(AssignForm, _assign)
ticket_department = ticket_action(DepartmentForm, _department)
ticket_tags = ticket_action(TagsForm, _tags)
ticket_status = ticket_action(StatusForm, _status)
ticket_merge = ticket_action(MergeForm, _merge)
ticket_split = ticket_action(SplitForm, _split)


@agent_view
@require_POST
def ticket_reply(request: HttpRequest, ticket_id: str) -> HttpResponse:
    ticket = _visible_ticket(request, ticket_id)
    form = ReplyForm(request.POST, ticket=ticket)
    error = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            inbox_actions.reply(
                ticket, _user(request), data["body"], html=data["body_html"], note=data["note"],
                status=Status.RESOLVED if data["resolve"] else Status.ANSWERED,
                uploads=request.FILES.getlist("files"), subject=data["subject"],
                cc=data["cc"], bcc=data["bcc"],
            )
        except ActionError as exc:
            error = exc.message
    else:
        error = _form_error(form)
    if error:
        return _respond(request, ticket, error=error, reply_form=form)
    return _respond(request, ticket)


@agent_view
@require_GET
def ticket_answer(request: HttpRequest, ticket_id: str, answer_id: str) -> JsonResponse:
    """A predefined answer for the composer, its variables filled for this ticket and agent:
    ``{"subject": text ("" if it has none), "html": the sanitised body}``; 404 unless the
    ticket is visible and the answer is one the agent may use here (shared or theirs, for
    any department or the ticket's)."""
    ticket = _visible_ticket(request, ticket_id)
    user = _user(request)
    answer = get_object_or_404(
        queries.predefined_answers_for(user, ticket.department), public_id=answer_id
    )
    body = answer.body if answer.format == MessageFormat.HTML else (
        inbox_actions.text_to_html(answer.body)
    )
    expanded = queries.expand_variables(body, ticket=ticket, agent=user, html=True)
    subject = queries.expand_variables(answer.subject, ticket=ticket, agent=user)
    return JsonResponse({"subject": " ".join(subject.split()), "html": sanitize_html(expanded)})


# --- files -----------------------------------------------------------------------------------


def _stored_file(request: HttpRequest, file_id: str) -> StoredFile:
    """A file of this account whose ticket the user may see (or their own upload that is
    not attached yet); anything else is a 404."""
    stored = get_object_or_404(
        StoredFile.objects.select_related("message__group__ticket__department"),
        public_id=file_id,
    )
    user = _user(request)
    if stored.message is None:
        if stored.uploaded_by_id != user.pk:
            raise Http404
    elif not queries.can_see_ticket(user, stored.message.group.ticket):
        raise Http404
    return stored


def _serve(request: HttpRequest, file_id: str, *, inline: bool) -> FileResponse:
    return files.file_response(_stored_file(request, file_id), inline=inline)


@agent_view
@require_GET
def file_view(request: HttpRequest, file_id: str) -> FileResponse:
    return _serve(request, file_id, inline=True)


@agent_view
@require_GET
def file_download(request: HttpRequest, file_id: str) -> FileResponse:
    return _serve(request, file_id, inline=False)
