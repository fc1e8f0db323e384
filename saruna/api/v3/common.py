"""The conventions every v3 resource shares (API §2 to §3), as pieces a resource module declares
once: its filterable columns (:class:`Column`), sort fields and default sort (:class:`ListSpec`),
and a serializer. Then::

    TICKETS = ListSpec(columns={...}, sorts={...}, default_sort="date_created",
                       serialize=ticket_out)

    @router.get("/tickets", response=responses(list[TicketOut]))
    def list_tickets(request, params: Query[PageQuery]):
        return page(request, Ticket.objects.all(), TICKETS, params)

- errors: raise :class:`ApiError` (or let an action raise ``ActionError``) → ``{"message"}``;
- dates: :func:`clock` formats ``YYYY-MM-DD HH:MM:SS`` in the account's time zone (or the
  ``Timezone-Offset`` header's) and reads every input form of §3.3;
- flags: :func:`yn` / :func:`parse_yn`, booleans in queries: :func:`parse_bool`;
- lists: :func:`page` (``_page``/``_perPage``/``_from``/``_to``) and :func:`cursor_page`
  (``_cursor`` + the ``next_page_cursor`` header), both with ``_sortField``/``_sortDir`` and
  ``_filters`` in both forms;
- writes: :func:`audited` records the write with the key as actor (the URL layer records a
  generic ``api.write`` for any write a handler did not record itself).
"""

from __future__ import annotations

import base64
import calendar
import datetime as dt
import email.utils
import hashlib
import json
import re
import zoneinfo
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import models
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from ninja import Field, Schema
from pydantic import ConfigDict

from saruna.api.auth import ApiError
from saruna.core import audit
from saruna.core.models import AuditEvent

M = TypeVar("M", bound=models.Model)

MAX_PER_PAGE = 1000
DEFAULT_PER_PAGE = 10
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"


# --- shapes shared by every operation ----------------------------------------------------


class ErrorOut(Schema):
    """Every error answer (LiveAgent's ``ErrorResponse``)."""

    message: str


class OkOut(Schema):
    """``OkResponse``: always ``{}``."""

    model_config = ConfigDict(extra="forbid")


class CountOut(Schema):
    count: int


class CustomFieldOut(Schema):
    code: str
    value: str | None = None


def DateField(description: str = "") -> Any:
    """A date as LiveAgent writes it: ``YYYY-MM-DD HH:MM:SS`` in the account's time zone, or
    null. Declared as a patterned string (not ``date-time``) because that is what it is."""
    text = "YYYY-MM-DD HH:MM:SS in the account's time zone"
    return Field(
        None, description=f"{description} ({text})" if description else text,
        json_schema_extra={"pattern": DATE_PATTERN},
    )


ERROR_CODES = frozenset({400, 401, 403, 404, 405, 409, 413, 429, 501})


def responses(model: Any) -> dict[Any, Any]:
    """``response=`` for an operation: ``model`` on 200, ``{"message"}`` on every error the
    API can answer (§3.7)."""
    return {200: model, ERROR_CODES: ErrorOut}


OK: dict[str, Any] = {}


def json_answer(data: Any) -> HttpResponse:
    """A 200 with ``data`` as JSON, written directly: for the big lists, where validating
    every row again against the response schema would cost more than the query (the
    contract tests and schemathesis check that these answers keep to the schema)."""
    return HttpResponse(
        json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        content_type="application/json; charset=utf-8",
    )


# --- values --------------------------------------------------------------------------------


def yn(value: bool) -> str:
    return "Y" if value else "N"


def parse_yn(value: Any, name: str) -> bool:
    text = str(value).strip().upper()
    if text in ("Y", "N"):
        return text == "Y"
    raise ApiError(400, gettext("%(name)s must be Y or N.") % {"name": name})


_TRUE = {"true", "1", "y", "yes"}
_FALSE = {"false", "0", "n", "no"}


def parse_bool(value: str | None, name: str, default: bool) -> bool:
    """A boolean query parameter as clients send it: ``True``/``true``/``1``/``Y``/``yes``."""
    if value is None or value == "":
        return default
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ApiError(400, gettext("%(name)s must be true or false.") % {"name": name})


