"""Patients and their consents to be notified."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Self

import strawberry
from sqlmodel import SQLModel
from strawberry import relay

from cases.audit.service import CARD_READ, ReadAudit
from cases.kit.paging import MAX_PAGE_SIZE
from cases.patients import models as patients_models
from cases.patients.service import PatientService
from schema.core.context import Context
from schema.core.objects import ModelNode, ModelObject
from schema.core.relations import connection, every_row, lazy, one
from schema.core.relay import Connection, Info
from schema.registry.types import Insurer, MedicalOrganization

if TYPE_CHECKING:
    from schema.reminders.types import InformingEvent, Reminder
    from schema.supervision.types import SupervisionCase
    from schema.worklist.types import ContactAttempt
LazySupervisionCase = Annotated["SupervisionCase", strawberry.lazy("schema.supervision.types")]
LazyInformingEvent = Annotated["InformingEvent", strawberry.lazy("schema.reminders.types")]
LazyReminder = Annotated["Reminder", strawberry.lazy("schema.reminders.types")]
LazyContactAttempt = Annotated["ContactAttempt", strawberry.lazy("schema.worklist.types")]

for _enum in (
    patients_models.Sex,
    patients_models.Channel,
):
    strawberry.enum(_enum)


@strawberry.type
class NotificationConsent(ModelObject):
    model: ClassVar[type[SQLModel]] = patients_models.NotificationConsent
    channel: patients_models.Channel
    granted: bool
    changed_at: datetime
    method: str = strawberry.field(description="How it was given or withdrawn.")


@strawberry.type
class Patient(ModelNode):
    """A застрахованное лицо under (or about to be under) dispensary supervision."""

    loader_name: ClassVar[str] = "patient"
    read_audit: ClassVar[ReadAudit | None] = CARD_READ
    model: ClassVar[type[SQLModel]] = patients_models.Patient
    id: relay.NodeID[int]
    enp: str = strawberry.field(description="ЕНП, 16 digits.")
    snils: str | None = strawberry.field(description="СНИЛС, 11 digits.")
    last_name: str
    first_name: str
    middle_name: str | None
    birth_date: date
    sex: patients_models.Sex
    phone: str | None = strawberry.field(description="E.164.")
    phone_extra: str | None
    email: str | None
    postal_address: str | None
    time_zone: str
    version: int = strawberry.field(
        description="Send it back with an edit (optimistic concurrency)."
    )
    insurer_id: strawberry.Private[int]
    attached_clinic_id: strawberry.Private[int | None]

    @classmethod
    async def on_read(cls, context: Context, rows: Sequence[Any]) -> None:
        await PatientService(context.session).read_cards(context.actor, rows)

    @classmethod
    async def open_card(cls, info: Info, row: patients_models.Patient) -> Self:
        """The patient as one card: the read is recorded in the audit trail."""
        await cls.on_read(info.context, [row])
        return cls.from_model(row)

    insurer: Insurer = one("insurer", "insurer_id", lambda: Insurer)

    attached_clinic: MedicalOrganization | None = one(
        "clinic", "attached_clinic_id", lambda: MedicalOrganization
    )

    cases: Connection[LazySupervisionCase] = connection(
        "cases_of_patient",
        lazy("schema.supervision.types", "SupervisionCase"),
        ["id"],
        count="case_count_of_patient",
        description=f"The patient's cases, oldest first; page on with supervisionCases (max {MAX_PAGE_SIZE}).",
    )

    informing_events: Connection[LazyInformingEvent] = connection(
        "informing_events_of_patient",
        lazy("schema.reminders.types", "InformingEvent"),
        ["occurred_at", "id"],
        count="informing_event_count_of_patient",
        description=f"How the patient was informed, latest first; page on with informingEvents (max {MAX_PAGE_SIZE}).",
    )

    last_contact_attempt: LazyContactAttempt | None = one(
        "last_contact_of_patient", "id", lazy("schema.worklist.types", "ContactAttempt")
    )

    last_reminder: LazyReminder | None = one(
        "last_reminder_of_patient", "id", lazy("schema.reminders.types", "Reminder")
    )

    consents: Connection[NotificationConsent] = every_row(
        "consents_of_patient",
        lambda: NotificationConsent,
        ["id"],
        description="Consent per channel (at most one per channel).",
    )
