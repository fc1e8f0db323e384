"""The ticket page shows the running SLA deadlines, and which are overdue."""

import datetime as dt

import time_machine

from saruna.sla import actions as sla_actions
from saruna.tickets import actions
from tests.tenancy import host_client

OPENED = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def test_ticket_page_shows_deadlines(scoped, customer, owner):
    sla_actions.save_sla_level(scoped, name="Gold", is_default=True, first_answer=3600,
                               business_hours={d: {"start": "00:00", "end": "24:00"} for d in (
                                   "monday", "tuesday", "wednesday", "thursday", "friday",
                                   "saturday", "sunday")})
    with time_machine.travel(OPENED, tick=False):
        ticket = actions.open_ticket(scoped, "Help", "Broken", customer)
    web = host_client(scoped, owner)
    with time_machine.travel(OPENED + dt.timedelta(minutes=10), tick=False):
        page = web.get(f"/tickets/{ticket.public_id}/").content.decode()
    assert "First answer due 2026-03-02 09:00" in page and "(overdue)" not in page
    with time_machine.travel(OPENED + dt.timedelta(hours=2), tick=False):
        page = web.get(f"/tickets/{ticket.public_id}/").content.decode()
    assert "(overdue)" in page
    actions.add_agent_reply(ticket, owner, "Done")
    assert "First answer due" not in web.get(f"/tickets/{ticket.public_id}/").content.decode()
