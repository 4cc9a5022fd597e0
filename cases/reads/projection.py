"""Rows as JSON built by PostgreSQL: a tree of columns and related rows compiled into one
statement, whose answer is text ready to send.

A `Shape` says what to build of one row of a table: its members, each a column (in the format a
client reads), a constant, a related row (`Related`) or a page of child rows (`Paged`).
`ProjectionReader.compile` turns a shape into one SELECT that returns the JSON of the rows with
the ids it is given, in their order; the statement is compiled once and run with new values
(ids, page sizes, the caller's scope) each time. Every table it reads is narrowed by the
caller's data scope (`cases.tenancy.row_rules`), as every ORM statement is.

What the JSON must look like is the caller's business (`schema.compiled` builds shapes from
GraphQL documents): this module knows tables, formats and pages, not GraphQL.

It is one module, longer than the others, because it is one compiler: the shape types, the
column formats and the statement builder change together (a new format is a new member kind,
its SQL and its encoding in one place), and the differential tests in
`tests/cases/reads/test_projection.py` hold it to the executor as a whole.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.util import ClauseAdapter
from sqlmodel import SQLModel

from cases.audit.models import AuditEvent
from cases.audit.service import ReadAudit
from cases.kit.actor import Actor
from cases.kit.columns import UtcDateTime
from cases.kit.paging import SortKey
from cases.kit.repository import ChildRows
from cases.reads.driver import DriverStatement, on_driver
from cases.tenancy import DataScope, RowRule, implied_by_parent, kind_rules

# What a required value that turned out null becomes: a JSON string no column can hold
# (PostgreSQL text never contains NUL), so the caller finds it in the text and answers the
# request another way. The general GraphQL executor reports such a null as an error.
MISSING: Final = '"\\u0000"'


MISSING_IN_TEXT: Final = "\\u0000"


# What a constant written into a statement may hold: no quote, backslash or percent sign.
_SAFE = re.compile(r"^[^'\\%\x00]*$")


_NEWLINE: Final = sa.literal_column("chr(10)", sa.Text)


_MISSING_JSON: Final[sa.ColumnElement[Any]] = sa.literal_column(f"'{MISSING}'::json")


class Unsupported(Exception):
    """The shape asks for something this module cannot build in SQL."""


class Format(enum.Enum):
    VALUE = "value"  # as the column holds it: text, number, boolean or JSON
    DATE = "date"  # YYYY-MM-DD
    INSTANT = "instant"  # ISO 8601 in UTC, as Python's isoformat() of an aware UTC datetime


@dataclass(frozen=True)
class Column:
    key: str
    column: str
    format: Format = Format.VALUE
    # Stored value → the name a client reads, for enumerations.
    names: Mapping[str, str] | None = None
    required: bool = False


@dataclass(frozen=True)
class TextId:
    """The row's id as base64 of `prefix` followed by the id (an opaque global id)."""

    key: str
    prefix: str


@dataclass(frozen=True)
class Constant:
    key: str
    value: str


@dataclass(frozen=True)
class Related:
    """One related row: the row whose id this row's column `via` holds, or the first of this
    row's children."""

    key: str
    via: str | ChildRows
    shape: Shape
    required: bool = False


@dataclass(frozen=True)
class Row:
    """An item's row, in a page's items."""

    key: str
    shape: Shape


@dataclass(frozen=True)
class Cursor:
    """An item's cursor, as `cases.kit.paging.encode_cursor` writes it."""

    key: str


@dataclass(frozen=True)
class Items:
    key: str
    members: tuple[Row | Cursor | Constant, ...]


class Flag(enum.Enum):
    HAS_NEXT = "has_next"
    HAS_PREVIOUS = "has_previous"
    START_CURSOR = "start_cursor"
    END_CURSOR = "end_cursor"


@dataclass(frozen=True)
class PageFlag:
    key: str
    flag: Flag


@dataclass(frozen=True)
class Flags:
    key: str
    members: tuple[PageFlag | Constant, ...]


@dataclass(frozen=True)
class Total:
    key: str


@dataclass(frozen=True)
class Paged:
    """A page of this row's children: the first N (`first`, the name of the parameter that holds
    N; None for every child), read with one more that tells whether more follow. `count`
    counts every child; without it the total is the number of rows read."""

    key: str
    rows: ChildRows
    first: str | None
    members: tuple[Items | Flags | Total | Constant, ...]
    count: ChildRows | None = None


