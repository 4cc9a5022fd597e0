"""The periodic scan that flags visits whose window ended unattended."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from cases.patients.repository import (
    ConsentRepository,
)
from cases.reminders.outbox import outbox_rows
from cases.reminders.policy import (
    reachability_of,
    reminders_after_miss,
)
from cases.reminders.repository import ReminderRepository
from cases.supervision.models import (
    SupervisionCase,
    VisitStatus,
)
from cases.supervision.policy import CaseRules
from cases.supervision.repository import (
    ReviewQueries,
    VisitRepository,
)
from cases.worklist.models import WorkItemKind
from cases.worklist.policy import missed_visit_dedup_key, missed_visit_work_item, work_item_row
from cases.worklist.repository import (
    WorkItemRepository,
)


class MissedVisitScan:
    """Marks overdue planned visits as missed, once, and puts them on the representatives' worklists."""

    def __init__(self, session: AsyncSession, rules: CaseRules | None = None) -> None:
        self.rules = rules or CaseRules()
        self.visits = VisitRepository.from_session(session)
        self.work_items = WorkItemRepository.from_session(session)
        self.consents = ConsentRepository.from_session(session)
        self.reminders = ReminderRepository.from_session(session)

    async def run(
        self, now: datetime, grace_days: int, zone: ZoneInfo, batch_size: int = 500
    ) -> int:
        """Flag one batch; returns how many visits it flagged (call again while it returns a full batch)."""
        cutoff = now.astimezone(zone).date() - timedelta(days=grace_days)
        flagged = await self.visits.flag_overdue(before=cutoff, at=now, limit=batch_size)
        if not flagged:
            return 0
        # Read after the update, so that a visit's previous outcome sees an earlier visit of
        # the same case flagged in this batch.
        facts = await self.visits.missed_visit_facts([row.id for row in flagged])
        consents = await self.consents.granted(list({row.patient_id for row in facts.values()}))
        items: list[dict[str, Any]] = []
        reminders: list[dict[str, Any]] = []
        for row in flagged:
            items.append(self._work_item(row.id, row.case_id, facts[row.id], now))
        # One re-booking reminder and one call task per case, for its latest missed window,
        # however many of its visits this batch flagged.
        latest: dict[int, Any] = {}
        for row in flagged:
            if row.case_id not in latest or (row.window_end, row.id) > (
                latest[row.case_id].window_end,
                latest[row.case_id].id,
            ):
                latest[row.case_id] = row
        for row in latest.values():
            known = facts[row.id]
            patient_zone = ZoneInfo(known.time_zone)
            planned = reminders_after_miss(
                self.rules.policy,
                visit_id=row.id,
                missed_on=now.astimezone(patient_zone).date(),
                zone=patient_zone,
                reachability=reachability_of(known, consents[known.patient_id]),
                now=now,
            )
            reminders += outbox_rows(planned, known.patient_id, row.case_id, row.id)
        await self.work_items.raise_many(items)
        await self.reminders.plan(reminders)
        return len(flagged)

    @staticmethod
    def _work_item(visit_id: int, case_id: int, known: Any, now: datetime) -> dict[str, Any]:
        kind, priority = missed_visit_work_item(
            second_in_a_row=known.previous == VisitStatus.MISSED
        )
        return work_item_row(
            kind=kind,
            owner_id=known.representative_id,
            patient_id=known.patient_id,
            case_id=case_id,
            visit_id=visit_id,
            priority=priority,
            due_at=now,
            dedup_key=missed_visit_dedup_key(visit_id),
            now=now,
        )


class SupervisionReviewScan:
    """Puts on the worklist each active case whose fixed duration has run out (Order 168н sets
    some: 12 months after a pulmonary embolism): the representative decides whether it goes on
    or is closed; the product never closes a case by itself. Once per case and review date."""

    def __init__(self, session: AsyncSession) -> None:
        self.cases = ReviewQueries.from_session(session)
        self.items = WorkItemRepository.from_session(session)

    async def run(self, now: datetime, zone: ZoneInfo, batch: int = 1000) -> int:
        """Raise the review items due by the region's today, a batch of cases at a time;
        returns how many cases are due (each raised once, however often it runs)."""
        today = now.astimezone(zone).date()
        seen, after = 0, 0
        while True:
            due = await self.cases.due_for_review(today, after, batch)
            await self._raise(due, now)
            seen += len(due)
            if len(due) < batch:
                return seen
            after = due[-1].id or after

    async def _raise(self, due: Sequence[SupervisionCase], now: datetime) -> None:
        await self.items.raise_many(
            [
                work_item_row(
                    kind=WorkItemKind.SUPERVISION_REVIEW,
                    owner_id=case.representative_id,
                    patient_id=case.patient_id,
                    case_id=case.id,
                    priority=3,
                    due_at=now,
                    dedup_key=f"review:{case.id}:{case.review_on}",
                    now=now,
                )
                for case in due
            ]
        )
