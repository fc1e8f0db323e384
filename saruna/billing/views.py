"""Billing screens.

- "My account" on an account's host (``/account/``): the owner's only. It shows money and
  payment methods and changes what the account pays, so administrators and agents get 403
  like any page they may not open. On an account suspended for billing, the owner can still
  log in and reach it to add a payment method or billing details
  (:func:`open_while_suspended`, asked by ``SuspendedAccountMiddleware``).
- The lifetime-code signup on the base domain (``/signup/code/``).
- The provider's billing tools on the base domain (``/provider/billing/``), staff only.

Views read and hand every write to actions, prepaid, codes or provider.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_scopes import scope, scopes_disabled

from saruna.accounts.decorators import View
from saruna.accounts.models import User
from saruna.accounts.support_views import provider_staff_required
from saruna.billing import (
    actions,
    catalogue,
    codes,
    documents,
    methods,
    payments,
    pdf,
    prepaid,
    vat,
)
from saruna.billing.forms import (
    BillingDetailsForm,
    CancelAccountForm,
    CodeImportForm,
    CodeSignupForm,
    CreditNoteForm,
    LimitOverrideForm,
    PaymentMethodForm,
    PrepaidCreditForm,
    ReasonForm,
    SubscriptionForm,
)
from saruna.billing.gateways import gateway_for
from saruna.billing.gateways.offline import OfflineGateway
from saruna.billing.models import (
    BillingDocument,
    BillingProfile,
    CodeBatch,
    CodeRedemption,
    LifetimeCode,
    LimitOverride,
    Payment,
    PaymentMethod,
    Refund,
    Subscription,
)
from saruna.billing.money import format_amount, percent_of
from saruna.billing.periods import local_date
from saruna.billing.provider import (
    LIMIT_FIELDS,
    enterprise_candidates,
    failed_refunds,
    issue_credit_note,
    override_limits,
)
from saruna.core import closing
from saruna.core.models import Account, AccountClosure, Plan
from saruna.web.views import signup_page

# --- Suspended accounts --------------------------------------------------------------------------

# Why an account is suspended, as far as billing knows.
HOLD_PAYMENT = "payment"  # the trial ended without a payment method, or payments failed
HOLD_LIFETIME_DETAILS = "lifetime_details"  # extra agents wait for full details and a method
HOLD_CODE_REUSE = "code_reuse"  # the provider found the lifetime code reused
OWNER_CAN_RESTORE = (HOLD_PAYMENT, HOLD_LIFETIME_DETAILS)


def billing_hold(account: Account) -> str:
    """The billing reason a suspended account is suspended, or "" when it is not billing's."""
    subscription = Subscription.objects.filter(account=account).first()
    if subscription is None or subscription.status != Subscription.Status.SUSPENDED:
        return ""
    if codes.suspended_for_reuse(account):
        return HOLD_CODE_REUSE
    if subscription.is_lifetime and not codes.ready_to_pay(account):
        return HOLD_LIFETIME_DETAILS
    return HOLD_PAYMENT


def open_while_suspended(request: HttpRequest) -> bool:
    """On an account suspended for billing, the login pages and, for its owner, "My account"
    stay open, so the owner can restore it. Everyone else still sees why it is closed."""
    account: Account = request.account  # type: ignore[attr-defined]
    path = request.path
    # Middleware runs before the request's URLconf is in force: name the tenant's.
    login_pages = [reverse(name, urlconf=settings.SARUNA_TENANT_URLCONF)
                   for name in ("login", "login_totp", "concurrent_login")]
    if path not in login_pages and not path.startswith(
        reverse("my_account", urlconf=settings.SARUNA_TENANT_URLCONF)
    ):
        return False
    if billing_hold(account) not in OWNER_CAN_RESTORE:
        return False
    return path in login_pages or (request.user.is_authenticated
                                   and request.user.is_owner)  # type: ignore[union-attr]


# --- My account ----------------------------------------------------------------------------------


