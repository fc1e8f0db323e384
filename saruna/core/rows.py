"""One row written with plain SQL, for the hot path that writes the same shape of row many
times a second: a chat line (a ticket message, a chat message, the ticket's activity time).

``Model.objects.create`` builds and compiles its INSERT anew each time and goes through the
scoped manager and ``save()``: about 0.2 ms of Python a row, more than the database takes.
Here the statement is built once per model and connection and only the values are
converted (with the fields' own ``pre_save`` and ``get_db_prep_save``, as ``save()`` does).

What ``save()`` would also do is skipped: signals and a model's own ``save()``. Use these
only for models that have neither (``tests/core/test_rows.py`` checks the ones used).
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from django.db import connection
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)

_inserts: dict[tuple[str, type[Model]], tuple[str, list[Field]]] = {}
_updates: dict[tuple[str, type[Model], tuple[str, ...]], tuple[str, list[Field]]] = {}


def insert(obj: M) -> M:
    """``INSERT`` ``obj`` (an unsaved instance with an automatic primary key) and set its
    primary key."""
    model = type(obj)
    key = (connection.vendor, model)
    if key not in _inserts:
        meta = model._meta
        fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field]
        sql = "INSERT INTO {} ({}) VALUES ({})".format(
            _quote(meta.db_table), ", ".join(_quote(f.column) for f in fields),
            ", ".join(["%s"] * len(fields)))
        if connection.features.can_return_columns_from_insert:
            sql += f" RETURNING {_quote(meta.pk.column)}"
        _inserts[key] = sql, fields
    sql, fields = _inserts[key]
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if connection.features.can_return_columns_from_insert:
            obj.pk = cursor.fetchone()[0]
        else:  # SQLite before 3.35
            obj.pk = connection.ops.last_insert_id(cursor, model._meta.db_table,
                                                   str(model._meta.pk.column))
    obj._state.adding = False
    obj._state.db = connection.alias
    return obj


def update(obj: Model, field_names: tuple[str, ...]) -> None:
    """``UPDATE`` the columns of ``field_names`` of the saved ``obj``."""
    model = type(obj)
    key = (connection.vendor, model, field_names)
    if key not in _updates:
        meta = model._meta
        fields = [cast(Field, meta.get_field(name)) for name in field_names]
        sql = "UPDATE {} SET {} WHERE {} = %s".format(
            _quote(meta.db_table), ", ".join(f"{_quote(f.column)} = %s" for f in fields),
            _quote(meta.pk.column))
        _updates[key] = sql, fields
    sql, fields = _updates[key]
    params: list[Any] = [f.get_db_prep_save(f.pre_save(obj, False), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, obj.pk])


def _quote(name: str | None) -> str:
    return str(connection.ops.quote_name(str(name)))
