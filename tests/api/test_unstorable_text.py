"""Text no database can store (a NUL character, a lone surrogate) is bad input: a 400 that
changes nothing, on SQLite and PostgreSQL alike, not a 500 from the database."""

import pytest
from django_scopes import scope

from saruna.contacts.models import ContactGroup

pytestmark = pytest.mark.django_db

# json.dumps writes a lone surrogate as the escape "\ud85b", which is how it reaches the API.
UNSTORABLE = ["nul\x00name", "half \ud85b pair"]


@pytest.mark.parametrize("text", UNSTORABLE)
def test_a_body_with_unstorable_text_is_refused_and_nothing_is_created(api, account, text):
    response = api.post("/groups", {"name": text})
    assert response.status_code == 400
    assert "NUL" in response.json()["message"]
    with scope(account=account):
        assert not ContactGroup.objects.exists()


def test_unstorable_text_nested_in_a_body_is_refused(api):
    response = api.post("/contacts", {"firstname": "Ann", "emails": ["a@x.test\x00"]})
    assert response.status_code == 400


def test_a_query_with_a_nul_is_refused(api):
    assert api.get("/contacts", params={"_filters": "[\x00]"}).status_code == 400


def test_ordinary_text_beyond_ascii_is_stored(api):
    response = api.post("/groups", {"name": "Ķīmija 🚀"})
    assert response.status_code == 200
    assert response.json()["name"] == "Ķīmija 🚀"
