"""Pieces the contacts and tickets apps share: the error every action raises on bad input,
per-account public ids, and the partial-update writer behind the small ``save_*`` actions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext

from saruna.core import audit
from saruna.core.ids import new_id
from saruna.core.models import Account, TenantModel


class ActionError(Exception):
    """Bad input to an action: nothing was changed. ``code`` tells the API which HTTP status
    to answer: ``invalid`` 400, ``not_found`` 404, ``conflict`` 409, ``too_large`` 413."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def fresh_value(
    model: type[models.Model], account_id: str, field: str, make: Callable[[], str]
) -> str:
    """A value of ``make()`` not yet used in ``field`` within the account (retried on collision)."""
    manager = model._base_manager  # unscoped: the account filter is explicit
    for _attempt in range(20):
        value = make()
        if not manager.filter(account_id=account_id, **{field: value}).exists():
            return value
    raise RuntimeError(f"no free {model.__name__}.{field} after 20 attempts")


class PublicIdModel(TenantModel):
    """A tenant model whose API id is unique per account only (the default department is
    ``default`` in every account), so it lives beside the internal auto primary key."""

    id_length: ClassVar[int] = 8

    public_id = models.CharField(max_length=16, editable=False)

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["account", "public_id"], name="%(app_label)s_%(class)s_public_id"
            )
        ]

    def make_public_id(self) -> str:
        return new_id(self.id_length)

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.public_id:
            self.public_id = fresh_value(
                type(self), self.account_id, "public_id", self.make_public_id
            )
        super().save(*args, **kwargs)


M = TypeVar("M", bound=models.Model)


def resolve_ids(model: type[M], ids: Iterable[str], *, field: str = "public_id") -> list[M]:
    """Objects for client-sent ids, in the order given; an unknown id is an ``ActionError``.
    Runs in the active scope, so another account's id is unknown here."""
    wanted = list(dict.fromkeys(ids))
    found = {getattr(o, field): o for o in model.objects.filter(**{f"{field}__in": wanted})}  # type: ignore[attr-defined]
    missing = [i for i in wanted if i not in found]
    if missing:
        raise ActionError(
            gettext("Unknown %(kind)s: %(ids)s")
            % {"kind": model._meta.verbose_name, "ids": ", ".join(missing)},
            "invalid",
        )
    return [found[i] for i in wanted]


def validate(obj: models.Model, exclude: Iterable[str] = ()) -> None:
    """Field validation (choices, lengths, formats) as an ``ActionError``; uniqueness is left
    to the database so that races end in the same error."""
    try:
        obj.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        parts = [
            f"{name}: {' '.join(str(m) for m in messages)}"
            for name, messages in exc.message_dict.items()
        ]
        raise ActionError("; ".join(parts)) from exc


def save_record(
    model: type[M],
    account: Account,
    instance: M | None,
    fields: Mapping[str, Any],
    writable: Iterable[str],
    *,
    conflict: str,
) -> M:
    """Create (``instance`` None) or partially update a simple record: only keys in ``fields``
    that are ``writable`` are written, unknown keys are ignored (API §3.2). A unique-constraint
    violation becomes a ``conflict`` ActionError with the given message."""
    obj = instance if instance is not None else model(account=account)
    for name in writable:
        if name in fields:
            setattr(obj, name, fields[name])
    validate(obj, exclude=["public_id"])
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise ActionError(conflict, "conflict") from exc
    return obj


def delete_record(obj: TenantModel, *, actor: Any = None) -> None:
    """Deletes a simple record (group, tag, canned message...) and notes it in the audit log;
    link rows to it cascade."""
    with transaction.atomic():
        audit.record(obj.account, f"{obj._meta.model_name}.deleted", actor=actor, target=obj)
        obj.delete()
