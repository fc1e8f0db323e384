"""The billing simulator: a scenario (a customer and a timeline of events) runs through the
real billing code under a frozen clock, and every document, payment, refund, e-mail and the
account's state after each event come out as JSON. ``saruna billing simulate`` runs it on a
throw-away database; docs/billing.md describes the format.

Time only moves forward. Before each event the scheduled jobs (trial ends, renewals, retries
of failed charges) run at the moments they fall due, each as an entry of its own
(``"do": "jobs"``), as the worker would have run them. Payments go through the offline
gateway."""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import time_machine
from django.contrib.sessions.middleware import SessionMiddleware
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory, TestCase, override_settings
from django_scopes import scope

from saruna.accounts import actions as accounts
from saruna.accounts.models import User
from saruna.accounts.signup import create_account
from saruna.billing import actions, catalogue, codes, methods, payments, prepaid
from saruna.billing.gateways.offline import fail_next_charge
from saruna.billing.models import (
    BillingDocument,
    BillingProfile,
    ExchangeRate,
    Payment,
    PaymentMethod,
    PlanPrice,
    Refund,
    Subscription,
)
from saruna.billing.money import from_cents, to_cents
from saruna.core.models import Account, OutboundEmail, Plan

DEFAULT_CARD = "4242 4242 4242 4242"
CATALOGUE_START = datetime.date(2020, 1, 1)


class ScenarioError(ValueError):
    """The scenario cannot be run as written; the message names the event."""


def _money(cents: int) -> str:
    return str(from_cents(cents))


def _moment(value: str, where: str) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise ScenarioError(f"{where}: 'at' must be an ISO 8601 time, not {value!r}") from None
    if moment.tzinfo is None:
        raise ScenarioError(f"{where}: 'at' needs a time zone (such as Z)")
    return moment


def _timeline(scenario: dict[str, Any]) -> list[tuple[datetime.datetime, dict[str, Any]]]:
    """Each event with its time: ``at``, or the time of the event before it."""
    events = scenario.get("events")
    if not isinstance(events, list) or not events:
        raise ScenarioError("the scenario needs a list of events")
    timeline = []
    previous: datetime.datetime | None = None
    for index, event in enumerate(events, start=1):
        where = f"event {index}"
        if not isinstance(event, dict) or not isinstance(event.get("do"), str):
            raise ScenarioError(f"{where}: every event needs 'do'")
        name = event["do"]
        where = f"event {index} ({name})"
        if name not in Simulation.EVENTS:
            raise ScenarioError(f"{where}: unknown event; known: {', '.join(Simulation.EVENTS)}")
        if "at" in event:
            moment = _moment(event["at"], where)
        elif previous is None:
            raise ScenarioError(f"{where}: the first event needs 'at'")
        else:
            moment = previous
        if previous is not None and moment < previous:
            raise ScenarioError(f"{where}: events must be in time order")
        if index > 1 and name == "signup":
            raise ScenarioError(f"{where}: signup must be the first event")
        timeline.append((moment, event))
        previous = moment
    if timeline[0][1]["do"] != "signup":
        raise ScenarioError("event 1: the timeline starts with signup")
    return timeline


def check(scenario: dict[str, Any]) -> None:
    """Refuse a scenario that cannot run, before any database is made for it."""
    _timeline(scenario)


class ScenarioVies:
    """VIES as the scenario's ``"vies"`` map says (number → true/false); numbers it does
    not name stay "not verified yet". The simulator never asks the real VIES."""

    def __init__(self, answers: dict[str, bool]) -> None:
        self.answers = {number.replace(" ", "").upper(): valid for number, valid in answers.items()}

    def confirm(self, prefix: str, number: str) -> bool | None:
        return self.answers.get(prefix + number)


