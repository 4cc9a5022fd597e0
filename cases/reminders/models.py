"""The reminder outbox and the informing events every attempt records."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from cases.kit.columns import ID, UtcDateTime, enum_column, utcnow
from cases.patients.models import Channel


class ReminderKind(enum.StrEnum):
    INVITATION = "invitation"
    APPOINTMENT_3_DAYS = "appointment_3_days"
    APPOINTMENT_1_DAY = "appointment_1_day"
    REBOOKING = "rebooking"
    CALL_TASK = "call_task"


class ReminderStatus(enum.StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    # Transient failures outlasted the retry budget; an operator may retry it.
    DEAD = "dead"


class SkipReason(enum.StrEnum):
    NO_CONSENT = "no_consent"
    NO_CONTACT = "no_contact"
    NOT_NEEDED = "not_needed"


class DeliveryError(enum.StrEnum):
    """Why a channel did not take a message; the permanent ones move it to the next rung."""

    INVALID_RECIPIENT = "invalid_recipient"
    HARD_BOUNCE = "hard_bounce"
    REJECTED = "rejected"
    UNDELIVERED = "undelivered"
    NOT_CONFIGURED = "not_configured"
    UNAVAILABLE = "unavailable"


class InformingMethod(enum.StrEnum):
    """How a patient was informed, as the federal informing exchange names it."""

    SMS = "sms"
    EMAIL = "email"
    PHONE_CALL = "phone_call"
    LETTER = "letter"
    IN_PERSON = "in_person"


class InformingOutcome(enum.StrEnum):
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    REACHED = "reached"
    NOT_REACHED = "not_reached"


class Reminder(SQLModel, table=True):
    """The outbox: one message to one patient on one channel, written with the change that needs it."""

    __tablename__ = "reminder"
    __table_args__ = (
        sa.CheckConstraint("attempts >= 0", name="attempts_positive"),
        sa.Index(
            "ix_reminder_pending_scheduled_for",
            "scheduled_for",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        ),
        sa.Index(
            "ix_reminder_queued_queued_at",
            "queued_at",
            postgresql_where=sa.text("status = 'queued'"),
            sqlite_where=sa.text("status = 'queued'"),
        ),
        sa.Index("ix_reminder_status_scheduled_for", "status", "scheduled_for"),
        sa.Index("ix_reminder_patient_scheduled_for", "patient_id", "scheduled_for"),
        sa.Index("ix_reminder_visit_status", "visit_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    patient_id: int = Field(foreign_key="patient.id", sa_type=ID)
    case_id: int | None = Field(default=None, foreign_key="supervision_case.id", sa_type=ID)
    visit_id: int | None = Field(default=None, foreign_key="visit.id", sa_type=ID)
    campaign: str | None = Field(default=None, max_length=100)
    kind: ReminderKind = Field(sa_type=enum_column(ReminderKind, "reminder_kind"))
    channel: Channel = Field(sa_type=enum_column(Channel, "channel"))
    template: str = Field(max_length=64)
    scheduled_for: datetime = Field(sa_type=UtcDateTime)
    status: ReminderStatus = Field(
        default=ReminderStatus.PENDING, sa_type=enum_column(ReminderStatus, "reminder_status")
    )
    skip_reason: SkipReason | None = Field(
        default=None, sa_type=enum_column(SkipReason, "skip_reason")
    )
    attempts: int = 0
    error: DeliveryError | None = Field(
        default=None, sa_type=enum_column(DeliveryError, "delivery_error")
    )
    # What the channel said, never personal data: a provider code or an exception type.
    last_error: str | None = Field(default=None, max_length=500)
    # The provider that took the message and its id there: ids are unique per provider only,
    # and a provider may number its messages anew (a restart, a new period).
    provider: str | None = Field(default=None, max_length=32)
    provider_message_id: str | None = Field(default=None, max_length=128, index=True)
    # The parts an SMS was billed as (70 UCS-2 or 160 GSM-7 characters, fewer when split).
    sms_segments: int | None = Field(default=None)
    idempotency_key: str = Field(max_length=128, unique=True)
    # The rung this one replaces after a permanent failure there.
    previous_id: int | None = Field(default=None, foreign_key="reminder.id", sa_type=ID)
    # What went out and to where, as sent (the phone, e-mail or postal address).
    recipient: str | None = Field(default=None, max_length=500)
    body: str | None = Field(default=None, sa_type=sa.Text)
    queued_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class InformingEvent(SQLModel, table=True):
    """One attempt to inform a patient (type, method, date), as the federal exchange records it."""

    __tablename__ = "informing_event"
    __table_args__ = (
        sa.Index("ix_informing_event_patient_occurred_at", "patient_id", "occurred_at"),
        sa.Index("ix_informing_event_case_occurred_at", "case_id", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    patient_id: int = Field(foreign_key="patient.id", sa_type=ID)
    case_id: int | None = Field(default=None, foreign_key="supervision_case.id", sa_type=ID)
    reminder_id: int | None = Field(default=None, foreign_key="reminder.id", index=True, sa_type=ID)
    contact_attempt_id: int | None = Field(
        default=None, foreign_key="contact_attempt.id", sa_type=ID
    )
    # The reminder kind (invitation, appointment_1_day, ...) or "contact" for a representative's.
    kind: str = Field(max_length=32)
    method: InformingMethod = Field(sa_type=enum_column(InformingMethod, "informing_method"))
    outcome: InformingOutcome = Field(sa_type=enum_column(InformingOutcome, "informing_outcome"))
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
