"""No automatic answer to machines or to ourselves, capped answers even to people, and a
mail flood that cannot bury the inbox in tickets."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from django_scopes import scope

from saruna.mail import loops, tokens
from saruna.mail.models import BouncingAddress, InboundMail, OutgoingMail
from saruna.mail.parser import parse
from saruna.tickets.models import Ticket


@pytest.fixture
def ticket(account, mail_bytes, deliver):
    deliver(mail_bytes(sender="ann@example.com"))
    with scope(account=account):
        return Ticket.objects.get()


def may_answer(account, ticket, raw) -> bool:
    with scope(account=account):
        return loops.may_auto_reply(account, parse(raw), ticket)


def test_a_person_gets_an_automatic_answer(account, ticket, mail_bytes):
    assert may_answer(account, ticket, mail_bytes(sender="ann@example.com"))


@pytest.mark.parametrize("headers", [
    {"Auto-Submitted": "auto-replied"},
    {"Precedence": "bulk"},
    {"X-Loop": "helpdesk@example.net"},
    {"X-Auto-Response-Suppress": "OOF, AutoReply"},
    {"List-Id": "<news.example.com>"},
])
def test_automatic_mail_gets_no_automatic_answer(account, ticket, mail_bytes, headers):
    assert not may_answer(account, ticket, mail_bytes(sender="ann@example.com", headers=headers))


@pytest.mark.parametrize("sender", [
    "MAILER-DAEMON@mx.example.com", "postmaster@example.com", "noreply@shop.example",
    "no-reply@shop.example", "do-not-reply@bank.example",
])
def test_robot_senders_get_no_automatic_answer(account, ticket, mail_bytes, sender):
    assert not may_answer(account, ticket, mail_bytes(sender=sender))


def test_our_own_mail_gets_no_automatic_answer(account, ticket, mail_bytes):
    ours = tokens.new_message_id(account, ticket.public_id)
    assert not may_answer(account, ticket, mail_bytes(sender="ann@example.com", message_id=ours))
    with scope(account=account):
        OutgoingMail.objects.create(account=account, ticket=ticket, message_id="<x.1@acme.test>",
                                    from_email="support@acme.test", to=["ann@example.com"],
                                    subject="Re: hi")
    assert not may_answer(account, ticket,
                          mail_bytes(sender="ann@example.com", message_id="<x.1@acme.test>"))


def test_a_bouncing_address_gets_no_automatic_answer(account, ticket, mail_bytes):
    with scope(account=account):
        BouncingAddress.objects.create(account=account, email="ann@example.com")
    assert not may_answer(account, ticket, mail_bytes(sender="ann@example.com"))


def test_automatic_answers_are_capped_per_ticket_each_hour(account, ticket, mail_bytes):
    count = int(loops.AUTO_REPLIES_PER_TICKET.split("/")[0])
    start = timezone.now().replace(minute=0, second=0, microsecond=0)
    with time_machine.travel(start, tick=False):
        answers = [
            may_answer(account, ticket, mail_bytes(sender=f"person{i}@example.com"))
            for i in range(count + 2)
        ]
    # The ticket's opening mail was acknowledged already: one answer of the hour is used.
    assert answers == [True] * (count - 1) + [False] * 3
    # The hour slides: the burst still counts an hour later, and is forgotten once past.
    with time_machine.travel(start + dt.timedelta(hours=1), tick=False):
        assert not may_answer(account, ticket, mail_bytes(sender="early@example.com"))
    with time_machine.travel(start + dt.timedelta(hours=2), tick=False):
        assert may_answer(account, ticket, mail_bytes(sender="late@example.com"))


def test_automatic_answers_are_capped_per_sender_over_tickets(account, mail_bytes, deliver):
    count = int(loops.AUTO_REPLIES_PER_SENDER.split("/")[0])
    start = timezone.now().replace(minute=0, second=0, microsecond=0)
    with time_machine.travel(start, tick=False):
        for i in range(count + 1):
            deliver(mail_bytes(sender="loop@example.com", subject=f"Ticket {i}"))
        with scope(account=account):
            tickets = list(Ticket.objects.order_by("pk"))
            acknowledged = OutgoingMail.objects.filter(is_automatic=True).count()
        assert len(tickets) == count + 1 and acknowledged == count  # the last one got none
        raw = mail_bytes(sender="loop@example.com")
        assert not any(may_answer(account, t, raw) for t in tickets)
        # Someone else on the same ticket still gets their answer.
        assert may_answer(account, tickets[-1], mail_bytes(sender="ann@example.com"))


def test_a_flood_of_new_mails_joins_the_senders_latest_ticket(account, mail_bytes, deliver):
    cap = loops.NEW_TICKETS_PER_HOUR
    start = timezone.now().replace(minute=0, second=0, microsecond=0)
    with time_machine.travel(start, tick=False):
        mails = [deliver(mail_bytes(sender="flood@example.com", subject=f"Offer {i}"))
                 for i in range(cap + 5)]
        other = deliver(mail_bytes(sender="ann@example.com", subject="A real question"))
    with scope(account=account):
        assert Ticket.objects.filter(owner__emails__normalized="flood@example.com").count() == cap
        last = Ticket.objects.get(subject=f"Offer {cap - 1}")
        assert {m.ticket_id for m in mails[cap:]} == {last.pk}
        assert last.groups.count() == 6  # its own mail and the five over the cap
        assert all(m.state == InboundMail.State.PROCESSED for m in mails)
        assert other.ticket.subject == "A real question"
    with time_machine.travel(start + dt.timedelta(minutes=61), tick=False):
        later = deliver(mail_bytes(sender="flood@example.com", subject="Next hour"))
    with scope(account=account):
        assert later.ticket.subject == "Next hour"
