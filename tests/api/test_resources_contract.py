"""The field-table checker the resource contract tests share (API §2.3, §3.2): every
documented key is present, each value has its documented type (or is null where allowed),
SDK-required fields are never null, enum-checked fields hold a listed value, date fields
hold ``YYYY-MM-DD HH:MM:SS`` and never ``""``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HHMM = re.compile(r"^([01]\d|2[0-4]):[0-5]\d$")


@dataclass(frozen=True)
class F:
    """One row of a field table: ``kind`` is string, integer, number, boolean, date-time
    (also for "date string"), date, hhmm, array, object; ``items`` checks array elements."""

    kind: str
    required: bool = False
    enum: tuple[str, ...] | None = None
    items: Any = None
    nonempty: bool = False


def check(value: Any, table: dict[str, F], where: str = "") -> None:
    assert isinstance(value, dict), f"{where}: not an object: {value!r}"
    missing = set(table) - set(value)
    assert not missing, f"{where}: keys missing: {sorted(missing)}"
    for name, field in table.items():
        check_value(value[name], field, f"{where}.{name}")


def check_value(value: Any, field: F, where: str) -> None:
    if value is None:
        assert not field.required, f"{where}: required field is null"
        return
    kind = field.kind
    if kind == "string":
        assert isinstance(value, str), f"{where}: not a string: {value!r}"
    elif kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), f"{where}: {value!r}"
    elif kind == "number":
        assert isinstance(value, int | float) and not isinstance(value, bool), f"{where}"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{where}: not a JSON boolean: {value!r}"
    elif kind == "date-time":
        assert isinstance(value, str) and DATE_TIME.match(value), f"{where}: {value!r}"
    elif kind == "date":
        assert isinstance(value, str) and DATE.match(value), f"{where}: {value!r}"
    elif kind == "hhmm":
        assert isinstance(value, str) and HHMM.match(value), f"{where}: {value!r}"
    elif kind == "array":
        assert isinstance(value, list), f"{where}: not an array: {value!r}"
        for i, item in enumerate(value):
            if isinstance(field.items, dict):
                check(item, field.items, f"{where}[{i}]")
            elif field.items is not None:
                check_value(item, field.items, f"{where}[{i}]")
    elif kind == "object":
        if isinstance(field.items, dict):
            check(value, field.items, where)
        else:
            assert isinstance(value, dict), where
    else:
        raise AssertionError(f"unknown kind {kind}")
    if field.enum is not None:
        assert value in field.enum, f"{where}: {value!r} not in {field.enum}"
    if field.nonempty:
        assert value != "", f"{where}: empty"


def assert_error(response, status: int, contains: str = "") -> None:
    assert response.status_code == status, (response.status_code, response.content)
    assert response["Content-Type"].startswith("application/json")
    message = response.json()["message"]
    assert isinstance(message, str) and message
    assert contains.lower() in message.lower(), message


def assert_ok(response) -> Any:
    assert response.status_code == 200, (response.status_code, response.content)
    return response.json()


# --- the checker itself must be able to fail ------------------------------------------------

TABLE = {"id": F("string"), "flag": F("string", enum=("Y", "N")), "when": F("date-time"),
         "name": F("string", required=True)}


def test_checker_accepts_a_valid_object():
    check({"id": "a", "flag": "Y", "when": "2024-01-02 03:04:05", "name": "x"}, TABLE)
    check({"id": None, "flag": None, "when": None, "name": "x"}, TABLE)


@pytest.mark.parametrize("bad", [
    {"flag": "Y", "when": None, "name": "x"},  # id missing
    {"id": "a", "flag": "", "when": None, "name": "x"},  # "" in an enum-checked field
    {"id": "a", "flag": "Y", "when": "", "name": "x"},  # "" in a date
    {"id": "a", "flag": "Y", "when": "2024-01-02T03:04:05Z", "name": "x"},
    {"id": "a", "flag": "Y", "when": None, "name": None},  # required null
    {"id": 5, "flag": "Y", "when": None, "name": "x"},
])
def test_checker_refuses_what_the_client_would_refuse(bad):
    with pytest.raises(AssertionError):
        check(bad, TABLE)
