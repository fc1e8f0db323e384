"""Tags (API §13), canned messages (§14) and predefined answers (§15) against their field
tables, with their documented errors and two-tenant isolation."""

from __future__ import annotations

import pytest
from django_scopes import scope

from saruna.core.models import AuditEvent
from saruna.tickets import actions
from saruna.tickets.models import CannedMessage, PredefinedAnswer, Tag
from tests.api.conftest import ApiClient, make_key
from tests.api.test_resources_contract import F, assert_error, assert_ok, check

pytestmark = pytest.mark.django_db

TAG = {"id": F("string"), "name": F("string", required=True, nonempty=True),
       "color": F("string"), "background_color": F("string"),
       "is_public": F("string", enum=("Y", "N", "")), "is_archived": F("string", enum=("Y", "N"))}
CANNED = {"id": F("string"), "userid": F("string"), "departmentid": F("string"),
          "messagetext": F("string", required=True, nonempty=True), "keywords": F("string")}
ANSWER = {"id": F("string"), "userid": F("string"), "departmentid": F("string"),
          "name": F("string", required=True, nonempty=True), "subject": F("string"),
          "body": F("string", required=True, nonempty=True),
          "format": F("string", enum=("T", "H"))}


def test_tag_round_trip(api):
    created = assert_ok(api.post("/tags", {"name": "VIP", "color": "#ffffff",
                                           "background_color": "#000000", "is_public": "Y"}))
    check(created, TAG)
    assert created["is_public"] == "Y" and created["is_archived"] == "N"
    assert len(created["id"]) == 4
    listed = assert_ok(api.get("/tags"))
    assert listed == [created]
    one = assert_ok(api.get(f"/tags/{created['id']}"))
    assert one == [created]  # an array of one (§2.3)
    # A whole fetched tag sent back with one change: only that changes.
    changed = assert_ok(api.put(f"/tags/{created['id']}", {**created, "is_archived": "Y"}))
    assert changed == [{**created, "is_archived": "Y"}]
    renamed = assert_ok(api.put(f"/tags/{created['id']}", {"name": "Gold"}))[0]
    assert renamed["color"] == "#ffffff" and renamed["name"] == "Gold"
    filtered = assert_ok(api.get("/tags", {"_filters": '[["is_archived", "E", "Y"]]'}))
    assert [t["name"] for t in filtered] == ["Gold"]
    assert assert_ok(api.delete(f"/tags/{created['id']}")) == {}
    with scope(account=api.account):
        assert not Tag.objects.exists()
        verbs = set(AuditEvent.objects.filter(actor_type="api_key").values_list("verb",
                                                                                 flat=True))
    assert {"tag.created", "tag.changed", "tag.deleted"} <= verbs


def test_tag_errors(api):
    assert_error(api.post("/tags", {"color": "#ffffff"}), 400, "name")
    assert_error(api.post("/tags", {"name": "x", "color": "red"}), 400, "color")
    assert_error(api.post("/tags", {"name": "x", "is_archived": "maybe"}), 400, "is_archived")
    assert_ok(api.post("/tags", {"name": "Dup"}))
    assert_error(api.post("/tags", {"name": "Dup"}), 409)
    assert_error(api.get("/tags/zzzz"), 404)
    assert_error(api.put("/tags/zzzz", {"name": "x"}), 404)
    assert_error(api.delete("/tags/zzzz"), 404)
    assert_error(api.get("/tags", {"_filters": '[["color", "E", "#fff"]]'}), 400, "color")
    reader = ApiClient(api.account, make_key(api.account, read_only=True))
    assert_ok(reader.get("/tags"))
    assert_error(reader.post("/tags", {"name": "Nope"}), 403, "tag.manage")
    with scope(account=api.account):
        assert list(Tag.objects.values_list("name", flat=True)) == ["Dup"]


def test_tags_list_pages_when_asked(api):
    for name in ("a", "b", "c"):
        assert_ok(api.post("/tags", {"name": name}))
    assert len(assert_ok(api.get("/tags"))) == 3
    assert [t["name"] for t in assert_ok(api.get("/tags", {"_page": 2, "_perPage": 2}))] == ["c"]