def split_list(value: Any) -> list[str]:
    """A comma-separated text (or a JSON array) as a list of non-empty stripped items."""
    items = value if isinstance(value, list) else str(value or "").split(",")
    return [str(i).strip() for i in items if str(i).strip()]


def get_or_404(queryset: QuerySet[M], message: str | None = None, **lookup: Any) -> M:
    """The object, or a 404 — also for another account's object, which the scope hides."""
    found = queryset.filter(**lookup).first()
    if found is None:
        raise ApiError(404, message or gettext("Not found."))
    return found


# --- dates ---------------------------------------------------------------------------------


_DATE_INPUT = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.\d+)?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)


@dataclass(frozen=True)
class Clock:
    """The request's API time zone: the account's, or UTC + ``Timezone-Offset`` seconds."""

    zone: dt.tzinfo

    def format(self, value: dt.datetime | None) -> str | None:
        if value is None:
            return None
        # YYYY-MM-DD HH:MM:SS (the year always in four digits) at a fraction of strftime's
        # cost: a list writes seven dates a ticket.
        return value.astimezone(self.zone).isoformat(" ", "seconds")[:19]

    def now(self) -> dt.datetime:
        return dt.datetime.now(self.zone)

    def parse(self, text: Any, name: str = "date") -> dt.datetime:
        """Any §3.3 input form as an aware datetime; naive values are in this zone."""
        raw = str(text).strip()
        match = _DATE_INPUT.match(raw)
        try:
            if match:
                y, mo, d, h, mi, s, zone = match.groups()
                value = dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0),
                                    int(s or 0))
                if zone:
                    zone = "+00:00" if zone == "Z" else zone
                    sign = 1 if zone[0] == "+" else -1
                    digits = zone[1:].replace(":", "")
                    offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
                    return value.replace(tzinfo=dt.timezone(sign * offset))
                return value.replace(tzinfo=self.zone)
            parsed = email.utils.parsedate_to_datetime(raw)  # RFC 2822, PHP's date('r')
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=self.zone)
        except (ValueError, TypeError, IndexError):
            pass
        raise ApiError(
            400,
            gettext("%(name)s: cannot read the date %(value)s (use YYYY-MM-DD HH:MM:SS).")
            % {"name": name, "value": raw[:40]},
        )


def clock(request: HttpRequest) -> Clock:
    cached = getattr(request, "_api_clock", None)
    if cached is not None:
        return cached
    offset = request.headers.get("Timezone-Offset", "").strip()
    zone: dt.tzinfo
    if offset:
        try:
            zone = dt.timezone(dt.timedelta(seconds=int(offset)))
        except (ValueError, OverflowError) as exc:
            raise ApiError(400, gettext("Timezone-Offset must be a number of seconds.")) from exc
    else:
        try:
            zone = zoneinfo.ZoneInfo(request.account.time_zone)  # type: ignore[attr-defined]
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = dt.UTC
    request._api_clock = Clock(zone)  # type: ignore[attr-defined]
    return request._api_clock  # type: ignore[attr-defined]


def _preset_range(preset: str, now: dt.datetime) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``DP`` presets (§3.6) as [start, end) in ``now``'s zone; weeks start on Monday."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week = day - dt.timedelta(days=day.weekday())
    month = day.replace(day=1)
    year = month.replace(month=1)
    previous_month = (month - dt.timedelta(days=1)).replace(day=1)
    ranges: dict[str, tuple[dt.datetime | None, dt.datetime | None]] = {
        "T": (day, day + dt.timedelta(days=1)),
        "Y": (day - dt.timedelta(days=1), day),
        "L7D": (day - dt.timedelta(days=6), day + dt.timedelta(days=1)),
        "L30D": (day - dt.timedelta(days=29), day + dt.timedelta(days=1)),
        "L90D": (day - dt.timedelta(days=89), day + dt.timedelta(days=1)),
        "TW": (week, week + dt.timedelta(days=7)),
        "LW": (week - dt.timedelta(days=7), week),
        "TM": (month, month + dt.timedelta(days=calendar.monthrange(day.year, day.month)[1])),
        "LM": (previous_month, month),
        "TY": (year, year.replace(year=year.year + 1)),
        "LY": (year.replace(year=year.year - 1), year),
        "A": (None, None),
    }
    if preset.upper() not in ranges:
        raise ApiError(400, gettext("Unknown date preset: %(p)s") % {"p": preset})
    return ranges[preset.upper()]


