"""The tracking fast path answers beats like the Django view and passes the rest on."""

import io
import json

import pytest
from django_scopes import scopes_disabled

from saruna.visitors.fastpath import TrackingWSGI
from saruna.visitors.models import PageVisit, VisitSession
from tests.visitors.helpers import new_token


def _call(app, account_host, body: bytes, path="/widget/track/", method="POST", **extra):
    environ = {"PATH_INFO": path, "REQUEST_METHOD": method, "HTTP_HOST": account_host,
               "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
               "REMOTE_ADDR": "127.0.0.1", **extra}
    answer = {}

    def start_response(status, headers):
        answer["status"], answer["headers"] = status, dict(headers)

    answer["body"] = b"".join(app(environ, start_response))
    return answer


def _passed_on(environ, start_response):
    start_response("299 Django", [])
    return [b"django"]


@pytest.fixture(autouse=True)
def _behind_proxy(settings):
    settings.SARUNA_TRUST_X_FORWARDED_FOR = True


def test_a_beat_is_answered_and_written(account):
    app = TrackingWSGI(_passed_on)
    body = json.dumps({"token": new_token(account), "event": "view",
                       "url": "https://shop.test/?utm_source=news&utm_medium=email"}).encode()
    answer = _call(app, account.host, body, HTTP_X_FORWARDED_FOR="81.198.0.1")
    assert answer["status"].startswith("204")
    assert answer["headers"]["Access-Control-Allow-Origin"] == "*"
    with scopes_disabled():
        session = VisitSession.objects.get()
        assert PageVisit.objects.count() == 1
    assert (session.source_type, session.country) == ("email", "LV")


def test_bad_beats_get_the_message(account):
    answer = _call(TrackingWSGI(_passed_on), account.host, b'{"token": "x", "event": "view"}')
    assert answer["status"].startswith("400") and "message" in json.loads(answer["body"])


def test_everything_else_goes_to_django(account):
    app = TrackingWSGI(_passed_on)
    assert _call(app, account.host, b"", path="/visitors/")["body"] == b"django"
    assert _call(app, account.host, b"", method="OPTIONS")["body"] == b"django"
    assert _call(app, "nobody.saruna.test", b"{}")["body"] == b"django"  # no such account