def _seller_settings(seller: dict[str, Any]) -> dict[str, Any]:
    names = {
        "name": "SARUNA_SELLER_NAME", "address": "SARUNA_SELLER_ADDRESS",
        "country": "SARUNA_SELLER_COUNTRY", "vat_id": "SARUNA_SELLER_VAT_ID",
        "registration_number": "SARUNA_SELLER_REGISTRATION_NUMBER",
        "email": "SARUNA_SELLER_EMAIL", "time_zone": "SARUNA_SELLER_TIME_ZONE",
    }
    unknown = set(seller) - set(names)
    if unknown:
        raise ScenarioError(f"seller: unknown fields {sorted(unknown)}")
    values = {names[key]: value for key, value in seller.items()}
    if isinstance(values.get("SARUNA_SELLER_ADDRESS"), str):
        values["SARUNA_SELLER_ADDRESS"] = [values["SARUNA_SELLER_ADDRESS"]]
    return values


def _set_catalogue(plans: dict[str, Any]) -> None:
    """Plans as the scenario wants them: ``{"code": {"name", "monthly", "annual",
    "max_agents", "currency"}}``; a plan without prices is free."""
    for code, spec in plans.items():
        plan, _created = Plan.objects.get_or_create(
            code=code, defaults={"name": spec.get("name", code), "max_agents": 100}
        )
        plan.name = spec.get("name", plan.name)
        plan.max_agents = spec.get("max_agents", plan.max_agents)
        plan.save()
        if "monthly" in spec or "annual" in spec:
            currency = spec.get("currency", "USD")
            PlanPrice.objects.filter(plan=plan, currency=currency).delete()
            PlanPrice.objects.create(
                plan=plan, currency=currency, effective_from=CATALOGUE_START,
                seat_month_cents=to_cents(spec["monthly"]),
                seat_year_cents=to_cents(spec["annual"]),
            )


def _as_committed(work: Callable[[], Any]) -> Any:
    """Run one step so that its after-commit work (collecting payments, sending mail) is
    done when it ends. Inside a caller's open transaction (a test) nothing commits, so
    that work runs at the end of the step just as a commit would run it."""
    if not connection.in_atomic_block:
        return work()
    with TestCase.captureOnCommitCallbacks(execute=True):
        return work()


