"""Two agents on one ticket, in two browsers: one replies and resolves, the other's open
inbox follows without a reload and warns while the first one types."""

import threading

from django_scopes import scope

from saruna.contacts import actions as contact_actions
from saruna.tickets import actions
from saruna.tickets.models import Status, Ticket
from tests.e2e.conftest import screenshot
from tests.factories import PASSWORD, make_account, make_user

LAPTOP = {"viewport": {"width": 1280, "height": 800}}


def in_thread(function):
    """Runs ``function`` in a thread of its own: actions publish to the channel layer with
    ``async_to_sync``, which refuses the thread where Playwright's event loop runs."""
    outcome = {}

    def target():
        try:
            outcome["value"] = function()
        except BaseException as error:  # re-raised in the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=60)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def log_in(page, server, email):
    page.goto(server.url("acme", "/login/"))
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(server.url("acme", "/"))


def test_two_agents_work_one_ticket_live(asgi_server, new_page):
    account = make_account("acme")
    anna = make_user(account, "anna@acme.test", full_name="Anna Bērziņa")
    ben = make_user(account, "ben@acme.test", full_name="Ben Ozols")

    def seed():
        with scope(account=account):
            support = actions.save_department(account, name="Support", agents=[anna, ben])
            for n in range(5):
                contact = contact_actions.create_contact(
                    account, firstname=f"Customer{n}", emails=[f"c{n}@example.com"])
                actions.open_ticket(account, f"Question number {n}", f"Hello, question {n}.",
                                    contact, department=support)
            return Ticket.objects.get(subject="Question number 2")

    ticket = in_thread(seed)

    first, second = new_page(**LAPTOP), new_page(**LAPTOP)
    log_in(first, asgi_server, "ben@acme.test")
    log_in(second, asgi_server, "anna@acme.test")
    row = f"#row-{ticket.public_id}"
    second.locator(row).wait_for()
    second.locator(f"{row} a.subject").click()  # Anna looks at the same ticket
    second.locator("#ticket-pane[data-ticket]").wait_for()

    first.locator(f"{row} a.subject").click()
    first.locator("#reply-editor").wait_for()
    assert first.url.endswith(f"/tickets/{ticket.public_id}/")
    first.locator("#reply-editor").press_sequentially("We are looking", delay=20)
    warning = second.locator("#presence")
    warning.filter(has_text="Ben Ozols is replying").wait_for(timeout=5000)
    screenshot(second, "inbox-collision")

    first.locator("#reply-editor").press_sequentially(" into it.", delay=10)
    first.get_by_role("button", name="Send", exact=True).click()
    first.locator("#ticket-conversation").get_by_text("We are looking into it.").wait_for()

    # Anna's inbox shows the answer, in the list and in the open ticket, without a reload.
    second.locator(f"{row} .badge.status-A").wait_for(timeout=3000)
    second.locator("#ticket-conversation").get_by_text("We are looking into it.").wait_for(
        timeout=3000)

    first.get_by_role("button", name="Resolve", exact=True).click()
    second.locator(f"{row} .badge.status-R").wait_for(timeout=3000)
    second.locator("#ticket-head .badge.status-R").wait_for(timeout=3000)
    screenshot(first, "inbox")
    with scope(account=account):
        ticket.refresh_from_db()
        assert ticket.status == Status.RESOLVED

    # Keyboard: j opens the next ticket, ? shows the shortcuts.
    second.keyboard.press("j")
    second.wait_for_function(
        f"document.getElementById('ticket-pane').dataset.ticket !== '{ticket.public_id}'")
    second.keyboard.press("?")
    second.locator("#shortcut-help").wait_for(state="visible")


def test_inbox_on_a_phone(asgi_server, new_page):
    account = make_account("acme")
    make_user(account, "ben@acme.test", full_name="Ben Ozols", role="owner")

    def seed():
        with scope(account=account):
            contact = contact_actions.create_contact(account, firstname="Cleo")
            return actions.open_ticket(account, "Small screen", "Hi there", contact)

    ticket = in_thread(seed)
    phone = new_page(viewport={"width": 390, "height": 800}, is_mobile=True)
    log_in(phone, asgi_server, "ben@acme.test")
    phone.get_by_role("link", name="Small screen").click()
    phone.locator("#reply-editor").wait_for()
    assert not phone.locator("#ticket-list").is_visible()
    screenshot(phone, "inbox-phone")
    phone.get_by_role("link", name="← Inbox").click()
    phone.locator(f"#row-{ticket.public_id}").wait_for()


def test_new_tickets_arrive_where_the_sort_puts_them(asgi_server, new_page):
    """Sorted by subject, page 1 of 2 of Support: a new ticket shows at its sorted place, and
    not at all when it sorts onto page 2 or is in another department."""
    account = make_account("acme")
    make_user(account, "ben@acme.test", full_name="Ben Ozols", role="owner")

    def seed():
        with scope(account=account):
            support = actions.save_department(account, name="Support")
            billing = actions.save_department(account, name="Billing")
            contact = contact_actions.create_contact(account, firstname="Cleo")
            for n in range(51):
                actions.open_ticket(account, f"Subject {n:02d}", "Hi", contact,
                                    department=support)
            return support, billing, contact

    support, billing, contact = in_thread(seed)
    page = new_page(**LAPTOP)
    log_in(page, asgi_server, "ben@acme.test")
    page.goto(asgi_server.url(
        "acme", f"/inbox/?view=department:{support.public_id}&sort=subject"))
    rows = page.locator("#ticket-rows .ticket-row")
    rows.nth(49).wait_for()

    def open_in(department, subject):
        def create():
            with scope(account=account):
                return actions.open_ticket(account, subject, "Hi", contact,
                                           department=department).public_id
        return in_thread(create)

    def rows_fetched(count):
        # Every new ticket's row is asked for (and its answer handled just after). Waiting
        # for each before writing the next keeps the test's writes and the browser's reads
        # apart: SQLite's shared in-memory test database refuses a read while a write holds
        # the table ("database table is locked"), where a real database would wait.
        page.wait_for_function(
            "n => performance.getEntriesByType('resource').filter("
            "e => e.name.includes('/row/')).length >= n", arg=count)

    elsewhere = open_in(billing, "Subject 20b")  # sorts into the page, but not Support
    rows_fetched(1)
    later = open_in(support, "Zulu")  # sorts after Subject 49: page 2
    rows_fetched(2)
    between = open_in(support, "Subject 10b")
    rows_fetched(3)
    first = open_in(support, "Aardvark")
    rows_fetched(4)
    page.locator(f"#row-{first}").wait_for()
    page.locator(f"#row-{between}").wait_for()
    page.wait_for_timeout(200)

    subjects = rows.locator("a.subject").all_inner_texts()
    assert subjects[0] == "Aardvark"
    assert subjects[11:14] == ["Subject 10", "Subject 10b", "Subject 11"]
    assert "Subject 20b" not in subjects and "Zulu" not in subjects
    assert page.locator(f"#row-{elsewhere}").count() == 0
    assert page.locator(f"#row-{later}").count() == 0
