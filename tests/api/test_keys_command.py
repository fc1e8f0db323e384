"""``saruna createapikey``: the key is printed once, alone on the last line, and works."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_scopes import scope

from saruna.api import privileges
from saruna.api.models import ApiKey, hash_secret
from saruna.core.models import AuditEvent
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db


def run(*args: str) -> list[str]:
    out = StringIO()
    call_command("createapikey", *args, stdout=out)
    return out.getvalue().splitlines()


def test_prints_a_working_full_key_on_its_last_line(account, owner):
    lines = run("--account", "acme", "--name", "Import script")
    secret = lines[-1]
    assert secret.isalnum() and len(secret) == 32
    assert all(secret not in line for line in lines[:-1])
    with scope(account=account):
        key = ApiKey.objects.get()
        assert AuditEvent.objects.filter(verb="api_key.created").exists()
    assert key.name == "Import script" and key.key_hash == hash_secret(secret)
    assert set(key.privileges) == privileges.ALL and key.user == owner
    assert ApiClient(account, secret).post("/contacts", {"firstname": "Ann"}).status_code == 200


def test_read_only_keys_cannot_write(account, owner):
    secret = run("--account", "acme", "--read-only")[-1]
    with scope(account=account):
        key = ApiKey.objects.get()
    assert key.is_read_only and key.name == f"API key {key.pk}"
    api = ApiClient(account, secret)
    assert api.get("/contacts").status_code == 200
    assert api.post("/contacts", {"firstname": "Ann"}).status_code == 403


def test_an_unknown_account_is_an_error():
    with pytest.raises(CommandError, match="No account 'nowhere'"):
        run("--account", "nowhere")