class Simulation:
    EVENTS = (
        "signup", "add_card", "set_seats", "change_plan", "change_period", "add_agent",
        "remove_agent", "correct_billing_details", "set_vat_id", "payment_fails",
        "schedule_price_change", "cancel", "advance", "add_prepaid_credit", "redeem_code",
    )

    def __init__(self, scenario: dict[str, Any], clock: time_machine.Traveller) -> None:
        self.customer = scenario.get("customer", {})
        self.vies = ScenarioVies(scenario.get("vies", {}))
        self.clock = clock
        self.account: Account | None = None
        self.owner: User | None = None
        self.agents = 0
        self.entries: list[dict[str, Any]] = []
        self.seen: dict[str, set[int]] = {"documents": set(), "payments": set(),
                                          "refunds": set(), "emails": set()}

    # --- running --------------------------------------------------------------------------

    @contextmanager
    def _scope(self) -> Iterator[None]:
        if self.account is None:
            yield
        else:
            with scope(account=self.account):
                yield

    def run(self, moment: datetime.datetime, event: dict[str, Any]) -> None:
        self._run_jobs_until(moment)
        self.clock.move_to(moment)
        entry: dict[str, Any] = {"at": _iso(moment), "do": event["do"]}
        handler = getattr(self, "_" + event["do"])
        with self._scope():
            try:
                outcome = _as_committed(lambda: handler(event))
            except actions.BillingError as error:
                entry["refused"] = error.message
            except accounts.ActionError as error:
                entry["refused"] = error.message
            else:
                if outcome:
                    entry.update(outcome)
        self._report(entry)

    def _run_jobs_until(self, moment: datetime.datetime) -> None:
        if self.account is None:
            return
        last_due = None
        while True:
            with self._scope():
                subscription = Subscription.objects.get(account=self.account)
                due = min((at for at in (actions.next_job_at(subscription, self.account),
                                         payments.next_retry_for(self.account)) if at),
                          default=None)
            if due is None or due > moment:
                return
            if due == last_due:
                raise ScenarioError(f"the jobs due at {_iso(due)} did not move the subscription on")
            last_due = due
            self.clock.move_to(due)
            _as_committed(actions.run_due_jobs)
            _as_committed(payments.retry_failed_charges)
            self._report({"at": _iso(due), "do": "jobs"})

    def _report(self, entry: dict[str, Any]) -> None:
        assert self.account is not None
        self.account.refresh_from_db()
        with self._scope():
            entry["documents"] = [_document(d) for d in self._new(
                "documents", BillingDocument.objects.filter(account=self.account))]
            entry["payments"] = [_payment(p) for p in self._new(
                "payments", Payment.objects.filter(account=self.account))]
            entry["refunds"] = [_refund(r) for r in self._new(
                "refunds", Refund.objects.filter(account=self.account))]
            entry["emails"] = [{"to": mail.to, "subject": mail.subject} for mail in self._new(
                "emails", OutboundEmail.objects.filter(account=self.account))]
            entry["state"] = self._state()
        self.entries.append(entry)

    def _new(self, kind: str, rows: Any) -> list[Any]:
        found = [row for row in rows.order_by("pk") if row.pk not in self.seen[kind]]
        self.seen[kind].update(row.pk for row in found)
        return found

    def _state(self) -> dict[str, Any]:
        account = self.account
        assert account is not None
        subscription = Subscription.objects.get(account=account)
        profile = BillingProfile.objects.get(account=account)
        method = payments.method_in_use(account)
        due = payments.due_invoices(account)
        period = None
        if subscription.period_start and subscription.period_end:
            period = {"start": subscription.period_start.isoformat(),
                      "end": (subscription.period_end - datetime.timedelta(days=1)).isoformat()}
        return {
            "account": account.status,
            "subscription": subscription.status,
            "plan": subscription.plan.code,
            "period": subscription.cycle,
            "next_period": subscription.next_cycle or None,
            "seats": subscription.seats,
            "active_users": actions.active_users(account),
            "trial_ends_at": _iso(subscription.trial_ends_at),
            "current_period": period,
            "payment_method": method.label if method else None,
            "vat_id": profile.vat_number or None,
            "vat_status": profile.vat_status or None,
            "amount_due": _money(sum(invoice.total_cents for invoice in due)),
            "included_seats": subscription.included_seats,
            "prepaid_credit": _credit(prepaid.state(account, subscription)),
        }

    # --- events ---------------------------------------------------------------------------

    def _signup(self, event: dict[str, Any]) -> None:
        customer = self.customer
        plan = Plan.objects.filter(code=event.get("plan", catalogue.ALL_INCLUSIVE_PLAN)).first()
        if plan is None:
            raise ScenarioError(f"signup: no plan {event.get('plan')!r}")
        new = create_account(
            company=customer.get("company", "Customer Ltd"),
            full_name=customer.get("name", "Owner"),
            email=customer.get("email", "owner@customer.test"),
            password=secrets.token_urlsafe(16), verified=True, plan=plan,
        )
        account = new.account
        Account.objects.filter(pk=account.pk).update(time_zone=customer.get("time_zone", "UTC"))
        account.refresh_from_db()
        with scope(account=account):
            try:
                actions.update_billing_details(
                    account, vies=self.vies,
                    **_details(customer, name=new.owner.full_name, company=account.name),
                )
                actions.start_subscription(
                    account, plan=plan, cycle=event.get("period", "monthly"),
                    seats=event.get("seats", 1), currency=customer.get("currency", "USD"),
                )
            except actions.BillingError as error:
                raise ScenarioError(f"signup refused: {error.message}") from None
        self.account, self.owner = account, new.owner

    def _add_card(self, event: dict[str, Any]) -> None:
        assert self.account is not None
        token = event.get("card", DEFAULT_CARD)
        kind = PaymentMethod.Kind.PAYPAL if token.startswith("paypal:") else (
            PaymentMethod.Kind.CARD)
        methods.confirm_setup(self.account, kind, token)

    def _set_seats(self, event: dict[str, Any]) -> None:
        assert self.account is not None
        actions.set_seats(self.account, int(event["seats"]))

    def _change_plan(self, event: dict[str, Any]) -> None:
        assert self.account is not None
        actions.change_plan(self.account, Plan.objects.get(code=event["plan"]))

    def _change_period(self, event: dict[str, Any]) -> None:
        assert self.account is not None
        actions.change_cycle(self.account, event["period"])

    def _request(self) -> HttpRequest:
        """A request on the account's host, for the account actions that want one."""
        assert self.account is not None
        request = RequestFactory().post("/", HTTP_HOST=self.account.host)
        SessionMiddleware(lambda _request: HttpResponse()).process_request(request)
        request.account = self.account  # type: ignore[attr-defined]
        request.user = self.owner  # type: ignore[assignment]
        return request

    def _add_agent(self, event: dict[str, Any]) -> dict[str, Any]:
        """Invite an agent and have them accept, as people do."""
        assert self.owner is not None
        self.agents += 1
        email = event.get("email", f"agent{self.agents}@customer.test")
        invitation = accounts.invite_user(self._request(), email=email, role=User.Role.AGENT,
                                          invited_by=self.owner)
        accounts.accept_invitation(self._request(), invitation, full_name=f"Agent {self.agents}",
                                   password=secrets.token_urlsafe(16))
        return {"agent": email}

    def _remove_agent(self, event: dict[str, Any]) -> dict[str, Any]:
        """Deactivate the agent named by ``email``, or the one added last."""
        assert self.account is not None and self.owner is not None
        agents = User.objects.filter(account=self.account, is_active=True).exclude(
            role=User.Role.OWNER)
        if "email" in event:
            agents = agents.filter(email=event["email"])
        agent = agents.order_by("-date_joined", "-pk").first()
        if agent is None:
            raise actions.BillingError("There is no agent to remove.")
        accounts.deactivate_user(self._request(), agent, actor=self.owner)
        return {"agent": agent.email}

    def _correct_billing_details(self, event: dict[str, Any]) -> dict[str, Any] | None:
        assert self.account is not None
        details = _details({k: v for k, v in event.items() if k not in ("do", "at")})
        correction = actions.correct_billing_details(self.account, vies=self.vies, **details)
        return {"refused": correction.refused} if correction.refused else None

    def _set_vat_id(self, event: dict[str, Any]) -> None:
        assert self.account is not None
        actions.update_billing_details(self.account, vies=self.vies,
                                       vat_number=event.get("vat_id") or "")

    def _payment_fails(self, event: dict[str, Any]) -> None:
        assert self.account is not None
        fail_next_charge(self.account)

    def _schedule_price_change(self, event: dict[str, Any]) -> None:
        try:
            catalogue.schedule_price_change(
                Plan.objects.get(code=event["plan"]), currency=event.get("currency", "USD"),
                seat_month=event["monthly"], seat_year=event["annual"],
                effective_from=datetime.date.fromisoformat(event["effective"]),
            )
        except catalogue.CatalogueError as error:
            raise actions.BillingError(str(error)) from None

    def _cancel(self, event: dict[str, Any]) -> None:
        assert self.account is not None
        actions.cancel(self.account)

    def _advance(self, event: dict[str, Any]) -> None:
        """Nothing but the jobs up to its time, which every event runs first."""

    def _add_prepaid_credit(self, event: dict[str, Any]) -> None:
        assert self.account is not None
        prepaid.add_prepaid_credit(self.account, event.get("amount", ""))

    def _redeem_code(self, event: dict[str, Any]) -> None:
        assert self.account is not None
        codes.redeem_code(self.account, event.get("code", ""))


