"""Billing jobs: collecting invoices after the write that made them commits, and the sweep
that ends trials and starts new periods."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from saruna.billing import actions, fx, payments, prepaid
from saruna.billing.models import Refund
from saruna.core.models import Account
from saruna.core.tenancy import in_account


@db_task(retries=0)
@in_account
def collect_payments(account: Account, retry_failed: bool = False) -> None:
    payments.collect_due(account, retry_failed=retry_failed)


@db_task(retries=0)
@in_account
def send_refund(account: Account, refund_id: int) -> None:
    """A prepaid credit's refund, asked of the gateway after the cancellation commits."""
    prepaid.send_refund(Refund.objects.get(pk=refund_id))


@db_periodic_task(crontab(minute="*/10"))
def run_billing_jobs() -> None:
    """Trials that ended and periods that begin; idempotent, so a late or repeated run only
    catches up."""
    actions.run_due_jobs()


@db_periodic_task(crontab(minute="23"))
def recheck_vat_numbers() -> None:
    """VAT numbers VIES could not confirm when they were entered."""
    actions.recheck_vat_numbers()


@db_periodic_task(crontab(minute="*/10"))
def retry_failed_payments() -> None:
    """Failed charges tried again 1, 3, 5 and 7 days after the first failure; the last failure
    suspends the account."""
    payments.retry_failed_charges()


@db_periodic_task(crontab())
def retry_failed_refunds() -> None:
    """Refunds the gateway refused, sent again when their backoff has passed."""
    prepaid.retry_failed_refunds()


@db_periodic_task(crontab(hour="16", minute="40"))
def fetch_exchange_rates() -> None:
    """The ECB's reference rates, published around 16:00 CET on working days; a failed fetch
    is logged and the next day's 90-day file fills the gap."""
    fx.fetch_rates()
