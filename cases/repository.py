"""Every SQL statement of the domain lives here; services and loaders call these methods."""

from __future__ import annotations

import asyncio
import enum
import functools
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, ClassVar, Generic, Self, TypeVar

import sqlalchemy as sa
from cachetools import LRUCache
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import SQLModel, col

from cases.caching import ByObject
from cases.models import (
    ApiClient,
    Appeal,
    AppealKind,
    AppealStatus,
    AuditEvent,
    CaseStatus,
    Channel,
    ContactAttempt,
    ContactOutcome,
    DeskHours,
    ExaminedCase,
    InformingEvent,
    Insurer,
    JobRun,
    MedicalOrganization,
    NotificationConsent,
    Patient,
    QualityExamination,
    Reminder,
    ReminderKind,
    ReminderStatus,
    Representative,
    SupervisionCase,
    SupervisionRule,
    UtcDateTime,
    Visit,
    VisitStatus,
    WorkItem,
    WorkItemKind,
    WorkItemStatus,
    utcnow,
)
from cases.pagination import Page, PageQuery, SortKey, build_page
from cases.scope import DataScope, install_scoping, scope_kind, scope_of, scope_values, scoped

install_scoping()

M = TypeVar("M", bound=SQLModel)
CountRows = Callable[[], Awaitable[int]]


def session_lock(session: AsyncSession) -> asyncio.Lock:
    """One lock per session: an AsyncSession must never run two statements at once.

    GraphQL resolves sibling fields concurrently, all on the request's session; every
    repository call takes this lock, so their statements queue instead of colliding.
    """
    lock = session.info.get("lock")
    if lock is None:
        lock = session.info["lock"] = asyncio.Lock()
    return lock


def _compile(statement: sa.ClauseElement, dialect: sa.Dialect, key: Any = None) -> SQLCompiler:
    """`statement` compiled for asyncpg; with its SQLAlchemy cache key, to be given the values of
    other statements of its shape (`DriverStatements`)."""
    if dialect.name != "postgresql":
        raise ValueError("driver statements are compiled for PostgreSQL (asyncpg)")
    compiled = statement.compile(dialect=dialect, cache_key=key)
    assert isinstance(compiled, SQLCompiler)
    return compiled


def _awaited(compiled: SQLCompiler) -> dict[str, None]:
    """The parameters of `compiled` that take their values when it runs, none given yet."""
    return {bind.key: None for bind in compiled.binds.values() if bind.required}


