"""Every SQL statement of the domain lives here; services and loaders call these methods."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, Self, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from cases.models import (
    AuditEvent,
    CaseStatus,
    Channel,
    ContactAttempt,
    Insurer,
    JobRun,
    MedicalOrganization,
    NotificationConsent,
    Patient,
    Reminder,
    ReminderStatus,
    Representative,
    SupervisionCase,
    SupervisionRule,
    Visit,
    VisitStatus,
    WorkItem,
    WorkItemKind,
    WorkItemStatus,
    utcnow,
)
from cases.pagination import Page, PageRequest, SortKey, build_page, page_statement

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


class Repository(Generic[M]):
    """Typed access to one table; built from a session, never commits."""

    model: type[M]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> Self:
        return cls(session)

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
    ) -> tuple[Page[Any], CountRows]:
        """One page of `statement`, and how to count all its rows should the client ask."""
        rows = await self.scalars(page_statement(statement, keys, request))
        names = [str(key.column.key) for key in keys]
        page = build_page(rows, lambda row: [getattr(row, name) for name in names], request)
        return page, lambda: self.count(statement)

    async def first_per_parent(
        self,
        parent: Any,
        parent_ids: Sequence[int],
        keys: Sequence[SortKey],
        limit: int,
        *where: Any,
    ) -> dict[int, list[M]]:
        """The first `limit` rows of each parent in one statement (a window over the parents)."""
        if not parent_ids:
            return {}
        rank = (
            sa.func.row_number()
            .over(partition_by=parent, order_by=[key.ordered() for key in keys])
            .label("rank")
        )
        # The window ranks ids only and the rows are joined back by primary key: aliasing the
        # whole entity over a subquery would copy every column per call, the costliest part
        # of a request that loads a few rows.
        id_column = self._id_column()
        ranked = sa.select(id_column, rank).where(parent.in_(set(parent_ids)), *where).subquery()
        rows = await self.scalars(
            sa.select(self.model)
            .join(ranked, id_column == ranked.c.id)
            .where(ranked.c.rank <= limit)
            .order_by(parent, ranked.c.rank)
        )
        grouped: dict[int, list[M]] = {id_: [] for id_ in parent_ids}
        for row in rows:
            grouped[getattr(row, parent.key)].append(row)
        return grouped

    async def count_per_parent(
        self, parent: Any, parent_ids: Sequence[int], *where: Any
    ) -> dict[int, int]:
        if not parent_ids:
            return {}
        rows = await self.execute(
            sa.select(parent.label("parent"), sa.func.count().label("rows"))
            .where(parent.in_(set(parent_ids)), *where)
            .group_by(parent)
        )
        counts = {id_: 0 for id_ in parent_ids}
        counts.update({row.parent: row.rows for row in rows})
        return counts

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


def upsert_insert(session: AsyncSession, model: type[SQLModel]) -> Any:
    """An INSERT of the session's dialect that takes ON CONFLICT clauses (PostgreSQL and SQLite)."""
    table = model.__table__  # type: ignore[attr-defined]
    if session.bind is not None and session.bind.dialect.name == "postgresql":
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
            await self.execute(insert_ignoring_duplicates(self.session, WorkItem), items)


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

    def listing(self, filter: CaseFilter) -> sa.Select[Any]:
        statement = sa.select(SupervisionCase)
        equal = {
            col(SupervisionCase.patient_id): filter.patient_id,
            col(SupervisionCase.status): filter.status,
            col(SupervisionCase.clinic_id): filter.clinic_id,
            col(SupervisionCase.representative_id): filter.representative_id,
        }
        for column, value in equal.items():
            if value is not None:
                statement = statement.where(column == value)
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

    async def for_patients(
        self, patient_ids: Sequence[int], limit: int
    ) -> dict[int, list[SupervisionCase]]:
        return await self.first_per_parent(
            col(SupervisionCase.patient_id), patient_ids, self.ordering(), limit
        )

    async def count_for_patients(self, patient_ids: Sequence[int]) -> dict[int, int]:
        return await self.count_per_parent(col(SupervisionCase.patient_id), patient_ids)

    async def ids_existing(self, ids: Sequence[int]) -> set[int]:
        rows = await self.scalars(
            sa.select(col(SupervisionCase.id)).where(col(SupervisionCase.id).in_(ids))
        )
        return set(rows)


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

    async def for_cases(self, case_ids: Sequence[int], limit: int) -> dict[int, list[Visit]]:
        return await self.first_per_parent(col(Visit.case_id), case_ids, self.ordering(), limit)

    async def count_for_cases(self, case_ids: Sequence[int]) -> dict[int, int]:
        return await self.count_per_parent(col(Visit.case_id), case_ids)

    async def next_planned(self, case_ids: Sequence[int]) -> dict[int, Visit | None]:
        found = await self.first_per_parent(
            col(Visit.case_id),
            case_ids,
            self.ordering(),
            1,
            col(Visit.status) == VisitStatus.PLANNED,
        )
        return {case_id: visits[0] if visits else None for case_id, visits in found.items()}

    async def future_planned(self, case_id: int) -> Sequence[Visit]:
        visits: Sequence[Visit] = await self.scalars(
            sa.select(Visit).where(
                col(Visit.case_id) == case_id, col(Visit.status) == VisitStatus.PLANNED
            )
        )
        return visits

    async def latest_outcome(self, case_id: int, before: date) -> Visit | None:
        found: Visit | None = await self.scalar(
            sa.select(Visit)
            .where(
                col(Visit.case_id) == case_id,
                col(Visit.window_start) < before,
                col(Visit.status).in_([VisitStatus.ATTENDED, VisitStatus.MISSED]),
            )
            .order_by(col(Visit.window_start).desc(), col(Visit.id).desc())
            .limit(1)
        )
        return found


