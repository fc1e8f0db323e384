"""New users join the default department, so an agent sees tickets from the start."""

import pytest
from django_scopes import scope

from saruna.tickets import queries
from saruna.tickets.actions import open_ticket
from saruna.tickets.membership import join_default_department
from saruna.tickets.models import Department
from tests.factories import make_user


def test_new_agent_sees_default_department_tickets(scoped, agent, customer):
    ticket = open_ticket(scoped, "Help", "Please", customer)
    assert not queries.can_see_ticket(agent, ticket)
    department = join_default_department(agent)
    assert department.public_id == "default"
    assert list(queries.visible_tickets(agent)) == [ticket]


def test_joining_creates_the_default_department_once(scoped, agent):
    assert not Department.objects.exists()
    join_default_department(agent)
    join_default_department(agent)
    default = Department.objects.get()
    assert list(default.agents.all()) == [agent]


def test_each_account_has_its_own_default(two_tenants):
    with scope(account=two_tenants.a):
        a_default = join_default_department(two_tenants.agent_a)
    with scope(account=two_tenants.b):
        b_default = join_default_department(two_tenants.agent_b)
        assert list(Department.objects.get().agents.all()) == [two_tenants.agent_b]
    assert a_default.pk != b_default.pk and a_default.account_id == two_tenants.a.pk


def test_provider_staff_join_nothing(db):
    with pytest.raises(ValueError):
        join_default_department(make_user(None, "staff@provider.test"))
