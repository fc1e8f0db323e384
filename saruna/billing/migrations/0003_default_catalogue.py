"""The catalogue every installation starts with: the free plan and the all-inclusive plan at
$39 per agent seat per month or $390 per seat per year (two months free)."""

import datetime

from django.db import migrations

# code, name, agent seats (fair use; the provider overrides per account),
# mailboxes, chat buttons, days of history (None: all), API requests per minute
PLANS = [
    ("free", "Free", 3, 1, 1, 365, 60),
    ("all-inclusive", "All-inclusive", 100, 100, 100, None, 180),
]
# code, currency, cents per seat per month, cents per seat per year
PRICES = [("all-inclusive", "USD", 3900, 39000)]
# Before any invoice an installation can have.
CATALOGUE_START = datetime.date(2020, 1, 1)


def create(apps, schema_editor):
    Plan = apps.get_model("core", "Plan")
    PlanLimits = apps.get_model("billing", "PlanLimits")
    PlanPrice = apps.get_model("billing", "PlanPrice")
    for code, name, agents, mailboxes, buttons, history, api in PLANS:
        plan, _ = Plan.objects.get_or_create(code=code, defaults={"name": name, "max_agents": agents})
        PlanLimits.objects.get_or_create(plan=plan, defaults={
            "max_mailboxes": mailboxes, "max_chat_buttons": buttons, "history_days": history,
            "api_requests_per_minute": api,
        })
    for code, currency, month, year in PRICES:
        PlanPrice.objects.get_or_create(
            plan=Plan.objects.get(code=code), currency=currency, effective_from=CATALOGUE_START,
            defaults={"seat_month_cents": month, "seat_year_cents": year},
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_immutable_documents"), ("core", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
