"""Billing data: the price list, subscriptions, payment methods, invoices and credit notes,
payments and refunds. Amounts are integer cents; see docs/billing.md for the rules."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saruna.billing import vat
from saruna.core.models import Account, Plan, TenantModel
from saruna.core.scoping import AccountScopedManager


class Cycle(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    ANNUAL = "annual", _("Annual")


# --- The catalogue (the provider's, not an account's) ---------------------------------------


class PlanPrice(models.Model):
    """One version of a paid plan's price in one currency. A price change is a new row from
    its effective date on; rows are never edited, so no past period changes price.

    A period is priced by the version in effect on the day it starts, so a change reaches a
    subscription at its first renewal on or after ``effective_from``."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="prices")
    currency = models.CharField(max_length=3, default="USD")
    seat_month_cents = models.PositiveIntegerField(help_text=_("Per agent seat per month."))
    seat_year_cents = models.PositiveIntegerField(help_text=_("Per agent seat per year."))
    effective_from = models.DateField()
    announced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["plan", "currency", "effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "currency", "effective_from"], name="one_price_per_plan_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan.code} {self.currency} from {self.effective_from}"

    def seat_cents(self, cycle: str) -> int:
        return self.seat_year_cents if cycle == Cycle.ANNUAL else self.seat_month_cents


class PlanLimits(models.Model):
    """What a plan allows besides agent seats (``Plan.max_agents``); null is no limit.
    The provider overrides them per account with :class:`LimitOverride` (fair use)."""

    plan = models.OneToOneField(Plan, on_delete=models.CASCADE, related_name="limits")
    max_mailboxes = models.PositiveIntegerField(null=True, blank=True)
    max_chat_buttons = models.PositiveIntegerField(null=True, blank=True)
    history_days = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Tickets and chats older than this are removed.")
    )
    api_requests_per_minute = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"limits of {self.plan.code}"


class LimitOverride(TenantModel):
    """The provider's per-account exceptions to the plan's limits (seats are
    ``Account.max_agents_override``); a null field keeps the plan's value."""

    max_mailboxes = models.PositiveIntegerField(null=True, blank=True)
    max_chat_buttons = models.PositiveIntegerField(null=True, blank=True)
    history_days = models.PositiveIntegerField(null=True, blank=True)
    api_requests_per_minute = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account"], name="one_limit_override")]


class ExchangeRate(models.Model):
    """The European Central Bank's reference rate of one currency on one day, in units of the
    currency per euro (``fx.py``); documents in another currency state their VAT in euros at
    it (Directive 2006/112/EC, Art. 230)."""

    currency = models.CharField(max_length=3)
    date = models.DateField()
    rate = models.DecimalField(max_digits=14, decimal_places=6)

    class Meta:
        ordering = ["currency", "date"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "date"], name="one_rate_per_currency_day")
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.rate} on {self.date}"


class DocumentCounter(models.Model):
    """The last number given in one series and year; locked while a number is taken, so
    numbers are gapless even when documents are finalised in parallel."""

    series = models.CharField(max_length=8)
    year = models.PositiveIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "year"], name="one_counter_per_series_year")
        ]

    def __str__(self) -> str:
        return f"{self.series}-{self.year}: {self.last_number}"


# --- An account's billing -----------------------------------------------------------------