# --- filters -------------------------------------------------------------------------------

# Every spelling clients send (§3.6) → one canonical operator.
OPERATORS: dict[str, str] = {
    "E": "E", "=": "E", "==": "E",
    "NE": "NE", "!=": "NE", "<>": "NE",
    "IN": "IN", "NI": "NI", "CY": "CY",
    "L": "L", "LIKE": "LIKE", "NOT LIKE": "NOT LIKE",
    "IE": "IE", "INE": "INE",
    "D>": ">", ">": ">", "D<": "<", "<": "<", "D>=": ">=", ">=": ">=", "D<=": "<=", "<=": "<=",
    "D=": "D=", "DP": "DP",
}

TEXT_OPERATORS = frozenset({"E", "NE", "IN", "NI", "L", "LIKE", "NOT LIKE", "IE", "INE",
                            ">", "<", ">=", "<="})
DATE_OPERATORS = frozenset({"E", ">", "<", ">=", "<=", "D=", "DP", "IE", "INE"})
NUMBER_OPERATORS = frozenset({"E", "NE", "IN", "NI", ">", "<", ">=", "<=", "IE", "INE"})
MULTI_OPERATORS = frozenset({"E", "IN", "L", "LIKE", "CY", "NI", "IE", "INE"})
SEARCH_OPERATORS = frozenset({"E", "L", "LIKE"})
# Columns of ids and one-letter codes: equality only.
EQUALITY_OPERATORS = frozenset({"E", "NE", "IN", "NI", "IE", "INE"})

Search = Callable[[HttpRequest, QuerySet[Any], str], QuerySet[Any]]


@dataclass(frozen=True)
class Column:
    """One filterable column: its ORM ``path`` and how values compare.

    ``kind``: ``text`` (case-insensitive equality), ``exact`` (ids and codes: exact
    equality), ``date``, ``number``, ``flag`` (a boolean shown as ``Y``/``N``), ``multi``
    (a to-many path: tag ids, group ids, e-mail addresses) or ``search`` (full text through
    ``search``). ``contains`` makes ``E`` mean *contains* (ticket subjects, §6.2);
    ``elements`` on a multi column compares each value on its own (``emails``) instead of
    reading the value as a set of ids (``tags``). ``empty`` is what counts as an empty
    value for ``IE``/``INE`` on a text column."""

    path: str = ""
    kind: str = "text"
    operators: frozenset[str] | None = None
    contains: bool = False
    elements: bool = False
    search: Search | None = None
    empty: tuple[Any, ...] = ("",)

    def allowed(self) -> frozenset[str]:
        if self.operators is not None:
            return self.operators
        return {
            "date": DATE_OPERATORS, "number": NUMBER_OPERATORS, "multi": MULTI_OPERATORS,
            "search": SEARCH_OPERATORS, "flag": frozenset({"E", "NE"}),
        }.get(self.kind, TEXT_OPERATORS)


def like_lookup(path: str, pattern: str) -> Q:
    """An SQL-LIKE pattern (``%`` any run, ``_`` one character), case-insensitive, as the
    cheapest lookup that expresses it."""
    inner = pattern.strip("%")
    if "%" not in inner and "_" not in pattern:
        starts, ends = pattern.startswith("%"), pattern.endswith("%")
        if starts and ends:
            return Q(**{f"{path}__icontains": inner})
        if ends:
            return Q(**{f"{path}__istartswith": inner})
        if starts:
            return Q(**{f"{path}__iendswith": inner})
        return Q(**{f"{path}__iexact": inner})
    regex = "".join(
        ".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern
    )
    return Q(**{f"{path}__iregex": f"^{regex}$"})


@dataclass(frozen=True)
class Condition:
    column: str
    operator: str
    value: Any


