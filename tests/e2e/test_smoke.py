from tests.factories import PASSWORD, make_account, make_user


def test_unknown_account_page_and_login_form_in_a_browser(asgi_server, new_page):
    account = make_account("alpha")
    make_user(account, "owner@alpha.test", role="owner")
    page = new_page()
    page.goto(asgi_server.url("nosuch"))
    assert "No such account" in page.content()
    page.goto(asgi_server.url("alpha", "/login/"))
    page.fill("input[name=email]", "owner@alpha.test")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(asgi_server.url("alpha", "/"))
    assert "Welcome" in page.content()