class BillingProfile(TenantModel):
    """Who the invoices are made out to. Changes apply from the next invoice; the last
    invoice is corrected only within 15 days (``actions.correct_billing_details``)."""

    class VatStatus(models.TextChoices):
        NONE = "", _("No VAT number")
        VALID = vat.VALID, _("Verified")
        UNVERIFIED = vat.UNVERIFIED, _("Not verified yet")
        INVALID = vat.INVALID, _("Not valid")

    name = models.CharField(_("name"), max_length=200, blank=True)
    company = models.CharField(_("company"), max_length=200, blank=True)
    address_lines = models.JSONField(_("address"), default=list, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    email = models.EmailField(_("billing e-mail"), blank=True)
    registration_number = models.CharField(_("company registration number"), max_length=64,
                                           blank=True)
    vat_number = models.CharField(_("VAT number"), max_length=20, blank=True)
    vat_status = models.CharField(max_length=10, choices=VatStatus.choices, blank=True)
    vat_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account"], name="one_billing_profile")]

    def snapshot(self) -> dict[str, Any]:
        """What an invoice keeps of the buyer (it never changes with the profile)."""
        return {
            "name": self.name,
            "company": self.company,
            "address_lines": list(self.address_lines),
            "country": self.country,
            "email": self.email,
            "registration_number": self.registration_number,
            "vat_number": self.vat_number,
        }


class Subscription(TenantModel):
    """An account's plan, seats and billing cycle, and where it is in its periods.

    A paid plan starts ``trialing``. The first paid period starts the day a payment method
    is added (the trial ends then); each period is invoiced and charged at its start.
    ``period_start``/``period_end`` are dates in the account's time zone, the end being the
    next period's first day; ``anchor_day`` keeps month ends from drifting."""

    class Mode(models.TextChoices):
        STANDARD = "standard", _("Seats paid ahead, each period")
        LIFETIME = "lifetime", _("Lifetime code: included seats, extra agents in arrears")

    class Status(models.TextChoices):
        TRIALING = "trialing", _("Trial")
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Payment overdue")
        SUSPENDED = "suspended", _("Suspended for billing")
        CANCELLED = "cancelled", _("Cancelled")

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.STANDARD)
    # A lifetime code's seats, never billed; only users beyond them are (codes.py).
    included_seats = models.PositiveIntegerField(default=0)
    cycle = models.CharField(max_length=8, choices=Cycle.choices, default=Cycle.MONTHLY)
    # A cycle change waits for the next renewal (nothing is prorated between cycles).
    next_cycle = models.CharField(max_length=8, choices=Cycle.choices, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    seats = models.PositiveIntegerField(
        help_text=_("Agent seats paid for; adding users beyond them adds seats.")
    )
    status = models.CharField(max_length=10, choices=Status.choices)
    started_at = models.DateTimeField(default=timezone.now)
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    anchor_day = models.PositiveSmallIntegerField(null=True, blank=True)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    # Per seat, the most paid for it this period (cents per period, highest first): a change
    # inside an annual period is charged only above this, so seats removed and added back, or
    # a plan left and taken again, are never paid twice.
    paid_seat_cents = models.JSONField(default=list, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account"], name="one_subscription")]
        indexes = [models.Index(fields=["status", "period_end"])]

    def __str__(self) -> str:
        return f"{self.plan.code}, {self.seats} seats, {self.cycle} ({self.status})"

    @property
    def is_lifetime(self) -> bool:
        return self.mode == self.Mode.LIFETIME


class PaymentMethod(TenantModel):
    """A card or PayPal account saved at a gateway; Saruna keeps only the gateway's
    reference and a label. One is in use per account; replaced ones keep ``removed_at``."""

    class Kind(models.TextChoices):
        CARD = "card", _("Card")
        PAYPAL = "paypal", _("PayPal")

    gateway = models.CharField(max_length=20)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    reference = models.CharField(max_length=200)
    customer_reference = models.CharField(max_length=200, blank=True)
    label = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=Q(removed_at__isnull=True),
                name="one_payment_method_in_use",
            )
        ]

    def __str__(self) -> str:
        return self.label


# --- Invoices and credit notes ---------------------------------------------------------------


class FinalisedDocumentError(Exception):
    """A finalised invoice or credit note cannot change; correct it with a credit note."""


class DocumentQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        if self.filter(number__isnull=False).exists():
            raise FinalisedDocumentError("Finalised billing documents cannot be changed.")
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        if self.filter(number__isnull=False).exists():
            raise FinalisedDocumentError("Finalised billing documents cannot be deleted.")
        return super().delete()


