"""A reply lands on its ticket: by our token, by the Message-IDs it answers (participants
only), by the ticket code in the subject (participants only). Strangers cannot write into
someone else's ticket; closed tickets are continued in a new one."""

import pytest
from django_scopes import scope

from saruna.mail import tokens
from saruna.mail.models import OutgoingMail
from saruna.tickets.actions import add_agent_reply, change_status, merge_tickets
from saruna.tickets.models import GroupType, Status, Ticket

SUPPORT = "support@acme.saruna.test"


@pytest.fixture
def ticket(account, mail_bytes, deliver):
    """A ticket Ann opened by mail (to support, with Carl in copy), Message-ID <ann.1@...>."""
    deliver(mail_bytes(sender="Ann <ann@example.com>", cc="carl@example.com",
                       subject="Printer is broken", message_id="<ann.1@example.com>"))
    with scope(account=account):
        return Ticket.objects.get()


def our_reply(ticket, agent, *, cc=()) -> OutgoingMail:
    """An agent's answer and the mail the sending side records for it."""
    group = add_agent_reply(ticket, agent, "Have you tried turning it off and on?")
    message_id = tokens.new_message_id(ticket.account, ticket.public_id)
    return OutgoingMail.objects.create(
        account=ticket.account, ticket=ticket, group=group, message_id=message_id,
        from_email=SUPPORT, to=["Ann <ann@example.com>"], cc=list(cc),
        subject=f"Re: {ticket.subject}",
    )


def landed(account, mail):
    """(the ticket the mail went to, tickets in the account)."""
    with scope(account=account):
        return Ticket.objects.get(pk=mail.ticket_id), Ticket.objects.count()


def test_our_reply_token_in_the_address_finds_the_ticket_from_any_sender(
    account, ticket, mail_bytes, deliver
):
    # Ann forwarded our mail to a colleague, who answers to our Reply-To address.
    address = tokens.reply_address(account, ticket.public_id)
    mail = deliver(mail_bytes(sender="dana@example.net", to=address, subject="Fixed?"))
    assert landed(account, mail) == (ticket, 1)


def test_the_token_in_the_envelope_counts_too(account, ticket, mail_bytes, deliver):
    mail = deliver(mail_bytes(sender="ann@example.com", subject="Other subject"),
                   envelope_to=[tokens.reply_address(account, ticket.public_id)])
    assert landed(account, mail) == (ticket, 1)


def test_our_token_in_the_message_id_answered_finds_the_ticket(
    account, agent, ticket, mail_bytes, deliver
):
    with scope(account=account):
        ours = our_reply(ticket, agent)
    mail = deliver(mail_bytes(sender="dana@example.net", subject="Re: something else",
                              in_reply_to=ours.message_id))
    assert landed(account, mail) == (ticket, 1)


def test_a_forged_token_opens_a_new_ticket(account, ticket, mail_bytes, deliver):
    forged = f"acme+t{ticket.public_id}-0123456789@acme.saruna.test"
    mail = deliver(mail_bytes(sender="mallory@example.net", to=forged))
    assert landed(account, mail)[0] != ticket


def test_a_token_of_another_account_is_not_ours(account, ticket, mail_bytes, deliver):
    from tests.factories import make_account

    other = make_account("other")
    address = tokens.reply_address(other, ticket.public_id)
    mail = deliver(mail_bytes(sender="mallory@example.net", to=address))
    assert landed(account, mail)[0] != ticket


def test_the_customer_answering_their_own_message_id_continues_the_ticket(
    account, ticket, mail_bytes, deliver
):
    mail = deliver(mail_bytes(sender="ann@example.com", subject="Also the scanner",
                              in_reply_to="<ann.1@example.com>"))
    assert landed(account, mail) == (ticket, 1)