def owner_required(view: View) -> View:
    """The account owner only: others logged in get 403, strangers the login page."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_owner:  # type: ignore[union-attr]
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class NextCharge:
    on: datetime.date | None  # None: when a payment method is added (in the trial)
    subtotal_cents: int
    tax_cents: int
    currency: str

    @property
    def subtotal(self) -> str:
        return format_amount(self.subtotal_cents, self.currency)

    @property
    def tax(self) -> str:
        return format_amount(self.tax_cents, self.currency)

    @property
    def total(self) -> str:
        return format_amount(self.subtotal_cents + self.tax_cents, self.currency)


def next_charge(account: Account, subscription: Subscription,
                profile: BillingProfile) -> NextCharge | None:
    """What the next period invoice will be: its day and amount with today's VAT. Lifetime
    accounts have none (their extra agents are invoiced by days, in arrears)."""
    if subscription.is_lifetime:
        return None
    if subscription.status == Subscription.Status.TRIALING:
        on, priced_on = None, local_date(account)
    elif subscription.status in actions.BILLED and subscription.period_end is not None:
        on = priced_on = subscription.period_end
    else:
        return None
    price = catalogue.price_on(subscription.plan, subscription.currency, priced_on)
    if price is None:
        return None
    subtotal = subscription.seats * price.seat_cents(subscription.next_cycle
                                                     or subscription.cycle)
    with translation.override(account.language):
        treatment = vat.treatment(buyer_country=profile.country, vat_number=profile.vat_number,
                                  vat_status=profile.vat_status, on=documents.seller_today())
    return NextCharge(on, subtotal, percent_of(subtotal, treatment.rate), subscription.currency)


def _my_account_page(request: HttpRequest, *, status: int = 200,
                     **forms: Any) -> HttpResponse:
    account: Account = request.account  # type: ignore[attr-defined]
    subscription = Subscription.objects.select_related("plan").filter(account=account).first()
    profile = (BillingProfile.objects.filter(account=account).first()
               or BillingProfile(account=account))
    context: dict[str, Any] = {
        "subscription": subscription,
        "profile": profile,
        "users": actions.active_users(account),
        "method": payments.method_in_use(account),
        "documents": [
            (document, format_amount(document.total_cents, document.currency))
            for document in BillingDocument.objects.filter(account=account, number__isnull=False)
            .select_related("credits", "replaces").order_by("-issued_at", "-pk")
        ],
        "payments": [
            (payment, format_amount(payment.amount_cents, payment.currency))
            for payment in Payment.objects.filter(account=account)
            .select_related("invoice", "method").order_by("-created_at", "-pk")
        ],
        "refunds": [
            (refund, format_amount(refund.amount_cents, refund.currency))
            for refund in Refund.objects.filter(account=account)
            .select_related("payment__invoice").order_by("-created_at", "-pk")
        ],
        "correction": actions.correction_window(account),
        "details_form": forms.get("details_form") or BillingDetailsForm(profile=profile),
        "method_form": forms.get("method_form") or PaymentMethodForm(),
        # Card numbers are typed into Saruna only for the offline gateway, which moves no
        # money; a real gateway's own form takes them (methods.begin_setup).
        "offline_gateway": OfflineGateway.name == settings.SARUNA_PAYMENT_GATEWAY,
        "setup_gateways": _setup_gateways(),
        "hold": billing_hold(account) if account.status == Account.Status.SUSPENDED else "",
        "display_tz": request.user.time_zone or account.time_zone,  # type: ignore[union-attr]
    }
    if subscription is not None:
        context.update(_subscription_context(account, subscription, profile, forms))
    return render(request, "billing/my_account.html", context, status=status)


def _subscription_context(account: Account, subscription: Subscription,
                          profile: BillingProfile, forms: dict[str, Any]) -> dict[str, Any]:
    credit = prepaid.state(account, subscription)
    context: dict[str, Any] = {
        "next_charge": next_charge(account, subscription, profile),
        "credit": credit,
        "credit_left": format_amount(credit.left_cents, credit.credit.currency) if credit else "",
        "credit_amount": (format_amount(credit.credit.amount_cents, credit.credit.currency)
                          if credit else ""),
        "last_day": (subscription.period_end - datetime.timedelta(days=1)
                     if subscription.period_end else None),
    }
    price = catalogue.price_on(subscription.plan, subscription.currency, local_date(account))
    if subscription.is_lifetime:
        context["redemption"] = CodeRedemption.objects.select_related("code").filter(
            account=account).first()
        context["extra_price"] = (format_amount(price.seat_month_cents, subscription.currency)
                                  if price else "")
        context["missing"] = codes.missing_detail_labels(account) + (
            [] if payments.method_in_use(account) else [_("a payment method")])
        return context
    context["subscription_form"] = forms.get("subscription_form") or SubscriptionForm(initial={
        "plan": subscription.plan.code, "cycle": subscription.next_cycle or subscription.cycle,
        "seats": subscription.seats,
    })
    if price is not None and subscription.status == Subscription.Status.ACTIVE:
        year = subscription.seats * price.seat_year_cents
        context["prepaid_form"] = forms.get("prepaid_form") or PrepaidCreditForm(
            initial={"amount": f"{year / 100:.2f}"})
    return context


@owner_required
@require_GET
def my_account(request: HttpRequest) -> HttpResponse:
    return _my_account_page(request)


def _refused(request: HttpRequest, error: actions.BillingError) -> HttpResponse:
    messages.error(request, error.message)
    return redirect("my_account")


@owner_required
@require_POST
def billing_details(request: HttpRequest) -> HttpResponse:
    """Save the billing details, for the next invoice or, within the 15 days and when the owner
    asks, as a correction of the last one (a credit note and a re-issued invoice)."""
    account: Account = request.account  # type: ignore[attr-defined]
    form = BillingDetailsForm(request.POST, profile=documents.billing_profile(account))
    if not form.is_valid():
        return _my_account_page(request, details_form=form, status=400)
    owner: User = request.user  # type: ignore[assignment]
    try:
        if request.POST.get("intent") == "correct":
            correction = actions.correct_billing_details(account, actor=owner, **form.details())
        else:
            actions.update_billing_details(account, actor=owner, **form.details())
            correction = None
    except actions.BillingError as error:  # the details are saved unless the VAT number is bad
        form.add_error("vat_number", error.message)
        return _my_account_page(request, details_form=form, status=400)
    if correction is not None and correction.refused:
        messages.error(request, correction.refused)
    elif correction is not None and correction.credit_note is not None:
        assert correction.invoice is not None
        messages.success(request, _(
            "Billing details corrected: credit note %(credit_note)s cancels the invoice, and "
            "%(invoice)s replaces it with the new details."
        ) % {"credit_note": correction.credit_note.number, "invoice": correction.invoice.number})
    else:
        messages.success(request, _("Billing details saved. They apply from the next invoice."))
    return redirect("my_account")


# Stripe and PayPal take the card or the PayPal login on their own element or page; Saruna
# starts the setup and confirms what the gateway hands back. The session keeps the PayPal
# setup token it started, for the return.
PAYPAL_SETUP_KEY = "billing_paypal_setup"


def _setup_gateways() -> dict[str, str]:
    """The gateway that takes each kind of payment method offered, by kind."""
    return {kind: gateway_for(kind).name for kind in methods.kinds_offered()}


def _require_gateway(kind: str, name: str) -> None:
    if _setup_gateways().get(kind) != name:
        raise Http404


def _now_in_use(request: HttpRequest, method: PaymentMethod) -> None:
    messages.success(request, _("%(method)s is now the payment method.") % {
        "method": method.label})


@owner_required
@require_POST
def payment_method(request: HttpRequest) -> HttpResponse:
    """The offline gateway's form: a test card number or ``paypal:<e-mail>`` becomes the
    payment method in use. During the trial this ends it and invoices at once."""
    account: Account = request.account  # type: ignore[attr-defined]
    form = PaymentMethodForm(request.POST)
    if not form.is_valid():
        return _my_account_page(request, method_form=form, status=400)
    token = form.cleaned_data["token"].strip()
    kind = PaymentMethod.Kind.PAYPAL if token.startswith("paypal:") else PaymentMethod.Kind.CARD
    try:
        method = methods.confirm_setup(account, kind, token,
                                       actor=request.user)  # type: ignore[arg-type]
    except actions.BillingError as error:
        form.add_error("token", error.message)
        return _my_account_page(request, method_form=form, status=400)
    _now_in_use(request, method)
    return redirect("my_account")


@owner_required
@require_POST
def card_setup(request: HttpRequest) -> JsonResponse:
    """Start a Stripe SetupIntent; billing/card.js confirms it with Stripe.js in the browser,
    so the card number goes from the browser to Stripe only."""
    _require_gateway(PaymentMethod.Kind.CARD, "stripe")
    try:
        setup = methods.begin_setup(request.account,  # type: ignore[attr-defined]
                                    PaymentMethod.Kind.CARD)
    except actions.BillingError as error:
        return JsonResponse({"error": error.message}, status=400)
    return JsonResponse({"client_secret": setup.client_secret,
                         "publishable_key": setup.publishable_key,
                         "script_url": setup.script_url})


@owner_required
@require_POST
def card_confirm(request: HttpRequest) -> JsonResponse:
    """Save the card of a SetupIntent the browser confirmed. Stripe's metadata names the
    account, so another account's SetupIntent is refused by the gateway."""
    _require_gateway(PaymentMethod.Kind.CARD, "stripe")
    token = request.POST.get("setup_intent", "").strip()
    if not token:
        return JsonResponse({"error": _("The card has not been confirmed yet.")}, status=400)
    try:
        method = methods.confirm_setup(request.account,  # type: ignore[attr-defined]
                                       PaymentMethod.Kind.CARD, token,
                                       actor=request.user)  # type: ignore[arg-type]
    except actions.BillingError as error:
        return JsonResponse({"error": error.message}, status=400)
    _now_in_use(request, method)
    return JsonResponse({"next": reverse("my_account")})


