"""PayPal accounts through PayPal's REST API, with ``requests``.

The owner approves Saruna once on PayPal's page (a vault setup token), Saruna turns the
approved setup token into a payment token (``/v3/vault/payment-tokens``), and each charge is
an order paid with that token and captured at once (``/v2/checkout/orders`` with
``payment_source.paypal.vault_id``). Every write carries ``PayPal-Request-Id``, so a retried
request never charges twice. ``SARUNA_PAYPAL_API_BASE`` points elsewhere (the sandbox, or the
tests' fake)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import requests
from django.conf import settings
from django.utils.translation import gettext as _

from saruna.billing.gateways import setting
from saruna.billing.gateways.base import (
    GatewayError,
    Outcome,
    PaymentGateway,
    PendingSetup,
    SavedMethod,
)
from saruna.billing.models import PaymentMethod
from saruna.billing.money import from_cents

if TYPE_CHECKING:
    from saruna.billing.models import Payment
    from saruna.core.models import Account

TIMEOUT_SECONDS = 30
# A capture PayPal accepted but has not settled ("PENDING") is money on its way; treating it
# as unpaid would charge the invoice a second time.
PAID = ("COMPLETED", "PENDING")
# Charges Saruna makes on its own schedule with the payer's standing approval.
STORED_CREDENTIAL = {"payment_initiator": "MERCHANT", "usage": "SUBSEQUENT",
                     "usage_pattern": "SUBSCRIPTION_PREPAID"}


def _problem(response: requests.Response) -> str:
    """PayPal's own words for a refused request: the first detail's description."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    details = body.get("details") or [{}]
    return str(details[0].get("description") or body.get("message")
               or body.get("error_description") or f"HTTP {response.status_code}")