def parse_filters(text: str | None, columns: Mapping[str, Column]) -> list[Condition]:
    """``_filters`` in either form (§3.6), checked against ``columns``: an unknown column or
    an operator the column does not take is a 400 naming it, never ignored."""
    if text is None or not text.strip():
        return []
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ApiError(400, gettext("_filters is not valid JSON.")) from exc
    raw: list[tuple[Any, Any, Any]] = []
    if isinstance(data, dict):
        for name, value in data.items():
            column = columns.get(name)
            raw.append((name, "L" if column is not None and column.kind == "search" else "E",
                        value))
    elif isinstance(data, list):
        for item in data:
            if not isinstance(item, list) or len(item) not in (2, 3):
                raise ApiError(400, gettext(
                    "_filters must be an object or a list of [column, operator, value]."))
            raw.append((item[0], item[1], item[2] if len(item) == 3 else ""))
    else:
        raise ApiError(400, gettext(
            "_filters must be an object or a list of [column, operator, value]."))
    conditions = []
    for name, operator, value in raw:
        column = columns.get(str(name))
        if column is None:
            raise ApiError(400, gettext("Unknown filter column: %(c)s") % {"c": name})
        canonical = OPERATORS.get(str(operator).strip().upper())
        if canonical is None:
            raise ApiError(400, gettext("Unknown filter operator: %(o)s") % {"o": operator})
        if canonical not in column.allowed():
            raise ApiError(400, gettext("The operator %(o)s cannot be used on the column %(c)s.")
                           % {"o": operator, "c": name})
        if value is None:
            value = ""
        elif not isinstance(value, list):
            value = str(value)
        conditions.append(Condition(str(name), canonical, value))
    return conditions


def apply_filters(
    request: HttpRequest, queryset: QuerySet[M], columns: Mapping[str, Column],
    conditions: Iterable[Condition],
) -> QuerySet[M]:
    for condition in conditions:
        queryset = _apply(request, queryset, columns[condition.column], condition)
    return queryset


def _apply(
    request: HttpRequest, qs: QuerySet[M], column: Column, c: Condition
) -> QuerySet[M]:
    op, value, path = c.operator, c.value, column.path
    if column.kind == "search":
        assert column.search is not None
        return column.search(request, qs, str(value))
    if column.kind == "multi":
        return _apply_multi(qs, column, op, split_list(value))
    if op in ("IE", "INE"):
        empty = Q(**{f"{path}__isnull": True})
        if column.kind in ("text", "exact"):
            for blank in column.empty:
                empty |= Q(**{path: blank})
        return qs.filter(empty) if op == "IE" else qs.exclude(empty)
    if column.kind == "date":
        return _apply_date(request, qs, path, op, value, c.column)
    if column.kind == "flag":
        wanted = parse_yn(value, c.column)
        return qs.filter(**{path: wanted}) if op == "E" else qs.exclude(**{path: wanted})
    if column.kind == "number":
        return _apply_number(qs, path, op, value, c.column)
    return _apply_text(qs, column, op, value)


def _apply_text(qs: QuerySet[M], column: Column, op: str, value: Any) -> QuerySet[M]:
    path = column.path
    equal = "exact" if column.kind == "exact" else "iexact"
    text = ",".join(value) if isinstance(value, list) else str(value)
    if op == "E":
        if column.contains:
            return qs.filter(like_lookup(path, text) if "%" in text
                             else Q(**{f"{path}__icontains": text}))
        return qs.filter(**{f"{path}__{equal}": text})
    if op == "NE":
        return qs.exclude(**{f"{path}__{equal}": text})
    if op in ("IN", "NI"):
        items = split_list(value)
        lookup = Q(**{f"{path}__in": items})
        if column.kind != "exact":
            lookup = Q()
            for item in items:
                lookup |= Q(**{f"{path}__iexact": item})
            if not items:
                lookup = Q(pk__in=[])
        return qs.filter(lookup) if op == "IN" else qs.exclude(lookup)
    if op == "L":
        return qs.filter(like_lookup(path, text) if "%" in text
                         else Q(**{f"{path}__icontains": text}))
    if op == "LIKE":
        return qs.filter(like_lookup(path, text))
    if op == "NOT LIKE":
        return qs.exclude(like_lookup(path, text))
    lookups = {">": "gt", "<": "lt", ">=": "gte", "<=": "lte"}
    return qs.filter(**{f"{path}__{lookups[op]}": text})


