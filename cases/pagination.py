"""Keyset (cursor) pagination: stable pages however the table changes between requests."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from cases.errors import ValidationFailed

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class SortKey:
    """One column of an ordering; the last key of every ordering must be unique (the id)."""

    # A mapped attribute (`col(Model.field)`) or any column expression; `.key` names it.
    column: Any
    descending: bool = False

    def ordered(self) -> ColumnElement[Any]:
        ordered: ColumnElement[Any] = self.column.desc() if self.descending else self.column.asc()
        return ordered


@dataclass(frozen=True)
class PageRequest:
    first: int
    after: tuple[Any, ...] | None

    @classmethod
    def of(cls, first: int | None, after: str | None) -> PageRequest:
        size = DEFAULT_PAGE_SIZE if first is None else first
        if size < 0 or size > MAX_PAGE_SIZE:
            raise ValidationFailed(f"must be between 0 and {MAX_PAGE_SIZE}", field="first")
        return cls(first=size, after=decode_cursor(after) if after else None)


@dataclass(frozen=True)
class PageQuery:
    """One page to read: the statement of every matching row, their ordering and the page asked for.

    Building one does no I/O; `cases.repository.PageReader` reads it, as entities or as ids.
    """

    statement: sa.Select[Any]
    keys: Sequence[SortKey]
    request: PageRequest
    # The statement cut to the page, plus one row that tells whether another follows; built at
    # once, so that a cursor of another ordering is refused where the page was asked for.
    limited: sa.Select[Any] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "limited", self.cut(self.statement))

    def cut(self, statement: sa.Select[Any]) -> sa.Select[Any]:
        """`statement` (this one, or the same rows with other columns) cut to the page."""
        return page_statement(statement, self.keys, self.request)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if "dt" in value:
            return datetime.fromisoformat(value["dt"])
        if "d" in value:
            return date.fromisoformat(value["d"])
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_encode_value(value) for value in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, ...]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list):
            raise ValueError
        return tuple(_decode_value(value) for value in values)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed("is not a cursor this API returned", field="after") from None


def after_condition(keys: Sequence[SortKey], values: tuple[Any, ...]) -> ColumnElement[bool]:
    """Rows strictly after `values` in the ordering given by `keys` (any mix of directions)."""
    if len(values) != len(keys):
        raise ValidationFailed("is not a cursor of this ordering", field="after")
    alternatives = []
    for position, key in enumerate(keys):
        equal_prefix = [keys[i].column == values[i] for i in range(position)]
        beyond = key.column < values[position] if key.descending else key.column > values[position]
        alternatives.append(sa.and_(*equal_prefix, beyond))
    return sa.or_(*alternatives)


def page_statement(
    statement: sa.Select[Any], keys: Sequence[SortKey], request: PageRequest
) -> sa.Select[Any]:
    """The statement limited to one page (plus one row that tells whether another follows)."""
    if request.after is not None:
        statement = statement.where(after_condition(keys, request.after))
    return statement.order_by(*(key.ordered() for key in keys)).limit(request.first + 1)


def build_page(rows: Sequence[T], keys_of: Any, request: PageRequest) -> Page[T]:
    """Cut the extra row off and give each item its cursor; `keys_of(row)` returns the sort values."""
    items = list(rows[: request.first])
    return Page(
        items=items,
        cursors=[encode_cursor(keys_of(item)) for item in items],
        has_next_page=len(rows) > request.first,
        has_previous_page=request.after is not None,
    )