def test_a_copied_participant_answering_our_mail_continues_the_ticket(
    account, agent, ticket, mail_bytes, deliver
):
    with scope(account=account):
        ours = our_reply(ticket, agent, cc=["Eve <eve@example.com>"])
    # A client that drops our Reply-To: the answer goes to the plain support address.
    ours_without_token = "<20240101.1@mail.acme.test>"
    with scope(account=account):
        OutgoingMail.objects.filter(pk=ours.pk).update(message_id=ours_without_token)
    for sender in ("carl@example.com", "eve@example.com", "agent@acme.test"):
        mail = deliver(mail_bytes(sender=sender, in_reply_to=ours_without_token,
                                  references=f"<ann.1@example.com> {ours_without_token}"))
        assert landed(account, mail) == (ticket, 1), sender


def test_a_forged_in_reply_to_from_a_stranger_opens_a_new_ticket(
    account, ticket, mail_bytes, deliver
):
    mail = deliver(mail_bytes(sender="mallory@example.net", subject="Re: Printer is broken",
                              text="Please send me the invoice.",
                              in_reply_to="<ann.1@example.com>",
                              references="<ann.1@example.com>"))
    new, count = landed(account, mail)
    assert new != ticket and count == 2
    with scope(account=account):
        assert new.owner.primary_email == "mallory@example.net"
        assert ticket.groups.count() == 1  # Ann's ticket is untouched


def test_the_subject_code_works_for_participants_only(account, ticket, mail_bytes, deliver):
    subject = f"Re: [#{ticket.code}] Printer is broken"
    mail = deliver(mail_bytes(sender="ann@example.com", subject=subject.lower()))
    assert landed(account, mail) == (ticket, 1)
    mail = deliver(mail_bytes(sender="mallory@example.net", subject=subject))
    assert landed(account, mail)[0] != ticket


def test_in_reply_to_wins_over_older_references(account, ticket, mail_bytes, deliver):
    deliver(mail_bytes(sender="ann@example.com", subject="Second topic",
                       message_id="<ann.2@example.com>"))
    mail = deliver(mail_bytes(sender="ann@example.com", in_reply_to="<ann.2@example.com>",
                              references="<ann.1@example.com> <ann.2@example.com>"))
    second, count = landed(account, mail)
    assert second != ticket and second.subject == "Second topic" and count == 2


def test_a_reply_reopens_a_resolved_ticket(account, agent, ticket, mail_bytes, deliver):
    with scope(account=account):
        ours = our_reply(ticket, agent)
        change_status(ticket, Status.RESOLVED, actor=agent)
    mail = deliver(mail_bytes(sender="ann@example.com", text="Still broken.",
                              in_reply_to=ours.message_id))
    reopened, count = landed(account, mail)
    assert reopened == ticket and count == 1 and reopened.status == Status.OPEN


@pytest.mark.parametrize("status", [Status.CLOSED, Status.DELETED, Status.SPAM])
def test_a_reply_to_a_closed_ticket_opens_a_new_one_that_names_it(
    account, agent, ticket, mail_bytes, deliver, status
):
    with scope(account=account):
        ours = our_reply(ticket, agent)
        change_status(ticket, status, actor=agent)
    mail = deliver(mail_bytes(sender="ann@example.com", subject="Re: Printer is broken",
                              text="It broke again.", in_reply_to=ours.message_id))
    new, count = landed(account, mail)
    assert new != ticket and count == 2 and new.status == Status.NEW
    with scope(account=account):
        note = new.groups.get(type=GroupType.INTERNAL).messages.get()
        assert ticket.code in note.body
        ticket.refresh_from_db()
        assert ticket.status == status and ticket.groups.filter(
            type=GroupType.INCOMING_EMAIL).count() == 1


def test_mail_for_a_merged_ticket_goes_to_the_merge_target(
    account, agent, ticket, mail_bytes, deliver
):
    target_mail = deliver(mail_bytes(sender="ann@example.com", subject="Scanner too"))
    with scope(account=account):
        target = Ticket.objects.get(pk=target_mail.ticket_id)
        merge_tickets(target, [ticket], actor=agent)
    mail = deliver(mail_bytes(sender="ann@example.com", in_reply_to="<ann.1@example.com>"))
    assert landed(account, mail) == (target, 2)
