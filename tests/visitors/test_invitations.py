"""Proactive invitations: manual, rule-based, delivered on the next beat, caps, answers."""

import pytest
from django_scopes import scope, scopes_disabled

from saruna.chat import actions as chat_actions
from saruna.contacts.common import ActionError
from saruna.tickets import actions as ticket_actions
from saruna.visitors import actions, queries
from saruna.visitors.models import Invitation
from tests.chat.helpers import make_button, put_online
from tests.tenancy import host_client
from tests.visitors.helpers import beat, new_token, tracker


@pytest.fixture(autouse=True)
def _behind_proxy(settings):
    settings.SARUNA_TRUST_X_FORWARDED_FOR = True


@pytest.fixture
def immediate_commits(django_capture_on_commit_callbacks):
    """Run on-commit work (the invitation reaching the cache) inside the test's transaction."""
    def run(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)
    return run


def _rule(account, **fields):
    with scope(account=account):
        return actions.save_invitation_rule(account, None, {
            "name": "Pricing", "text": "Questions about prices?", **fields})


def test_a_manual_invitation_arrives_with_the_next_beat(account, agent, immediate_commits):
    token, client = new_token(account), tracker(account)
    beat(client, token)
    visitor_id = token.split(".")[0]
    put_online(agent)
    response = immediate_commits(
        host_client(account, agent).post, f"/visitors/{visitor_id}/invite/", {"text": "Hi!"})
    assert response.status_code == 200
    answer = beat(client, token, event="ping")
    assert answer.status_code == 200
    invitation = answer.json()["invitation"]
    assert invitation["text"] == "Hi!" and invitation["agent_name"] == agent.full_name
    assert beat(client, token, event="ping").status_code == 204  # delivered once
    with scopes_disabled():
        assert Invitation.objects.get().status == "shown"


def test_an_agent_invites_only_while_they_could_take_the_chat(account, agent,
                                                             immediate_commits):
    """Else the visitor who accepts is told that nobody is online."""
    token, client = new_token(account), tracker(account)
    beat(client, token)
    invite = host_client(account, agent).post
    path = f"/visitors/{token.split('.')[0]}/invite/"
    response = immediate_commits(invite, path, {"text": "Hi!"})
    assert response.status_code == 409
    assert "Set your chat status to online first" in response.json()["message"]
    put_online(agent, status="away")
    assert immediate_commits(invite, path, {"text": "Hi!"}).status_code == 409
    put_online(agent)
    assert immediate_commits(invite, path, {"text": "Hi!"}).status_code == 200


def test_an_offline_visitor_cannot_be_invited(account, agent):
    put_online(agent)
    with scope(account=account), pytest.raises(ActionError):
        actions.invite_visitor(account, new_token(account).split(".")[0], text="Hi", agent=agent)


def test_declining_stops_rule_invitations_for_the_visit(account, immediate_commits):
    _rule(account, require_agents_available=False)
    token, client = new_token(account), tracker(account)
    answer = immediate_commits(beat, client, token, url="https://shop.test/pricing")
    invitation = answer.json()["invitation"] if answer.status_code == 200 else None
    if invitation is None:  # the rule fired during the write: the next beat carries it
        invitation = beat(client, token, event="ping").json()["invitation"]
    assert invitation["text"] == "Questions about prices?"
    response = immediate_commits(
        client.post, f"/widget/invitations/{invitation['id']}/decline/",
        f'{{"token": "{token}"}}', content_type="text/plain")
    assert response.status_code == 204
    immediate_commits(beat, client, token, url="https://shop.test/pricing?again")
    assert beat(client, token, event="ping").status_code == 204
    with scopes_disabled():
        assert list(Invitation.objects.values_list("status", flat=True)) == ["declined"]


def test_rule_conditions(account, immediate_commits):
    _rule(account, url_contains="/pricing", min_pages=2, source_type="organic",
          countries="LV, EE", require_agents_available=False)
    token, client = new_token(account), tracker(account)
    immediate_commits(beat, client, token, url="https://shop.test/",
                      referrer="https://www.google.com/")
    immediate_commits(beat, client, token, url="https://shop.test/about")
    with scopes_disabled():
        assert not Invitation.objects.exists()  # two pages, but not the pricing page
    immediate_commits(beat, client, token, url="https://shop.test/pricing")
    with scopes_disabled():
        assert Invitation.objects.count() == 1
    other = new_token(account)  # from Ireland: not in the rule's countries
    for path in ("/", "/pricing"):
        immediate_commits(beat, tracker(account, ip="193.1.1.1"), other,
                          url=f"https://shop.test{path}", referrer="https://www.google.com/")
    with scopes_disabled():
        assert Invitation.objects.count() == 1


