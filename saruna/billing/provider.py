"""The provider's billing tools (base domain, staff only): accounts to offer an enterprise
agreement (terms §3), refunds the gateway refused, limit overrides (fair use), and manual
credit notes. Each write is
audited in the customer's own audit log, with the staff member as the actor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from saruna.accounts.models import User
from saruna.billing import documents
from saruna.billing.actions import BillingError
from saruna.billing.models import BillingDocument, LimitOverride, Refund
from saruna.contacts.models import Contact
from saruna.core import audit
from saruna.core.models import Account
from saruna.tickets.models import Ticket

# Tickets per agent are counted over this window, so the figure is a rate, not a lifetime sum.
TICKET_WINDOW = timedelta(days=30)
LIMIT_FIELDS = ("max_mailboxes", "max_chat_buttons", "history_days", "api_requests_per_minute")


@dataclass(frozen=True)
class EnterpriseCandidate:
    account: Account
    end_users: int
    tickets: int  # created in the last 30 days
    agents: int  # active users

    @property
    def tickets_per_agent(self) -> int:
        return self.tickets // max(self.agents, 1)

    @property
    def many_end_users(self) -> bool:
        return self.end_users >= settings.SARUNA_ENTERPRISE_END_USERS

    @property
    def many_tickets(self) -> bool:
        return self.tickets_per_agent >= settings.SARUNA_ENTERPRISE_TICKETS_PER_AGENT


def _per_account(rows: Any) -> dict[str, int]:
    return dict(rows.values("account").annotate(n=Count("pk")).values_list("account", "n"))


def failed_refunds() -> list[Refund]:
    """Refunds the gateway refused, across accounts, the oldest first: those with no
    ``next_attempt_at`` are out of retries and need a person (the money is still owed)."""
    with scopes_disabled():
        return list(Refund.objects.filter(status=Refund.Status.FAILED)
                    .select_related("account", "payment__invoice").order_by("created_at", "pk"))


def enterprise_candidates() -> list[EnterpriseCandidate]:
    """Open accounts at or above either threshold (``SARUNA_ENTERPRISE_END_USERS`` contacts,
    or ``SARUNA_ENTERPRISE_TICKETS_PER_AGENT`` new tickets per active agent in 30 days), the
    largest first. Only counts leave the accounts' scopes."""
    with scopes_disabled():
        end_users = _per_account(Contact.objects.filter(merged_into__isnull=True))
        tickets = _per_account(Ticket.objects.filter(
            date_created__gte=timezone.now() - TICKET_WINDOW))
        agents = _per_account(User.objects.filter(account__isnull=False, is_active=True))
        accounts = Account.objects.exclude(status=Account.Status.CLOSED).in_bulk(
            set(end_users) | set(tickets))
    candidates = [
        EnterpriseCandidate(account, end_users.get(pk, 0), tickets.get(pk, 0), agents.get(pk, 0))
        for pk, account in accounts.items()
    ]
    return sorted((c for c in candidates if c.many_end_users or c.many_tickets),
                  key=lambda c: (c.end_users, c.tickets_per_agent), reverse=True)


@transaction.atomic
def override_limits(account: Account, *, staff: User, max_agents: int | None,
                    **limits: int | None) -> LimitOverride:
    """The account's own limits in place of its plan's (None keeps the plan's)."""
    unknown = set(limits) - set(LIMIT_FIELDS)
    if unknown:
        raise BillingError(_("Unknown limits: %(names)s") % {"names": ", ".join(sorted(unknown))})
    override, _created = LimitOverride.objects.get_or_create(account=account)
    for name in LIMIT_FIELDS:
        setattr(override, name, limits.get(name))
    override.save()
    Account.objects.filter(pk=account.pk).update(max_agents_override=max_agents)
    account.max_agents_override = max_agents
    audit.record(account, "billing.limits_overridden", actor=staff, target=account,
                 max_agents=max_agents,
                 limits={name: limits.get(name) for name in LIMIT_FIELDS})
    return override


@transaction.atomic
def issue_credit_note(account: Account, number: str, *, staff: User,
                      reason: str) -> BillingDocument:
    """A credit note cancelling the account's invoice ``number`` in full, with the reason on
    it: an unpaid invoice is no longer collected. Money already paid is not moved (the terms
    allow no refund here)."""
    reason = reason.strip()
    if not reason:
        raise BillingError(_("Give the reason: it is printed on the credit note."))
    invoice = BillingDocument.objects.select_for_update().filter(
        account=account, kind=BillingDocument.Kind.INVOICE, number=number.strip()).first()
    if invoice is None:
        raise BillingError(_("This account has no invoice %(number)s.") % {"number": number})
    if invoice.credit_notes.exists():
        raise BillingError(_("Invoice %(number)s is already cancelled by a credit note.")
                           % {"number": invoice.number})
    credit_note = documents._write(
        account, BillingDocument.Kind.CREDIT_NOTE, documents._drafts_of(invoice),
        buyer=invoice.buyer, currency=invoice.currency,
        treatment=documents._treatment_of(invoice), credits=invoice, reason=reason,
    )
    audit.record(account, "billing.credit_note_issued", actor=staff, target=credit_note,
                 invoice=invoice.number, reason=reason)
    return credit_note