def _set_exchange_rates(rates: dict[str, dict[str, str]]) -> None:
    """``{"2026-01-02": {"USD": "1.0812"}}``: ECB rates per euro, as the daily file gives them."""
    for day, per_currency in rates.items():
        for currency, rate in per_currency.items():
            ExchangeRate.objects.create(currency=currency.upper(),
                                        date=datetime.date.fromisoformat(day), rate=Decimal(rate))


def _import_code_batches(batches: list[dict[str, Any]]) -> None:
    """``[{"name", "redeem_by", "codes": [...]}]``: lifetime codes as the provider imports
    them."""
    for index, batch in enumerate(batches, start=1):
        where = f"code batch {index}"
        try:
            codes.import_codes(
                name=batch.get("name", where),
                redeem_by=_moment(batch.get("redeem_by", ""), where),
                csv_text="\n".join(batch.get("codes", [])),
            )
        except codes.CodeImportError as error:
            raise ScenarioError(f"{where}: {error}") from None


def _details(source: dict[str, Any], **defaults: Any) -> dict[str, Any]:
    """Billing details in the scenario's words → the profile's fields."""
    names = {"name": "name", "company": "company", "address": "address_lines",
             "country": "country", "email": "email", "vat_id": "vat_number",
             "registration_number": "registration_number"}
    details = {names[key]: value for key, value in source.items() if key in names}
    unknown = set(source) - set(names) - {"currency", "time_zone"}
    if unknown:
        raise ScenarioError(f"unknown billing details {sorted(unknown)}")
    if isinstance(details.get("address_lines"), str):
        details["address_lines"] = [details["address_lines"]]
    for key, value in defaults.items():
        details.setdefault(key, value)
    return details


