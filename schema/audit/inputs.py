"""Inputs of the audit trail's query."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay


@strawberry.input
class AuditEventFilterInput:
    patient_id: relay.GlobalID | None = None
    entity_type: str | None = strawberry.field(default=None, description="e.g. SupervisionCase.")
    entity_id: relay.GlobalID | None = None
    action: str | None = strawberry.field(default=None, description="e.g. patient.read.")
    actor: str | None = strawberry.field(default=None, description="e.g. representative:12.")
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None