@owner_required
@require_POST
def paypal_setup(request: HttpRequest) -> HttpResponse:
    """Send the owner to PayPal to approve Saruna charging their PayPal account."""
    _require_gateway(PaymentMethod.Kind.PAYPAL, "paypal")
    try:
        setup = methods.begin_setup(
            request.account, PaymentMethod.Kind.PAYPAL,  # type: ignore[attr-defined]
            return_url=request.build_absolute_uri(reverse("paypal_return")),
            cancel_url=request.build_absolute_uri(reverse("paypal_cancel")),
        )
    except actions.BillingError as error:
        return _refused(request, error)
    request.session[PAYPAL_SETUP_KEY] = setup.token
    return redirect(setup.approve_url)


@owner_required
@require_GET
def paypal_return(request: HttpRequest) -> HttpResponse:
    """PayPal sends the owner back here once they agree. The return is a plain GET anyone
    could link to, so only the approval this session started is confirmed."""
    _require_gateway(PaymentMethod.Kind.PAYPAL, "paypal")
    started = request.session.pop(PAYPAL_SETUP_KEY, None)
    token = request.GET.get("approval_token_id", "")
    if not token or token != started:
        messages.error(request, _("This PayPal approval was not started here. Choose "
                                  "“Use PayPal instead” to start again."))
        return _my_account_page(request, status=400)
    try:
        method = methods.confirm_setup(request.account,  # type: ignore[attr-defined]
                                       PaymentMethod.Kind.PAYPAL, token,
                                       actor=request.user)  # type: ignore[arg-type]
    except actions.BillingError as error:
        messages.error(request, error.message)
        return _my_account_page(request, status=400)
    _now_in_use(request, method)
    return redirect("my_account")