def test_a_rule_counts_the_seconds_on_the_current_page(account, time_machine,
                                                       immediate_commits):
    _rule(account, min_seconds_on_page=30, require_agents_available=False)
    token, client = new_token(account), tracker(account)
    for moment, event, url in (("10:00:00", "view", "/"), ("10:00:20", "view", "/pricing"),
                               ("10:00:49", "ping", "/pricing")):
        time_machine.move_to(f"2026-05-01 {moment}Z", tick=False)
        immediate_commits(beat, client, token, event=event, url=f"https://shop.test{url}")
    with scopes_disabled():
        assert not Invitation.objects.exists()  # 49 s on the site, 29 s on this page
    time_machine.move_to("2026-05-01 10:00:50Z", tick=False)
    immediate_commits(beat, client, token, event="ping", url="https://shop.test/pricing")
    with scopes_disabled():
        assert Invitation.objects.count() == 1


@pytest.mark.parametrize(("returning", "invited_on"), [(True, ["05-02"]), (False, ["05-01"])])
def test_a_rule_for_returning_or_new_visitors(account, time_machine, immediate_commits,
                                             returning, invited_on):
    _rule(account, returning=returning, require_agents_available=False)
    token, client = new_token(account), tracker(account)
    for day in ("2026-05-01", "2026-05-02"):  # the next day's visit is a returning one
        time_machine.move_to(f"{day} 10:00Z", tick=False)
        immediate_commits(beat, client, token, url=f"https://shop.test/{day}")
    with scopes_disabled():
        invitations = Invitation.objects.order_by("pk")
        assert [i.created_at.strftime("%m-%d") for i in invitations] == invited_on


def test_rules_wait_for_an_available_agent(account, agent, immediate_commits):
    _rule(account)
    token, client = new_token(account), tracker(account)
    immediate_commits(beat, client, token)
    with scopes_disabled():
        assert not Invitation.objects.exists()
    make_button(account)
    put_online(agent)
    immediate_commits(beat, client, token, url="https://shop.test/next")
    with scopes_disabled():
        assert Invitation.objects.count() == 1


def test_caps_pause_between_invitations_and_per_day(account, time_machine, immediate_commits):
    time_machine.move_to("2026-05-01 10:00Z", tick=False)
    with scope(account=account):
        actions.save_tracking_settings(account, {"invitation_pause_minutes": 30,
                                                 "invitations_per_day": 2})
    _rule(account, require_agents_available=False)
    token, client = new_token(account), tracker(account)
    for minute in (0, 10, 31, 62, 93):
        time_machine.move_to(f"2026-05-01 10:{minute:02d}Z" if minute < 60 else
                             f"2026-05-01 11:{minute - 60:02d}Z", tick=False)
        immediate_commits(beat, client, token, url=f"https://shop.test/p{minute}")
        beat(client, token, event="ping")  # shown, and left unanswered
    with scopes_disabled():
        times = [i.created_at.strftime("%H:%M") for i in Invitation.objects.order_by("pk")]
    assert times == ["10:00", "10:31"]


def test_accepting_marks_the_invitation(account, agent, immediate_commits):
    token, client = new_token(account), tracker(account)
    beat(client, token)
    put_online(agent)
    with scope(account=account):
        invitation = immediate_commits(actions.invite_visitor, account, token.split(".")[0],
                                       text="Hi", agent=agent)
        visitor = invitation.visitor
        immediate_commits(actions.accept_invitation, account, visitor, invitation.public_id)
        invitation.refresh_from_db()
        assert invitation.status == "accepted"
        with pytest.raises(ActionError):
            actions.accept_invitation(account, visitor, "nope")
    assert beat(client, token, event="ping").status_code == 204  # withdrawn from the mailbox


def test_the_widget_offers_the_chat_while_the_inviting_agent_is_there(
        account, agent, immediate_commits, time_machine):
    """Anna is online for Sales; the visitor is on the Support button's page."""
    time_machine.move_to("2026-05-01 10:00Z", tick=False)
    with scope(account=account):
        sales = ticket_actions.save_department(account, None, name="Sales")
    put_online(agent, department=sales)
    button = make_button(account)  # the default department: nobody online there
    token, client = new_token(account), tracker(account)
    beat(client, token)
    with scope(account=account):
        invitation = immediate_commits(actions.invite_visitor, account, token.split(".")[0],
                                       text="Hi", agent=agent)

    def online(invitation_id=invitation.public_id, visitor_token=token):
        return host_client(account).get(
            f"/widget/{button.public_id}/config.json", {"invitation": invitation_id},
            HTTP_X_SARUNA_VISITOR=visitor_token).json()["online"]

    def inviter():
        with scope(account=account):
            return queries.inviting_agent(invitation.visitor, invitation.public_id)

    assert (online(), inviter()) == (True, agent)
    assert online(visitor_token=new_token(account)) is False  # not theirs to accept
    assert online(invitation_id="nope") is False
    time_machine.move_to("2026-05-01 10:02Z", tick=False)  # Anna's browser went away
    assert (online(), inviter()) == (False, None)
    put_online(agent, department=sales)
    with scope(account=account):
        chat_actions.set_agent_status(agent, "offline")
    assert (online(), inviter()) == (False, None)
