"""The audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Self

import strawberry
from strawberry.relay import to_base64
from strawberry.scalars import JSON

from cases.audit import models as audit_models


@strawberry.type(
    description="One entry of the audit trail: a change, or a read of a patient's card."
)
class AuditEvent:
    id: strawberry.ID
    occurred_at: datetime
    actor: str = strawberry.field(description="e.g. representative:12, api_client:3.")
    action: str = strawberry.field(description="e.g. patient.read, case.close.")
    entity_type: str
    entity_id: strawberry.ID = strawberry.field(description="The global id of the entity.")
    patient_id: strawberry.ID | None = strawberry.field(
        description="The global id of the patient concerned."
    )
    changes: JSON = strawberry.field(description="{field: {before, after}} of a change.")
    request_id: str | None

    @classmethod
    def from_model(cls, row: audit_models.AuditEvent) -> Self:
        return cls(
            id=strawberry.ID(str(row.id)),
            occurred_at=row.occurred_at,
            actor=row.actor,
            action=row.action,
            entity_type=row.entity_type,
            entity_id=strawberry.ID(to_base64(row.entity_type, row.entity_id)),
            patient_id=strawberry.ID(to_base64("Patient", row.patient_id))
            if row.patient_id is not None
            else None,
            changes=row.changes,  # type: ignore[arg-type]
            request_id=row.request_id,
        )