@owner_required
@require_GET
def paypal_cancel(request: HttpRequest) -> HttpResponse:
    request.session.pop(PAYPAL_SETUP_KEY, None)
    messages.info(request, _("PayPal was not set up: the payment method is unchanged."))
    return redirect("my_account")


@owner_required
@require_POST
def change_subscription(request: HttpRequest) -> HttpResponse:
    """Plan, billing period and seats in one go: all of them change, or none."""
    account: Account = request.account  # type: ignore[attr-defined]
    form = SubscriptionForm(request.POST)
    if not form.is_valid():
        return _my_account_page(request, subscription_form=form, status=400)
    owner: User = request.user  # type: ignore[assignment]
    plan: Plan = form.cleaned_data["plan"]
    try:
        with transaction.atomic():
            actions.change_plan(account, plan, actor=owner)
            actions.change_cycle(account, form.cleaned_data["cycle"], actor=owner)
            actions.set_seats(account, form.cleaned_data["seats"], actor=owner)
    except actions.BillingError as error:
        form.add_error(None, error.message)
        return _my_account_page(request, subscription_form=form, status=400)
    messages.success(request, _("Subscription updated."))
    return redirect("my_account")


@owner_required
@require_POST
def prepaid_credit(request: HttpRequest) -> HttpResponse:
    account: Account = request.account  # type: ignore[attr-defined]
    form = PrepaidCreditForm(request.POST)
    if not form.is_valid():
        return _my_account_page(request, prepaid_form=form, status=400)
    try:
        credit = prepaid.add_prepaid_credit(account, form.cleaned_data["amount"],
                                            actor=request.user)  # type: ignore[arg-type]
    except actions.BillingError as error:
        return _refused(request, error)
    messages.success(request, _("Prepaid credit added: invoice %(number)s.") % {
        "number": credit.invoice.number})
    return redirect("my_account")