def _apply_number(qs: QuerySet[M], path: str, op: str, value: Any, name: str) -> QuerySet[M]:
    def number(item: Any) -> float:
        try:
            return float(item)
        except (TypeError, ValueError) as exc:
            raise ApiError(400, gettext("%(c)s: %(v)s is not a number.")
                           % {"c": name, "v": item}) from exc

    if op in ("IN", "NI"):
        lookup = Q(**{f"{path}__in": [number(i) for i in split_list(value)]})
        return qs.filter(lookup) if op == "IN" else qs.exclude(lookup)
    if op == "NE":
        return qs.exclude(**{path: number(value)})
    lookups = {"E": "exact", ">": "gt", "<": "lt", ">=": "gte", "<=": "lte"}
    return qs.filter(**{f"{path}__{lookups[op]}": number(value)})


def _apply_date(
    request: HttpRequest, qs: QuerySet[M], path: str, op: str, value: Any, name: str
) -> QuerySet[M]:
    zone = clock(request)
    if op == "DP":
        start, end = _preset_range(str(value), zone.now())
    elif op in ("D=", "E"):
        moment = zone.parse(value, name).astimezone(zone.zone)
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        end = start + dt.timedelta(days=1)
    else:
        lookups = {">": "gt", "<": "lt", ">=": "gte", "<=": "lte"}
        return qs.filter(**{f"{path}__{lookups[op]}": zone.parse(value, name)})
    if start is not None:
        qs = qs.filter(**{f"{path}__gte": start})
    if end is not None:
        qs = qs.filter(**{f"{path}__lt": end})
    return qs


def _apply_multi(qs: QuerySet[M], column: Column, op: str, values: list[str]) -> QuerySet[M]:
    """Conditions on a to-many path through ``pk IN (subquery)``, so a row matching twice
    is still listed once."""
    model, path = qs.model, column.path

    def having(condition: Q) -> QuerySet[Any]:
        return model.objects.filter(condition).values("pk")  # type: ignore[attr-defined]

    equal = "iexact" if column.elements else "exact"
    if op in ("IE", "INE"):
        present = having(Q(**{f"{path}__isnull": False}))
        return qs.exclude(pk__in=present) if op == "IE" else qs.filter(pk__in=present)
    if op in ("CY", "IN"):
        any_of = Q(pk__in=[])
        for v in values:
            any_of |= Q(**{f"{path}__{equal}": v})
        return qs.filter(pk__in=having(any_of))
    if op == "NI":
        any_of = Q(pk__in=[])
        for v in values:
            any_of |= Q(**{f"{path}__{equal}": v})
        return qs.exclude(pk__in=having(any_of))
    if op in ("L", "LIKE") and column.elements:
        for v in values:
            match = like_lookup(path, v) if op == "LIKE" or "%" in v else Q(
                **{f"{path}__icontains": v})
            qs = qs.filter(pk__in=having(match))
        return qs
    # E (the set equals the list) and L (the set contains every listed id); E on an
    # element-wise column: one element equals the value.
    for v in values:
        qs = qs.filter(pk__in=having(Q(**{f"{path}__{equal}": v})))
    if op == "E" and not column.elements:
        others = Q(**{f"{path}__isnull": False}) & ~Q(**{f"{path}__in": values})
        qs = qs.exclude(pk__in=having(others))
        if not values:
            qs = qs.exclude(pk__in=having(Q(**{f"{path}__isnull": False})))
    return qs


# --- sorting and paging ----------------------------------------------------------------------

# A sort field: an ORM path, or a function of "descending?" → order_by terms.
Sort = str | Callable[[bool], Sequence[Any]]


@dataclass(frozen=True)
class ListSpec:
    """What a list endpoint declares once: filterable ``columns``, ``sorts`` (wire name or
    alias → ORM path or ordering function), the ``default_sort`` and ``default_dir``, and
    ``serialize`` (request, object → the wire dict)."""

    columns: Mapping[str, Column]
    sorts: Mapping[str, Sort]
    default_sort: str
    serialize: Callable[[HttpRequest, Any], dict[str, Any]]
    default_dir: str = "ASC"
    # The tie-breaker that makes paging stable: unique and indexed.
    tiebreak: str = "pk"

    def rows_out(self, request: HttpRequest, rows: Iterable[Any]) -> list[dict[str, Any]]:
        return [self.serialize(request, row) for row in rows]


