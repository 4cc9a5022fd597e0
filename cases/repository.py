"""Every SQL statement of the domain lives here; services and loaders call these methods."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Generic, Self, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from cases.models import (
    AuditEvent,
    Insurer,
    JobRun,
    SupervisionCase,
    Visit,
    VisitStatus,
    WorkItem,
    utcnow,
)
from cases.pagination import Page, PageRequest, SortKey, build_page, page_statement

M = TypeVar("M", bound=SQLModel)


def session_lock(session: AsyncSession) -> asyncio.Lock:
    """One lock per session: an AsyncSession must never run two statements at once.

    GraphQL resolves sibling fields concurrently, all on the request's session; every
    repository call takes this lock, so their statements queue instead of colliding.
    """
    lock = session.info.get("lock")
    if lock is None:
        lock = session.info["lock"] = asyncio.Lock()
    return lock


class Repository(Generic[M]):
    """Typed access to one table; built from a session, never commits."""

    model: type[M]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> Self:
        return cls(session)

    async def execute(self, statement: sa.Executable) -> sa.Result[Any]:
        async with session_lock(self.session):
            return await self.session.execute(statement)

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

    async def flush(self) -> None:
        async with session_lock(self.session):
            await self.session.flush()

    async def count(self, statement: sa.Select[Any]) -> int:
        counted = sa.select(sa.func.count()).select_from(statement.order_by(None).subquery())
        return int((await self.execute(counted)).scalar_one())

    async def page(
        self, statement: sa.Select[Any], keys: Sequence[SortKey], request: PageRequest
    ) -> Page[Any]:
        rows = await self.scalars(page_statement(statement, keys, request))
        names = [str(key.column.key) for key in keys]
        return build_page(rows, lambda row: [getattr(row, name) for name in names], request)

    def _id_column(self) -> sa.ColumnElement[Any]:
        return self.model.__table__.c.id  # type: ignore[attr-defined,no-any-return]


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


class AuditRepository(Repository[AuditEvent]):
    model = AuditEvent

    async def for_entity(self, entity_type: str, entity_id: int) -> Sequence[AuditEvent]:
        return await self.scalars(
            sa.select(AuditEvent)
            .where(
                col(AuditEvent.entity_type) == entity_type, col(AuditEvent.entity_id) == entity_id
            )
            .order_by(col(AuditEvent.occurred_at), col(AuditEvent.id))
        )


def insert_ignoring_duplicates(session: AsyncSession, model: type[SQLModel]) -> Any:
    """An INSERT that skips rows whose unique key exists (PostgreSQL and SQLite alike)."""
    table = model.__table__  # type: ignore[attr-defined]
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return postgresql_insert(table).on_conflict_do_nothing()
    return sqlite_insert(table).on_conflict_do_nothing()


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

    async def overdue_planned(self, before: date, limit: int) -> Sequence[sa.Row[Any]]:
        """Planned visits whose window ended before `before`, oldest first, locked for this scan.

        Served by the partial index on planned visits: the cost follows the overdue rows,
        not the size of the table.
        """
        statement = (
            sa.select(
                col(Visit.id),
                col(Visit.case_id),
                col(Visit.window_start),
                col(SupervisionCase.patient_id),
                col(SupervisionCase.representative_id),
            )
            .join(SupervisionCase, col(SupervisionCase.id) == col(Visit.case_id))
            .where(col(Visit.status) == VisitStatus.PLANNED, col(Visit.window_end) < before)
            .order_by(col(Visit.window_end), col(Visit.id))
            .limit(limit)
            .with_for_update(of=Visit.__table__, skip_locked=True)  # type: ignore[attr-defined]
        )
        return (await self.execute(statement)).all()

    async def mark_missed(self, ids: Sequence[int], at: datetime) -> None:
        await self.execute(
            sa.update(Visit)
            .where(col(Visit.id).in_(ids), col(Visit.status) == VisitStatus.PLANNED)
            .values(
                status=VisitStatus.MISSED,
                missed_at=at,
                updated_at=at,
                changed_by="job:visits.flag_missed",
            )
        )

    async def previous_outcomes(self, visit_ids: Sequence[int]) -> dict[int, VisitStatus | None]:
        """For each visit, the status of the case's latest earlier visit that was attended or missed."""
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
            sa.select(current.c.id, previous_status.label("previous")).where(
                current.c.id.in_(visit_ids)
            )
        )
        return {row.id: row.previous for row in rows}


class WorkItemRepository(Repository[WorkItem]):
    model = WorkItem

    async def raise_many(self, items: Sequence[dict[str, Any]]) -> None:
        """Insert work items; one whose dedup key was raised before is skipped."""
        if items:
            await self.execute(
                insert_ignoring_duplicates(self.session, WorkItem).values(list(items))
            )