class PayPalGateway(PaymentGateway):
    name = "paypal"
    kinds = frozenset({PaymentMethod.Kind.PAYPAL})

    def __init__(self) -> None:
        self.client_id = setting("SARUNA_PAYPAL_CLIENT_ID")
        self.client_secret = setting("SARUNA_PAYPAL_CLIENT_SECRET")
        if not self.client_id:
            raise GatewayError(_("PayPal payments are not set up (no client id)."))
        self.api_base = setting("SARUNA_PAYPAL_API_BASE", "https://api-m.paypal.com").rstrip("/")
        self.session = requests.Session()
        self.access_token = ""

    # --- HTTP ---------------------------------------------------------------------------

    def _authorize(self) -> str:
        """An OAuth access token for this adapter's requests (client credentials)."""
        if not self.access_token:
            response = self._send("POST", "/v1/oauth2/token",
                                  auth=(self.client_id, self.client_secret),
                                  data={"grant_type": "client_credentials"})
            if response.status_code != 200:
                raise GatewayError(_("PayPal refused Saruna's credentials: %(reason)s")
                                   % {"reason": _problem(response)})
            self.access_token = response.json()["access_token"]
        return self.access_token

    def _send(self, method: str, path: str, **options: Any) -> requests.Response:
        try:
            response = self.session.request(method, self.api_base + path,
                                            timeout=TIMEOUT_SECONDS, **options)
        except requests.RequestException as error:
            raise GatewayError(_("PayPal could not be reached: %(reason)s")
                               % {"reason": error}) from error
        if response.status_code >= 500:
            raise GatewayError(_("PayPal could not take the request: %(reason)s")
                               % {"reason": _problem(response)})
        return response

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, *,
        request_id: str = "",
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {self._authorize()}",
                   "Prefer": "return=representation"}
        if request_id:
            headers["PayPal-Request-Id"] = request_id
        return self._send(method, path, json=body, headers=headers)

    # --- the gateway ----------------------------------------------------------------------

    def begin_setup(
        self, account: Account, kind: str, *, customer_reference: str = "",
        return_url: str = "", cancel_url: str = "",
    ) -> PendingSetup:
        customer = {"merchant_customer_id": account.pk}
        if customer_reference:
            customer["id"] = customer_reference
        response = self._call("POST", "/v3/vault/setup-tokens", {
            "customer": customer,
            "payment_source": {"paypal": {
                "description": _("Saruna subscription of %(company)s")
                % {"company": account.name},
                "usage_type": "MERCHANT", "usage_pattern": "SUBSCRIPTION_PREPAID",
                "permit_multiple_payment_tokens": False,
                "experience_context": {
                    "brand_name": settings.SARUNA_SELLER_NAME,
                    "shipping_preference": "NO_SHIPPING",
                    "return_url": return_url, "cancel_url": cancel_url,
                },
            }},
        }, request_id=str(uuid.uuid4()))
        if response.status_code not in (200, 201):
            raise GatewayError(_problem(response))
        setup = response.json()
        approve = next(link["href"] for link in setup["links"] if link["rel"] == "approve")
        return PendingSetup(gateway=self.name, kind=PaymentMethod.Kind.PAYPAL,
                            token=setup["id"], approve_url=approve)

    def save_payment_method(self, account: Account, token: str) -> SavedMethod:
        unknown = GatewayError(_("PayPal does not know this approval."))
        response = self._call("GET", f"/v3/vault/setup-tokens/{token}")
        if response.status_code == 404:
            raise unknown
        if not response.ok:
            raise GatewayError(_problem(response))
        setup = response.json()
        if setup.get("customer", {}).get("merchant_customer_id") != account.pk:
            raise unknown  # another account's approval
        if setup["status"] != "APPROVED":
            raise GatewayError(_("The PayPal account has not been approved yet."))
        response = self._call(
            "POST", "/v3/vault/payment-tokens",
            {"payment_source": {"token": {"id": token, "type": "SETUP_TOKEN"}}},
            request_id=f"saruna-vault-{token}",
        )
        if response.status_code not in (200, 201):
            raise GatewayError(_problem(response))
        vaulted = response.json()
        email = vaulted["payment_source"]["paypal"].get("email_address", "")
        return SavedMethod(PaymentMethod.Kind.PAYPAL, vaulted["id"],
                           f"PayPal {email}".strip(),
                           customer_reference=vaulted["customer"]["id"])

    def remove_payment_method(self, method: PaymentMethod) -> None:
        response = self._call("DELETE", f"/v3/vault/payment-tokens/{method.reference}")
        if response.status_code not in (204, 404):  # 404: PayPal has forgotten it already
            raise GatewayError(_problem(response))

    def charge(
        self, method: PaymentMethod, amount_cents: int, currency: str, *,
        idempotency_key: str, description: str,
    ) -> Outcome:
        response = self._call("POST", "/v2/checkout/orders", {
            "intent": "CAPTURE",
            "purchase_units": [{
                "custom_id": method.account_id, "description": description[:127],
                "amount": {"currency_code": currency, "value": str(from_cents(amount_cents))},
            }],
            "payment_source": {"paypal": {"vault_id": method.reference,
                                          "stored_credential": STORED_CREDENTIAL}},
        }, request_id=idempotency_key)
        if response.status_code == 422:  # declined, or the payer withdrew the approval
            return Outcome(False, message=_problem(response))
        if response.status_code not in (200, 201):
            raise GatewayError(_problem(response))
        order = response.json()
        if order["status"] != "COMPLETED":
            return Outcome(False, reference=order["id"], message=_(
                "PayPal wants the payer to approve this payment. Add PayPal again under "
                "\"My account\", or add a card."))
        capture = order["purchase_units"][0]["payments"]["captures"][0]
        if capture["status"] in PAID:
            return Outcome(True, reference=capture["id"])
        return Outcome(False, reference=capture["id"], message=_("PayPal declined the payment."))

    def refund(
        self, payment: Payment, amount_cents: int, *, idempotency_key: str, reason: str
    ) -> Outcome:
        response = self._call("POST", f"/v2/payments/captures/{payment.reference}/refund", {
            "amount": {"currency_code": payment.currency,
                       "value": str(from_cents(amount_cents))},
            "note_to_payer": reason[:255],
        }, request_id=idempotency_key)
        if response.status_code == 422:
            return Outcome(False, message=_problem(response))
        if response.status_code not in (200, 201):
            raise GatewayError(_problem(response))
        refund = response.json()
        if refund["status"] in PAID:
            return Outcome(True, reference=refund["id"])
        return Outcome(False, reference=refund["id"], message=_(
            "PayPal did not make the refund (%(status)s).") % {"status": refund["status"]})
