"""The foundation as a newcomer tries it, in real browsers against a real server."""

import re

from django.core import mail

from tests.e2e.conftest import screenshot
from tests.factories import make_account

PHONE = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/126.0.0.0 Mobile Safari/537.36")


def link_in_last_mail(pattern: str) -> str:
    return re.search(pattern, mail.outbox[-1].body).group(0)


def test_signup_confirm_invite_agent_and_concurrent_login(asgi_server, new_page, settings):
    settings.SARUNA_SIGNUP_MIN_SECONDS = 0
    settings.SARUNA_TRUST_X_FORWARDED_FOR = True  # lets a browser pose as another network
    make_account("unknown-bystander")

    owner = new_page()
    owner.goto(asgi_server.url(path="/"))
    screenshot(owner, "landing")
    owner.get_by_role("link", name="Start free trial").first.click()
    owner.get_by_label("Full name").fill("Anna Bērziņa")
    owner.get_by_label("E-mail").fill("anna@acme.test")
    owner.get_by_label("Company or organisation").fill("Acme Ltd.")
    owner.get_by_label("Password").fill("a sturdy pass phrase 42")
    owner.get_by_label("I am 18 or older").check()
    owner.get_by_label("I accept the Terms of Service").check()
    screenshot(owner, "signup")
    owner.get_by_role("button", name="Create my account").click()
    owner.get_by_text("acme.localhost").first.wait_for()

    owner.goto(link_in_last_mail(r"http://acme\.localhost:\d+/verify/\S+"))
    owner.wait_for_url(asgi_server.url("acme", "/"))
    owner.goto(asgi_server.url("acme", "/users/invite/"))
    owner.get_by_label("E-mail").fill("ben@acme.test")
    owner.get_by_role("button", name="Send the invitation").click()
    owner.get_by_text("ben@acme.test").first.wait_for()
    screenshot(owner, "users")

    laptop = new_page()
    laptop.goto(link_in_last_mail(r"http://acme\.localhost:\d+/invitation/\S+"))
    laptop.get_by_label("Full name").fill("Ben Ozols")
    laptop.locator("input[name=password1]").fill("another sturdy phrase 7")
    laptop.get_by_label("Password again").fill("another sturdy phrase 7")
    laptop.get_by_label("I am 18 or older").check()
    laptop.get_by_role("button", name="Create my login").click()
    laptop.wait_for_url(asgi_server.url("acme", "/"))
    assert "Ben" in laptop.content()

    # The same login from a phone on another network, while the laptop is still active.
    phone = new_page(user_agent=PHONE, extra_http_headers={"X-Forwarded-For": "198.51.100.7"})
    phone.goto(asgi_server.url("acme", "/login/"))
    phone.get_by_label("E-mail").fill("ben@acme.test")
    phone.get_by_label("Password").fill("another sturdy phrase 7")
    phone.get_by_role("button", name="Log in").click()
    phone.wait_for_url(asgi_server.url("acme", "/concurrent-login/"))
    screenshot(phone, "concurrent-login")
    phone.get_by_role("button", name="Continue here and end the other session").click()
    phone.wait_for_url(asgi_server.url("acme", "/"))

    # The laptop's open page learns at once that its session was ended, and leaves.
    laptop.wait_for_url(re.compile(r".*/login/.*"))
