"""Transport and conventions shared by every resource (API §1 to §3): keys, errors, paths,
rate limits, the audit trail."""

from __future__ import annotations

import pytest
from django.test import Client
from django_scopes import scope

from saruna.api.actions import revoke_api_key
from saruna.api.models import ApiKey
from tests.api.conftest import ApiClient, make_key

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, contains: str = "") -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["message"], str) and body["message"]
    assert contains.lower() in body["message"].lower()


def test_ping_answers_an_empty_object_with_a_valid_key(api):
    response = api.get("/ping")
    assert response.status_code == 200
    assert response.json() == {}
    assert response["Content-Type"] == "application/json; charset=utf-8"


@pytest.mark.parametrize("header", ["apikey", "apiKey", "APIKEY"])
def test_the_key_header_name_is_case_insensitive(api, header):
    response = Client(HTTP_HOST=api.account.host).get("/api/v3/ping", headers={header: api.key})
    assert response.status_code == 200


def test_an_empty_bearer_next_to_the_key_is_ignored_and_a_bearer_token_is_a_key(api):
    client = Client(HTTP_HOST=api.account.host)
    both = client.get("/api/v3/ping", HTTP_APIKEY=api.key, HTTP_AUTHORIZATION="Bearer ")
    assert both.status_code == 200
    bearer_only = client.get("/api/v3/ping", HTTP_AUTHORIZATION=f"Bearer {api.key}")
    assert bearer_only.status_code == 200
    prefixed = client.get("/api/v3/ping", HTTP_APIKEY=f"Bearer {api.key}")
    assert prefixed.status_code == 200


def test_missing_unknown_and_revoked_keys_are_401(api, account):
    assert_error(ApiClient(account, None).get("/ping"), 401, "apikey")
    assert_error(ApiClient(account, "x" * 32).get("/ping"), 401)
    with scope(account=account):
        revoke_api_key(ApiKey.objects.get())
    assert_error(api.get("/ping"), 401)


def test_another_accounts_key_is_unknown_here(api_pair):
    a, b = api_pair
    stolen = ApiClient(b.account, a.key)
    assert_error(stolen.get("/ping"), 401)


def test_unknown_paths_are_json_404_and_wrong_methods_json_405(api):
    assert_error(api.get("/no_such_thing"), 404)
    assert_error(api.delete("/ping"), 405)


def test_a_trailing_slash_is_served_like_none_without_redirect(api):
    response = api.get("/ping/")
    assert response.status_code == 200 and response.json() == {}


def test_appendix_a_paths_answer_501_after_authentication(api, account):
    assert_error(api.get("/calls"), 501, "Not implemented: GET /calls")
    assert_error(api.post("/calls/abc/_answer"), 501, "POST /calls/{callId}/_answer")
    assert_error(api.get("/api/v3/api/v3/count"), 501)
    assert_error(ApiClient(account, None).get("/calls"), 401)


def test_every_answer_carries_rate_limit_headers_and_the_limit_refuses(api, settings):
    settings.SARUNA_API_RATE_LIMIT = 3
    first = api.get("/ping")
    assert first["X-RateLimit-Limit"] == "3"
    assert first["X-RateLimit-Remaining"] == "2"
    api.get("/ping")
    api.get("/ping")
    refused = api.get("/ping")
    assert_error(refused, 429, "limit is 3 per minute")
    assert int(refused["Retry-After"]) >= 1
    assert refused["X-RateLimit-Remaining"] == "0"


def test_keys_are_limited_one_by_one(api, account, owner, settings):
    settings.SARUNA_API_RATE_LIMIT = 1
    assert api.get("/ping").status_code == 200
    assert api.get("/ping").status_code == 429
    other = ApiClient(account, make_key(account, user=owner))
    assert other.get("/ping").status_code == 200


def test_a_read_only_key_holds_no_write_privilege(account, owner):
    with scope(account=account):
        from saruna.api.actions import create_api_key

        key, secret = create_api_key(account, read_only=True, created_by=owner)
        assert key.has("ticket.read") and not key.has("ticket.create")
        assert key.is_read_only
        assert ApiKey.objects.get().key_hash != secret and secret not in key.key_hash
        assert key.masked == f"****{secret[-4:]}"


def test_the_address_whitelist_refuses_other_addresses(account, owner):
    key = make_key(account, user=owner, whitelist="10.1.2.0/24")
    client = ApiClient(account, key)
    assert_error(client.get("/ping"), 403)
    assert client.get("/ping", REMOTE_ADDR="10.1.2.7").status_code == 200


def test_the_openapi_document_describes_the_real_wire_format(api):
    spec = api.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"] == {
        "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "apikey"}}
    listing = spec["paths"]["/api/v3/tickets"]["get"]
    ok = listing["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["type"] == "array"  # a bare array, no envelope
    params = {p["name"] for p in listing["parameters"]}
    assert {"_page", "_perPage", "_from", "_to", "_sortField", "_sortDir", "_filters"} <= params
    ticket = spec["components"]["schemas"]["TicketOut"]["properties"]["date_created"]
    assert ticket["pattern"] == r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
    assert {"type": "null"} in ticket["anyOf"]
    error = listing["responses"]["404"]["content"]["application/json"]["schema"]
    assert error["$ref"].endswith("/ErrorOut")
    assert not any(path.startswith("/api/v3/calls") for path in spec["paths"])  # 501s stay out


def test_the_docs_page_loads_everything_from_this_installation(api):
    response = api.client.get("/api/v3/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "//cdn" not in page and "https://" not in page.split("<body")[0]