class ReminderRepository(Repository[Reminder]):
    model = Reminder

    async def plan(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write outbox rows idempotently: a key planned before is left as it is, except that a
        cancelled one (the visit was moved and moved back) becomes pending again."""
        if not rows:
            return
        table = Reminder.__table__  # type: ignore[attr-defined]
        statement = upsert_insert(self.session, Reminder)
        await self.execute(
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
            rows,
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

    async def latest_for_patients(self, patient_ids: Sequence[int]) -> dict[int, Reminder | None]:
        found = await self.first_per_parent(
            col(Reminder.patient_id),
            patient_ids,
            [SortKey(col(Reminder.scheduled_for), True), SortKey(col(Reminder.id), True)],
            1,
        )
        return {patient_id: rows[0] if rows else None for patient_id, rows in found.items()}


@dataclass(frozen=True)
class WorkItemFilter:
    owner_id: int | None = None
    kinds: tuple[WorkItemKind, ...] = ()
    statuses: tuple[WorkItemStatus, ...] = (WorkItemStatus.OPEN, WorkItemStatus.IN_PROGRESS)


class WorklistRepository(Repository[WorkItem]):
    model = WorkItem

    def listing(self, filter: WorkItemFilter) -> sa.Select[Any]:
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

    async def latest_for_patients(
        self, patient_ids: Sequence[int]
    ) -> dict[int, ContactAttempt | None]:
        found = await self.first_per_parent(
            col(ContactAttempt.patient_id),
            patient_ids,
            [
                SortKey(col(ContactAttempt.attempted_at), True),
                SortKey(col(ContactAttempt.id), True),
            ],
            1,
        )
        return {patient_id: rows[0] if rows else None for patient_id, rows in found.items()}


class ConsentRepository(Repository[NotificationConsent]):
    model = NotificationConsent

    async def for_patients(
        self, patient_ids: Sequence[int]
    ) -> dict[int, list[NotificationConsent]]:
        return await self.first_per_parent(
            col(NotificationConsent.patient_id),
            patient_ids,
            [SortKey(col(NotificationConsent.id))],
            len(Channel),
        )

    async def current(self, patient_id: int, channel: Channel) -> NotificationConsent | None:
        found: NotificationConsent | None = await self.scalar(
            sa.select(NotificationConsent).where(
                col(NotificationConsent.patient_id) == patient_id,
                col(NotificationConsent.channel) == channel,
            )
        )
        return found


class ClinicRepository(Repository[MedicalOrganization]):
    model = MedicalOrganization


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
