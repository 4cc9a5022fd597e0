"""SQL of the audit trail: appending events, finding an entity's owner, listing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel, col

from cases.audit.models import AuditEvent
from cases.kit.paging import SortKey
from cases.kit.repository import Repository, session_lock, where_equal
from cases.patients.models import Patient
from cases.registry.models import Insurer
from cases.supervision.models import (
    SupervisionCase,
    Visit,
)


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
