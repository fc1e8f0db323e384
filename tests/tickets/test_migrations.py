"""Data migrations of the tickets app: rows written before a constraint existed survive it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("tickets", "0002_inbox_activity_index")]
AFTER = [("tickets", "0003_department_department_name_unique")]


@pytest.fixture
def latest_schema_after():
    """Going back to an old tickets migration unapplies every migration that depends on a
    later one (chat, visitors, the newer tickets ones: their tables are dropped); the tests
    run after this one in the same worker need them back."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_duplicate_department_names_are_numbered_not_lost(latest_schema_after):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    executor.loader.build_graph()
    old = executor.loader.project_state(BEFORE).apps
    plan = old.get_model("core", "Plan").objects.create(code="old", name="Old", max_agents=1)
    accounts = old.get_model("core", "Account").objects
    account = accounts.create(id="acct0001", slug="acme", name="Acme", plan=plan)
    other = accounts.create(id="acct0002", slug="other", name="Other", plan=plan)
    departments = old.get_model("tickets", "Department")
    for number, (owner, name) in enumerate(
        [(account, "Sales"), (account, "sales"), (account, "SALES"), (other, "Sales")]
    ):
        departments._base_manager.create(account=owner, public_id=f"dep{number}", name=name)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps.get_model("tickets", "Department")
    names = dict(new._base_manager.values_list("public_id", "name"))
    assert names == {"dep0": "Sales", "dep1": "sales (2)", "dep2": "SALES (3)", "dep3": "Sales"}