Member = Column | TextId | Constant | Related | Paged


@dataclass(frozen=True)
class Shape:
    model: type[SQLModel]
    members: tuple[Member, ...]


def _text(value: str) -> sa.ColumnElement[str]:
    """A constant of the statement (a key, a type name, a stored enum value), written into it."""
    if not _SAFE.match(value):
        raise Unsupported(f"a constant that needs quoting: {value!r}")
    return sa.literal_column(f"'{value}'", sa.Text)


def instant(value: Any) -> sa.ColumnElement[str]:
    """`value` (timestamptz) as Python's isoformat() writes an aware UTC datetime: microseconds
    only when there are some."""
    utc = sa.func.timezone(_text("UTC"), value)
    whole = sa.func.to_char(utc, _text('YYYY-MM-DD"T"HH24:MI:SS'), type_=sa.Text)
    fraction = sa.case(
        (sa.func.date_trunc(_text("second"), value) == value, _text("")),
        else_=sa.func.to_char(utc, _text(".US"), type_=sa.Text),
    )
    return _finite(
        value,
        whole + fraction + _text("+00:00"),
        first=_text("0001-01-01T00:00:00+00:00"),
        last=_text("9999-12-31T23:59:59.999999+00:00"),
    )


def iso_date(value: Any) -> sa.ColumnElement[str]:
    return _finite(
        value,
        sa.func.to_char(value, _text("YYYY-MM-DD"), type_=sa.Text),
        first=_text("0001-01-01"),
        last=_text("9999-12-31"),
    )


def _finite(
    value: Any, written: sa.ColumnElement[str], *, first: Any, last: Any
) -> sa.ColumnElement[str]:
    """`written`, but for ±infinity (how asyncpg stores Python's first and last date and
    instant, which the executor reads back as those): what the executor writes of them."""
    epoch = sa.literal_column("'epoch'", sa.Text)
    return sa.case(
        (sa.func.isfinite(value), written), (value > epoch, last), (value < epoch, first)
    )


