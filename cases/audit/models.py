"""The audit trail's table: one row an event, never updated."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from cases.kit.columns import ID, UtcDateTime, utcnow


class AuditEvent(SQLModel, table=True):
    """Who did what to which record, with the fields it changed; never updated."""

    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_event_entity", "entity_type", "entity_id", "occurred_at"),
        sa.Index("ix_audit_event_insurer_occurred_at", "insurer_id", "occurred_at"),
        sa.Index("ix_audit_event_patient_occurred_at", "patient_id", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    actor: str = Field(max_length=100)
    action: str = Field(max_length=64)
    entity_type: str = Field(max_length=64)
    entity_id: int = Field(sa_type=ID)
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    request_id: str | None = Field(default=None, max_length=64)
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    # The patient the event concerns and that patient's insurer (or the acting representative's):
    # whose supervisor may read it. No foreign keys: the trail outlives what it describes.
    patient_id: int | None = Field(default=None, sa_type=ID)
    insurer_id: int | None = Field(default=None, sa_type=ID)
