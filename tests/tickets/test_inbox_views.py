"""The agent inbox as an agent uses it: views, list, ticket pane and every action."""

import json
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import time_machine
from django.utils import timezone

from saruna.contacts import actions as contact_actions
from saruna.tickets import actions, queries
from saruna.tickets.models import Status, Ticket, TicketEvent
from saruna.tickets.views import saved_views
from tests.tenancy import host_client


@pytest.fixture
def desk(scoped, agent, owner, customer):
    """A Support department with ``agent`` in it and a Billing department without them."""
    support = actions.save_department(scoped, name="Support", agents=[agent])
    billing = actions.save_department(scoped, name="Billing")
    return support, billing


def open_in(department, subject, customer, **fields):
    return actions.open_ticket(department.account, subject, "Body of " + subject, customer,
                               department=department, **fields)


def html(response) -> str:
    return response.content.decode()


def test_inbox_lists_views_with_counts_filters_and_sorts(desk, agent, customer):
    support, billing = desk
    mine = open_in(support, "Mine to do", customer, agent=agent)
    loose = open_in(support, "Nobody has it", customer)
    hidden = open_in(billing, "Billing secret", customer)
    trashed = open_in(support, "Thrown away", customer)
    actions.change_status(trashed, Status.DELETED)
    client = host_client(agent.account, agent)

    page = html(client.get("/inbox/"))
    assert "Mine to do" in page and "Nobody has it" in page
    assert "Billing secret" not in page and "Thrown away" not in page
    assert 'data-view="mine"' in page and "Support" in page and "Billing" not in page

    mine_page = html(client.get("/inbox/", {"view": "mine"}))
    assert "Mine to do" in mine_page and "Nobody has it" not in mine_page
    unassigned = html(client.get("/inbox/", {"view": "unassigned"}))
    assert "Nobody has it" in unassigned and "Mine to do" not in unassigned
    trash = html(client.get("/inbox/", {"view": "status:X"}))
    assert "Thrown away" in trash and "Mine to do" not in trash
    # An agent naming a department they are not in sees nothing of it.
    assert "Billing secret" not in html(
        client.get("/inbox/", {"view": f"department:{billing.public_id}"}))
    assert "Billing secret" not in html(client.get("/inbox/", {"q": "secret"}))
    assert "Nobody has it" in html(client.get("/inbox/", {"q": "nobody"}))

    by_subject = html(client.get("/inbox/", {"sort": "subject"}))
    assert by_subject.index("Mine to do") < by_subject.index("Nobody has it")
    by_activity = html(client.get("/inbox/"))
    assert by_activity.index("Nobody has it") < by_activity.index("Mine to do")

    counts = {v["key"]: v["count"] for v in saved_views(agent)}
    assert counts["mine"] == 1 and counts["unassigned"] == 1 and counts["all"] == 2
    assert counts[f"department:{support.public_id}"] == 2
    assert f"department:{billing.public_id}" not in counts
    assert counts["status:X"] == 1
    assert hidden.pk and mine.pk and loose.pk


def test_overdue_and_tag_views(desk, agent, customer):
    support, _ = desk
    late = open_in(support, "Late one", customer)
    actions.update_ticket(late, date_due=timezone.now() - timedelta(hours=1))
    tag = actions.save_tag(support.account, name="VIP")
    tagged = open_in(support, "Tagged one", customer, tags=[tag])
    client = host_client(agent.account, agent)
    overdue = html(client.get("/inbox/", {"view": "overdue"}))
    assert "Late one" in overdue and "Tagged one" not in overdue
    by_tag = html(client.get("/inbox/", {"view": f"tag:{tag.public_id}"}))
    assert "Tagged one" in by_tag and "Late one" not in by_tag
    assert tagged.tags.count() == 1


def test_list_pages_by_fifty(desk, agent, customer):
    support, _ = desk
    for n in range(55):
        open_in(support, f"Ticket number {n:02d}", customer)
    client = host_client(agent.account, agent)
    first = html(client.get("/inbox/"))
    assert first.count('class="ticket-row') == 50 and "Page 1 of 2" in first
    second = html(client.get("/inbox/", {"page": 2}))
    assert second.count('class="ticket-row') == 5
    assert "Ticket number 00" in second and "Ticket number 54" in first


def test_home_page_is_the_inbox(desk, agent, customer):
    open_in(desk[0], "On the home page", customer)
    assert "On the home page" in html(host_client(agent.account, agent).get("/"))