class BillingDocument(TenantModel):
    """An invoice or a credit note. It is written as a draft, then finalised: it gets its
    number and from then on neither it nor its lines change (the model refuses, and so do
    database triggers). Amounts are positive on both kinds; a credit note's kind says it
    takes money back. Kept as long as the law asks: the account cannot be deleted under it."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")

    class VatTreatment(models.TextChoices):
        STANDARD = vat.STANDARD, _("Standard rate")
        REVERSE_CHARGE = vat.REVERSE_CHARGE, _("Reverse charge")
        OUTSIDE_EU = vat.OUTSIDE_EU, _("Outside the EU")
        SELLER_OUTSIDE_EU = vat.SELLER_OUTSIDE_EU, _("Seller outside the EU")

    objects: ClassVar[Any] = AccountScopedManager(models.Manager.from_queryset(DocumentQuerySet))

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    number = models.CharField(max_length=32, unique=True, null=True, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    issue_date = models.DateField(null=True, blank=True)
    language = models.CharField(max_length=8, default="en")
    currency = models.CharField(max_length=3)
    seller = models.JSONField()
    buyer = models.JSONField()
    vat_treatment = models.CharField(max_length=20, choices=VatTreatment.choices)
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2)
    vat_country = models.CharField(max_length=2, blank=True)
    vat_note = models.TextField(blank=True)
    subtotal_cents = models.BigIntegerField()
    tax_cents = models.BigIntegerField()
    total_cents = models.BigIntegerField()
    # The VAT in euros for a document in another currency (Art. 230), at the ECB rate of
    # ``eur_rate_date``; null when no VAT is charged, the currency is EUR or no rate was known.
    vat_eur_cents = models.BigIntegerField(null=True, blank=True)
    eur_rate = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    eur_rate_date = models.DateField(null=True, blank=True)
    # A credit note names the invoice it cancels; a re-issued invoice the one it replaces.
    credits = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="credit_notes")
    replaces = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="replacements")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["issued_at", "pk"]
        indexes = [models.Index(fields=["account", "kind", "issued_at"])]

    def __str__(self) -> str:
        return self.number or f"draft {self.kind} {self.pk}"

    @property
    def is_finalised(self) -> bool:
        return self.number is not None

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and type(self).objects.filter(
            pk=self.pk, number__isnull=False
        ).exists():
            raise FinalisedDocumentError(f"{self} is finalised and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if self.is_finalised:
            raise FinalisedDocumentError(f"{self} is finalised and cannot be deleted.")
        return super().delete(*args, **kwargs)


class DocumentLine(TenantModel):
    """One line of a document: ``amount = round_half_up(quantity * unit * proration)``,
    the proration being ``days_left / days_in_period`` (both null for a whole period).
    ``period_end`` is the last day the line pays for."""

    class Item(models.TextChoices):
        PLAN = "plan", _("Plan for a period")
        PRORATION = "proration", _("Change inside a period")
        PREPAID_CREDIT = "prepaid_credit", _("Prepaid credit")
        EXTRA_USERS = "extra_users", _("Agents beyond a lifetime code's seats, in arrears")

    document = models.ForeignKey(BillingDocument, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    item = models.CharField(max_length=16, choices=Item.choices)
    description = models.CharField(max_length=300)
    quantity = models.PositiveIntegerField()
    unit_cents = models.BigIntegerField()
    days_left = models.PositiveIntegerField(null=True, blank=True)
    days_in_period = models.PositiveIntegerField(null=True, blank=True)
    amount_cents = models.BigIntegerField()
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["document", "position"]
        constraints = [
            models.UniqueConstraint(fields=["document", "position"], name="one_line_per_position")
        ]

    def _refuse_if_finalised(self) -> None:
        if BillingDocument.objects.filter(pk=self.document_id, number__isnull=False).exists():
            raise FinalisedDocumentError("Lines of a finalised document cannot change.")

    def save(self, *args: Any, **kwargs: Any) -> None:
        self._refuse_if_finalised()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse_if_finalised()
        return super().delete(*args, **kwargs)


# --- Money moving -----------------------------------------------------------------------------


class Payment(TenantModel):
    """One attempt to collect an invoice through a gateway. Attempts are numbered per
    invoice (the unique pair stops two workers charging the same invoice twice)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Processing")
        SUCCEEDED = "succeeded", _("Paid")
        FAILED = "failed", _("Failed")

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(BillingDocument, on_delete=models.PROTECT,
                                related_name="payments")
    attempt = models.PositiveSmallIntegerField()
    method = models.ForeignKey(PaymentMethod, null=True, on_delete=models.PROTECT,
                               related_name="payments")
    gateway = models.CharField(max_length=20)
    reference = models.CharField(max_length=200, blank=True)
    amount_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    failure_message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "attempt"], name="one_payment_per_attempt")
        ]

    @property
    def idempotency_key(self) -> str:
        """Sent with the charge, so a retried request never charges twice."""
        return f"saruna-payment-{self.pk}"


