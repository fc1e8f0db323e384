"""The rich-text reply composer in a browser: the toolbar formats, shortcuts stay quiet
while typing, a predefined answer goes in at the caret with its subject, pasted HTML is
cleaned before the agent sends it, and the reply arrives formatted."""

import pytest
from django_scopes import scope

from saruna.contacts import actions as contact_actions
from saruna.tickets import actions, queries
from saruna.tickets.models import Message, MessageType
from tests.e2e.conftest import screenshot
from tests.e2e.test_inbox import LAPTOP, in_thread, log_in
from tests.factories import make_account, make_user


def test_bold_reply_with_a_predefined_answer(asgi_server, new_page):
    account = make_account("acme")
    ben = make_user(account, "ben@acme.test", full_name="Ben Ozols")

    def seed():
        with scope(account=account):
            support = actions.save_department(account, name="Support", agents=[ben])
            contact = contact_actions.create_contact(
                account, firstname="Cleo", emails=["cleo@example.com"])
            actions.open_ticket(account, "Second ticket", "Another one.", contact,
                                department=support)
            ticket = actions.open_ticket(account, "Formatting please", "Hello.", contact,
                                         department=support)
            actions.save_predefined_answer(
                account, name="Sign-off", body="Kind regards,\n{$agent_name}")
            return ticket

    ticket = in_thread(seed)
    page = new_page(**LAPTOP)
    log_in(page, asgi_server, "ben@acme.test")
    page.locator(f"#row-{ticket.public_id} a.subject").click()
    editor = page.get_by_role("textbox", name="Message")
    editor.wait_for()
    assert not page.locator("#composer textarea").is_visible()  # the no-JS fallback

    # Typing j/k/r/n in the editor types them; it does not move to another ticket.
    editor.click()
    editor.press_sequentially("Just ", delay=10)
    page.get_by_role("button", name="Bold").click()
    assert page.get_by_role("button", name="Bold").get_attribute("aria-pressed") == "true"
    editor.press_sequentially("keep it running", delay=10)
    page.get_by_role("button", name="Bold").click()
    editor.press_sequentially(" now.", delay=10)
    assert page.locator("#ticket-pane").get_attribute("data-ticket") == ticket.public_id
    # A link on the selected word: a bare address becomes https.
    editor.press_sequentially(" See docs", delay=10)
    for _ in range(4):
        editor.press("Shift+ArrowLeft")
    page.once("dialog", lambda dialog: dialog.accept("example.com/docs"))
    page.get_by_role("button", name="Link").click()
    page.locator('#reply-editor a[href="https://example.com/docs"]').wait_for()
    editor.press("End")

    page.get_by_role("combobox", name="Insert a predefined answer").select_option(
        label="Sign-off")
    page.locator("#reply-editor").get_by_text("Ben Ozols").wait_for()
    screenshot(page, "composer")

    page.get_by_role("button", name="Send", exact=True).click()
    conversation = page.locator("#ticket-conversation")
    conversation.locator("b, strong").filter(has_text="keep it running").wait_for()
    conversation.get_by_text("Kind regards,").wait_for()

    with scope(account=account):
        body = Message.objects.get(group__ticket=ticket, type=MessageType.MESSAGE,
                                   group__author_user=ben).body
    assert "<b>keep it running</b>" in body or "<strong>keep it running</strong>" in body
    assert '<a href="https://example.com/docs" rel="noopener noreferrer">docs</a>' in body
    assert "Just" in body and "Kind regards," in body and "Ben Ozols" in body


def open_ticket_in_browser(asgi_server, new_page, *, answer=None, **page_options):
    """Ben (an agent of Support) with Cleo's ticket open and its editor ready."""
    account = make_account("acme")
    ben = make_user(account, "ben@acme.test", full_name="Ben Ozols")

    def seed():
        with scope(account=account):
            support = actions.save_department(account, name="Support", agents=[ben])
            contact = contact_actions.create_contact(
                account, firstname="Cleo", emails=["cleo@example.com"])
            if answer:
                actions.save_predefined_answer(account, **answer)
            return actions.open_ticket(account, "Printer on fire", "Hello.", contact,
                                       department=support)

    ticket = in_thread(seed)
    page = new_page(**LAPTOP, **page_options)
    log_in(page, asgi_server, "ben@acme.test")
    page.locator(f"#row-{ticket.public_id} a.subject").click()
    page.get_by_role("textbox", name="Message").wait_for()
    return account, ticket, page