class PageQuery(Schema):
    """Page/offset style parameters (§3.4); all optional, defaults applied by the server."""

    model_config = ConfigDict(populate_by_name=True)

    page: int | None = Field(None, alias="_page", description="1-based page (default 1)")
    per_page: int | None = Field(
        None, alias="_perPage", description=f"rows per page (default 10, at most {MAX_PER_PAGE})"
    )
    from_: int | None = Field(
        None, alias="_from", description="0-based index of the first row; wins over _page"
    )
    to: int | None = Field(None, alias="_to", description="exclusive end index")
    sort_dir: str | None = Field(None, alias="_sortDir", description="ASC or DESC")
    sort_field: str | None = Field(None, alias="_sortField")
    filters: str | None = Field(
        None, alias="_filters",
        description='JSON: {"column": "value"} or [["column", "operator", "value"], ...]',
    )


class CursorQuery(Schema):
    """Cursor style parameters (§3.4): the next page's ``_cursor`` comes from the
    ``next_page_cursor`` response header, absent on the last page."""

    model_config = ConfigDict(populate_by_name=True)

    per_page: int | None = Field(None, alias="_perPage")
    sort_dir: str | None = Field(None, alias="_sortDir")
    sort_field: str | None = Field(None, alias="_sortField")
    filters: str | None = Field(None, alias="_filters")
    cursor: str | None = Field(None, alias="_cursor")


def _sort_direction(value: str | None, default: str) -> bool:
    """True for descending."""
    text = (value or default).strip().upper()
    if text not in ("ASC", "DESC"):
        raise ApiError(400, gettext("_sortDir must be ASC or DESC."))
    return text == "DESC"


def _ordering(spec: ListSpec, name: str | None, descending: bool) -> list[Any]:
    name = name or spec.default_sort
    sort = spec.sorts.get(name)
    if sort is None:
        raise ApiError(400, gettext("Unknown sort field: %(f)s") % {"f": name})
    terms = list(sort(descending)) if callable(sort) else [f"-{sort}" if descending else sort]
    terms.append(f"-{spec.tiebreak}" if descending else spec.tiebreak)
    return terms


def _non_negative(value: int | None, name: str) -> int | None:
    if value is not None and value < 0:
        raise ApiError(400, gettext("%(name)s cannot be negative.") % {"name": name})
    return value


# Past any table's last row, and within the databases' 64-bit OFFSET: a page beyond it is
# empty, like any page past the end.
LAST_ROW = 2**62


def page_bounds(params: PageQuery) -> tuple[int, int]:
    """[start, stop) of the rows asked for; at most ``MAX_PER_PAGE`` of them."""
    per_page = _non_negative(params.per_page, "_perPage") or DEFAULT_PER_PAGE
    per_page = min(per_page, MAX_PER_PAGE)
    start = _non_negative(params.from_, "_from")
    to = _non_negative(params.to, "_to")
    if start is None:
        page_number = max(_non_negative(params.page, "_page") or 1, 1)
        start = (page_number - 1) * per_page
    stop = min(to, start + MAX_PER_PAGE) if to is not None and to > start else start + per_page
    return min(start, LAST_ROW), min(stop, LAST_ROW)


def filtered(
    request: HttpRequest, queryset: QuerySet[M], spec: ListSpec, filters: str | None
) -> QuerySet[M]:
    return apply_filters(request, queryset, spec.columns, parse_filters(filters, spec.columns))


def page_rows(
    request: HttpRequest, queryset: QuerySet[M], spec: ListSpec, params: PageQuery
) -> QuerySet[M]:
    """One page of ``queryset`` filtered and sorted, not read yet: for a list that reads its
    page in its own way (``values()`` of the columns it shows)."""
    queryset = filtered(request, queryset, spec, params.filters)
    descending = _sort_direction(params.sort_dir, spec.default_dir)
    start, stop = page_bounds(params)
    return queryset.order_by(*_ordering(spec, params.sort_field, descending))[start:stop]


def page(
    request: HttpRequest, queryset: QuerySet[M], spec: ListSpec, params: PageQuery
) -> list[dict[str, Any]]:
    """One page of ``queryset`` filtered, sorted and serialized; a page past the end is
    ``[]``. Nothing tells the total (LiveAgent gives none)."""
    return spec.rows_out(request, page_rows(request, queryset, spec, params))


