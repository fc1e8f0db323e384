"""A Python client generated from Saruna's own ``/api/v3/openapi.json`` (with
openapi-python-client from PyPI, at test time) runs a contact and ticket round trip against a
real server: the document describes what the server really does."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import httpx
from django_scopes import scope

from saruna.api.actions import create_api_key
from tests.factories import make_account, make_user

PACKAGE = "saruna_api_client"


def generate(spec: dict, where: Path):
    (where / "openapi.json").write_text(json.dumps(spec))
    # No formatting hooks: the generated code only has to run.
    (where / "config.yaml").write_text("post_hooks: []\n")
    subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate",
         "--path", str(where / "openapi.json"), "--output-path", str(where / PACKAGE),
         "--meta", "none", "--config", str(where / "config.yaml")],
        check=True, capture_output=True, timeout=300,
    )
    sys.path.insert(0, str(where))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))


def operation(client_package, tag: str, name: str):
    return importlib.import_module(f"{client_package.__name__}.api.{tag}.{name}")


def test_generated_client_round_trip(asgi_server, tmp_path):
    account = make_account("genclient")
    owner = make_user(account, "owner@genclient.test", role="owner")
    with scope(account=account):
        _key, secret = create_api_key(account, name="Generated client", user=owner)
    base = f"http://127.0.0.1:{asgi_server.port}"
    host = {"Host": f"{account.slug}.localhost:{asgi_server.port}"}
    spec = httpx.get(f"{base}/api/v3/openapi.json", headers=host).json()
    saruna = generate(spec, tmp_path)
    try:
        client = saruna.AuthenticatedClient(
            base_url=base, token=secret, prefix="", auth_header_name="apikey", headers=host,
            raise_on_unexpected_status=True,
        )
        models = importlib.import_module(f"{PACKAGE}.models")

        contact = operation(saruna, "contacts", "contacts_create_contact").sync(
            client=client, body=models.ContactIn(firstname="Ann", emails=["ann@example.org"]))
        assert isinstance(contact, models.ContactOut), contact
        assert contact.system_name == "Ann" and contact.emails == ["ann@example.org"]

        info = operation(saruna, "tickets", "tickets_create_ticket").sync(
            client=client, body=models.TicketCreate(
                useridentifier="owner@genclient.test", subject="Generated", message="Hello",
                departmentid="default", recipient="ann@example.org", do_not_send_mail="Y"))
        assert isinstance(info, models.TicketInformationOut), info
        assert info.owner_contactid == contact.id

        changed = operation(saruna, "tickets", "tickets_update_ticket").sync(
            client=client, ticket_id=info.id, body=models.TicketUpdate(status="R"))
        assert isinstance(changed, models.TicketOut) and changed.status == "R"

        reply = operation(saruna, "tickets", "tickets_add_message").sync(
            client=client, ticket_id=info.id,
            body=models.TicketReply(message="Resolved for you", do_not_send_mail="Y"))
        assert isinstance(reply, models.MessageGroupOut) and reply.type_ == "4"

        listed = operation(saruna, "tickets", "tickets_list_tickets").sync(
            client=client, field_filters=json.dumps([["owner_contactid", "E", contact.id]]))
        assert [t.id for t in listed] == [info.id]
        assert listed[0].date_created and len(listed[0].date_created) == 19

        groups = operation(saruna, "tickets", "tickets_list_messages").sync(
            client=client, ticket_id=info.id)
        assert [g.type_ for g in groups] == ["4", "R", "4"]

        missing = operation(saruna, "tickets", "tickets_get_ticket").sync(
            client=client, ticket_id="nothere1")
        assert isinstance(missing, models.ErrorOut) and missing.message

        assert operation(saruna, "tickets", "tickets_delete_ticket").sync_detailed(
            client=client, ticket_id=info.id).status_code == 200
        fetched = operation(saruna, "tickets", "tickets_get_ticket").sync(
            client=client, ticket_id=info.id)
        assert fetched.status == "X"
    finally:
        for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
            del sys.modules[name]