def test_reply_answers_and_note_stays_internal(ticket, owner):
    client = host_client(owner.account, owner)
    url = f"/tickets/{ticket.public_id}/reply/"
    response = client.post(url, {"body": "We are on it.\nHang on."}, HTTP_HX_REQUEST="true",
                           HTTP_HX_TARGET="ticket-pane")
    assert response.status_code == 200
    assert "We are on it." in html(response)
    ticket.refresh_from_db()
    assert ticket.status == Status.ANSWERED

    client.post(url, {"body": "Customer is grumpy", "note": "on"})
    ticket.refresh_from_db()
    assert ticket.status == Status.ANSWERED
    page = html(client.get(f"/tickets/{ticket.public_id}/"))
    assert "Customer is grumpy" in page and "group-note" in page
    public = [m.text for g in queries.conversation(ticket, public_only=True)
              for m in g.messages.all()]
    assert any("We are on it." in t for t in public)
    assert not any("grumpy" in t for t in public)

    client.post(url, {"body": "Fixed now", "resolve": "1"})
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED


def test_empty_reply_is_a_visible_error_and_changes_nothing(ticket, owner):
    client = host_client(owner.account, owner)
    groups = ticket.groups.count()
    response = client.post(f"/tickets/{ticket.public_id}/reply/", {"body": "   "},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "The message cannot be empty." in html(response)
    assert ticket.groups.count() == groups
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_reply_with_attachment_and_file_serving(ticket, owner, agent, scoped):
    client = host_client(owner.account, owner)
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("<img src=x onerror=alert(1)>.html",
                                b"<html><script>alert(1)</script></html>", "image/png")
    client.post(f"/tickets/{ticket.public_id}/reply/", {"body": "See file", "files": [upload]})
    stored = ticket.groups.last().messages.get(type="F").files.get()
    assert stored.content_type == "text/html"
    page = html(client.get(f"/tickets/{ticket.public_id}/"))
    assert "<img src=x onerror" not in page and "&lt;img src=x onerror=alert(1)&gt;.html" in page

    view = client.get(f"/files/{stored.public_id}/view")
    assert view.status_code == 200
    assert view["Content-Disposition"].startswith("attachment")
    assert view["X-Content-Type-Options"] == "nosniff"
    assert view["Content-Security-Policy"].startswith("sandbox")
    download = client.get(f"/files/{stored.public_id}/download")
    assert download["Content-Disposition"].startswith("attachment")

    png = actions.store_file(scoped, "pic.png", b"\x89PNG\r\n\x1a\n" + b"0" * 20)
    actions.add_agent_reply(ticket, owner, "pic", files=[png])
    assert client.get(f"/files/{png.public_id}/view")["Content-Disposition"].startswith("inline")
    # An agent outside the ticket's department gets nothing.
    outsider = host_client(agent.account, agent)
    assert outsider.get(f"/files/{png.public_id}/view").status_code == 404
    assert outsider.get(f"/files/{png.public_id}/download").status_code == 404


def test_assign_department_tags_and_status(desk, owner, agent, customer):
    support, billing = desk
    ticket = open_in(support, "Route me", customer)
    tag = actions.save_tag(support.account, name="Urgent")
    client = host_client(owner.account, owner)
    base = f"/tickets/{ticket.public_id}"

    client.post(f"{base}/assign/", {"agent": agent.pk})
    client.post(f"{base}/tags/", {"tags": [tag.public_id]})
    client.post(f"{base}/department/", {"department": billing.public_id})
    ticket.refresh_from_db()
    assert ticket.agent == agent and ticket.department == billing
    assert list(ticket.tags.all()) == [tag]
    client.post(f"{base}/assign/", {"me": "1"})
    ticket.refresh_from_db()
    assert ticket.agent == owner

    client.post(f"{base}/status/", {"status": "R"})
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    client.post(f"{base}/status/", {"status": "B"})
    ticket.refresh_from_db()
    assert ticket.status == Status.SPAM
    client.post(f"{base}/status/", {"status": "undelete"})
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED

    past = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(f"{base}/status/", {"status": "W", "until": past})
    assert response.status_code == 422 and "must be in the future" in html(response)
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    later = (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    client.post(f"{base}/status/", {"status": "W", "until": later})
    ticket.refresh_from_db()
    assert ticket.status == Status.POSTPONED and ticket.postponed_until > timezone.now()

    page = html(client.get(f"{base}/"))
    assert "Billing" in page and "Urgent" in page
    history = set(TicketEvent.objects.filter(ticket=ticket).values_list("field", flat=True))
    assert {"agent", "department", "tags", "status"} <= history

    bad = client.post(f"{base}/department/", {"department": "nosuch"})
    assert bad.status_code == 422
    ticket.refresh_from_db()
    assert ticket.department == billing


def test_merge_and_split(desk, owner, customer):
    support, _ = desk
    target = open_in(support, "Keep me", customer)
    source = open_in(support, "Merge me", customer)
    client = host_client(owner.account, owner)
    response = client.post(f"/tickets/{source.public_id}/merge/", {"target": target.code})
    assert response.status_code == 302 and target.public_id in response["Location"]
    source.refresh_from_db()
    assert source.merged_into == target and source.status == Status.DELETED
    assert "Body of Merge me" in html(client.get(f"/tickets/{target.public_id}/"))

    bad = client.post(f"/tickets/{target.public_id}/merge/", {"target": "NOP-NOP-NOP"})
    assert bad.status_code == 422 and "There is no ticket" in html(bad)

    moved = target.groups.filter(merged_from=source).first()
    response = client.post(f"/tickets/{target.public_id}/split/", {"group": moved.pk})
    new = Ticket.objects.exclude(pk__in=[target.pk, source.pk]).get()
    assert new.public_id in response["Location"]
    moved.refresh_from_db()
    assert moved.ticket_id == new.pk


def test_bulk_assign_tag_status_and_merge(desk, owner, agent, customer):
    support, _ = desk
    tickets = [open_in(support, f"Bulk {n}", customer) for n in range(3)]
    ids = [t.public_id for t in tickets]
    tag = actions.save_tag(support.account, name="Batch")
    client = host_client(owner.account, owner)

    client.post("/inbox/bulk/", {"tickets": ids, "action": "assign", "agent": agent.pk})
    assert set(Ticket.objects.filter(agent=agent).values_list("public_id", flat=True)) == set(ids)
    client.post("/inbox/bulk/", {"tickets": ids[:2], "action": "tag", "tag": tag.public_id})
    assert set(tag.tickets.values_list("public_id", flat=True)) == set(ids[:2])
    response = client.post("/inbox/bulk/?view=all", {"tickets": ids[:2], "action": "status",
                                                    "status": "R"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert Ticket.objects.filter(status=Status.RESOLVED).count() == 2
    client.post("/inbox/bulk/", {"tickets": ids, "action": "merge"})
    assert Ticket.objects.filter(merged_into=tickets[0]).count() == 2


def test_bulk_with_an_invisible_ticket_changes_nothing(desk, agent, customer):
    support, billing = desk
    mine = open_in(support, "Visible", customer)
    other = open_in(billing, "Invisible", customer)
    client = host_client(agent.account, agent)
    response = client.post("/inbox/bulk/", {"tickets": [mine.public_id, other.public_id],
                                            "action": "status", "status": "R"})
    assert response.status_code == 422
    assert "Invisible" not in html(response)
    assert not Ticket.objects.filter(status=Status.RESOLVED).exists()
    response = client.post("/inbox/bulk/", {"action": "status", "status": "R"})
    assert response.status_code == 422 and "Select at least one ticket." in html(response)


def test_agent_outside_the_department_gets_404_everywhere(desk, agent, customer):
    _, billing = desk
    secret = open_in(billing, "Secret billing", customer)
    client = host_client(agent.account, agent)
    base = f"/tickets/{secret.public_id}"
    assert client.get(f"{base}/").status_code == 404
    assert client.get(f"{base}/row/").status_code == 404
    for path, data in [("reply/", {"body": "x"}), ("assign/", {"me": "1"}),
                       ("status/", {"status": "R"}), ("tags/", {}),
                       ("department/", {"department": "default"}),
                       ("merge/", {"target": "x"}), ("split/", {"group": 1})]:
        assert client.post(f"{base}/{path}", data).status_code == 404, path
    secret.refresh_from_db()
    assert secret.status == Status.NEW and secret.agent is None
    # Assigning a ticket to the agent lets them see it, wherever it is.
    actions.assign_ticket(secret, agent)
    assert client.get(f"{base}/").status_code == 200


def test_live_row_partial_follows_the_view(desk, agent, customer):
    support, _ = desk
    ticket = open_in(support, "Row me", customer)
    client = host_client(agent.account, agent)
    url = f"/tickets/{ticket.public_id}/row/"
    row = client.get(url, {"view": "unassigned"})
    assert row.status_code == 200
    assert f'id="row-{ticket.public_id}"' in html(row) and "Row me" in html(row)
    actions.assign_ticket(ticket, agent)
    # No longer in the view: 204, so the page removes the row or does not add it.
    left = client.get(url, {"view": "unassigned"})
    assert left.status_code == 204 and html(left) == ""
    assert client.get(url, {"view": "mine"}).status_code == 200
    assert client.get(url, {"view": "mine", "q": "nothing like it"}).status_code == 204
    assert client.get(url, {"view": "mine", "q": "row"}).status_code == 200
    assert client.get(url, {"view": f"status:{Status.RESOLVED}"}).status_code == 204
    assert client.get(url, {"view": f"department:{desk[1].public_id}"}).status_code == 204


class SortKeys(HTMLParser):
    """The rows' ticket ids and sort keys, in page order."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list]] = []

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "tr" and "data-sort-key" in found:
            self.rows.append((found["data-ticket"], json.loads(found["data-sort-key"])))


def row_keys(page: str) -> list[tuple[str, list]]:
    parser = SortKeys()
    parser.feed(page)
    return parser.rows


def key_order(key: list) -> list:
    """What inbox.js compares: items in turn, null last."""
    return [(value is None, value or 0) for value in key]


@pytest.mark.parametrize("sort", ["activity", "oldest", "created", "due", "priority", "subject"])
def test_rows_carry_sort_keys_in_the_lists_order(desk, agent, customer, sort):
    """A live row finds its place by its key (inbox.js): the keys must order rows exactly as
    the list does, for every sort, and the row endpoint gives the same key."""
    support, _ = desk
    now = timezone.now()
    for n, (subject, priority, due) in enumerate([
        ("beta", 2, None), ("Alpha", 3, 5), ("gamma", 2, 1), ("alpha", 4, None), ("delta", 2, 5),
    ]):
        with time_machine.travel(now + timedelta(minutes=n), tick=False):
            opened = open_in(support, subject, customer, priority=priority)
        if due is not None:
            actions.update_ticket(opened, date_due=now + timedelta(days=due))
    client = host_client(agent.account, agent)
    rows = row_keys(html(client.get("/inbox/", {"sort": sort})))
    assert len(rows) == 5
    assert [key_order(k) for _, k in rows] == sorted(key_order(k) for _, k in rows)
    assert len({json.dumps(k) for _, k in rows}) == 5  # no ties: a unique tie-break
    ticket_id, key = rows[2]
    row = html(client.get(f"/tickets/{ticket_id}/row/", {"sort": sort}))
    assert row_keys(row) == [(ticket_id, key)]


def test_due_date_sort_puts_tickets_without_one_last(desk, agent, customer):
    support, _ = desk
    open_in(support, "No due date", customer)
    later = open_in(support, "Due later", customer)
    actions.update_ticket(later, date_due=timezone.now() + timedelta(days=2))
    soon = open_in(support, "Due soon", customer)
    actions.update_ticket(soon, date_due=timezone.now() + timedelta(days=1))
    page = html(host_client(agent.account, agent).get("/inbox/", {"sort": "due"}))
    assert page.index("Due soon") < page.index("Due later") < page.index("No due date")


def test_list_tells_the_page_whether_pages_come_before_and_after(desk, agent, customer):
    support, _ = desk
    for n in range(51):
        open_in(support, f"Ticket number {n:02d}", customer)
    client = host_client(agent.account, agent)
    first = html(client.get("/inbox/"))
    assert 'data-page-size="50" data-more-after>' in first and "data-more-before" not in first
    second = html(client.get("/inbox/", {"page": 2}))
    assert 'data-page-size="50" data-more-before>' in second


def test_ticket_page_shows_contact_other_tickets_history_and_canned(desk, owner, customer):
    support, _ = desk
    first = open_in(support, "First question", customer)
    second = open_in(support, "Second question", customer)
    actions.save_canned_message(support.account, messagetext="Hi {$contact_name}!",
                                keywords="hello")
    client = host_client(owner.account, owner)
    page = html(client.get(f"/tickets/{second.public_id}/"))
    assert "cleo@example.com" in page and "First question" in page
    assert 'data-text="Hi Cleo Customer!"' in page
    assert "History" in page and "created" in page
    assert first.pk


XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "javascript:alert(1)",
    "<a href=\"javascript:alert(1)\">x</a>",
    "'; alert(1); '",
]


class ActiveContent(HTMLParser):
    """Collects what a browser would run: event-handler attributes, inline scripts and
    ``javascript:`` links."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        self.in_script = tag == "script"
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value}>")
        if tag in ("svg", "iframe", "object", "embed"):
            self.found.append(f"<{tag}>")

    def handle_data(self, data):
        if self.in_script and data.strip():
            self.found.append(f"<script>{data}")

    def handle_endtag(self, tag):
        self.in_script = False


def assert_inert(page: str) -> None:
    parser = ActiveContent()
    parser.feed(page)
    assert parser.found == []
    assert "<script>alert" not in page


@pytest.mark.parametrize("payload", XSS)
def test_stored_xss_renders_inert(scoped, owner, payload):
    contact = contact_actions.create_contact(
        scoped, firstname=payload, emails=["x@example.com"])
    contact_actions.save_custom_field(scoped, target="ticket", code="evil", name=payload)
    tag = actions.save_tag(scoped, name=payload[:90])
    dept = actions.save_department(scoped, name=payload[:90])
    ticket = actions.open_ticket(scoped, payload, f"<p>{payload} text</p>{payload}", contact,
                                 format="H", department=dept, tags=[tag],
                                 custom_fields={"evil": payload})
    actions.add_customer_message(ticket, contact, payload)
    actions.add_internal_note(ticket, owner, payload, format="T")
    stored = actions.store_file(scoped, payload + ".txt", b"hello")
    actions.add_agent_reply(ticket, owner, "file", files=[stored])
    client = host_client(owner.account, owner)
    for url in ["/inbox/", f"/tickets/{ticket.public_id}/",
                f"/tickets/{ticket.public_id}/?part=live", f"/tickets/{ticket.public_id}/row/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_inert(html(response))


def test_other_account_cannot_reach_tickets(two_tenants):
    from django_scopes import scope

    with scope(account=two_tenants.a):
        contact = contact_actions.create_contact(two_tenants.a, firstname="Ann")
        ticket = actions.open_ticket(two_tenants.a, "Alpha only", "Hi", contact)
    two_tenants.assert_isolated(f"/tickets/{ticket.public_id}/")
    assert "Alpha only" not in html(two_tenants.client_b().get("/inbox/"))


def test_view_counts_are_cached_until_a_ticket_changes(
    desk, agent, customer, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    support, _billing = desk
    with django_capture_on_commit_callbacks(execute=True):
        open_in(support, "First", customer)
    counts = {v["key"]: v["count"] for v in saved_views(agent)}
    assert counts["all"] == 1
    with django_assert_max_num_queries(4):  # departments, tags, membership: no counting
        saved_views(agent)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_in(support, "Second", customer)
    assert {v["key"]: v["count"] for v in saved_views(agent)}["all"] == 2
    with django_capture_on_commit_callbacks(execute=True):
        actions.assign_ticket(ticket, agent)
    assert {v["key"]: v["count"] for v in saved_views(agent)}["mine"] == 1


def test_list_takes_its_total_from_the_cached_view_count(desk, agent, customer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    support, _billing = desk
    for n in range(55):
        open_in(support, f"Ticket number {n:02d}", customer)
    client = host_client(agent.account, agent)
    client.get("/inbox/", {"view": f"department:{support.public_id}"})  # fills the cache
    with CaptureQueriesContext(connection) as queries_run:
        page = html(client.get("/inbox/", {"view": f"department:{support.public_id}"}))
    assert "Page 1 of 2 (55 tickets)" in page
    assert not [q for q in queries_run.captured_queries if "COUNT(" in q["sql"].upper()]
    searched = html(client.get("/inbox/", {"q": "number"}))  # a search is counted for real
    assert "Page 1 of 2 (55 tickets)" in searched


def test_quoted_history_is_folded_for_agents_and_customers(desk, agent, customer):
    from saruna.portal.links import ticket_url

    support, _billing = desk
    ticket = open_in(support, "Printer", customer, quoted="On Monday Ann wrote:\n> old words")
    page = html(host_client(agent.account, agent).get(f"/tickets/{ticket.public_id}/"))
    folded = page.split('<details class="quoted">', 1)[1].split("</details>", 1)[0]
    assert "<summary>Quoted text</summary>" in folded and "old words" in folded
    portal = html(host_client(agent.account).get(ticket_url(ticket)))
    folded = portal.split('<details class="quoted">', 1)[1].split("</details>", 1)[0]
    assert "old words" in folded