@owner_required
@require_http_methods(["GET", "POST"])
def cancel_account(request: HttpRequest) -> HttpResponse:
    """Terms §8: closes at once, charges nothing more and deletes all content for good, once
    the owner has typed the account's address and their password."""
    account: Account = request.account  # type: ignore[attr-defined]
    owner: User = request.user  # type: ignore[assignment]
    form = CancelAccountForm(request.POST or None, account=account, user=owner)
    if request.method == "POST" and form.is_valid():
        closing.close_and_erase(account, reason=AccountClosure.Reason.CANCELLED, actor=owner)
        logout(request)
        return render(request, "billing/cancelled.html", {"name": account.name})
    return render(request, "billing/cancel_account.html", {"form": form},
                  status=400 if form.errors else 200)


@owner_required
@require_GET
def document_pdf(request: HttpRequest, number: str) -> HttpResponse:
    document = get_object_or_404(BillingDocument, account=request.account,  # type: ignore[attr-defined]
                                 number=number)
    response = HttpResponse(pdf.render(document), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document.number}.pdf"'
    return response


# --- The lifetime-code signup (base domain) ------------------------------------------------------


@require_http_methods(["GET", "POST"])
def code_signup(request: HttpRequest) -> HttpResponse:
    return signup_page(
        request, CodeSignupForm(request.POST or None), "billing/code_signup.html",
        lambda data: codes.signup_with_code(
            code=data["code"], company=data["company"], full_name=data["full_name"],
            email=data["email"], password=data["password"],
            slug=data["subdomain"] or None, request=request,
        ),
    )


# --- The provider's tools (base domain, staff) ---------------------------------------------------


@provider_staff_required
@require_GET
def provider_billing(request: HttpRequest) -> HttpResponse:
    slug = request.GET.get("account", "").strip().lower()
    if slug:
        if Account.objects.filter(slug=slug).exists():
            return redirect("provider_billing_account", slug=slug)
        messages.error(request, _("There is no account %(slug)s.") % {"slug": slug})
    return render(request, "billing/provider/index.html", {
        "candidates": enterprise_candidates(),
        "failed_refunds": [(refund, format_amount(refund.amount_cents, refund.currency))
                           for refund in failed_refunds()],
        "end_users_threshold": settings.SARUNA_ENTERPRISE_END_USERS,
        "tickets_threshold": settings.SARUNA_ENTERPRISE_TICKETS_PER_AGENT,
    })


