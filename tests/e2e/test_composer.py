"""The rich-text reply composer in a browser: the toolbar formats, shortcuts stay quiet
while typing, a predefined answer goes in at the caret, and the reply arrives formatted."""

from django_scopes import scope

from saruna.contacts import actions as contact_actions
from saruna.tickets import actions
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
