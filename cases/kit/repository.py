"""The base repository and the child-row readers every domain's repositories build on."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Self, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from cases.kit.columns import utcnow
from cases.kit.models import JobRun
from cases.kit.paging import SortKey

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
    each parent inside its one statement (`cases.reads.projection`).
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

    async def pending(self, job: str) -> Sequence[JobRun]:
        """The claimed slots of `job` whose message is not on the broker yet, locked for this
        transaction (on PostgreSQL; another scheduler skips them meanwhile)."""
        statement = (
            sa.select(JobRun)
            .where(col(JobRun.job) == job, col(JobRun.enqueued_at).is_(None))
            .order_by(col(JobRun.slot))
        )
        if on_postgresql(self.session):
            statement = statement.with_for_update(skip_locked=True)
        runs: Sequence[JobRun] = await self.scalars(statement)
        return runs

    async def mark_enqueued(self, ids: Sequence[int], at: datetime) -> None:
        await self.execute(sa.update(JobRun).where(col(JobRun.id).in_(ids)).values(enqueued_at=at))
