"""Rules and state changes of the domain; callers own the transaction (services never commit)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from cases.actor import Actor
from cases.audit import AuditLog, changes_between, snapshot
from cases.errors import Conflict, ValidationFailed
from cases.models import Insurer, VisitStatus, WorkItemKind, WorkItemStatus
from cases.pagination import Page, PageRequest
from cases.repository import InsurerRepository, VisitRepository, WorkItemRepository
from cases.validation import InvalidValue, normalize_name, normalize_phone

INSURER_CODE = re.compile(r"[0-9A-Z][0-9A-Z-]{0,15}")


def validation_error(error: InvalidValue) -> ValidationFailed:
    return ValidationFailed(error.message, field=error.field)


class InsurerService:
    def __init__(self, session: AsyncSession) -> None:
        self.insurers = InsurerRepository.from_session(session)
        self.audit = AuditLog(session)

    async def register(
        self, actor: Actor, *, code: str, name: str, hotline_phone: str | None
    ) -> Insurer:
        code = code.strip().upper()
        if not INSURER_CODE.fullmatch(code):
            raise ValidationFailed(
                "must be 1-16 Latin letters, digits or hyphens", field="registryCode"
            )
        try:
            clean_name = normalize_name(name, "name")
            phone = normalize_phone(hotline_phone, "hotlinePhone") if hotline_phone else None
        except InvalidValue as error:
            raise validation_error(error) from None
        if await self.insurers.by_code(code) is not None:
            raise Conflict("an insurer with this code exists", field="registryCode")
        insurer = Insurer(code=code, name=clean_name, hotline_phone=phone)
        await self.insurers.add(insurer)
        await self.audit.record(
            actor,
            "insurer.register",
            insurer,
            changes_between({}, snapshot(insurer, ["code", "name", "hotline_phone"])),
        )
        return insurer

    async def page(self, request: PageRequest) -> Page[Insurer]:
        return await self.insurers.page(self.insurers.listing(), self.insurers.ordering(), request)

    async def count(self) -> int:
        return await self.insurers.count(self.insurers.listing())


class MissedVisitScan:
    """Marks overdue planned visits as missed, once, and puts them on the representatives' worklists."""

    def __init__(self, session: AsyncSession) -> None:
        self.visits = VisitRepository.from_session(session)
        self.work_items = WorkItemRepository.from_session(session)

    async def run(
        self, now: datetime, grace_days: int, zone: ZoneInfo, batch_size: int = 500
    ) -> int:
        """Flag one batch; returns how many visits it flagged (call again while it returns a full batch)."""
        cutoff = now.astimezone(zone).date() - timedelta(days=grace_days)
        overdue = await self.visits.overdue_planned(before=cutoff, limit=batch_size)
        if not overdue:
            return 0
        ids = [row.id for row in overdue]
        await self.visits.mark_missed(ids, now)
        previous = await self.visits.previous_outcomes(ids)
        await self.work_items.raise_many(
            [self._work_item(row, previous.get(row.id), now) for row in overdue]
        )
        return len(ids)

    @staticmethod
    def _work_item(row: Any, previous: VisitStatus | None, now: datetime) -> dict[str, Any]:
        second_in_a_row = previous == VisitStatus.MISSED
        return {
            "kind": WorkItemKind.ESCALATION if second_in_a_row else WorkItemKind.MISSED_VISIT,
            "owner_id": row.representative_id,
            "patient_id": row.patient_id,
            "case_id": row.case_id,
            "visit_id": row.id,
            "priority": 1 if second_in_a_row else 2,
            "due_at": now,
            "status": WorkItemStatus.OPEN,
            "dedup_key": f"missed:{row.id}",
            "created_at": now,
        }
