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

from cases.kit.errors import ValidationFailed

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

    Building one does no I/O; `cases.reads.pages.PageReader` reads it, as entities or as ids.
    """

    statement: sa.Select[Any]
    keys: Sequence[SortKey]
    request: PageRequest
    # The rows after the cursor given, judged at once: a cursor of another ordering is refused
    # where the page was asked for.
    after: ColumnElement[bool] | None = field(init=False)

    def __post_init__(self) -> None:
        after = self.request.after
        object.__setattr__(
            self, "after", None if after is None else after_condition(self.keys, after)
        )

    @property
    def limited(self) -> sa.Select[Any]:
        """The statement cut to the page, plus one row that tells whether another follows."""
        return self.cut(self.statement)

    def cut(self, statement: sa.Select[Any]) -> sa.Select[Any]:
        """`statement` (this one, or the same rows with other columns) cut to the page."""
        if self.after is not None:
            statement = statement.where(self.after)
        return statement.order_by(*(key.ordered() for key in self.keys)).limit(
            self.request.first + 1
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if "dt" in value:
            return datetime.fromisoformat(value["dt"])
        if "d" in value:
            return date.fromisoformat(value["d"])
    return value


def _json_of(value: Any) -> str:
    """A sort value as compact JSON, an instant as {"dt": …} and a date as {"d": …} (what
    `_decode_value` reads back), written directly for the kinds sort keys are (a page of 50
    encodes 50 cursors; json.dumps was a tenth of a compiled read's CPU)."""
    if type(value) is int:
        return str(value)
    if isinstance(value, datetime):
        return '{"dt":"' + value.isoformat() + '"}'
    if isinstance(value, date):
        return '{"d":"' + value.isoformat() + '"}'
    return json.dumps(value)


def encode_cursor(values: Sequence[Any]) -> str:
    raw = "[" + ",".join(_json_of(value) for value in values) + "]"
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


def build_page(
    rows: Sequence[Any], keys_of: Any, request: PageRequest, item_of: Any = None
) -> Page[Any]:
    """Cut the extra row off and give each item its cursor; `keys_of(row)` returns the sort
    values (None: no cursors wanted), `item_of(row)` the item (the row itself without it)."""
    kept = rows[: request.first]
    return Page(
        items=list(kept) if item_of is None else [item_of(row) for row in kept],
        cursors=[] if keys_of is None else [encode_cursor(keys_of(row)) for row in kept],
        has_next_page=len(rows) > request.first,
        has_previous_page=request.after is not None,
    )
