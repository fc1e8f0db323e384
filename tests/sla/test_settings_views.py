"""Settings → SLA levels: administrators list, create and edit levels; bad input is a form
error and changes nothing; agents cannot reach the pages."""

import pytest

from saruna.sla import actions
from saruna.sla.models import SlaLevel
from saruna.tickets import actions as ticket_actions
from tests.tenancy import host_client

WEEK = {f"{d}_{e}": v for d in ("monday", "tuesday", "wednesday", "thursday", "friday")
        for e, v in (("start", "08:00"), ("end", "16:30"))}


@pytest.fixture
def owner_web(account, owner):
    return host_client(account, owner)


def form(**changes):
    data = {"name": "Gold", "time_zone": "Europe/Riga", "first_answer": "90",
            "first_resolve": "", "holidays": "2026-12-24\n2026-12-25", "is_default": "on",
            **WEEK}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_create_and_edit_a_level(scoped, owner_web):
    sales = ticket_actions.save_department(scoped, name="Sales")
    response = owner_web.post("/settings/sla/new/", form(departments=[sales.public_id]))
    assert response.status_code == 302
    level = SlaLevel.objects.get()
    assert (level.name, level.first_answer, level.first_resolve) == ("Gold", 5400, None)
    assert level.time_zone == "Europe/Riga" and level.is_default
    assert level.business_hours["monday"] == {"start": "08:00", "end": "16:30"}
    assert level.business_hours["sunday"] is None
    assert level.holidays == ["2026-12-24", "2026-12-25"]
    assert list(level.departments.all()) == [sales]

    listing = owner_web.get("/settings/sla/").content.decode()
    assert "Gold" in listing and "1 h 30 min" in listing and "Sales" in listing

    edit = owner_web.get(f"/settings/sla/{level.public_id}/").content.decode()
    assert 'value="08:00"' in edit and "2026-12-24" in edit
    response = owner_web.post(f"/settings/sla/{level.public_id}/",
                              form(name="Platinum", first_answer="30", saturday_start="10:00",
                                   saturday_end="12:00"))
    assert response.status_code == 302
    level.refresh_from_db()
    assert (level.name, level.first_answer) == ("Platinum", 1800)
    assert level.business_hours["saturday"] == {"start": "10:00", "end": "12:00"}


@pytest.mark.parametrize("changes,error", [
    ({"monday_end": "07:00"}, "Closing must be later than opening."),
    ({"monday_end": ""}, "Give both times"),
    ({"monday_start": "9am"}, "Enter a time as HH:MM."),
    ({"holidays": "24.12.2026"}, "is not a date"),
    ({**{k: "" for k in WEEK}}, "Open on at least one day."),
    ({"first_answer": "-5"}, "greater than or equal to 0"),
])
def test_bad_input_is_a_form_error(scoped, owner_web, changes, error):
    response = owner_web.post("/settings/sla/new/", form(**changes))
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not SlaLevel.objects.exists()


def test_duplicate_name_is_a_form_error(scoped, owner_web):
    actions.save_sla_level(scoped, name="Gold")
    response = owner_web.post("/settings/sla/new/", form(is_default=None))
    assert "exists already" in response.content.decode()
    assert SlaLevel.objects.count() == 1


def test_new_default_replaces_the_old_one(scoped, owner_web):
    old = actions.save_sla_level(scoped, name="Silver", is_default=True)
    owner_web.post("/settings/sla/new/", form())
    old.refresh_from_db()
    assert not old.is_default
    assert SlaLevel.objects.get(is_default=True).name == "Gold"


def test_a_department_has_one_level(scoped):
    sales = ticket_actions.save_department(scoped, name="Sales")
    actions.save_sla_level(scoped, name="Silver", departments=[sales])
    with pytest.raises(actions.ActionError):
        actions.save_sla_level(scoped, name="Gold", departments=[sales])
    assert SlaLevel.objects.count() == 1


def test_a_level_tickets_used_cannot_be_deleted(scoped, owner_web, customer):
    level = actions.save_sla_level(scoped, name="Gold", is_default=True, first_answer=60)
    unused = actions.save_sla_level(scoped, name="Spare")
    ticket_actions.open_ticket(scoped, "Help", "Broken", customer)
    assert owner_web.post(f"/settings/sla/{level.public_id}/delete/").status_code == 302
    assert SlaLevel.objects.filter(pk=level.pk).exists()
    assert owner_web.post(f"/settings/sla/{unused.public_id}/delete/").status_code == 302
    assert not SlaLevel.objects.filter(pk=unused.pk).exists()


def test_agents_cannot_reach_the_pages(scoped, account, agent):
    web = host_client(account, agent)
    assert web.get("/settings/sla/").status_code == 403
    assert web.post("/settings/sla/new/", form()).status_code == 403
    assert not SlaLevel.objects.exists()
