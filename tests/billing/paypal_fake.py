"""A local stand-in for the part of PayPal's REST API that Saruna calls, answering with the
request and response shapes PayPal documents: OAuth client credentials, vault setup tokens
with the payer's approval page, payment tokens, orders paid with a vaulted PayPal account
(captured at once) and refunds of captures. ``PayPal-Request-Id`` replays the first answer,
as PayPal's idempotency does, and ``Prefer: return=minimal`` (the default) leaves out the
payments. A real HTTP server on a free port; the payer's side (approving, a declining
funding source) is steered through it as well."""

from __future__ import annotations

import base64
import json
import secrets
import string
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

CLIENT_ID = "saruna-test-client"
CLIENT_SECRET = "saruna-test-secret"

NOT_FOUND = {
    "name": "RESOURCE_NOT_FOUND", "message": "The specified resource does not exist.",
    "details": [{"issue": "INVALID_RESOURCE_ID",
                 "description": "Specified resource ID does not exist. Please check the "
                                "resource ID and try again."}],
}


def _unprocessable(issue: str, description: str) -> dict[str, Any]:
    return {"name": "UNPROCESSABLE_ENTITY",
            "message": "The requested action could not be performed, semantically incorrect, "
                       "or failed business validation.",
            "details": [{"issue": issue, "description": description}]}


def _invalid(field: str) -> dict[str, Any]:
    return {"name": "INVALID_REQUEST",
            "message": "Request is not well-formed, syntactically incorrect, or violates "
                       "schema.",
            "details": [{"field": field, "issue": "MISSING_REQUIRED_PARAMETER",
                         "description": "A required field / parameter is missing."}]}


def _new_id(length: int = 17) -> str:
    return "".join(secrets.choice(string.ascii_uppercase + string.digits)
                   for _ in range(length))


def _cents(amount: dict[str, str]) -> int:
    units, _, cents = amount["value"].partition(".")
    return int(units) * 100 + int((cents + "00")[:2])


