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
