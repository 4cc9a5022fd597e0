"""Root query field of the audit trail."""

from __future__ import annotations

import strawberry

from cases.audit.repository import AuditFilter
from cases.audit.service import AuditService
from cases.kit.errors import ValidationFailed
from cases.kit.paging import PageRequest
from schema.audit.inputs import AuditEventFilterInput
from schema.audit.types import AuditEvent
from schema.core.ids import optional_row_id
from schema.core.relay import Connection, Info


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="The audit trail, newest first: changes and reads of patients' cards."
    )
    async def audit_events(
        self,
        info: Info,
        filter: AuditEventFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AuditEvent]:
        given = filter or AuditEventFilterInput()
        entity_id = given.entity_id
        if entity_id is not None and not entity_id.node_id.isdigit():
            raise ValidationFailed("must be a global id", field="filter.entityId")
        domain_filter = AuditFilter(
            patient_id=optional_row_id(given.patient_id, "Patient", "filter.patientId"),
            entity_type=entity_id.type_name if entity_id else given.entity_type,
            entity_id=int(entity_id.node_id) if entity_id else None,
            action=given.action,
            actor=given.actor,
            occurred_after=given.occurred_after,
            occurred_before=given.occurred_before,
        )
        query = AuditService(info.context.session).page_query(
            domain_filter, PageRequest.of(first, after)
        )
        return Connection.listed(info, query, AuditEvent.from_model)
