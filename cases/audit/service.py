"""The audit trail: one AuditEvent per change and per read of a patient's card, written in the
transaction of the change; rows are never updated (see `cases.tenancy`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from cases.audit.models import AuditEvent
from cases.audit.repository import AuditFilter, AuditRepository
from cases.kit.actor import Actor
from cases.kit.columns import utcnow
from cases.kit.paging import PageQuery, PageRequest


class AuditService:
    """The audit trail as supervisors and the territorial fund read it (scoped like all data)."""

    def __init__(self, session: AsyncSession) -> None:
        self.events = AuditRepository.from_session(session)

    def page_query(self, filter: AuditFilter, request: PageRequest) -> PageQuery:
        return PageQuery(self.events.listing(filter), self.events.ordering(), request)


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime) and value.utcoffset() is not None:
        # Instants in UTC, as the API answers them: one change reads the same wherever it came from.
        return value.astimezone(UTC).isoformat()
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot(entity: SQLModel, fields: list[str]) -> dict[str, Any]:
    return {name: _plain(getattr(entity, name)) for name in fields}


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Only what changed, as {field: {"before": old, "after": new}}."""
    return {
        name: {"before": before.get(name), "after": value}
        for name, value in after.items()
        if before.get(name) != value
    }


@dataclass(frozen=True)
class ReadAudit:
    """What reading a record leaves in the audit trail: one event per record read, naming the
    patient it concerns and that patient's insurer (columns of the record)."""

    action: str
    entity_type: str
    patient_column: str
    insurer_column: str

    @staticmethod
    def shared(actor: Actor, at: datetime) -> dict[str, Any]:
        """The columns every event of one request shares."""
        return {"actor": actor.label, "request_id": actor.request_id, "occurred_at": at}


CARD_READ = ReadAudit("patient.read", "Patient", "id", "insurer_id")


"""A patient's card was opened (152-ФЗ: every read of personal data is traceable)."""


class PatientRef(Protocol):
    """What the audit needs of a patient: an entity, or a row of a compiled read."""

    @property
    def id(self) -> int | None: ...

    @property
    def insurer_id(self) -> int: ...


class AuditLog:
    def __init__(self, session: AsyncSession) -> None:
        self.repository = AuditRepository.from_session(session)

    async def record(
        self,
        actor: Actor,
        action: str,
        entity: SQLModel,
        changes: dict[str, Any] | None = None,
    ) -> AuditEvent:
        patient_id, insurer_id = await self.repository.owner_of(entity)
        event = AuditEvent(
            actor=actor.label,
            action=action,
            entity_type=type(entity).__name__,
            entity_id=entity.id,  # type: ignore[attr-defined]
            changes=changes or {},
            request_id=actor.request_id,
            patient_id=patient_id,
            insurer_id=insurer_id if insurer_id is not None else actor.insurer_id,
        )
        await self.repository.add(event)
        return event

    async def record_reads(self, actor: Actor, patients: Sequence[PatientRef]) -> None:
        """That the caller opened these patients' cards (one row each, in one statement)."""
        if not patients:
            return
        shared = CARD_READ.shared(actor, utcnow())
        await self.repository.append(
            [
                {
                    **shared,
                    "action": CARD_READ.action,
                    "entity_type": CARD_READ.entity_type,
                    "entity_id": patient.id,
                    "changes": {},
                    "patient_id": patient.id,
                    "insurer_id": patient.insurer_id,
                }
                for patient in patients
            ]
        )