class PayPalFake:
    def __init__(self) -> None:
        self.access_tokens: set[str] = set()
        self.setup_tokens: dict[str, dict[str, Any]] = {}
        self.payment_tokens: dict[str, dict[str, Any]] = {}
        self.captures: dict[str, dict[str, Any]] = {}
        self.replies: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        self.declining: set[str] = set()  # payers whose funding source PayPal declines
        self.requests: list[tuple[str, str, dict[str, Any] | None]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> PayPalFake:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- the API ------------------------------------------------------------------------

    def token(self, headers: Any, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        credentials = f"{CLIENT_ID}:{CLIENT_SECRET}".encode()
        if (headers.get("Authorization") != "Basic " + base64.b64encode(credentials).decode()
                or form.get("grant_type") != ["client_credentials"]):
            return 401, {"error": "invalid_client",
                         "error_description": "Client Authentication failed"}
        access_token = "A21AA" + secrets.token_urlsafe(24)
        self.access_tokens.add(access_token)
        return 200, {"scope": "https://uri.paypal.com/services/vault/payment-tokens/readwrite",
                     "access_token": access_token, "token_type": "Bearer",
                     "app_id": "APP-80W284485P519543T", "expires_in": 32400,
                     "nonce": secrets.token_hex(8)}

    def create_setup_token(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        paypal = body.get("payment_source", {}).get("paypal")
        if paypal is None:
            return 400, _invalid("/payment_source")
        context = paypal.get("experience_context", {})
        if not context.get("return_url") or not context.get("cancel_url"):
            return 400, _invalid("/payment_source/paypal/experience_context/return_url")
        setup_id = _new_id()
        customer = {"id": body.get("customer", {}).get("id") or _new_id(10)}
        if "merchant_customer_id" in body.get("customer", {}):
            customer["merchant_customer_id"] = body["customer"]["merchant_customer_id"]
        source = {key: value for key, value in paypal.items() if key != "experience_context"}
        self.setup_tokens[setup_id] = {
            "id": setup_id, "customer": customer, "status": "PAYER_ACTION_REQUIRED",
            "payment_source": {"paypal": {**source, "customer_type": "CONSUMER"}},
            "return_url": context["return_url"],
        }
        return 201, self.setup_token(setup_id)[1]

    def setup_token(self, setup_id: str) -> tuple[int, dict[str, Any]]:
        setup = self.setup_tokens.get(setup_id)
        if setup is None:
            return 404, NOT_FOUND
        shown = {key: value for key, value in setup.items() if key != "return_url"}
        shown["links"] = [
            {"href": f"{self.url}/v3/vault/setup-tokens/{setup_id}", "rel": "self",
             "method": "GET", "encType": "application/json"},
        ]
        if setup["status"] == "PAYER_ACTION_REQUIRED":
            shown["links"].append({
                "href": f"{self.url}/agreements/approve?approval_session_id={setup_id}",
                "rel": "approve", "method": "GET", "encType": "application/json"})
        return 200, shown

    def approve(self, query: dict[str, list[str]]) -> tuple[int, str]:
        """The payer logs in on PayPal's page and agrees; PayPal sends them back."""
        setup = self.setup_tokens.get(query.get("approval_session_id", [""])[0])
        if setup is None:
            return 404, ""
        setup["status"] = "APPROVED"
        setup["payment_source"]["paypal"]["email_address"] = query.get(
            "payer", ["payer@example.test"])[0]
        back = urlencode({"approval_token_id": setup["id"],
                          "approval_session_id": setup["id"]})
        return 302, f"{setup['return_url']}?{back}"

    def create_payment_token(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        token = body.get("payment_source", {}).get("token", {})
        if token.get("type") != "SETUP_TOKEN":
            return 400, _invalid("/payment_source/token/type")
        setup = self.setup_tokens.get(token.get("id", ""))
        if setup is None:
            return 404, NOT_FOUND
        if setup["status"] == "PAYER_ACTION_REQUIRED":
            return 422, _unprocessable(
                "PAYER_ACTION_REQUIRED", "Please make sure setup up token is approved.")
        if setup["status"] == "VAULTED":
            return 422, _unprocessable(
                "SETUP_TOKEN_ALREADY_TOKENIZED",
                "The setup token has been used previously to generate a payment token.")
        setup["status"] = "VAULTED"
        payment_token_id = _new_id(8).lower()
        self.payment_tokens[payment_token_id] = {
            "id": payment_token_id, "customer": setup["customer"],
            "payment_source": {"paypal": {
                key: setup["payment_source"]["paypal"][key]
                for key in ("email_address", "usage_type", "customer_type")}},
            "links": [{"href": f"{self.url}/v3/vault/payment-tokens/{payment_token_id}",
                       "rel": rel, "method": method, "encType": "application/json"}
                      for rel, method in (("self", "GET"), ("delete", "DELETE"))],
        }
        return 201, self.payment_tokens[payment_token_id]

    def delete_payment_token(self, payment_token_id: str) -> tuple[int, dict[str, Any]]:
        if self.payment_tokens.pop(payment_token_id, None) is None:
            return 404, NOT_FOUND
        return 204, {}

    def create_order(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        vault_id = body.get("payment_source", {}).get("paypal", {}).get("vault_id")
        if body.get("intent") != "CAPTURE" or not body.get("purchase_units"):
            return 400, _invalid("/intent")
        vaulted = self.payment_tokens.get(vault_id or "")
        if vaulted is None:
            return 422, _unprocessable(
                "INVALID_PAYMENT_TOKEN", "The payment token is invalid or was deleted.")
        payer = vaulted["payment_source"]["paypal"]["email_address"]
        if payer in self.declining:
            return 422, _unprocessable(
                "INSTRUMENT_DECLINED", "The instrument presented was either declined by the "
                "processor or bank, or it can't be used for this payment.")
        unit = body["purchase_units"][0]
        order_id, capture_id = _new_id(), _new_id()
        self.captures[capture_id] = {
            "id": capture_id, "status": "COMPLETED", "amount": unit["amount"],
            "custom_id": unit.get("custom_id", ""), "payer": payer, "refunded_cents": 0,
        }
        return 201, {
            "id": order_id, "intent": "CAPTURE", "status": "COMPLETED",
            "payment_source": {"paypal": {"email_address": payer,
                                          "account_id": vaulted["customer"]["id"]}},
            "purchase_units": [{
                "reference_id": "default", "amount": unit["amount"],
                "payments": {"captures": [{
                    "id": capture_id, "status": "COMPLETED", "amount": unit["amount"],
                    "final_capture": True, "custom_id": unit.get("custom_id", ""),
                    "links": [{"href": f"{self.url}/v2/payments/captures/{capture_id}",
                               "rel": "self", "method": "GET"}],
                }]},
            }],
            "links": [{"href": f"{self.url}/v2/checkout/orders/{order_id}", "rel": "self",
                       "method": "GET"}],
        }

    def refund_capture(self, capture_id: str,
                       body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        capture = self.captures.get(capture_id)
        if capture is None:
            return 404, NOT_FOUND
        amount = body.get("amount", capture["amount"])
        cents = _cents(amount)
        if capture["refunded_cents"] + cents > _cents(capture["amount"]):
            return 422, _unprocessable(
                "REFUND_AMOUNT_EXCEEDED", "The refund amount must be less than or equal to "
                "the capture amount that has not yet been refunded.")
        capture["refunded_cents"] += cents
        refund_id = _new_id()
        return 201, {"id": refund_id, "status": "COMPLETED", "amount": amount,
                     "note_to_payer": body.get("note_to_payer", ""),
                     "links": [{"href": f"{self.url}/v2/payments/refunds/{refund_id}",
                                "rel": "self", "method": "GET"}]}

    # --- routing ------------------------------------------------------------------------

    def answer(self, method: str, path: str,
               body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["v3", "vault", "setup-tokens"]:
            return self.create_setup_token(body)
        if method == "GET" and parts[:3] == ["v3", "vault", "setup-tokens"] and len(parts) == 4:
            return self.setup_token(parts[3])
        if method == "POST" and parts == ["v3", "vault", "payment-tokens"]:
            return self.create_payment_token(body)
        if method == "DELETE" and parts[:3] == ["v3", "vault", "payment-tokens"]:
            return self.delete_payment_token(parts[3])
        if method == "POST" and parts == ["v2", "checkout", "orders"]:
            return self.create_order(body)
        if method == "POST" and parts[:3] == ["v2", "payments", "captures"] and (
                parts[4:] == ["refund"]):
            return self.refund_capture(parts[3], body)
        return 404, NOT_FOUND

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the tests read ``fake.requests``."""

            def _reply(self, status: int, body: dict[str, Any] | None = None,
                       location: str = "") -> None:
                payload = json.dumps(body).encode() if body else b""
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                if payload:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _handle(self) -> None:
                url = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if url.path == "/agreements/approve":
                    status, location = fake.approve(parse_qs(url.query))
                    return self._reply(status, location=location)
                if url.path == "/v1/oauth2/token":
                    return self._reply(*fake.token(self.headers, parse_qs(raw.decode())))
                authorization = self.headers.get("Authorization", "")
                if authorization.removeprefix("Bearer ") not in fake.access_tokens:
                    return self._reply(401, {"error": "invalid_token",
                                             "error_description": "Token signature "
                                                                  "verification failed"})
                body = json.loads(raw) if raw else {}
                fake.requests.append((self.command, url.path, body or None))
                request_id = self.headers.get("PayPal-Request-Id", "")
                if request_id and (url.path, request_id) in fake.replies:
                    return self._reply(*fake.replies[url.path, request_id])
                status, answer = fake.answer(self.command, url.path, body)
                if status in (200, 201) and "return=representation" not in self.headers.get(
                        "Prefer", ""):
                    answer = {key: answer[key] for key in ("id", "status", "links")
                              if key in answer}
                if request_id and status < 500:
                    fake.replies[url.path, request_id] = (status, answer)
                self._reply(status, answer)

            do_GET = do_POST = do_DELETE = _handle

        return Handler
