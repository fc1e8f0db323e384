"""SLA levels (target times counted in business hours) and the SLA records of tickets.

A ticket gets the level of its department when one names it, else the account's default
level, else none. Each measured metric of a ticket is one :class:`SlaRecord`, started and
closed by :mod:`saruna.sla.tracking` from the ticket actions.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saruna.contacts.common import PublicIdModel
from saruna.core.models import TenantModel
from saruna.sla.business_time import WEEKDAYS, Schedule
from saruna.tickets.models import Department, Ticket


class Metric(models.TextChoices):
    """The SLA metrics, named as the API's ``SlaValues`` keys."""

    FIRST_ANSWER = "first_answer", _("First answer")
    FIRST_ASSIGN = "first_assign", _("First assignment")
    FIRST_RESOLVE = "first_resolve", _("Resolution")
    NEXT_ANSWER = "next_answer", _("Next answer")
    CHAT_ANSWER = "chat_answer", _("Chat answer")
    CALL_ANSWER = "call_answer", _("Call answer")


# Met by an agent's answer.
ANSWER_METRICS = frozenset(
    {Metric.FIRST_ANSWER, Metric.NEXT_ANSWER, Metric.CHAT_ANSWER, Metric.CALL_ANSWER}
)


def office_hours() -> dict[str, dict[str, str] | None]:
    return {
        day: {"start": "09:00", "end": "17:00"} if day not in ("saturday", "sunday") else None
        for day in WEEKDAYS
    }


class SlaLevel(PublicIdModel):
    name = models.CharField(_("name"), max_length=100)
    # Targets in seconds of business time; None = the metric is not measured.
    first_answer = models.PositiveIntegerField(_("first answer"), null=True, blank=True)
    first_assign = models.PositiveIntegerField(_("first assignment"), null=True, blank=True)
    first_resolve = models.PositiveIntegerField(_("resolution"), null=True, blank=True)
    next_answer = models.PositiveIntegerField(_("next answer"), null=True, blank=True)
    chat_answer = models.PositiveIntegerField(_("chat answer"), null=True, blank=True)
    call_answer = models.PositiveIntegerField(_("call answer"), null=True, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    # {"monday": {"start": "HH:MM", "end": "HH:MM"} or None, ... "sunday": ...}
    business_hours = models.JSONField(default=office_hours)
    # ISO dates on which the clock stops all day.
    holidays = models.JSONField(default=list, blank=True)
    is_default = models.BooleanField(
        _("default level"), default=False,
        help_text=_("Applies to tickets of departments that no other level names."),
    )
    departments = models.ManyToManyField(
        Department, blank=True, related_name="sla_levels", verbose_name=_("departments")
    )
    date_created = models.DateTimeField(default=timezone.now, editable=False)

    class Meta(PublicIdModel.Meta):
        verbose_name = _("SLA level")
        ordering = ["name", "pk"]
        constraints = [
            *PublicIdModel.Meta.constraints,
            models.UniqueConstraint("account", Lower("name"), name="sla_level_name_unique"),
            models.UniqueConstraint(
                fields=["account"], condition=Q(is_default=True), name="sla_level_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def target(self, metric: str) -> int | None:
        value: int | None = getattr(self, metric)
        return value

    @property
    def schedule(self) -> Schedule:
        return Schedule.from_config(self.time_zone, self.business_hours, self.holidays)


class SlaRecord(TenantModel):
    """One measurement of one metric on one ticket: started at ``date_created``, due at
    ``date_due`` (business time), met at ``date_closed``."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_records")
    level = models.ForeignKey(SlaLevel, on_delete=models.PROTECT, related_name="records")
    metric = models.CharField(max_length=16, choices=Metric.choices)
    date_created = models.DateTimeField()
    # None when the level's hours never open again (all remaining days are holidays).
    date_due = models.DateTimeField(null=True, blank=True)
    date_closed = models.DateTimeField(null=True, blank=True)
    total_time = models.PositiveIntegerField()
    # Business seconds from start to close; None while running (computed on reading).
    elapsed_time = models.PositiveIntegerField(null=True, blank=True)
    # When Saruna noticed the deadline pass unmet and announced it (``sla.breached``), once.
    breach_noticed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["date_created", "pk"]
        indexes = [
            models.Index(fields=["ticket", "date_closed"]),
            models.Index(fields=["account", "date_closed", "date_due"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "metric"], condition=Q(date_closed__isnull=True),
                name="sla_record_one_running_per_metric",
            )
        ]

    @property
    def is_running(self) -> bool:
        return self.date_closed is None

    def elapsed_seconds(self) -> int:
        if self.elapsed_time is not None:
            return self.elapsed_time
        return self.level.schedule.elapsed(self.date_created, timezone.now())