class Refund(TenantModel):
    """Money given back through the gateway for a payment. The rules allow one kind only:
    50 % of unused prepaid credit when an account leaves early (terms §5)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Processing")
        SUCCEEDED = "succeeded", _("Refunded")
        FAILED = "failed", _("Failed")

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.TextField()
    reference = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # Gateway attempts so far and, while failed with attempts left, when the next is due.
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    failure_message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]


# --- Annual prepaid credit (terms §5) ------------------------------------------------------------

# A day of credit costs seats * the annual seat price / 365. Credit is counted in units of
# 1/365 cent, so a day's burn is a whole number of units and nothing is rounded on the way.
UNITS_PER_CENT = 365


class PrepaidCredit(TenantModel):
    """Credit bought ahead that pays for the subscription instead of period invoices.

    It waits for the end of the period already paid for, then burns ``seats * seat price per
    year / 365`` a day: fewer seats make it last longer, more seats shorter. While it runs, the
    subscription's current period is the credit's span (``prepaid.py``). Leaving before it is
    used up refunds half of the unused part; the other half is the cancellation fee."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Starts when the paid period ends")
        RUNNING = "running", _("In use")
        USED_UP = "used_up", _("Used up")
        ENDED_EARLY = "ended_early", _("Ended early, 50 % of the rest refunded")

    amount_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    # The annual seat price it burns at, fixed when it is bought.
    seat_year_cents = models.PositiveIntegerField()
    invoice = models.OneToOneField(BillingDocument, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.WAITING)
    created_at = models.DateTimeField(default=timezone.now)
    started_on = models.DateField(null=True, blank=True)
    # Units used before ``settled_on``; from that day on it burns at the current seats.
    used_units = models.BigIntegerField(default=0)
    settled_on = models.DateField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Leaving early: the unused part of what was paid, half refunded, half kept as the fee.
    unused_cents = models.BigIntegerField(null=True, blank=True)
    fee_cents = models.BigIntegerField(null=True, blank=True)
    refund = models.OneToOneField(Refund, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=Q(status__in=["waiting", "running"]),
                name="one_open_prepaid_credit",
            )
        ]

    def __str__(self) -> str:
        return f"prepaid credit {self.amount_cents} {self.currency} ({self.status})"

    @property
    def capacity_units(self) -> int:
        return self.amount_cents * UNITS_PER_CENT


# --- Lifetime codes (terms §6) -------------------------------------------------------------------


class CodeBatch(models.Model):
    """Codes sold elsewhere (the seed's AppSumo deal), imported together, each redeemable until
    the batch's deadline and never after."""

    name = models.CharField(_("name"), max_length=200)
    redeem_by = models.DateTimeField(_("redeem by"))
    imported_at = models.DateTimeField(default=timezone.now)
    imported_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        ordering = ["-imported_at", "-pk"]

    def __str__(self) -> str:
        return self.name


class LifetimeCode(models.Model):
    """One code, stored upper-case (codes are not case-sensitive). Redeemed at most once: its
    :class:`CodeRedemption` is unique per code."""

    batch = models.ForeignKey(CodeBatch, on_delete=models.PROTECT, related_name="codes")
    code = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class CodeRedemption(TenantModel):
    """The code an account redeemed. The unique code makes a code single use, the unique
    account makes codes not stack; both hold under concurrent redemptions."""

    code = models.OneToOneField(LifetimeCode, on_delete=models.PROTECT, related_name="redemption")
    redeemed_at = models.DateTimeField(default=timezone.now)
    # The provider found the code used for more than one account (terms §6).
    suspended_for_reuse_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account"], name="one_code_per_account")]

    def __str__(self) -> str:
        return self.code.code


class SeatInterval(TenantModel):
    """A stretch of time a user was active in a lifetime-code account: extra agents are billed
    by the days they existed in the month."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=Q(ended_at__isnull=True),
                                    name="one_open_seat_interval_per_user")
        ]
