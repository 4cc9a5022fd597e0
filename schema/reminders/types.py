"""Reminders in the outbox, how patients were informed, and the day's letters."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

import strawberry
from sqlmodel import SQLModel
from strawberry import relay

from cases.patients import models as patients_models
from cases.reminders import models as reminders_models
from schema.core.objects import ModelNode
from schema.core.relations import one
from schema.patients.types import Patient

for _enum in (
    reminders_models.ReminderKind,
    reminders_models.ReminderStatus,
    reminders_models.SkipReason,
    reminders_models.DeliveryError,
    reminders_models.InformingMethod,
    reminders_models.InformingOutcome,
):
    strawberry.enum(_enum)


@strawberry.type
class Reminder(ModelNode):
    """One message to one patient on one channel; `status` tells where it is in the pipeline."""

    loader_name: ClassVar[str] = "reminder"
    model: ClassVar[type[SQLModel]] = reminders_models.Reminder
    id: relay.NodeID[int]
    kind: reminders_models.ReminderKind
    channel: patients_models.Channel
    scheduled_for: datetime = strawberry.field(
        description="When it is due (moved to the patient's waking hours if it fell at night)."
    )
    status: reminders_models.ReminderStatus
    skip_reason: reminders_models.SkipReason | None
    error: reminders_models.DeliveryError | None
    last_error: str | None = strawberry.field(
        description="What the channel last answered: a status or code, for operators."
    )
    attempts: int
    provider_message_id: str | None
    sms_segments: int | None = strawberry.field(
        description="How many SMS parts the text took when it was sent (what an SMS costs)."
    )
    sent_at: datetime | None
    delivered_at: datetime | None
    patient_id: strawberry.Private[int]
    previous_id: strawberry.Private[int | None]

    patient: Patient = one("patient", "patient_id", lambda: Patient)

    previous: Reminder | None = one(
        "reminder",
        "previous_id",
        lambda: Reminder,
        description="The reminder on the previous channel that this one replaces.",
    )


@strawberry.type
class ReminderCounts:
    """How many reminders matching the filter are in each status."""

    pending: int
    queued: int
    sent: int
    delivered: int
    failed: int
    cancelled: int
    skipped: int
    dead: int


@strawberry.type
class InformingEvent(ModelNode):
    """One attempt to inform a patient: its type, method and date, as the federal exchange records it."""

    loader_name: ClassVar[str] = "informing_event"
    model: ClassVar[type[SQLModel]] = reminders_models.InformingEvent
    id: relay.NodeID[int]
    kind: str = strawberry.field(
        description="The reminder kind, or `contact` for a representative's."
    )
    method: reminders_models.InformingMethod
    outcome: reminders_models.InformingOutcome
    occurred_at: datetime


@strawberry.type
class LetterBatch:
    """The letters of one day, ready for a mailing house."""

    day: date
    letters: int
    download_path: str = strawberry.field(description="GET it for the CSV file.")
