import re

from django_scopes import scope

from saruna.contactforms import actions
from saruna.contacts.actions import save_custom_field
from saruna.tickets.actions import save_department


def make_form(account, **fields):
    """A form of ``account`` asking for a plan (kept in the ticket field ``plan``) and a
    newsletter checkbox, routed to a "Sales" department."""
    with scope(account=account):
        save_custom_field(account, target="ticket", code="plan", name="Plan")
        fields.setdefault("department", save_department(account, name="Sales"))
        fields.setdefault("fields", actions.build_fields(
            ask_name=True, require_name=False, ask_subject=True, require_subject=False,
            questions=[
                {"key": "q_plan", "label": "Plan", "type": "select", "required": True,
                 "choices": ["Basic", "Pro"], "ticket_field": "plan"},
                {"key": "q_news", "label": "Newsletter", "type": "checkbox", "required": False,
                 "choices": [], "ticket_field": ""},
            ],
        ))
        fields.setdefault("confirmation_text", "Thanks, we answer within a day.")
        return actions.save_contact_form(account, name="Website", **fields)


def stamp(client, contact_form):
    """The fill-time stamp of a freshly shown hosted page."""
    page = client.get(f"/f/{contact_form.public_id}/").content.decode()
    return re.search(r'name="started" value="([^"]+)"', page).group(1)


def answers(client, contact_form, **overrides):
    data = {
        "name": "Ann Visitor", "email": "ann@example.com", "subject": "Billing question",
        "message": "Why was I charged twice?", "q_plan": "Pro", "q_news": "on",
        "website": "", "started": stamp(client, contact_form),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}