def unpaged(
    request: HttpRequest, queryset: QuerySet[M], spec: ListSpec, params: PageQuery
) -> list[dict[str, Any]]:
    """Lists the client asks for whole (``/tags``, ``/groups``): everything, unless paging
    parameters are sent anyway (§3.4), then that page."""
    if all(v is None for v in (params.page, params.per_page, params.from_, params.to)):
        queryset = filtered(request, queryset, spec, params.filters)
        descending = _sort_direction(params.sort_dir, spec.default_dir)
        rows = queryset.order_by(*_ordering(spec, params.sort_field, descending))
        return spec.rows_out(request, rows)
    return page(request, queryset, spec, params)


CURSOR_HEADER = "next_page_cursor"


def cursor_page(
    request: HttpRequest, response: HttpResponse, queryset: QuerySet[M], spec: ListSpec,
    params: CursorQuery,
) -> list[dict[str, Any]]:
    """One page after ``_cursor``. The token holds the last row's sort value and tie-breaker
    plus a digest of the sort and filter parameters: reused with other parameters, or
    tampered with, it is a 400. The header is absent on the last page (Keboola stops then)."""
    per_page = min(_non_negative(params.per_page, "_perPage") or DEFAULT_PER_PAGE, MAX_PER_PAGE)
    descending = _sort_direction(params.sort_dir, spec.default_dir)
    name = params.sort_field or spec.default_sort
    sort = spec.sorts.get(name)
    if sort is None or callable(sort):
        raise ApiError(400, gettext("Unknown sort field: %(f)s") % {"f": name})
    queryset = filtered(request, queryset, spec, params.filters)
    digest = hashlib.sha256(
        json.dumps([name, descending, params.filters or ""]).encode()
    ).hexdigest()[:16]
    if params.cursor:
        after_value, after_key = _read_cursor(params.cursor, digest)
        value = _cursor_value(after_value)
        beyond = "lt" if descending else "gt"
        queryset = queryset.filter(
            Q(**{f"{sort}__{beyond}": value})
            | Q(**{sort: value, f"{spec.tiebreak}__{beyond}": after_key})
        )
    rows = list(queryset.order_by(*_ordering(spec, name, descending))[: per_page + 1])
    if len(rows) > per_page:
        rows = rows[:per_page]
        last = rows[-1]
        response[CURSOR_HEADER] = _make_cursor(
            _attr(last, sort), _attr(last, spec.tiebreak), digest
        )
    return spec.rows_out(request, rows)


def _attr(obj: Any, path: str) -> Any:
    for part in path.split("__"):
        obj = getattr(obj, part) if obj is not None else None
    return obj


def _make_cursor(value: Any, key: Any, digest: str) -> str:
    if isinstance(value, dt.datetime):
        value = {"t": value.isoformat()}
    payload = json.dumps([value, key, digest], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _read_cursor(token: str, digest: str) -> tuple[Any, Any]:
    try:
        padded = token + "=" * (-len(token) % 4)
        value, key, token_digest = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as exc:
        raise ApiError(400, gettext("_cursor is not valid.")) from exc
    if token_digest != digest:
        raise ApiError(400, gettext(
            "_cursor belongs to other sort or filter parameters; start again without it."))
    return value, key


def _cursor_value(value: Any) -> Any:
    if isinstance(value, dict) and "t" in value:
        try:
            return dt.datetime.fromisoformat(value["t"])
        except (TypeError, ValueError) as exc:
            raise ApiError(400, gettext("_cursor is not valid.")) from exc
    return value


# --- the audit trail -----------------------------------------------------------------------


def audited(request: HttpRequest, verb: str, target: Any = None, **details: Any) -> None:
    """Records a write made through the API with the key as actor (in the request's
    transaction, so it stands or falls with the write)."""
    key: Any = getattr(request, "api_key", None)
    if key is None:
        return
    audit.record(
        request.account,  # type: ignore[attr-defined]
        verb, actor=key.user, actor_type=AuditEvent.ActorType.API_KEY, target=target,
        request=request, api_key=key.pk, api_key_name=key.name, **details,
    )
    request._api_audited = True  # type: ignore[attr-defined]