def _iso(moment: datetime.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def _document(document: BillingDocument) -> dict[str, Any]:
    return {
        "type": document.kind,
        "number": document.number,
        "issued_at": _iso(document.issued_at),
        "credits": document.credits.number if document.credits else None,
        "replaces": document.replaces.number if document.replaces else None,
        "buyer": document.buyer,
        "lines": [
            {
                "description": line.description,
                "quantity": line.quantity,
                "unit_amount": _money(line.unit_cents),
                "proration": (f"{line.days_left}/{line.days_in_period}"
                              if line.days_left is not None else None),
                "amount": _money(line.amount_cents),
                "period_start": line.period_start.isoformat() if line.period_start else None,
                "period_end": line.period_end.isoformat() if line.period_end else None,
            }
            for line in document.lines.all()
        ],
        "subtotal": _money(document.subtotal_cents),
        "vat_treatment": document.vat_treatment,
        "vat_rate": str(Decimal(document.vat_rate).normalize()),
        "tax": _money(document.tax_cents),
        "total": _money(document.total_cents),
        "currency": document.currency,
        **_vat_in_eur(document),
    }


def _vat_in_eur(document: BillingDocument) -> dict[str, str]:
    if document.vat_eur_cents is None or document.eur_rate is None \
            or document.eur_rate_date is None:
        return {}
    return {"vat_eur": _money(document.vat_eur_cents),
            "eur_rate": str(Decimal(document.eur_rate).normalize()),
            "eur_rate_date": document.eur_rate_date.isoformat()}


def _payment(payment: Payment) -> dict[str, Any]:
    return {
        "invoice": payment.invoice.number,
        "attempt": payment.attempt,
        "amount": _money(payment.amount_cents),
        "currency": payment.currency,
        "status": payment.status,
        "message": payment.failure_message or None,
    }


def _credit(state: prepaid.CreditState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return {"status": state.credit.status, "amount": _money(state.credit.amount_cents),
            "left": _money(state.left_cents), "starts_on": state.starts_on.isoformat(),
            "last_day": state.last_day.isoformat()}


def _refund(refund: Refund) -> dict[str, Any]:
    return {
        "invoice": refund.payment.invoice.number,
        "amount": _money(refund.amount_cents),
        "currency": refund.currency,
        "reason": refund.reason,
        "status": refund.status,
    }


def simulate(scenario: dict[str, Any]) -> dict[str, Any]:
    """Run ``scenario`` against the database in use (the command gives it a throw-away one)
    and return what happened."""
    timeline = _timeline(scenario)
    # Money only ever moves through the offline gateway here, whatever the installation uses.
    gateways = {"SARUNA_PAYMENT_GATEWAY": "offline", "SARUNA_PAYPAL_CLIENT_ID": ""}
    with override_settings(**_seller_settings(scenario.get("seller", {})), **gateways), \
            time_machine.travel(timeline[0][0], tick=False) as clock:
        _set_catalogue(scenario.get("plans", {}))
        _import_code_batches(scenario.get("code_batches", []))
        _set_exchange_rates(scenario.get("ecb_rates", {}))
        simulation = Simulation(scenario, clock)
        for moment, event in timeline:
            simulation.run(moment, event)
    return {
        "events": simulation.entries,
        "documents": [d for entry in simulation.entries for d in entry["documents"]],
        "payments": [p for entry in simulation.entries for p in entry["payments"]],
        "refunds": [r for entry in simulation.entries for r in entry["refunds"]],
    }
