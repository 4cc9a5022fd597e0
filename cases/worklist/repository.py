"""SQL of work items and contact attempts."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from cases.kit.paging import SortKey
from cases.kit.repository import ChildRows, Repository, insert_ignoring_duplicates
from cases.worklist.models import (
    ContactAttempt,
    WorkItem,
    WorkItemKind,
    WorkItemStatus,
)


class WorkItemRepository(Repository[WorkItem]):
    model = WorkItem

    async def raise_many(self, items: Sequence[dict[str, Any]]) -> None:
        """Insert work items; one whose dedup key was raised before is skipped."""
        if items:
            await self.insert_rows(insert_ignoring_duplicates(self.session, WorkItem), items)

    async def move_open_items(self, case_ids: Sequence[int], owner_id: int) -> int:
        """Give the open items of these cases to `owner_id`; returns how many moved."""
        if not case_ids:
            return 0
        result = await self.execute(
            sa.update(WorkItem)
            .where(
                col(WorkItem.case_id).in_(case_ids),
                col(WorkItem.status) != WorkItemStatus.DONE,
                sa.or_(col(WorkItem.owner_id).is_(None), col(WorkItem.owner_id) != owner_id),
            )
            .values(owner_id=owner_id)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


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
