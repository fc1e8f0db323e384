"""Beats as the tracking module sends them."""

from __future__ import annotations

import json

from django.test import Client

from saruna.core.models import Account
from saruna.visitors.identity import issue_visitor_token
from tests.tenancy import host_client

RIGA = "81.198.0.1"


def tracker(account: Account, ip: str = RIGA, **headers: str) -> Client:
    """A browser on a customer's web site, behind the trusted proxy that names its address."""
    return host_client(account, HTTP_X_FORWARDED_FOR=ip,
                       HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
                                       "(KHTML, like Gecko) Chrome/126.0 Safari/537.36",
                       **headers)


def beat(client: Client, token: str, event: str = "view", url: str = "https://shop.test/",
         **fields: object):
    body = {"token": token, "event": event, "url": url, "title": "Shop", "referrer": "",
            "screen": "1920x1080", "lang": "lv", "tz": "Europe/Riga", **fields}
    return client.post("/widget/track/", json.dumps(body), content_type="text/plain")


def new_token(account: Account) -> str:
    return issue_visitor_token(account)