@dataclass(frozen=True)
class DriverStatement:
    """A statement compiled once for asyncpg and run through the driver itself (`on_driver`).

    For the few statements of the hottest read path: SQLAlchemy's work around each statement
    (execution context, events, result; about 0.2 ms of CPU, measured) costs more there than
    the statement does. Values go by parameter name; the statement's own constants keep theirs.
    Every value passes its type's bind processing, as SQLAlchemy would pass it (an enumeration
    by its value, an instant refused without its offset).
    """

    sql: str
    names: tuple[str, ...]
    defaults: Mapping[str, Any]
    processors: Mapping[str, Callable[[Any], Any]]

    @classmethod
    def of(cls, statement: sa.ClauseElement, dialect: sa.Dialect) -> DriverStatement:
        return cls.expanded(_compile(statement, dialect))

    @classmethod
    def expanded(
        cls, compiled: SQLCompiler, values: Mapping[str, Any] | None = None
    ) -> DriverStatement:
        """The statement `compiled` with `values` for its parameters, by name (its own values
        where none is given)."""
        # Expanding parameters (an IN list) rendered as one parameter per value, once; the
        # values given per run are None until then.
        dialect = compiled.dialect
        expanded = compiled.construct_expanded_state({**_awaited(compiled), **(values or {})})
        assert expanded.positiontup is not None
        expanded_from = {
            name: original
            for original, names in expanded.parameter_expansion.items()
            for name in names
        }
        processors = {}
        for name in expanded.positiontup:
            kind = compiled.binds[expanded_from.get(name, name)].type
            processor = kind.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
        defaults = {
            name: value if value is None or name not in processors else processors[name](value)
            for name, value in expanded.parameters.items()
        }
        return cls(expanded.statement, tuple(expanded.positiontup), defaults, processors)

    def arguments(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(self._value(name, values) for name in self.names)

    def _value(self, name: str, values: Mapping[str, Any]) -> Any:
        if name not in values:
            return self.defaults[name]
        value = values[name]
        processor = self.processors.get(name)
        return value if processor is None or value is None else processor(value)


class _Marker:
    """A value told apart by identity."""


def _takes_every_value(compiled: SQLCompiler, count: int) -> bool:
    """Whether each parameter of `compiled` that does not await its value takes it from one of
    the `count` values of another statement of its shape: were one left out, the statement
    would keep the value of the one it was compiled from."""
    markers = [_Marker() for _ in range(count)]
    given = compiled.construct_params(
        _awaited(compiled),
        extracted_parameters=[sa.bindparam(f"m{n}", marker) for n, marker in enumerate(markers)],
        escape_names=False,
    )
    required = {name for bind, name in compiled.bind_names.items() if bind.required}
    return all(isinstance(value, _Marker) for name, value in given.items() if name not in required)


class DriverStatements:
    """Driver statements by the shape of the statement they come from, the least recently used
    dropped first. Statements that differ only in their values (one owner's worklist page and
    another's, a page and the next) share one compilation, as in SQLAlchemy's own cache of
    compiled statements, whose cache key tells them apart; each gets its own values. Compiling
    a representative's worklist page took 2.5 ms of CPU, measured; giving the compiled
    statement another's values takes 0.5 ms, most of it SQLAlchemy building the cache key."""

    def __init__(self, size: int) -> None:
        self._compiled: LRUCache[tuple[sa.Dialect, Hashable, tuple[bool, ...]], SQLCompiler] = (
            LRUCache(size)
        )

    def of(self, statement: sa.ClauseElement, dialect: sa.Dialect) -> DriverStatement:
        key = statement._generate_cache_key()
        if key is None:  # a construct SQLAlchemy does not cache
            return DriverStatement.of(statement, dialect)
        # Whether a parameter awaits its value at run time is not part of the cache key: a
        # statement that gives a parameter its value is of another shape than one that does not.
        shape = (dialect, key.key, tuple(bind.required for bind in key.bindparams))
        compiled = self._compiled.get(shape)
        if compiled is None:
            compiled = _compile(statement, dialect, key)
            if _takes_every_value(compiled, len(key.bindparams)):
                self._compiled[shape] = compiled
            return DriverStatement.expanded(compiled)
        # The values of this statement, matched to the compiled one's parameters by position.
        values = compiled.construct_params(
            _awaited(compiled), extracted_parameters=key.bindparams, escape_names=False
        )
        return DriverStatement.expanded(compiled, values)

    def __len__(self) -> int:
        """How many shapes are kept compiled."""
        return len(self._compiled)


async def on_driver(
    session: AsyncSession, statement: DriverStatement, values: Mapping[str, Any]
) -> list[Any]:
    """Run `statement` through asyncpg; its rows as asyncpg records.

    Once the session holds a connection, on that connection, in the session's transaction if
    one has begun. Before that, on a connection of the session's pool of its own, returned at
    once: the session's own way to a connection (its transaction, the commit and close that end
    it) costs more than the statement. On its own, a statement runs in no transaction, which
    for one statement at READ COMMITTED is the same. SQLAlchemy's `before_cursor_execute`
    listeners (statement logs and counts) hear of it as of any other statement, without a
    cursor or an execution context (and without a connection, on a pool's connection).
    """
    arguments = statement.arguments(values)
    async with session_lock(session):
        engine = session.bind
        if isinstance(engine, AsyncEngine) and not session.in_transaction():
            _announce(engine.sync_engine.dispatch, None, statement.sql, arguments)
            pooled = await engine.raw_connection()
            try:
                driver = pooled.driver_connection
                assert driver is not None
                rows: list[Any] = await driver.fetch(statement.sql, *arguments)
            finally:
                pooled.close()
            return rows
        connection = await session.connection()
        sync = connection.sync_connection
        assert sync is not None
        _announce(sync.dispatch, sync, statement.sql, arguments)
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        found: list[Any] = await driver.fetch(statement.sql, *arguments)
        return found


def _announce(dispatch: Any, connection: Any, sql: str, arguments: tuple[Any, ...]) -> None:
    if dispatch.before_cursor_execute:
        dispatch.before_cursor_execute(connection, None, sql, arguments, None, False)


def where_equal(statement: sa.Select[Any], equal: dict[Any, Any]) -> sa.Select[Any]:
    """`statement` narrowed by `column == value` for each value that is given (not None)."""
    for column, value in equal.items():
        if value is not None:
            statement = statement.where(column == value)
    return statement


class Repository(Generic[M]):
    """Typed access to one table; built from a session, never commits."""

    model: type[M]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> Self:
        return cls(session)

    @classmethod
    def of_model(cls, session: AsyncSession, model: type[M]) -> Repository[M]:
        """Plain access to any table (by id, and the generic reads)."""
        repository = Repository[M](session)
        repository.model = model
        return repository

    async def execute(
        self, statement: sa.Executable, rows: Sequence[dict[str, Any]] | None = None
    ) -> sa.Result[Any]:
        """Run one statement; with `rows`, once per row as one batched executemany.

        Batched rows reuse one compiled statement, where a multi-row VALUES is compiled anew
        for every batch (the bulk of a scan batch's CPU, measured at 500 rows).
        """
        async with session_lock(self.session):
            if rows is not None:
                return await self.session.execute(statement, list(rows))
            return await self.session.execute(statement)

    async def insert_rows(self, statement: Any, rows: Sequence[dict[str, Any]]) -> None:
        """Run the INSERT `statement` (with its ON CONFLICT clause) for `rows`, all with the same keys.

        On PostgreSQL the rows travel as one array per column and the server runs a single
        `INSERT … SELECT … FROM unnest(…)`, where an executemany runs the statement once per
        row (2.3 times slower for a scan batch's reminders, measured). SQLite takes them as
        one executemany.
        """
        if not rows:
            return
        if not on_postgresql(self.session):
            await self.execute(statement, rows)
            return
        columns = statement.table.c
        names = list(rows[0])
        arrays = [
            sa.bindparam(
                None, [row[name] for row in rows], type_=ARRAY(_element_type(columns[name]))
            )
            for name in names
        ]
        unnested = sa.func.unnest(*arrays).table_valued(*names).render_derived()
        await self.execute(statement.from_select(names, sa.select(unnested)))

    async def scalars(self, statement: sa.Select[Any]) -> Sequence[Any]:
        return (await self.execute(statement)).scalars().all()

    async def scalar(self, statement: sa.Select[Any]) -> Any:
        return (await self.execute(statement)).scalar_one_or_none()

    async def get(self, id_: int) -> M | None:
        found: M | None = await self.scalar(sa.select(self.model).where(self._id_column() == id_))
        return found

    async def get_many(self, ids: Sequence[int]) -> dict[int, M]:
        if not ids:
            return {}
        rows = await self.scalars(sa.select(self.model).where(self._id_column().in_(set(ids))))
        return {row.id: row for row in rows}

    async def add(self, *objects: SQLModel) -> None:
        """Stage and flush new or changed rows, so that ids and constraint errors appear now."""
        async with session_lock(self.session):
            self.session.add_all(objects)
            await self.session.flush()

    def stage(self, *objects: SQLModel) -> None:
        """Stage new or changed rows for the next flush: a batch's rows then go in a statement
        or two (one executemany UPDATE, one multi-row INSERT) instead of one each."""
        self.session.add_all(objects)

    async def flush(self) -> None:
        async with session_lock(self.session):
            await self.session.flush()

    async def count(self, statement: sa.Select[Any]) -> int:
        counted = sa.select(sa.func.count()).select_from(statement.order_by(None).subquery())
        return int((await self.execute(counted)).scalar_one())

    def _id_column(self) -> sa.ColumnElement[Any]:
        return self.model.__table__.c.id  # type: ignore[attr-defined,no-any-return]


@dataclass(frozen=True)
class ChildRows:
    """The rows of one table that point at a parent row: `parent` is the mapped column holding the
    parent's id, `keys` their order (the last key unique), `where` which of them count.

    Loaders read them for a batch of parents (`ChildReader`); a compiled read selects them for
    each parent inside its one statement (`cases.projection`).
    """

    parent: Any
    keys: tuple[SortKey, ...]
    where: tuple[Any, ...] = ()

    @property
    def model(self) -> type[SQLModel]:
        model: type[SQLModel] = self.parent.class_
        return model


class ChildReader(Repository[Any]):
    """The children of a batch of parents, one statement per call."""

    async def first(
        self, rows: ChildRows, parent_ids: Sequence[int], limit: int
    ) -> dict[int, list[Any]]:
        """The first `limit` rows of each parent in one statement (a window over the parents)."""
        if not parent_ids:
            return {}
        rank = (
            sa.func.row_number()
            .over(partition_by=rows.parent, order_by=[key.ordered() for key in rows.keys])
            .label("rank")
        )
        # The window ranks ids only and the rows are joined back by primary key: aliasing the
        # whole entity over a subquery would copy every column per call, the costliest part
        # of a request that loads a few rows.
        id_column = rows.model.__table__.c.id  # type: ignore[attr-defined]
        ranked = (
            sa.select(id_column, rank)
            .where(rows.parent.in_(set(parent_ids)), *rows.where)
            .subquery()
        )
        found = await self.scalars(
            sa.select(rows.model)
            .join(ranked, id_column == ranked.c.id)
            .where(ranked.c.rank <= limit)
            .order_by(rows.parent, ranked.c.rank)
        )
        grouped: dict[int, list[Any]] = {id_: [] for id_ in parent_ids}
        for row in found:
            grouped[getattr(row, rows.parent.key)].append(row)
        return grouped

    async def all(self, rows: ChildRows, parent_ids: Sequence[int]) -> dict[int, list[Any]]:
        """Every row of each parent, for children a parent has few of by a constraint: a plain
        IN does what a window over the parents would, for less."""
        grouped: dict[int, list[Any]] = {id_: [] for id_ in parent_ids}
        if not parent_ids:
            return grouped
        found = await self.scalars(
            sa.select(rows.model)
            .where(rows.parent.in_(set(parent_ids)), *rows.where)
            .order_by(rows.parent, *(key.ordered() for key in rows.keys))
        )
        for row in found:
            grouped[getattr(row, rows.parent.key)].append(row)
        return grouped

    async def counts(self, rows: ChildRows, parent_ids: Sequence[int]) -> dict[int, int]:
        if not parent_ids:
            return {}
        found = await self.execute(
            sa.select(rows.parent.label("parent"), sa.func.count().label("rows"))
            .where(rows.parent.in_(set(parent_ids)), *rows.where)
            .group_by(rows.parent)
        )
        counts = {id_: 0 for id_ in parent_ids}
        counts.update({row.parent: row.rows for row in found})
        return counts


class PageReader(Repository[Any]):
    """Reads the page of any `PageQuery`, and counts all its rows should the client ask."""

    async def entities(self, query: PageQuery) -> tuple[Page[Any], CountRows]:
        rows = await self.scalars(query.limited)
        names = [str(key.column.key) for key in query.keys]
        page = build_page(rows, lambda row: [getattr(row, name) for name in names], query.request)
        return page, lambda: self.count(query.statement)

    # The statements of pages read lately, by the listing they cut, the page asked for and the
    # column.
    _pages: ClassVar[ByObject[sa.Select[Any]]] = ByObject(1024)

    @classmethod
    def ids_statement(cls, query: PageQuery, id_column: Any) -> sa.Select[Any]:
        """The page's row ids and sort values; the same statement object for the same page of
        the same listing object (a listing built once per filter, as the worklist's is)."""
        key = (query.request, str(id_column))
        found = cls._pages.get(query.statement, key)
        if found is None:
            keys = [key.column.label(f"key_{n}") for n, key in enumerate(query.keys)]
            statement = query.cut(query.statement.with_only_columns(id_column, *keys))
            found = cls._pages.keep(query.statement, key, statement)
        return found

    # The page statements for the driver, by page statement and kind of scope (a scope's ids are
    # values it is run with); compiled once per shape.
    _compiled: ClassVar[ByObject[DriverStatement]] = ByObject(1024)
    _shapes: ClassVar[DriverStatements] = DriverStatements(256)

    @classmethod
    def driver_statement(
        cls, statement: sa.Select[Any], scope: DataScope | None, dialect: sa.Dialect
    ) -> DriverStatement:
        """`statement`, narrowed to `scope` as the session would narrow it, for the driver: every
        owner's worklist and every page of it is a statement of its own, all of one shape."""
        kind = "unrestricted" if scope is None else scope_kind(scope)
        found = cls._compiled.get(statement, kind)
        if found is None:
            compiled = cls._shapes.of(scoped(statement, scope), dialect)
            found = cls._compiled.keep(statement, kind, compiled)
        return found

    async def ids(
        self, query: PageQuery, id_column: Any, *, cursors: bool = True
    ) -> tuple[Page[int], CountRows]:
        """The page as row ids, with the cursors `entities` gives (none unless `cursors`): for a
        read that builds the rows' JSON in the database instead of loading entities.

        On PostgreSQL the page's statement (one object per page of a listing object) is compiled
        once, with the session's scope, and run through the driver: SQLAlchemy's work around a
        statement cost more than the statement, and it would begin a transaction (two more
        round trips) for a read that needs none."""
        statement = self.ids_statement(query, id_column)
        if on_postgresql(self.session):
            dialect = self.session.get_bind().dialect
            scope = scope_of(self.session)
            compiled = self.driver_statement(statement, scope, dialect)
            values = {} if scope is None else scope_values(scope)
            rows: Sequence[Any] = await on_driver(self.session, compiled, values)
        else:
            rows = (await self.execute(statement)).all()
        keys_of = (lambda row: row[1:]) if cursors else None
        page: Page[int] = build_page(rows, keys_of, query.request, lambda row: row[0])
        return page, lambda: self.count(query.statement)


class InsurerRepository(Repository[Insurer]):
    model = Insurer

    async def by_code(self, code: str) -> Insurer | None:
        found: Insurer | None = await self.scalar(
            sa.select(Insurer).where(col(Insurer.code) == code)
        )
        return found

    def listing(self) -> sa.Select[Any]:
        return sa.select(Insurer)

    @staticmethod
    def ordering() -> list[SortKey]:
        return [SortKey(col(Insurer.name)), SortKey(col(Insurer.id))]


@dataclass(frozen=True)
class AuditFilter:
    patient_id: int | None = None
    entity_type: str | None = None
    entity_id: int | None = None
    action: str | None = None
    actor: str | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None


class AuditRepository(Repository[AuditEvent]):
    model = AuditEvent

    async def owner_of(self, entity: SQLModel) -> tuple[int | None, int | None]:
        """The patient an entity belongs to and that patient's insurer (from the identity map
        when the change loaded them, as it usually has)."""
        if isinstance(entity, Insurer):
            return None, entity.id
        patient_id = getattr(entity, "patient_id", None)
        if isinstance(entity, Patient):
            patient_id = entity.id
        elif isinstance(entity, Visit):
            async with session_lock(self.session):
                case = await self.session.get(SupervisionCase, entity.case_id)
            patient_id = case.patient_id if case else None
        if patient_id is None:
            return None, None
        async with session_lock(self.session):
            patient = await self.session.get(Patient, patient_id)
        return patient_id, patient.insurer_id if patient else None

    async def append(self, rows: Sequence[dict[str, Any]]) -> None:
        """New events as plain rows, in one statement: nothing reads them back."""
        await self.execute(sa.insert(AuditEvent), rows)

    def listing(self, filter: AuditFilter) -> sa.Select[Any]:
        statement = where_equal(
            sa.select(AuditEvent),
            {
                col(AuditEvent.patient_id): filter.patient_id,
                col(AuditEvent.entity_type): filter.entity_type,
                col(AuditEvent.entity_id): filter.entity_id,
                col(AuditEvent.action): filter.action,
                col(AuditEvent.actor): filter.actor,
            },
        )
        if filter.occurred_after is not None:
            statement = statement.where(col(AuditEvent.occurred_at) > filter.occurred_after)
        if filter.occurred_before is not None:
            statement = statement.where(col(AuditEvent.occurred_at) < filter.occurred_before)
        return statement

    @staticmethod
    def ordering() -> list[SortKey]:
        return [SortKey(col(AuditEvent.occurred_at), True), SortKey(col(AuditEvent.id), True)]


def _element_type(column: sa.Column[Any]) -> Any:
    """The type of an array of `column`'s values. Enum members (all str enums) go as the strings
    they are and the column's CHECK constraint holds them to the enum: SQLAlchemy's check of
    each value in Python cost 0.25 s of CPU per 10,000 missed visits, 8 % of the scan's."""
    return sa.String() if isinstance(column.type, sa.Enum) else column.type


def on_postgresql(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"


def upsert_insert(session: AsyncSession, model: type[SQLModel]) -> Any:
    """An INSERT of the session's dialect that takes ON CONFLICT clauses (PostgreSQL and SQLite)."""
    table = model.__table__  # type: ignore[attr-defined]
    if on_postgresql(session):
        return postgresql_insert(table)
    return sqlite_insert(table)


def insert_ignoring_duplicates(session: AsyncSession, model: type[SQLModel]) -> Any:
    """An INSERT that skips rows whose unique key exists."""
    return upsert_insert(session, model).on_conflict_do_nothing()


class JobRunRepository(Repository[JobRun]):
    model = JobRun

    async def claim(self, job: str, slot: int, claimed_by: str) -> bool:
        """True for the one caller that claims this slot of this job first."""
        statement = (
            insert_ignoring_duplicates(self.session, JobRun)
            .values(job=job, slot=slot, claimed_by=claimed_by, claimed_at=utcnow())
            .returning(col(JobRun.id))
        )
        return (await self.execute(statement)).first() is not None


class VisitRepository(Repository[Visit]):
    model = Visit

    async def flag_overdue(self, before: date, at: datetime, limit: int) -> Sequence[sa.Row[Any]]:
        """Mark up to `limit` planned visits whose window ended before `before` as missed; returns
        their id, case_id and window_end, oldest first.

        One statement: the overdue rows are found through the partial index on planned visits
        (the cost follows the overdue rows, not the size of the table) and locked with SKIP
        LOCKED, so that two scans at once take different visits. The locking SELECT is a
        materialized CTE, run once: as a plain IN subquery, a plan that rescans it (seen on
        small tables) locks past the rows already updated and flags more than `limit`.
        """
        overdue = (
            sa.select(col(Visit.id))
            .where(col(Visit.status) == VisitStatus.PLANNED, col(Visit.window_end) < before)
            .order_by(col(Visit.window_end), col(Visit.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("overdue")
            .prefix_with("MATERIALIZED")
        )
        flagged = await self.execute(
            sa.update(Visit)
            .where(
                col(Visit.id).in_(sa.select(overdue.c.id)),
                col(Visit.status) == VisitStatus.PLANNED,
            )
            .values(
                status=VisitStatus.MISSED,
                missed_at=at,
                updated_at=at,
                changed_by="job:visits.flag_missed",
            )
            .returning(col(Visit.id), col(Visit.case_id), col(Visit.window_end))
        )
        return sorted(flagged.all(), key=lambda row: (row.window_end, row.id))

    async def missed_visit_facts(self, visit_ids: Sequence[int]) -> dict[int, sa.Row[Any]]:
        """What following up each visit needs: its case's patient and representative, the
        patient's contact data and time zone, and `previous`, the status of the case's latest
        earlier visit that was attended or missed."""
        visits: sa.Table = Visit.__table__  # type: ignore[attr-defined]
        current = visits.alias("current")
        earlier = visits.alias("earlier")
        previous_status = (
            sa.select(earlier.c.status)
            .where(
                earlier.c.case_id == current.c.case_id,
                earlier.c.window_start < current.c.window_start,
                earlier.c.status.in_([VisitStatus.ATTENDED, VisitStatus.MISSED]),
            )
            .order_by(earlier.c.window_start.desc(), earlier.c.id.desc())
            .limit(1)
            .correlate(current)
            .scalar_subquery()
        )
        rows = await self.execute(
            sa.select(
                current.c.id,
                col(SupervisionCase.patient_id),
                col(SupervisionCase.representative_id),
                col(Patient.phone),
                col(Patient.email),
                col(Patient.postal_address),
                col(Patient.time_zone),
                previous_status.label("previous"),
            )
            .join(SupervisionCase, col(SupervisionCase.id) == current.c.case_id)
            .join(Patient, col(Patient.id) == col(SupervisionCase.patient_id))
            .where(current.c.id.in_(visit_ids))
        )
        return {row.id: row for row in rows}


class WorkItemRepository(Repository[WorkItem]):
    model = WorkItem

    async def raise_many(self, items: Sequence[dict[str, Any]]) -> None:
        """Insert work items; one whose dedup key was raised before is skipped."""
        if items:
            await self.insert_rows(insert_ignoring_duplicates(self.session, WorkItem), items)


@dataclass(frozen=True)
class PatientFilter:
    search: str | None = None
    insurer_id: int | None = None
    clinic_id: int | None = None
    representative_id: int | None = None
    diagnosis_prefix: str | None = None
    has_active_case: bool | None = None


@dataclass(frozen=True)
class PatientSearch:
    """What a search string was understood as: exactly one of these is set."""

    enp: str | None = None
    snils: str | None = None
    phone: str | None = None
    name_prefix: str | None = None


class PatientOrder(enum.StrEnum):
    NAME = "name"
    REGISTERED = "registered"


class PatientRepository(Repository[Patient]):
    model = Patient

    async def by_enp(self, enp: str) -> Patient | None:
        found: Patient | None = await self.scalar(sa.select(Patient).where(col(Patient.enp) == enp))
        return found

    async def with_phone(self, phone: str) -> Sequence[Patient]:
        """Patients whose main or extra phone is `phone` (E.164): who a reply from it may come from."""
        found: Sequence[Patient] = await self.scalars(
            sa.select(Patient)
            .where(sa.or_(col(Patient.phone) == phone, col(Patient.phone_extra) == phone))
            .order_by(col(Patient.id))
        )
        return found

    async def by_snils(self, snils: str) -> Patient | None:
        found: Patient | None = await self.scalar(
            sa.select(Patient).where(col(Patient.snils) == snils)
        )
        return found

    def listing(self, filter: PatientFilter, search: PatientSearch | None) -> sa.Select[Any]:
        statement = sa.select(Patient)
        if search is not None:
            if search.enp is not None:
                statement = statement.where(col(Patient.enp) == search.enp)
            if search.snils is not None:
                statement = statement.where(col(Patient.snils) == search.snils)
            if search.phone is not None:
                statement = statement.where(
                    sa.or_(
                        col(Patient.phone) == search.phone, col(Patient.phone_extra) == search.phone
                    )
                )
            if search.name_prefix is not None:
                statement = statement.where(
                    col(Patient.search_name).startswith(search.name_prefix, autoescape=True)
                )
        if filter.insurer_id is not None:
            statement = statement.where(col(Patient.insurer_id) == filter.insurer_id)
        if filter.clinic_id is not None:
            statement = statement.where(col(Patient.attached_clinic_id) == filter.clinic_id)
        case_conditions = []
        if filter.representative_id is not None:
            case_conditions.append(
                col(SupervisionCase.representative_id) == filter.representative_id
            )
        if filter.diagnosis_prefix is not None:
            case_conditions.append(
                col(SupervisionCase.icd10).startswith(filter.diagnosis_prefix, autoescape=True)
            )
        if filter.has_active_case is not None:
            active = sa.exists().where(
                col(SupervisionCase.patient_id) == col(Patient.id),
                col(SupervisionCase.status) == CaseStatus.ACTIVE,
            )
            statement = statement.where(active if filter.has_active_case else ~active)
        if case_conditions:
            statement = statement.where(
                sa.exists().where(
                    col(SupervisionCase.patient_id) == col(Patient.id), *case_conditions
                )
            )
        return statement

    @staticmethod
    def ordering(
        order: PatientOrder = PatientOrder.NAME, descending: bool = False
    ) -> list[SortKey]:
        keys = [SortKey(col(Patient.id), descending)]
        if order is PatientOrder.NAME:
            keys.insert(0, SortKey(col(Patient.search_name), descending))
        return keys


@dataclass(frozen=True)
class CaseFilter:
    patient_id: int | None = None
    status: CaseStatus | None = None
    icd10_prefix: str | None = None
    clinic_id: int | None = None
    representative_id: int | None = None
    insurer_id: int | None = None
    next_visit_due_before: date | None = None
    next_visit_due_after: date | None = None
    has_open_work_item: bool | None = None
    missed_visits_at_least: int | None = None


class CaseOrder(enum.StrEnum):
    OPENED_ON = "opened_on"
    ID = "id"


def _next_planned_start() -> Any:
    return (
        sa.select(sa.func.min(col(Visit.window_start)))
        .where(
            col(Visit.case_id) == col(SupervisionCase.id), col(Visit.status) == VisitStatus.PLANNED
        )
        .correlate(SupervisionCase)
        .scalar_subquery()
    )


class SupervisionCaseRepository(Repository[SupervisionCase]):
    model = SupervisionCase

    async def representative_of(self, case_id: int) -> int | None:
        owner: int | None = await self.scalar(
            sa.select(col(SupervisionCase.representative_id)).where(
                col(SupervisionCase.id) == case_id
            )
        )
        return owner

    def listing(self, filter: CaseFilter) -> sa.Select[Any]:
        statement = where_equal(
            sa.select(SupervisionCase),
            {
                col(SupervisionCase.patient_id): filter.patient_id,
                col(SupervisionCase.status): filter.status,
                col(SupervisionCase.clinic_id): filter.clinic_id,
                col(SupervisionCase.representative_id): filter.representative_id,
            },
        )
        if filter.icd10_prefix is not None:
            statement = statement.where(
                col(SupervisionCase.icd10).startswith(filter.icd10_prefix, autoescape=True)
            )
        if filter.insurer_id is not None:
            statement = statement.where(
                sa.exists().where(
                    col(Patient.id) == col(SupervisionCase.patient_id),
                    col(Patient.insurer_id) == filter.insurer_id,
                )
            )
        if filter.next_visit_due_before is not None:
            statement = statement.where(_next_planned_start() < filter.next_visit_due_before)
        if filter.next_visit_due_after is not None:
            statement = statement.where(_next_planned_start() > filter.next_visit_due_after)
        if filter.has_open_work_item is not None:
            open_item = sa.exists().where(
                col(WorkItem.case_id) == col(SupervisionCase.id),
                col(WorkItem.status) != WorkItemStatus.DONE,
            )
            statement = statement.where(open_item if filter.has_open_work_item else ~open_item)
        if filter.missed_visits_at_least is not None:
            missed = (
                sa.select(sa.func.count())
                .where(
                    col(Visit.case_id) == col(SupervisionCase.id),
                    col(Visit.status) == VisitStatus.MISSED,
                )
                .correlate(SupervisionCase)
                .scalar_subquery()
            )
            statement = statement.where(missed >= filter.missed_visits_at_least)
        return statement

    @staticmethod
    def ordering(order: CaseOrder = CaseOrder.ID, descending: bool = False) -> list[SortKey]:
        keys = [SortKey(col(SupervisionCase.id), descending)]
        if order is CaseOrder.OPENED_ON:
            keys.insert(0, SortKey(col(SupervisionCase.opened_on), descending))
        return keys


CASES_OF_PATIENT = ChildRows(
    col(SupervisionCase.patient_id), tuple(SupervisionCaseRepository.ordering())
)


@dataclass(frozen=True)
class VisitFilter:
    case_id: int | None = None
    patient_id: int | None = None
    clinic_id: int | None = None
    status: VisitStatus | None = None
    window_end_before: date | None = None
    window_end_after: date | None = None


class VisitQueries(Repository[Visit]):
    """Reads of visits for the API (the scan's statements are in VisitRepository)."""

    model = Visit

    async def by_external_id(self, clinic_id: int, external_id: str) -> Visit | None:
        found: Visit | None = await self.scalar(
            sa.select(Visit).where(
                col(Visit.clinic_id) == clinic_id, col(Visit.external_id) == external_id
            )
        )
        return found

    def listing(self, filter: VisitFilter) -> sa.Select[Any]:
        statement = sa.select(Visit)
        if filter.case_id is not None:
            statement = statement.where(col(Visit.case_id) == filter.case_id)
        if filter.patient_id is not None:
            statement = statement.where(
                sa.exists().where(
                    col(SupervisionCase.id) == col(Visit.case_id),
                    col(SupervisionCase.patient_id) == filter.patient_id,
                )
            )
        if filter.clinic_id is not None:
            statement = statement.where(col(Visit.clinic_id) == filter.clinic_id)
        if filter.status is not None:
            statement = statement.where(col(Visit.status) == filter.status)
        if filter.window_end_before is not None:
            statement = statement.where(col(Visit.window_end) < filter.window_end_before)
        if filter.window_end_after is not None:
            statement = statement.where(col(Visit.window_end) > filter.window_end_after)
        return statement

    @staticmethod
    def ordering() -> list[SortKey]:
        return [SortKey(col(Visit.window_start)), SortKey(col(Visit.id))]

    async def future_planned(self, case_id: int) -> Sequence[Visit]:
        visits: Sequence[Visit] = await self.scalars(
            sa.select(Visit).where(
                col(Visit.case_id) == case_id, col(Visit.status) == VisitStatus.PLANNED
            )
        )
        return visits


VISITS_OF_CASE = ChildRows(col(Visit.case_id), tuple(VisitQueries.ordering()))
PLANNED_VISITS_OF_CASE = replace(VISITS_OF_CASE, where=(col(Visit.status) == VisitStatus.PLANNED,))


class ReminderRepository(Repository[Reminder]):
    model = Reminder

    async def plan(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write outbox rows idempotently: a key planned before is left as it is, except that a
        cancelled one (the visit was moved and moved back) becomes pending again."""
        if not rows:
            return
        # One statement may not upsert a key twice; the first row of a key wins, as it would
        # row by row (the second would find the key pending and leave it).
        unique: dict[str, dict[str, Any]] = {}
        for row in rows:
            unique.setdefault(row["idempotency_key"], row)
        table = Reminder.__table__  # type: ignore[attr-defined]
        statement = upsert_insert(self.session, Reminder)
        await self.insert_rows(
            statement.on_conflict_do_update(
                index_elements=[table.c.idempotency_key],
                set_={
                    "status": ReminderStatus.PENDING.value,
                    "scheduled_for": statement.excluded.scheduled_for,
                    "channel": statement.excluded.channel,
                    "updated_at": statement.excluded.updated_at,
                },
                where=table.c.status == ReminderStatus.CANCELLED.value,
            ),
            list(unique.values()),
        )

    async def cancel_pending(
        self, *, visit_ids: Sequence[int] = (), case_id: int | None = None
    ) -> int:
        condition = (
            col(Reminder.visit_id).in_(visit_ids) if visit_ids else col(Reminder.case_id) == case_id
        )
        result = await self.execute(
            sa.update(Reminder)
            .where(condition, col(Reminder.status) == ReminderStatus.PENDING)
            .values(status=ReminderStatus.CANCELLED, updated_at=utcnow())
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def due(self, now: datetime, limit: int) -> Sequence[sa.Row[Any]]:
        """Pending reminders whose time has come, with the patient's zone, locked for this dispatcher.

        Served by the partial index on pending rows; other dispatchers skip the locked rows.
        """
        return (
            await self.execute(
                sa.select(col(Reminder.id), col(Reminder.channel), col(Patient.time_zone))
                .join(Patient, col(Patient.id) == col(Reminder.patient_id))
                .where(
                    col(Reminder.status) == ReminderStatus.PENDING,
                    col(Reminder.scheduled_for) <= now,
                )
                .order_by(col(Reminder.scheduled_for), col(Reminder.id))
                .limit(limit)
                .with_for_update(of=Reminder.__table__, skip_locked=True)  # type: ignore[attr-defined]
            )
        ).all()

    async def mark_queued(self, ids: Sequence[int], now: datetime) -> None:
        if ids:
            await self.execute(
                sa.update(Reminder)
                .where(col(Reminder.id).in_(ids), col(Reminder.status) == ReminderStatus.PENDING)
                .values(status=ReminderStatus.QUEUED, queued_at=now, updated_at=now)
            )

    async def postpone(self, until: dict[int, datetime], now: datetime) -> None:
        """Move pending reminders to new times (one statement per distinct time)."""
        by_time: dict[datetime, list[int]] = {}
        for id_, at in until.items():
            by_time.setdefault(at, []).append(id_)
        for at, ids in by_time.items():
            await self.execute(
                sa.update(Reminder)
                .where(col(Reminder.id).in_(ids), col(Reminder.status) == ReminderStatus.PENDING)
                .values(scheduled_for=at, updated_at=now)
            )

    async def stale_queued(self, before: datetime, limit: int) -> list[int]:
        """Queued reminders nobody has touched since `before`: their message was lost."""
        rows = await self.execute(
            sa.select(col(Reminder.id))
            .where(col(Reminder.status) == ReminderStatus.QUEUED, col(Reminder.queued_at) < before)
            .order_by(col(Reminder.queued_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [row.id for row in rows]

    async def touch_queued(self, ids: Sequence[int], now: datetime) -> None:
        if ids:
            await self.execute(
                sa.update(Reminder).where(col(Reminder.id).in_(ids)).values(queued_at=now)
            )

    async def lock(self, id_: int) -> Reminder | None:
        """The reminder, its row locked until the transaction ends (a second sender waits)."""
        found: Reminder | None = await self.scalar(
            sa.select(Reminder)
            .where(col(Reminder.id) == id_)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return found

    async def for_delivery(self, ids: Sequence[int]) -> list[ReminderForDelivery]:
        """The reminders, their rows locked until the transaction ends (a second sender waits),
        each with all that its delivery reads: the patient, the case, its clinic's name, the
        visit and the insurer's hotline. One statement, whatever the number: a read of each
        cost a round trip apiece, the bulk of a send's time on a busy database server. Rows
        are locked in id order, so two senders of overlapping batches cannot deadlock."""
        if not ids:
            return []
        rows = await self.execute(
            sa.select(
                Reminder,
                Patient,
                SupervisionCase,
                Visit,
                col(MedicalOrganization.name).label("clinic_name"),
                col(Insurer.hotline_phone).label("hotline"),
            )
            .join(Patient, col(Patient.id) == col(Reminder.patient_id))
            .outerjoin(Insurer, col(Insurer.id) == col(Patient.insurer_id))
            .outerjoin(SupervisionCase, col(SupervisionCase.id) == col(Reminder.case_id))
            .outerjoin(
                MedicalOrganization,
                col(MedicalOrganization.id) == col(SupervisionCase.clinic_id),
            )
            .outerjoin(Visit, col(Visit.id) == col(Reminder.visit_id))
            .where(col(Reminder.id).in_(set(ids)))
            .order_by(col(Reminder.id))
            .with_for_update(of=Reminder.__table__)  # type: ignore[attr-defined]
            .execution_options(populate_existing=True)
        )
        return [
            ReminderForDelivery(
                row.Reminder,
                row.Patient,
                row.SupervisionCase,
                row.Visit,
                row.clinic_name,
                row.hotline,
            )
            for row in rows
        ]

    async def by_provider_message_id(self, message_id: str, channel: Channel) -> Reminder | None:
        found: Reminder | None = await self.scalar(
            sa.select(Reminder)
            .where(
                col(Reminder.provider_message_id) == message_id,
                col(Reminder.channel) == channel,
            )
            .with_for_update()
        )
        return found

    def listing(self, filter: ReminderFilter) -> sa.Select[Any]:
        return sa.select(Reminder).where(*self._conditions(filter))

    @staticmethod
    def _conditions(filter: ReminderFilter, with_status: bool = True) -> list[Any]:
        conditions: list[Any] = []
        if with_status and filter.statuses:
            conditions.append(col(Reminder.status).in_(filter.statuses))
        for column, value in (
            (Reminder.patient_id, filter.patient_id),
            (Reminder.case_id, filter.case_id),
            (Reminder.channel, filter.channel),
            (Reminder.kind, filter.kind),
        ):
            if value is not None:
                conditions.append(col(column) == value)
        if filter.scheduled_from is not None:
            conditions.append(col(Reminder.scheduled_for) >= filter.scheduled_from)
        if filter.scheduled_before is not None:
            conditions.append(col(Reminder.scheduled_for) < filter.scheduled_before)
        return conditions

    @staticmethod
    def ordering() -> list[SortKey]:
        return [SortKey(col(Reminder.scheduled_for), True), SortKey(col(Reminder.id), True)]

    async def count_by_status(self, filter: ReminderFilter) -> dict[ReminderStatus, int]:
        """How many reminders match the filter in each status (the status filter itself aside)."""
        rows = await self.execute(
            sa.select(col(Reminder.status).label("status"), sa.func.count().label("rows"))
            .where(*self._conditions(filter, with_status=False))
            .group_by(col(Reminder.status))
        )
        counts = dict.fromkeys(ReminderStatus, 0)
        counts.update({ReminderStatus(row.status): row.rows for row in rows})
        return counts

    async def letters(self, start: datetime, end: datetime) -> Sequence[Reminder]:
        """Postal letters handed to the batch in [start, end), in the order they were written."""
        found: Sequence[Reminder] = await self.scalars(
            sa.select(Reminder)
            .where(
                col(Reminder.channel) == Channel.POST,
                col(Reminder.sent_at) >= start,
                col(Reminder.sent_at) < end,
                col(Reminder.status).in_((ReminderStatus.SENT, ReminderStatus.DELIVERED)),
            )
            .order_by(col(Reminder.sent_at), col(Reminder.id))
        )
        return found

    async def letter_times(self, since: datetime) -> Sequence[datetime]:
        """When each letter since `since` went into a batch (the caller groups them by local day)."""
        rows = await self.execute(
            sa.select(col(Reminder.sent_at)).where(
                col(Reminder.channel) == Channel.POST,
                col(Reminder.sent_at) >= since,
                col(Reminder.status).in_((ReminderStatus.SENT, ReminderStatus.DELIVERED)),
            )
        )
        return [row.sent_at for row in rows]


REMINDERS_OF_PATIENT = ChildRows(
    col(Reminder.patient_id),
    (SortKey(col(Reminder.scheduled_for), True), SortKey(col(Reminder.id), True)),
)
"""A patient's reminders, latest first."""


@dataclass(frozen=True)
class ReminderForDelivery:
    """A reminder and what its delivery reads (see `ReminderRepository.for_delivery`)."""

    reminder: Reminder
    patient: Patient
    case: SupervisionCase | None
    visit: Visit | None
    clinic_name: str | None
    hotline: str | None


@dataclass(frozen=True)
class ReminderFilter:
    statuses: tuple[ReminderStatus, ...] = ()
    patient_id: int | None = None
    case_id: int | None = None
    channel: Channel | None = None
    kind: ReminderKind | None = None
    scheduled_from: datetime | None = None
    scheduled_before: datetime | None = None


@dataclass(frozen=True)
class InformingFilter:
    patient_id: int | None = None
    case_id: int | None = None
    since: datetime | None = None
    before: datetime | None = None


class InformingEventRepository(Repository[InformingEvent]):
    model = InformingEvent

    async def record(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write informing events, all with the same keys, in one statement."""
        await self.insert_rows(sa.insert(InformingEvent.__table__), rows)  # type: ignore[attr-defined]

    def listing(self, filter: InformingFilter) -> sa.Select[Any]:
        statement = sa.select(InformingEvent)
        if filter.patient_id is not None:
            statement = statement.where(col(InformingEvent.patient_id) == filter.patient_id)
        if filter.case_id is not None:
            statement = statement.where(col(InformingEvent.case_id) == filter.case_id)
        if filter.since is not None:
            statement = statement.where(col(InformingEvent.occurred_at) >= filter.since)
        if filter.before is not None:
            statement = statement.where(col(InformingEvent.occurred_at) < filter.before)
        return statement

    @staticmethod
    def ordering() -> list[SortKey]:
        return [
            SortKey(col(InformingEvent.occurred_at), True),
            SortKey(col(InformingEvent.id), True),
        ]


INFORMING_EVENTS_OF_PATIENT = ChildRows(
    col(InformingEvent.patient_id), tuple(InformingEventRepository.ordering())
)


@dataclass(frozen=True)
class WorkItemFilter:
    owner_id: int | None = None
    kinds: tuple[WorkItemKind, ...] = ()
    statuses: tuple[WorkItemStatus, ...] = (WorkItemStatus.OPEN, WorkItemStatus.IN_PROGRESS)


class WorklistRepository(Repository[WorkItem]):
    model = WorkItem

    @staticmethod
    @functools.lru_cache(maxsize=1024)
    def listing(filter: WorkItemFilter) -> sa.Select[Any]:
        """The open items of a filter; a worklist is asked for again and again, and one
        statement object per filter spares building it (and SQLAlchemy keying it) each time."""
        statement = sa.select(WorkItem).where(col(WorkItem.status).in_(filter.statuses))
        if filter.owner_id is not None:
            statement = statement.where(col(WorkItem.owner_id) == filter.owner_id)
        if filter.kinds:
            statement = statement.where(col(WorkItem.kind).in_(filter.kinds))
        return statement

    @staticmethod
    def ordering() -> list[SortKey]:
        return [
            SortKey(col(WorkItem.priority)),
            SortKey(col(WorkItem.due_at)),
            SortKey(col(WorkItem.id)),
        ]

    async def open_for_visit(self, visit_id: int) -> Sequence[WorkItem]:
        items: Sequence[WorkItem] = await self.scalars(
            sa.select(WorkItem).where(
                col(WorkItem.visit_id) == visit_id, col(WorkItem.status) != WorkItemStatus.DONE
            )
        )
        return items


class ContactAttemptRepository(Repository[ContactAttempt]):
    model = ContactAttempt


CONTACTS_OF_PATIENT = ChildRows(
    col(ContactAttempt.patient_id),
    (SortKey(col(ContactAttempt.attempted_at), True), SortKey(col(ContactAttempt.id), True)),
)
"""A patient's contact attempts, latest first."""


class ConsentRepository(Repository[NotificationConsent]):
    model = NotificationConsent

    async def granted(self, patient_ids: Sequence[int]) -> dict[int, list[sa.Row[Any]]]:
        """Each patient's consents as (channel, granted) rows, with no entity built."""
        grouped: dict[int, list[sa.Row[Any]]] = {id_: [] for id_ in patient_ids}
        if patient_ids:
            rows = await self.execute(
                sa.select(
                    col(NotificationConsent.patient_id),
                    col(NotificationConsent.channel),
                    col(NotificationConsent.granted),
                ).where(col(NotificationConsent.patient_id).in_(set(patient_ids)))
            )
            for row in rows:
                grouped[row.patient_id].append(row)
        return grouped

    async def current(self, patient_id: int, channel: Channel) -> NotificationConsent | None:
        found: NotificationConsent | None = await self.scalar(
            sa.select(NotificationConsent).where(
                col(NotificationConsent.patient_id) == patient_id,
                col(NotificationConsent.channel) == channel,
            )
        )
        return found


CONSENTS_OF_PATIENT = ChildRows(
    col(NotificationConsent.patient_id), (SortKey(col(NotificationConsent.id)),)
)
"""A patient's consents, oldest first: at most one per channel (a unique constraint)."""


class ClinicRepository(Repository[MedicalOrganization]):
    model = MedicalOrganization

    async def by_code(self, code: str) -> MedicalOrganization | None:
        found: MedicalOrganization | None = await self.scalar(
            sa.select(MedicalOrganization).where(col(MedicalOrganization.code) == code)
        )
        return found


class ApiClientRepository(Repository[ApiClient]):
    model = ApiClient

    async def by_prefix(self, prefix: str) -> ApiClient | None:
        found: ApiClient | None = await self.scalar(
            sa.select(ApiClient).where(col(ApiClient.key_prefix) == prefix)
        )
        return found

    async def listing(self, clinic_id: int | None = None) -> Sequence[ApiClient]:
        statement = sa.select(ApiClient).order_by(col(ApiClient.id))
        if clinic_id is not None:
            statement = statement.where(col(ApiClient.clinic_id) == clinic_id)
        clients: Sequence[ApiClient] = await self.scalars(statement)
        return clients


class RepresentativeRepository(Repository[Representative]):
    model = Representative

    async def by_subject(self, subject: str) -> Representative | None:
        found: Representative | None = await self.scalar(
            sa.select(Representative).where(col(Representative.subject) == subject)
        )
        return found


class SupervisionRuleRepository(Repository[SupervisionRule]):
    model = SupervisionRule

    async def all(self) -> Sequence[SupervisionRule]:
        rules: Sequence[SupervisionRule] = await self.scalars(
            sa.select(SupervisionRule).order_by(col(SupervisionRule.icd10_prefix))
        )
        return rules

    async def by_prefix(self, prefix: str) -> SupervisionRule | None:
        found: SupervisionRule | None = await self.scalar(
            sa.select(SupervisionRule).where(col(SupervisionRule.icd10_prefix) == prefix)
        )
        return found

    async def add_missing(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert rows from the shipped table whose prefix is not stored (admin edits stay)."""
        if rows:
            await self.execute(
                insert_ignoring_duplicates(self.session, SupervisionRule).values(list(rows))
            )


OPEN_APPEAL_STATUSES = (AppealStatus.REGISTERED, AppealStatus.IN_PROGRESS)


@dataclass(frozen=True)
class AppealFilter:
    statuses: tuple[AppealStatus, ...] = ()
    kinds: tuple[AppealKind, ...] = ()
    answer_due_before: date | None = None
    answer_due_after: date | None = None
    clinic_id: int | None = None
    representative_id: int | None = None
    insurer_id: int | None = None
    patient_id: int | None = None
    case_id: int | None = None


class AppealOrder(enum.StrEnum):
    ANSWER_DUE = "answer_due"
    RECEIVED_AT = "received_at"


class AppealRepository(Repository[Appeal]):
    model = Appeal

    def listing(self, filter: AppealFilter) -> sa.Select[Any]:
        statement = sa.select(Appeal)
        if filter.statuses:
            statement = statement.where(col(Appeal.status).in_(filter.statuses))
        if filter.kinds:
            statement = statement.where(col(Appeal.kind).in_(filter.kinds))
        if filter.answer_due_before is not None:
            statement = statement.where(col(Appeal.answer_due) < filter.answer_due_before)
        if filter.answer_due_after is not None:
            statement = statement.where(col(Appeal.answer_due) > filter.answer_due_after)
        equal = {
            col(Appeal.clinic_id): filter.clinic_id,
            col(Appeal.representative_id): filter.representative_id,
            col(Appeal.insurer_id): filter.insurer_id,
            col(Appeal.patient_id): filter.patient_id,
            col(Appeal.case_id): filter.case_id,
        }
        for column, value in equal.items():
            if value is not None:
                statement = statement.where(column == value)
        return statement

    @staticmethod
    def ordering(
        order: AppealOrder = AppealOrder.ANSWER_DUE, descending: bool = False
    ) -> list[SortKey]:
        first = (
            col(Appeal.answer_due) if order is AppealOrder.ANSWER_DUE else col(Appeal.received_at)
        )
        return [SortKey(first, descending), SortKey(col(Appeal.id), descending)]

    async def raise_deadline_items(
        self,
        *,
        stage: str,
        answer_due_from: date | None,
        answer_due_to: date,
        priority: int,
        due_at: Mapping[date, datetime],
        now: datetime,
    ) -> int:
        """One work item per open appeal whose answer is due in the range, in one INSERT ... SELECT.

        The dedup key names the stage and the due date, so an extended appeal is raised again
        for its new deadline, and a rerun of the scan adds nothing.
        """
        appeal: sa.Table = Appeal.__table__  # type: ignore[attr-defined]
        conditions = [
            appeal.c.status.in_([status.value for status in OPEN_APPEAL_STATUSES]),
            appeal.c.answer_due <= answer_due_to,
        ]
        if answer_due_from is not None:
            conditions.append(appeal.c.answer_due >= answer_due_from)
        key = (
            sa.literal(f"appeal-{stage}:")
            + sa.cast(appeal.c.id, sa.String)
            + sa.literal(":")
            + sa.cast(appeal.c.answer_due, sa.String)
        )
        rows = sa.select(
            sa.literal(WorkItemKind.APPEAL_DEADLINE.value),
            appeal.c.representative_id,
            appeal.c.patient_id,
            appeal.c.case_id,
            appeal.c.id,
            sa.literal(priority),
            # The few dates in range map to their instants; anything else is due now.
            sa.case(
                {day: sa.literal(at, UtcDateTime()) for day, at in due_at.items()},
                value=appeal.c.answer_due,
                else_=sa.literal(now, UtcDateTime()),
            )
            if due_at
            else sa.literal(now, UtcDateTime()),
            sa.literal(WorkItemStatus.OPEN.value),
            key,
            sa.literal(now, UtcDateTime()),
        ).where(*conditions)
        columns = [
            "kind",
            "owner_id",
            "patient_id",
            "case_id",
            "appeal_id",
            "priority",
            "due_at",
            "status",
            "dedup_key",
            "created_at",
        ]
        statement = (
            upsert_insert(self.session, WorkItem)
            .from_select(columns, rows)
            .on_conflict_do_nothing()
        )
        result = await self.execute(statement)
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def reassign_open_items(self, appeal_id: int, owner_id: int) -> None:
        await self.execute(
            sa.update(WorkItem)
            .where(
                col(WorkItem.appeal_id) == appeal_id, col(WorkItem.status) != WorkItemStatus.DONE
            )
            .values(owner_id=owner_id)
        )

    async def close_open_items(self, appeal_id: int, resolution: str, at: datetime) -> None:
        await self.execute(
            sa.update(WorkItem)
            .where(
                col(WorkItem.appeal_id) == appeal_id, col(WorkItem.status) != WorkItemStatus.DONE
            )
            .values(status=WorkItemStatus.DONE, resolution=resolution, resolved_at=at)
        )


@dataclass(frozen=True)
class ExaminationFilter:
    clinic_id: int | None = None
    insurer_id: int | None = None
    appeal_id: int | None = None
    case_id: int | None = None
    statuses: tuple[Any, ...] = ()


class QualityExaminationRepository(Repository[QualityExamination]):
    model = QualityExamination

    def listing(self, filter: ExaminationFilter) -> sa.Select[Any]:
        statement = sa.select(QualityExamination)
        if filter.statuses:
            statement = statement.where(col(QualityExamination.status).in_(filter.statuses))
        equal = {
            col(QualityExamination.clinic_id): filter.clinic_id,
            col(QualityExamination.insurer_id): filter.insurer_id,
            col(QualityExamination.appeal_id): filter.appeal_id,
        }
        for column, value in equal.items():
            if value is not None:
                statement = statement.where(column == value)
        if filter.case_id is not None:
            statement = statement.where(
                sa.exists().where(
                    col(ExaminedCase.examination_id) == col(QualityExamination.id),
                    col(ExaminedCase.case_id) == filter.case_id,
                )
            )
        return statement

    @staticmethod
    def ordering() -> list[SortKey]:
        return [SortKey(col(QualityExamination.id), True)]

    async def for_cases(
        self, case_ids: Sequence[int], limit: int
    ) -> dict[int, list[QualityExamination]]:
        """The latest examinations of each case, in one statement."""
        if not case_ids:
            return {}
        links = (
            sa.select(
                col(ExaminedCase.case_id).label("case_id"),
                col(ExaminedCase.examination_id).label("examination_id"),
            )
            .where(col(ExaminedCase.case_id).in_(set(case_ids)))
            .distinct()
            .subquery()
        )
        rank = (
            sa.func.row_number()
            .over(partition_by=links.c.case_id, order_by=links.c.examination_id.desc())
            .label("rank")
        )
        ranked = sa.select(links.c.case_id, links.c.examination_id, rank).subquery()
        rows = await self.execute(
            sa.select(ranked.c.case_id, QualityExamination)
            .join(QualityExamination, col(QualityExamination.id) == ranked.c.examination_id)
            .where(ranked.c.rank <= limit)
            .order_by(ranked.c.case_id, ranked.c.rank)
        )
        grouped: dict[int, list[QualityExamination]] = {id_: [] for id_ in case_ids}
        for row in rows:
            grouped[row.case_id].append(row.QualityExamination)
        return grouped

    async def examined(self, examination_ids: Sequence[int]) -> dict[int, list[ExaminedCase]]:
        """What each examination looks at (at most 100 rows each: the order caps its input)."""
        if not examination_ids:
            return {}
        rows = await self.scalars(
            sa.select(ExaminedCase)
            .where(col(ExaminedCase.examination_id).in_(set(examination_ids)))
            .order_by(col(ExaminedCase.examination_id), col(ExaminedCase.id))
        )
        grouped: dict[int, list[ExaminedCase]] = {id_: [] for id_ in examination_ids}
        for row in rows:
            grouped[row.examination_id].append(row)
        return grouped


EXAMINATIONS_OF_APPEAL = ChildRows(
    col(QualityExamination.appeal_id), tuple(QualityExaminationRepository.ordering())
)


@dataclass(frozen=True)
class StatisticsScope:
    """A period of local dates, its bounds as instants, and an optional insurer and clinic."""

    start: date
    end: date
    start_at: datetime
    end_at: datetime
    insurer_id: int | None = None
    clinic_id: int | None = None


def _within(column: Any, scope: StatisticsScope) -> Any:
    """An instant column inside the scope's period (local midnight to local midnight)."""
    return sa.and_(column >= scope.start_at, column < scope.end_at)


def _owned(statement: Any, scope: StatisticsScope, model: Any) -> Any:
    """Limit a statement over a table with its own insurer_id and clinic_id to the scope."""
    if scope.insurer_id is not None:
        statement = statement.where(model.__table__.c.insurer_id == scope.insurer_id)
    if scope.clinic_id is not None:
        statement = statement.where(model.__table__.c.clinic_id == scope.clinic_id)
    return statement


def _count_if(condition: Any) -> Any:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


class StatisticsRepository(Repository[SupervisionCase]):
    """The period figures a fund reports, each section one aggregate statement."""

    model = SupervisionCase

    def _case_scope(self, scope: StatisticsScope, statement: Any) -> Any:
        """Limit a statement over supervision_case to the scope's insurer and clinic."""
        if scope.clinic_id is not None:
            statement = statement.where(col(SupervisionCase.clinic_id) == scope.clinic_id)
        if scope.insurer_id is not None:
            statement = statement.join(
                Patient, col(Patient.id) == col(SupervisionCase.patient_id)
            ).where(col(Patient.insurer_id) == scope.insurer_id)
        return statement

    async def representatives_by_level(self, scope: StatisticsScope) -> dict[int, int]:
        statement: Any = (
            sa.select(col(Representative.level), sa.func.count())
            .where(col(Representative.active))
            .group_by(col(Representative.level))
        )
        if scope.insurer_id is not None:
            statement = statement.where(col(Representative.insurer_id) == scope.insurer_id)
        if scope.clinic_id is not None:
            statement = statement.where(
                sa.exists().where(
                    col(DeskHours.representative_id) == col(Representative.id),
                    col(DeskHours.clinic_id) == scope.clinic_id,
                )
            )
        rows: Sequence[Any] = (await self.execute(statement)).all()
        return {level: count for level, count in rows}

    async def cases(self, scope: StatisticsScope) -> sa.Row[Any]:
        """Active cases and patients at the period's end, cases opened in it, and the patients
        supervised at any time in it with how many of them were informed in it."""
        case = SupervisionCase
        active_at_end = sa.and_(
            col(case.opened_on) <= scope.end,
            sa.or_(col(case.closed_on).is_(None), col(case.closed_on) > scope.end),
        )
        active_in_period = sa.and_(
            col(case.opened_on) <= scope.end,
            sa.or_(col(case.closed_on).is_(None), col(case.closed_on) >= scope.start),
        )
        # One set of informed patients, hashed once, rather than a probe per case.
        informed = sa.union_all(
            sa.select(col(Reminder.patient_id)).where(
                col(Reminder.status).in_([ReminderStatus.SENT, ReminderStatus.DELIVERED]),
                _within(col(Reminder.sent_at), scope),
            ),
            sa.select(col(ContactAttempt.patient_id)).where(
                col(ContactAttempt.outcome).in_(
                    [ContactOutcome.REACHED, ContactOutcome.WILL_ATTEND]
                ),
                _within(col(ContactAttempt.attempted_at), scope),
            ),
        )
        statement = sa.select(
            _count_if(active_at_end).label("active_cases"),
            sa.func.count(sa.distinct(sa.case((active_at_end, col(case.patient_id))))).label(
                "patients_at_end"
            ),
            _count_if(
                sa.and_(col(case.opened_on) >= scope.start, col(case.opened_on) <= scope.end)
            ).label("opened"),
            sa.func.count(sa.distinct(sa.case((active_in_period, col(case.patient_id))))).label(
                "supervised"
            ),
            sa.func.count(
                sa.distinct(
                    sa.case(
                        (
                            sa.and_(active_in_period, col(case.patient_id).in_(informed)),
                            col(case.patient_id),
                        )
                    )
                )
            ).label("informed"),
        ).select_from(case)
        return (await self.execute(self._case_scope(scope, statement))).one()

    async def closed_by_reason(self, scope: StatisticsScope) -> dict[str, int]:
        statement: Any = (
            sa.select(col(SupervisionCase.close_reason), sa.func.count())
            .where(
                col(SupervisionCase.closed_on) >= scope.start,
                col(SupervisionCase.closed_on) <= scope.end,
            )
            .group_by(col(SupervisionCase.close_reason))
        )
        rows: Sequence[Any] = (await self.execute(self._case_scope(scope, statement))).all()
        return {str(reason): count for reason, count in rows}

    async def visits_by_status(self, scope: StatisticsScope) -> dict[str, int]:
        """Visits whose window ends in the period, by status (each visit counts in one period)."""
        statement: Any = (
            sa.select(col(Visit.status), sa.func.count())
            .where(col(Visit.window_end) >= scope.start, col(Visit.window_end) <= scope.end)
            .group_by(col(Visit.status))
        )
        if scope.clinic_id is not None:
            statement = statement.where(col(Visit.clinic_id) == scope.clinic_id)
        if scope.insurer_id is not None:
            statement = (
                statement.join(SupervisionCase, col(SupervisionCase.id) == col(Visit.case_id))
                .join(Patient, col(Patient.id) == col(SupervisionCase.patient_id))
                .where(col(Patient.insurer_id) == scope.insurer_id)
            )
        rows: Sequence[Any] = (await self.execute(statement)).all()
        return {str(status): count for status, count in rows}

    async def reminders_by_channel_and_status(
        self, scope: StatisticsScope
    ) -> dict[tuple[str, str], int]:
        """Reminders scheduled in the period, by channel and status."""
        statement: Any = (
            sa.select(col(Reminder.channel), col(Reminder.status), sa.func.count())
            .where(
                _within(col(Reminder.scheduled_for), scope),
            )
            .group_by(col(Reminder.channel), col(Reminder.status))
        )
        if scope.clinic_id is not None:
            statement = statement.join(
                SupervisionCase, col(SupervisionCase.id) == col(Reminder.case_id)
            ).where(col(SupervisionCase.clinic_id) == scope.clinic_id)
        if scope.insurer_id is not None:
            statement = statement.join(Patient, col(Patient.id) == col(Reminder.patient_id)).where(
                col(Patient.insurer_id) == scope.insurer_id
            )
        rows: Sequence[Any] = (await self.execute(statement)).all()
        return {(str(channel), str(status)): count for channel, status, count in rows}

    async def appeals_by_kind(self, scope: StatisticsScope) -> Sequence[sa.Row[Any]]:
        """Per kind: received in the period; answered in it, and of those on time."""
        received = _within(col(Appeal.received_at), scope)
        answered = _within(col(Appeal.answered_at), scope)
        on_time = Appeal.__table__.c.answered_on_time.is_(True)  # type: ignore[attr-defined]
        statement: Any = (
            sa.select(
                col(Appeal.kind).label("kind"),
                _count_if(received).label("received"),
                _count_if(answered).label("answered"),
                _count_if(sa.and_(answered, on_time)).label("on_time"),
            )
            .where(sa.or_(received, answered))
            .group_by(col(Appeal.kind))
        )
        return (await self.execute(_owned(statement, scope, Appeal))).all()

    async def examinations(self, scope: StatisticsScope) -> Sequence[sa.Row[Any]]:
        """Per outcome (none while ordered): ordered in the period, and completed in it."""
        exam = QualityExamination
        ordered = _within(col(exam.ordered_at), scope)
        completed = _within(col(exam.completed_at), scope)
        statement: Any = (
            sa.select(
                col(exam.outcome).label("outcome"),
                _count_if(ordered).label("ordered"),
                _count_if(completed).label("completed"),
            )
            .where(sa.or_(ordered, completed))
            .group_by(col(exam.outcome))
        )
        return (await self.execute(_owned(statement, scope, exam))).all()
