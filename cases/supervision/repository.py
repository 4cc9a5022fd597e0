"""SQL of cases, visits and the rules table."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from cases.kit.paging import SortKey
from cases.kit.repository import ChildRows, Repository, insert_ignoring_duplicates, where_equal
from cases.patients.models import Patient
from cases.supervision.models import (
    CaseStatus,
    SupervisionCase,
    SupervisionRule,
    Visit,
    VisitStatus,
)
from cases.worklist.models import (
    WorkItem,
    WorkItemStatus,
)


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

    async def reportable(self, case_id: int, on: date) -> Sequence[Visit]:
        """The visits a report of `on` may land on: planned ones, and missed ones whose window
        holds `on` (a late report reverses the miss)."""
        visits: Sequence[Visit] = await self.scalars(
            sa.select(Visit).where(
                col(Visit.case_id) == case_id,
                sa.or_(
                    col(Visit.status) == VisitStatus.PLANNED,
                    sa.and_(
                        col(Visit.status) == VisitStatus.MISSED,
                        col(Visit.window_start) <= on,
                        col(Visit.window_end) >= on,
                    ),
                ),
            )
        )
        return visits

    async def locked(self, visit_id: int) -> Visit | None:
        """The visit, read afresh under a row lock (PostgreSQL): a second report of the same
        visit waits here for the first to commit, then sees it."""
        found: Visit | None = await self.scalar(
            sa.select(Visit)
            .where(col(Visit.id) == visit_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return found

    async def future_planned(self, case_id: int) -> Sequence[Visit]:
        visits: Sequence[Visit] = await self.scalars(
            sa.select(Visit).where(
                col(Visit.case_id) == case_id, col(Visit.status) == VisitStatus.PLANNED
            )
        )
        return visits


VISITS_OF_CASE = ChildRows(col(Visit.case_id), tuple(VisitQueries.ordering()))


PLANNED_VISITS_OF_CASE = replace(VISITS_OF_CASE, where=(col(Visit.status) == VisitStatus.PLANNED,))


class ReviewQueries(Repository[SupervisionCase]):
    model = SupervisionCase

    async def due_for_review(
        self, today: date, after_id: int, limit: int
    ) -> Sequence[SupervisionCase]:
        """Active cases whose fixed duration has run out by `today`, by id after `after_id`."""
        found: Sequence[SupervisionCase] = await self.scalars(
            sa.select(SupervisionCase)
            .where(
                col(SupervisionCase.status) == CaseStatus.ACTIVE,
                col(SupervisionCase.review_on).is_not(None),
                col(SupervisionCase.review_on) <= today,
                col(SupervisionCase.id) > after_id,
            )
            .order_by(col(SupervisionCase.id))
            .limit(limit)
        )
        return found


class SupervisionRuleRepository(Repository[SupervisionRule]):
    model = SupervisionRule

    async def all(self) -> Sequence[SupervisionRule]:
        """The order's rows by annex and row, then the region's in the order they were added."""
        rules: Sequence[SupervisionRule] = await self.scalars(
            sa.select(SupervisionRule).order_by(
                col(SupervisionRule.annex).is_(None),
                col(SupervisionRule.annex),
                col(SupervisionRule.row),
                col(SupervisionRule.id),
            )
        )
        return rules

    async def add_missing(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert the order's rows the table lacks (by annex and row); stored rows stay."""
        if rows:
            await self.execute(
                insert_ignoring_duplicates(self.session, SupervisionRule).values(list(rows))
            )