def _base64(value: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    """Standard base64 of the text's UTF-8, as PostgreSQL writes it: a line break every 76."""
    return sa.func.encode(sa.func.convert_to(value, _text("UTF8")), _text("base64"))


def base64_text(value: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    """Standard base64 with padding, on one line."""
    return sa.func.translate(_base64(value), _NEWLINE, _text(""))


def cursor(keys: Sequence[SortKey], table: sa.FromClause) -> sa.ColumnElement[str]:
    """The cursor of a row of `table`, as `cases.kit.paging.encode_cursor` writes it for the
    values of `keys`: URL-safe base64, unpadded, of the compact JSON array of the values."""
    parts: list[Any] = [_text("[")]
    for position, key in enumerate(keys):
        column = table.c[key.column.key]
        kind = key.column.type
        if isinstance(kind, UtcDateTime):
            value: Any = _text('{"dt":"') + instant(column) + _text('"}')
        elif isinstance(kind, sa.Date):
            value = _text('{"d":"') + iso_date(column) + _text('"}')
        elif isinstance(kind, sa.Integer):
            value = sa.cast(column, sa.Text)
        else:
            raise Unsupported(f"a cursor over {kind!r}")
        if position:
            parts.append(_text(","))
        parts.append(sa.func.coalesce(value, _text("null")))
    parts.append(_text("]"))
    text = parts[0]
    for part in parts[1:]:
        text = text + part
    # "+" → "-", "/" → "_"; the padding and the line breaks are dropped (translate deletes what
    # has no counterpart).
    return sa.func.translate(_base64(text), _text("+/=") + _NEWLINE, _text("-_"))


@dataclass
class _Builder:
    rules: Mapping[type, RowRule]
    aliases: int = 0
    parameters: set[str] = field(default_factory=set)

    def table(self, model: type[SQLModel]) -> sa.FromClause:
        self.aliases += 1
        return model.__table__.alias(f"t{self.aliases}")  # type: ignore[attr-defined,no-any-return]

    def narrowed(self, model: type[SQLModel], table: sa.FromClause) -> list[Any]:
        rule = self.rules.get(model)
        return [] if rule is None else [rule(table)]

    def document(self, shape: Shape, table: sa.FromClause) -> sa.ColumnElement[Any]:
        pairs: list[Any] = []
        for member in shape.members:
            pairs += [_text(member.key), self.value(member, shape, table)]
        return _object(pairs)

    def value(self, member: Member, shape: Shape, table: sa.FromClause) -> Any:
        match member:
            case Column():
                return self.column(member, table)
            case TextId(prefix=prefix):
                return base64_text(_text(prefix) + sa.cast(table.c.id, sa.Text))
            case Constant(value=value):
                return _text(value)
            case Related():
                return self.related(member, table)
            case Paged():
                return self.paged(member, table)

    def column(self, member: Column, table: sa.FromClause) -> Any:
        value: Any = table.c[member.column]
        if member.names is not None:
            names = member.names
            if all(name == stored.upper() for stored, name in names.items()):
                value = sa.func.upper(value)
            else:
                value = sa.case(*((value == _text(s), _text(n)) for s, n in names.items()))
        elif member.format is Format.DATE:
            value = iso_date(value)
        elif member.format is Format.INSTANT:
            value = instant(value)
        if member.required and table.c[member.column].nullable:
            value = sa.func.coalesce(sa.func.to_json(value), _MISSING_JSON)
        return value

    def children(self, rows: ChildRows, table: sa.FromClause, parent: sa.FromClause) -> list[Any]:
        """The conditions that make rows of `table` the children `rows` of the row `parent`."""
        adapt = ClauseAdapter(table).traverse
        # The parent row is in the caller's scope (every table of a statement is narrowed): a
        # child whose rule asks only of that parent needs no check of its own, which would be
        # a probe of the parent's table per child row.
        inherited = implied_by_parent(rows.model, rows.parent.key, parent)
        return [
            table.c[rows.parent.key] == parent.c.id,
            *(adapt(condition) for condition in rows.where),
            *([] if inherited else self.narrowed(rows.model, table)),
        ]

    def related(self, member: Related, parent: sa.FromClause) -> Any:
        shape = member.shape
        table = self.table(shape.model)
        statement = sa.select(self.document(shape, table)).select_from(table)
        if isinstance(member.via, str):
            statement = statement.where(
                table.c.id == parent.c[member.via], *self.narrowed(shape.model, table)
            )
        else:
            if member.via.model is not shape.model:
                raise Unsupported("children of another table than the shape's")
            adapt = ClauseAdapter(table).traverse
            statement = (
                statement.where(*self.children(member.via, table, parent))
                .order_by(*(adapt(key.ordered()) for key in member.via.keys))
                .limit(1)
            )
        found: Any = statement.correlate(parent).scalar_subquery()
        if member.required:
            found = sa.func.coalesce(found, _MISSING_JSON)
        return found

    def first(self, member: Paged) -> Any:
        if member.first is None:
            return None
        self.parameters.add(member.first)
        return sa.bindparam(member.first, type_=sa.Integer)

    def paged(self, member: Paged, parent: sa.FromClause) -> Any:
        """The page as an object of its parts.

        Items alone (and a total counted apart) make an array of the page's rows in their
        order. Page info needs the rows ranked and one read past the page, so that page is
        aggregated instead: PostgreSQL starts a window and an ordered aggregate (a sort of its
        own) on every execution, which an array of the rows as read needs neither of."""
        rows = member.rows
        first = self.first(member)
        if all(_plain_part(part, member) for part in member.members):
            page = self.page_rows(member, parent, first)
            in_order = [ClauseAdapter(page).traverse(key.ordered()) for key in rows.keys]
            return _object(self.page_parts(member, parent, page, first, in_order=in_order))
        page = self.page_rows(member, parent, None if first is None else first + 1, ranked=True)
        # One row whatever the page holds: an empty grouping set aggregates even a selection
        # that asks for no aggregate (the total alone, counted by its own subquery).
        pairs = self.page_parts(member, parent, page, first)
        return sa.select(_object(pairs)).select_from(page).group_by(sa.text("()")).scalar_subquery()

    def page_rows(
        self, member: Paged, parent: sa.FromClause, limit: Any, *, ranked: bool = False
    ) -> sa.Subquery:
        """The parent's first `limit` children (every child without one), in their order; with
        their rank in it, `ranked`."""
        rows = member.rows
        table = self.table(rows.model)
        adapt = ClauseAdapter(table).traverse
        order = [adapt(key.ordered()) for key in rows.keys]
        rank = [sa.func.row_number().over(order_by=order).label("rank")] if ranked else []
        page_rows = (
            sa.select(table, *rank)
            .where(*self.children(rows, table, parent))
            .order_by(*order)
            .correlate(parent)
        )
        if limit is not None:
            page_rows = page_rows.limit(limit)
        return page_rows.subquery(f"page{self.aliases}")

    def page_parts(
        self,
        member: Paged,
        parent: sa.FromClause,
        page: sa.Subquery,
        first: Any,
        *,
        in_order: list[Any] | None = None,
    ) -> list[Any]:
        """The key and value of each part of the page: aggregates over its ranked rows, or
        subqueries of its rows `in_order` (items and a count only)."""
        rows = member.rows
        in_page = sa.true() if first is None or in_order is not None else page.c.rank <= first
        pairs: list[Any] = []
        for part in member.members:
            match part:
                case Items(members=members):
                    item = self.item(members, rows, page)
                    if in_order is not None:
                        listed = sa.select(item).select_from(page).order_by(*in_order)
                        value: Any = sa.func.array_to_json(sa.func.array(listed.scalar_subquery()))
                    else:
                        aggregated = sa.func.json_agg(item).aggregate_order_by(page.c.rank)
                        value = sa.func.coalesce(
                            aggregated.filter(in_page), sa.literal_column("'[]'::json")
                        )
                case Flags(members=flags):
                    values: list[Any] = []
                    for flag in flags:
                        values += [_text(flag.key), self.flag(flag, rows, page, first, in_page)]
                    value = _object(values)
                case Total():
                    counted: Any = sa.func.count()
                    if in_order is not None:
                        counted = sa.select(counted).select_from(page).scalar_subquery()
                    value = self.total(member, parent, counted)
                case Constant(value=constant):
                    value = _text(constant)
            pairs += [_text(part.key), value]
        return pairs

    def item(
        self, members: tuple[Row | Cursor | Constant, ...], rows: ChildRows, page: sa.Subquery
    ) -> sa.ColumnElement[Any]:
        """One item of a page, a row of `page`."""
        pairs: list[Any] = []
        for item in members:
            match item:
                case Row(shape=shape):
                    if shape.model is not rows.model:
                        raise Unsupported("items of another table than the page's")
                    value: Any = self.document(shape, page)
                case Cursor():
                    value = cursor(rows.keys, page)
                case Constant(value=constant):
                    value = _text(constant)
            pairs += [_text(item.key), value]
        return _object(pairs)

    def flag(
        self,
        flag: PageFlag | Constant,
        rows: ChildRows,
        page: sa.FromClause,
        first: Any,
        in_page: Any,
    ) -> Any:
        if isinstance(flag, Constant):
            return _text(flag.value)
        match flag.flag:
            case Flag.HAS_NEXT:
                return sa.false() if first is None else sa.func.count() > first
            case Flag.HAS_PREVIOUS:
                return sa.false()
            case Flag.START_CURSOR:
                rank: Any = page.c.rank
            case Flag.END_CURSOR:
                rank = page.c.rank.desc()
        cursors = (
            sa.func.array_agg(cursor(rows.keys, page)).aggregate_order_by(rank).filter(in_page)
        )
        return sa.type_coerce(cursors, ARRAY(sa.Text))[1]

    def total(self, member: Paged, parent: sa.FromClause, rows_read: Any) -> Any:
        if member.count is None:
            return rows_read
        table = self.table(member.count.model)
        return (
            sa.select(sa.func.count())
            .select_from(table)
            .where(*self.children(member.count, table, parent))
            .correlate(parent)
            .scalar_subquery()
        )


def _plain_part(part: Items | Flags | Total | Constant, page: Paged) -> bool:
    """Whether this part of `page` can be read from its rows as they come: anything but page
    info and cursors, and a total counted apart or of a page of every child."""
    match part:
        case Items(members=members):
            return not any(isinstance(item, Cursor) for item in members)
        case Total():
            return page.first is None or page.count is not None
        case Constant():
            return True
    return False


def _object(pairs: list[Any]) -> sa.ColumnElement[Any]:
    if len(pairs) > 100:
        # json_build_object takes at most 100 arguments.
        raise Unsupported("more than 50 members in one object")
    return sa.func.json_build_object(*pairs)


class ProjectionReader:
    """Compiles shapes into statements and runs them on the request's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> ProjectionReader:
        return cls(session)

    @staticmethod
    def compile(
        shape: Shape,
        scope: DataScope,
        dialect: sa.Dialect,
        audit: ReadAudit | None = None,
        *,
        single: bool = False,
    ) -> DriverStatement:
        """The statement that answers `shape` for the rows whose ids it is given (`ids`), in
        their order: one (position, document) row each, none for an id outside the scope. The
        scope's ids are parameters: one statement serves every scope of its kind.

        A `single` statement takes one id. Given as an array, PostgreSQL estimates a row per
        element only once it sees the array, so it plans such a statement anew each time
        (measured: planning was half of a card's server time); a single id it plans once.

        With `audit`, the same statement records the read of every row it answers in the audit
        trail (`cases.kit.audit.ReadAudit`; the values `audit_values` gives), but of a document that
        came out with a required value missing: its caller answers that request another way,
        which records the read itself."""
        rules = kind_rules(scope)
        builder = _Builder(rules)
        wanted: Any
        if single:
            wanted = sa.select(
                sa.bindparam("id", type_=sa.BigInteger).label("id"),
                sa.literal(1, sa.BigInteger).label("position"),
            ).subquery("wanted")
        else:
            wanted = (
                sa.func.unnest(sa.bindparam("ids", type_=ARRAY(sa.BigInteger)))
                .table_valued("id", with_ordinality="position")
                .render_derived("wanted")
            )
        table = builder.table(shape.model)
        # As text: the driver would decode JSON into objects, to be encoded again.
        document = sa.cast(builder.document(shape, table), sa.Text).label("document")
        found = (
            sa.select(wanted.c.position, document)
            .select_from(wanted.join(table, table.c.id == wanted.c.id))
            .where(*builder.narrowed(shape.model, table))
        )
        if audit is None:
            return DriverStatement.of(found.order_by(wanted.c.position), dialect)
        read = found.add_columns(
            table.c.id.label("entity_id"),
            table.c[audit.patient_column].label("patient_id"),
            table.c[audit.insurer_column].label("insurer_id"),
        ).cte("read")
        events = AuditEvent.__table__  # type: ignore[attr-defined]
        recorded = (
            sa.insert(events)
            .from_select(
                [
                    "actor",
                    "action",
                    "entity_type",
                    "entity_id",
                    "changes",
                    "request_id",
                    "occurred_at",
                    "patient_id",
                    "insurer_id",
                ],
                sa.select(
                    sa.bindparam("audit_actor", type_=sa.Text),
                    _text(audit.action),
                    _text(audit.entity_type),
                    read.c.entity_id,
                    sa.literal_column("'{}'::json"),
                    sa.bindparam("audit_request_id", type_=sa.Text),
                    sa.bindparam("audit_occurred_at", type_=sa.DateTime(timezone=True)),
                    read.c.patient_id,
                    read.c.insurer_id,
                ).where(
                    sa.func.strpos(read.c.document, sa.literal_column(f"'{MISSING_IN_TEXT}'")) == 0
                ),
            )
            .cte("recorded")
        )
        answered = (
            sa.select(read.c.position, read.c.document).order_by(read.c.position).add_cte(recorded)
        )
        return DriverStatement.of(answered, dialect)

    async def rows(
        self, statement: DriverStatement, ids: Sequence[int], values: Mapping[str, Any]
    ) -> Sequence[Any]:
        """The rows of `ids`; a statement compiled `single` takes the first."""
        return await on_driver(
            self.session, statement, {**values, "ids": list(ids), "id": ids[0] if ids else None}
        )


def audit_values(actor: Actor, at: datetime) -> dict[str, Any]:
    """The values of an audited statement's parameters (`ProjectionReader.compile`)."""
    shared = ReadAudit.shared(actor, at)
    return {
        "audit_actor": shared["actor"],
        "audit_request_id": shared["request_id"],
        "audit_occurred_at": shared["occurred_at"],
    }