def test_predefined_answer_sets_the_reply_subject(asgi_server, new_page):
    account, ticket, page = open_ticket_in_browser(asgi_server, new_page, answer={
        "name": "Shipped", "subject": "Your order for {$contact_name} has shipped",
        "body": "It is on its way."})
    subject = page.get_by_label("Reply subject")
    assert not subject.is_visible()  # folded: most replies keep the default
    assert subject.get_attribute("placeholder") == "Re: Printer on fire"
    # A note is not mailed: no subject to give.
    fold = page.locator("#composer").get_by_text("Subject and copies", exact=True)
    assert fold.is_visible()
    page.get_by_label("Internal note").check()
    assert not fold.is_visible()
    page.get_by_label("Internal note").uncheck()

    page.get_by_role("combobox", name="Insert a predefined answer").select_option(
        label="Shipped")
    page.locator("#reply-editor").get_by_text("It is on its way.").wait_for()
    assert subject.is_visible()
    assert subject.input_value() == "Your order for Cleo has shipped"
    page.get_by_role("button", name="Send", exact=True).click()
    page.locator("#ticket-conversation").get_by_text("It is on its way.").wait_for()

    with scope(account=account):
        group = Message.objects.get(group__ticket=ticket, type=MessageType.MESSAGE,
                                    group__author_user__isnull=False).group
        assert queries.reply_subject(group) == "Your order for Cleo has shipped"


OFFICE_HTML = (
    "<html><head><meta charset='utf-8'><style>p { color: red }</style></head><body>"
    "<!--StartFragment-->"
    '<b style="font-weight:normal" id="docs-internal-guid-1">'
    '<p class="MsoNormal" style="color:red;font-size:30px" onclick="alert(1)">Hello '
    '<span style="font-weight:700">bold</span> and <span style="font-style:italic">'
    'slanted</span> <span style="text-decoration:underline">under</span><o:p></o:p></p></b>'
    '<img src="http://127.0.0.1:9/logo.png" alt="logo" style="float:left" width="20">'
    '<p><a href="javascript:alert(2)">bad link</a> '
    '<a href="https://example.com/x" style="color:blue" target="_blank">good link</a></p>'
    '<img src="data:image/png;base64,iVBORw0KGgo=" alt="inline">'
    "<script>alert(3)</script>"
    '<ul style="margin:0"><li class="x">one</li></ul>'
    "<!--EndFragment--></body></html>"
)


@pytest.mark.parametrize("how", ["html", "text"])
def test_pasted_content_is_cleaned_before_sending(asgi_server, new_page, how):
    account, ticket, page = open_ticket_in_browser(
        asgi_server, new_page, permissions=["clipboard-read", "clipboard-write"])
    editor = page.locator("#reply-editor")
    editor.click()
    # A real clipboard and Ctrl+V: what the browser alone would paste, styles and all.
    page.evaluate(
        """([how, html]) => navigator.clipboard.write([new ClipboardItem(how === "html" ? {
             "text/html": new Blob([html], {type: "text/html"}),
             "text/plain": new Blob(["Hello bold"], {type: "text/plain"}),
           } : {"text/plain": new Blob(["<b>not bold</b>"], {type: "text/plain"})})])""",
        [how, OFFICE_HTML])
    page.keyboard.press("Control+V")

    if how == "text":
        editor.get_by_text("<b>not bold</b>").wait_for()
        assert editor.locator("b").count() == 0
    else:
        editor.locator("a", has_text="good link").wait_for()
        shown = editor.inner_html()
        for gone in ("style=", "class=", "id=", "onclick", "alert", "data:", "javascript:",
                     "target=", "<span", "<o:p", "<!--", "<b><p"):
            assert gone not in shown, gone
        assert "<b>bold</b>" in shown and "<i>slanted</i>" in shown and "<u>under</u>" in shown
        assert editor.locator("img").count() == 1  # the data: one is gone
        assert '<img src="http://127.0.0.1:9/logo.png" alt="logo" width="20">' in shown
        assert '<a href="https://example.com/x">good link</a>' in shown
        assert "bad link" in shown and "<ul><li>one</li></ul>" in shown
        assert editor.evaluate("e => getComputedStyle(e.querySelector('p')).fontSize") != "30px"

    page.get_by_role("button", name="Send", exact=True).click()
    page.locator("#ticket-conversation .group").nth(1).wait_for()
    with scope(account=account):
        body = Message.objects.get(group__ticket=ticket, type=MessageType.MESSAGE,
                                   group__author_user__isnull=False).body
    if how == "text":
        assert "&lt;b&gt;not bold&lt;/b&gt;" in body
    else:
        assert "<b>bold</b>" in body and "good link" in body and "style=" not in body