def _provider_account_page(request: HttpRequest, account: Account, *, status: int = 200,
                           **forms: Any) -> HttpResponse:
    # The provider looks at one account at a time, inside that account's scope.
    with scope(account=account):
        override = LimitOverride.objects.filter(account=account).first()
        context = {
            "customer": account,
            "subscription": Subscription.objects.select_related("plan").filter(
                account=account).first(),
            "limits": catalogue.limits_of(account),
            "invoices": [
                (invoice, format_amount(invoice.total_cents, invoice.currency))
                for invoice in BillingDocument.objects.filter(
                    account=account, kind=BillingDocument.Kind.INVOICE, number__isnull=False,
                ).annotate(cancelled=Count("credit_notes")).order_by("-issued_at", "-pk")
            ],
            "redemption": CodeRedemption.objects.select_related("code__batch").filter(
                account=account).first(),
            "limits_form": forms.get("limits_form") or LimitOverrideForm(initial={
                "max_agents": account.max_agents_override,
                **{name: getattr(override, name, None) for name in LIMIT_FIELDS},
            }),
            "credit_note_form": forms.get("credit_note_form") or CreditNoteForm(),
            "reuse_form": forms.get("reuse_form") or ReasonForm(),
        }
    return render(request, "billing/provider/account.html", context, status=status)


def _provider_account(slug: str) -> Account:
    account = Account.objects.filter(slug=slug).first()
    if account is None:
        raise Http404
    return account


@provider_staff_required
@require_GET
def provider_billing_account(request: HttpRequest, slug: str) -> HttpResponse:
    return _provider_account_page(request, _provider_account(slug))


@provider_staff_required
@require_POST
def provider_override_limits(request: HttpRequest, slug: str) -> HttpResponse:
    account = _provider_account(slug)
    form = LimitOverrideForm(request.POST)
    if not form.is_valid():
        return _provider_account_page(request, account, limits_form=form, status=400)
    with scope(account=account):
        override_limits(account, staff=request.user,  # type: ignore[arg-type]
                        **form.cleaned_data)
    messages.success(request, _("Limits saved."))
    return redirect("provider_billing_account", slug=slug)


@provider_staff_required
@require_POST
def provider_credit_note(request: HttpRequest, slug: str) -> HttpResponse:
    account = _provider_account(slug)
    form = CreditNoteForm(request.POST)
    if form.is_valid():
        try:
            with scope(account=account):
                credit_note = issue_credit_note(
                    account, form.cleaned_data["invoice"], staff=request.user,  # type: ignore[arg-type]
                    reason=form.cleaned_data["reason"])
        except actions.BillingError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Credit note %(number)s issued.") % {
                "number": credit_note.number})
            return redirect("provider_billing_account", slug=slug)
    return _provider_account_page(request, account, credit_note_form=form, status=400)


@provider_staff_required
@require_POST
def provider_code_reuse(request: HttpRequest, slug: str) -> HttpResponse:
    account = _provider_account(slug)
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            with scope(account=account):
                codes.suspend_for_code_reuse(account, staff=request.user,  # type: ignore[arg-type]
                                             reason=form.cleaned_data["reason"])
        except actions.BillingError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Account suspended for code reuse."))
            return redirect("provider_billing_account", slug=slug)
    return _provider_account_page(request, account, reuse_form=form, status=400)


@provider_staff_required
@require_http_methods(["GET", "POST"])
def provider_codes(request: HttpRequest) -> HttpResponse:
    form = CodeImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            batch = codes.import_codes(
                name=form.cleaned_data["name"], redeem_by=form.cleaned_data["redeem_by"],
                csv_text=form.cleaned_data["file"], staff=request.user,  # type: ignore[arg-type]
            )
        except codes.CodeImportError as error:
            form.add_error("file", str(error))
        else:
            messages.success(request, _("Imported %(count)d codes into %(batch)s.") % {
                "count": batch.codes.count(), "batch": batch.name})
            return redirect("provider_codes")
    query = codes.normalise(request.GET.get("code", ""))
    # Counts per batch, and who redeemed a code the provider looks up (a reported reuse):
    # the provider's view across accounts, nothing of their content.
    with scopes_disabled():
        batches = list(CodeBatch.objects.annotate(total=Count("codes"),
                                                  redeemed=Count("codes__redemption")))
        found = LifetimeCode.objects.select_related("batch").filter(code=query).first()
        redemption = CodeRedemption.objects.select_related("account").filter(
            code=found).first() if found else None
    return render(request, "billing/provider/codes.html", {
        "form": form, "batches": batches, "query": query, "found": found,
        "redemption": redemption,
    }, status=400 if form.errors else 200)
