"""SQL of appeals and examinations."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from cases.appeals.models import Appeal, AppealKind, AppealStatus, ExaminedCase, QualityExamination
from cases.kit.columns import UtcDateTime
from cases.kit.paging import SortKey
from cases.kit.repository import ChildRows, Repository, upsert_insert
from cases.worklist.models import (
    WorkItem,
    WorkItemKind,
    WorkItemStatus,
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
