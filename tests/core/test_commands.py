"""The operator commands ``createaccount`` and ``demo``."""

import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core import mail
from django.core.management import CommandError, call_command
from django_scopes import scope, scopes_disabled

from saruna.accounts.models import User
from saruna.core.models import Account, Plan
from tests.factories import make_account

PASSWORD = "violet-harbour-1987"


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def can_log_in(account, email, password):
    with scope(account=account):
        return authenticate(None, email=email, password=password) is not None


def create(**overrides):
    options = {"company": "Acme Ltd.", "owner_email": "boss@acme.example",
               "owner_name": "Bo Ss", "password": PASSWORD, **overrides}
    argv = ["createaccount"]
    for key, value in options.items():
        if value is not None:
            argv += [f"--{key.replace('_', '-')}", value]
    return run(*argv)


@pytest.mark.django_db
def test_createaccount_prints_the_url_and_the_account_is_active(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        out = create()
    assert "http://acme.saruna.test/" in out
    account = Account.objects.get(slug="acme")
    assert account.status == Account.Status.ACTIVE and account.verified_at is not None
    with scopes_disabled():
        owner = User.objects.get(account=account)
    assert owner.role == "owner" and owner.check_password(PASSWORD)
    assert mail.outbox == []  # nothing to confirm: the operator made it
    assert can_log_in(account, "boss@acme.example", PASSWORD)


@pytest.mark.django_db
def test_createaccount_with_a_chosen_slug():
    assert "http://help-team.saruna.test/" in create(slug="help-team")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"slug": "taken"}, "already taken"),
        ({"slug": "www"}, "reserved"),
        ({"slug": "Not A Label!"}, "lower-case letters"),
        ({"password": "123"}, "password"),
        ({"owner_email": "nope"}, "valid e-mail"),
        ({"company": " "}, "company"),
    ],
)
def test_createaccount_bad_input_is_a_clear_error_and_creates_nothing(overrides, message):
    make_account("taken")
    with pytest.raises(CommandError, match=message):
        create(**overrides)
    assert list(Account.objects.values_list("slug", flat=True)) == ["taken"]


@pytest.mark.django_db
def test_demo_is_idempotent_and_prints_passwords_once(settings):
    first = run("demo")
    assert {p.code for p in Plan.objects.all()} >= {"free", "trial"}
    provider = Account.objects.get(slug=settings.SARUNA_PROVIDER_ACCOUNT_SLUG)
    demo = Account.objects.get(slug="demo")
    assert provider.is_provider and not demo.is_provider
    assert provider.status == demo.status == Account.Status.ACTIVE
    assert "http://demo.saruna.test/login/" in first
    password = re.search(r"owner@demo\.example with the password (\S+)", first).group(1)
    assert can_log_in(demo, "owner@demo.example", password)

    second = run("demo")
    assert "password" not in second
    assert "exists" in second
    assert Account.objects.count() == 2
    with scopes_disabled():
        assert User.objects.count() == 2
        assert User.objects.get(account=demo).check_password(password)


@pytest.mark.django_db
def test_demo_gives_an_ownerless_demo_account_an_owner():
    make_account("demo")
    out = run("demo")
    assert "owner@demo.example with the password" in out
    assert "owner@demo.example with the password" not in run("demo")
