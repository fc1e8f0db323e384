"""Settings → SLA levels: list, create, edit (and delete a level no ticket used), on the help
desk settings' shared list/form pages."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from saruna.sla import actions
from saruna.sla.forms import SlaLevelForm
from saruna.sla.models import SlaLevel
from saruna.tickets.settings_views import Kind

SLA_LEVELS = Kind(
    name="settings_sla", model=SlaLevel, form=SlaLevelForm,
    save=actions.save_sla_level, delete=actions.delete_sla_level,
    title=gettext_lazy("SLA levels"), noun=gettext_lazy("SLA level"),
    table="sla/_levels.html",
    objects=lambda user: SlaLevel.objects.prefetch_related("departments"),
    deletable=lambda level: not level.records.exists(),
)