def test_canned_message_round_trip(api, owner):
    with scope(account=api.account):
        sales = actions.save_department(api.account, name="Sales")
    created = assert_ok(api.post("/canned_messages", {
        "messagetext": "Hello {$contact_name}", "keywords": "hi hello",
        "userid": owner.pk, "departmentid": sales.public_id}))
    check(created, CANNED)
    assert (created["userid"], created["departmentid"]) == (owner.pk, sales.public_id)
    shared = assert_ok(api.post("/canned_messages", {"messagetext": "Bye"}))
    assert shared["userid"] is None and shared["departmentid"] is None
    assert assert_ok(api.get("/canned_messages")) == [created, shared]
    assert assert_ok(api.get("/canned_messages", {
        "_filters": '[["departmentid", "IE", ""]]'})) == [shared]
    assert assert_ok(api.get("/canned_messages", {
        "_filters": '[["messagetext", "L", "hello"]]'})) == [created]
    updated = assert_ok(api.put(f"/canned_messages/{created['id']}",
                                {**created, "departmentid": None, "keywords": "x"}))
    assert updated["departmentid"] is None and updated["messagetext"] == created["messagetext"]
    assert assert_ok(api.get(f"/canned_messages/{created['id']}")) == updated
    assert assert_ok(api.delete(f"/canned_messages/{created['id']}")) == {}
    assert_error(api.get(f"/canned_messages/{created['id']}"), 404)


def test_canned_message_errors(api):
    assert_error(api.post("/canned_messages", {"keywords": "x"}), 400, "messagetext")
    assert_error(api.post("/canned_messages", {"messagetext": "  "}), 400)
    assert_error(api.post("/canned_messages", {"messagetext": "x", "userid": "nobody00"}),
                 400, "nobody00")
    assert_error(api.post("/canned_messages", {"messagetext": "x", "departmentid": "nope"}),
                 400, "nope")
    assert_error(api.get("/canned_messages", {"_filters": '[["keywords", "E", "x"]]'}), 400)
    assert_error(api.get("/canned_messages", {"_sortField": "nope"}), 400, "nope")
    with scope(account=api.account):
        assert not CannedMessage.objects.exists()


def test_predefined_answer_round_trip(api):
    created = assert_ok(api.post("/predefined_answers", {
        "name": "Refund", "subject": "Your refund", "body": "<p>Done</p><script>x</script>",
        "format": "H"}))
    check(created, ANSWER)
    assert "<script>" not in created["body"]
    text = assert_ok(api.post("/predefined_answers", {"name": "Apology", "body": "Sorry"}))
    assert text["format"] == "T" and text["subject"] is None
    assert [a["name"] for a in assert_ok(api.get("/predefined_answers"))] == [
        "Apology", "Refund"]
    assert assert_ok(api.get("/predefined_answers", {"_filters": '{"format": "H"}'})) == [
        created]
    updated = assert_ok(api.put(f"/predefined_answers/{text['id']}", {"subject": "Sorry!"}))
    assert updated == {**text, "subject": "Sorry!"}
    assert assert_ok(api.delete(f"/predefined_answers/{text['id']}")) == {}
    assert_error(api.get(f"/predefined_answers/{text['id']}"), 404)


def test_predefined_answer_errors(api):
    assert_error(api.post("/predefined_answers", {"name": "x"}), 400, "body")
    assert_error(api.post("/predefined_answers", {"body": "x"}), 400, "name")
    assert_error(api.post("/predefined_answers", {"name": "x", "body": "y", "format": "Q"}),
                 400, "format")
    assert_error(api.put("/predefined_answers/nothere1", {"name": "x"}), 404)
    with scope(account=api.account):
        assert not PredefinedAnswer.objects.exists()


def test_another_tenants_records_are_404(api_pair):
    a, b = api_pair
    tag = assert_ok(a.post("/tags", {"name": "Alpha"}))
    canned = assert_ok(a.post("/canned_messages", {"messagetext": "Alpha"}))
    answer = assert_ok(a.post("/predefined_answers", {"name": "Alpha", "body": "Alpha"}))
    for path in (f"/tags/{tag['id']}", f"/canned_messages/{canned['id']}",
                 f"/predefined_answers/{answer['id']}"):
        assert_error(b.get(path), 404)
        assert_error(b.put(path, {"name": "Beta", "messagetext": "Beta"}), 404)
        assert_error(b.delete(path), 404)
        assert_ok(a.get(path))
    for path in ("/tags", "/canned_messages", "/predefined_answers"):
        assert assert_ok(b.get(path)) == []
