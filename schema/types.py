"""Object types of the API; each maps one domain model and resolves relations through loaders."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, ClassVar, Self

import strawberry
from strawberry import relay
from strawberry.relay import to_base64
from strawberry.scalars import JSON

from cases import models
from cases.actor import Role
from cases.pagination import MAX_PAGE_SIZE, Page, PageRequest, build_page
from cases.service import PatientService
from schema.context import Context
from schema.relay import Connection

Info = strawberry.Info[Context, Any]

for _enum in (
    models.Sex,
    models.Channel,
    models.CaseStatus,
    models.CloseReason,
    models.CaseSource,
    models.VisitStatus,
    models.ReminderKind,
    models.ReminderStatus,
    models.SkipReason,
    models.WorkItemKind,
    models.WorkItemStatus,
    models.ContactMethod,
    models.ContactOutcome,
    Role,
):
    strawberry.enum(_enum)


def first_of(first: int | None) -> int:
    return PageRequest.of(first, None).first


def nested_page(rows: Sequence[Any], first: int, keys: Sequence[str]) -> Page[Any]:
    """A page cut from the first N+1 rows of a parent, with cursors of the root connection's order."""
    return build_page(
        rows, lambda row: [getattr(row, key) for key in keys], PageRequest(first, None)
    )


async def _constant(value: int) -> int:
    return value


class ModelNode(relay.Node):
    """A node backed by one table, loaded by id through the request's loaders."""

    loader_name: ClassVar[str]

    @classmethod
    def from_model(cls, row: Any) -> Self:
        raise NotImplementedError

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        ids = []
        for node_id in node_ids:
            ids.append(int(node_id) if node_id.isdigit() else -1)
        loader = getattr(info.context.loaders, cls.loader_name)
        found = await loader.load_many(ids)
        await cls.on_read(info, [row for row in found if row is not None])
        return [cls.from_model(row) if row is not None else None for row in found]

    @classmethod
    async def on_read(cls, info: Info, rows: Sequence[Any]) -> None:
        """Called with the rows `node(id)` returns (a patient's card is audited)."""


@strawberry.type
class Insurer(ModelNode):
    """An insurance medical organization (СМО)."""

    loader_name: ClassVar[str] = "insurer"
    id: relay.NodeID[int]
    registry_code: str = strawberry.field(description="The insurer's registry code, e.g. VTB-MS.")
    name: str
    hotline_phone: str | None = strawberry.field(description="E.164, e.g. +78003332225.")
    created_at: datetime

    @classmethod
    def from_model(cls, row: models.Insurer) -> Self:
        return cls(
            id=row.id,  # type: ignore[arg-type]
            registry_code=row.code,
            name=row.name,
            hotline_phone=row.hotline_phone,
            created_at=row.created_at,
        )


@strawberry.type
class MedicalOrganization(ModelNode):
    """A clinic (МО)."""

    loader_name: ClassVar[str] = "clinic"
    id: relay.NodeID[int]
    registry_code: str
    name: str
    address: str | None
    time_zone: str

    @classmethod
    def from_model(cls, row: models.MedicalOrganization) -> Self:
        return cls(
            id=row.id,  # type: ignore[arg-type]
            registry_code=row.code,
            name=row.name,
            address=row.address,
            time_zone=row.time_zone,
        )


@strawberry.type
class Representative(ModelNode):
    """An insurance representative of level 1, 2 or 3."""

    loader_name: ClassVar[str] = "representative"
    id: relay.NodeID[int]
    level: int
    last_name: str
    first_name: str
    middle_name: str | None
    phone: str | None
    email: str | None
    active: bool
    is_supervisor: bool
    insurer_id: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: models.Representative) -> Self:
        return cls(
            id=row.id,  # type: ignore[arg-type]
            level=row.level,
            last_name=row.last_name,
            first_name=row.first_name,
            middle_name=row.middle_name,
            phone=row.phone,
            email=row.email,
            active=row.active,
            is_supervisor=row.is_supervisor,
            insurer_id=row.insurer_id,
        )

    @strawberry.field
    async def insurer(self, info: Info) -> Insurer:
        return Insurer.from_model(await info.context.loaders.insurer.load(self.insurer_id))


@strawberry.type
class NotificationConsent:
    channel: models.Channel
    granted: bool
    changed_at: datetime
    method: str = strawberry.field(description="How it was given or withdrawn.")

    @classmethod
    def from_model(cls, row: models.NotificationConsent) -> Self:
        return cls(
            channel=row.channel, granted=row.granted, changed_at=row.changed_at, method=row.method
        )


@strawberry.type
class ContactAttempt(ModelNode):
    loader_name: ClassVar[str] = "contact_attempt"
    id: relay.NodeID[int]
    method: models.ContactMethod
    outcome: models.ContactOutcome
    note: str | None
    attempted_at: datetime
    representative_id: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: models.ContactAttempt) -> Self:
        return cls(
            id=row.id,  # type: ignore[arg-type]
            method=row.method,
            outcome=row.outcome,
            note=row.note,
            attempted_at=row.attempted_at,
            representative_id=row.representative_id,
        )

    @strawberry.field
    async def representative(self, info: Info) -> Representative:
        return Representative.from_model(
            await info.context.loaders.representative.load(self.representative_id)
        )


@strawberry.type
class Reminder:
    """One planned or sent message; `status` tells where it is in the pipeline."""

    kind: models.ReminderKind
    channel: models.Channel
    scheduled_for: datetime
    status: models.ReminderStatus
    skip_reason: models.SkipReason | None
    attempts: int
    sent_at: datetime | None
    delivered_at: datetime | None

    @classmethod
    def from_model(cls, row: models.Reminder) -> Self:
        return cls(
            kind=row.kind,
            channel=row.channel,
            scheduled_for=row.scheduled_for,
            status=row.status,
            skip_reason=row.skip_reason,
            attempts=row.attempts,
            sent_at=row.sent_at,
            delivered_at=row.delivered_at,
        )


@strawberry.type
class Patient(ModelNode):
    """A застрахованное лицо under (or about to be under) dispensary supervision."""

    loader_name: ClassVar[str] = "patient"
    id: relay.NodeID[int]
    enp: str = strawberry.field(description="ЕНП, 16 digits.")
    snils: str | None = strawberry.field(description="СНИЛС, 11 digits.")
    last_name: str
    first_name: str
    middle_name: str | None
    birth_date: date
    sex: models.Sex
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
    def from_model(cls, row: models.Patient) -> Self:
        return cls(
            id=row.id,  # type: ignore[arg-type]
            enp=row.enp,
            snils=row.snils,
            last_name=row.last_name,
            first_name=row.first_name,
            middle_name=row.middle_name,
            birth_date=row.birth_date,
            sex=row.sex,
            phone=row.phone,
            phone_extra=row.phone_extra,
            email=row.email,
            postal_address=row.postal_address,
            time_zone=row.time_zone,
            version=row.version,
            insurer_id=row.insurer_id,
            attached_clinic_id=row.attached_clinic_id,
        )

    @classmethod
    async def on_read(cls, info: Info, rows: Sequence[Any]) -> None:
        service = PatientService(info.context.session)
        for row in rows:
            await service.read_card(info.context.actor, row)

    @classmethod
    async def open_card(cls, info: Info, row: models.Patient) -> Self:
        """The patient as one card: the read is recorded in the audit trail."""
        await cls.on_read(info, [row])
        return cls.from_model(row)

    @strawberry.field
    async def insurer(self, info: Info) -> Insurer:
        return Insurer.from_model(await info.context.loaders.insurer.load(self.insurer_id))

    @strawberry.field
    async def attached_clinic(self, info: Info) -> MedicalOrganization | None:
        if self.attached_clinic_id is None:
            return None
        row = await info.context.loaders.clinic.load(self.attached_clinic_id)
        return MedicalOrganization.from_model(row)

    @strawberry.field(description="Consent per channel (at most one per channel).")
    async def consents(self, info: Info) -> Connection[NotificationConsent]:
        rows = await info.context.loaders.consents_of_patient.load(self.id)
        page = nested_page(rows, len(models.Channel), ["id"])
        return Connection.of(page, NotificationConsent.from_model, lambda: _constant(len(rows)))

    @strawberry.field(
        description=f"The patient's cases, oldest first; page on with supervisionCases (max {MAX_PAGE_SIZE})."
    )
    async def cases(self, info: Info, first: int | None = None) -> Connection[SupervisionCase]:
        size = first_of(first)
        rows = await info.context.loaders.cases_of_patient.load((self.id, size))
        return Connection.of(
            nested_page(rows, size, ["id"]),
            SupervisionCase.from_model,
            lambda: info.context.loaders.case_count_of_patient.load(self.id),
        )

    @strawberry.field
    async def last_contact_attempt(self, info: Info) -> ContactAttempt | None:
        row = await info.context.loaders.last_contact_of_patient.load(self.id)
        return ContactAttempt.from_model(row) if row else None

    @strawberry.field
    async def last_reminder(self, info: Info) -> Reminder | None:
        row = await info.context.loaders.last_reminder_of_patient.load(self.id)
        return Reminder.from_model(row) if row else None


@strawberry.type
class SupervisionCase(ModelNode):
    """One patient under supervision for one diagnosis at one clinic."""

    loader_name: ClassVar[str] = "case"
    id: relay.NodeID[int]
    icd10: str
    physician_name: str | None
    opened_on: date
    visits_per_year: int
    plan_below_minimum: bool = strawberry.field(
        description="The clinic's plan has fewer visits than the rules table's minimum."
    )
    status: models.CaseStatus
    closed_on: date | None
    close_reason: models.CloseReason | None
    source: models.CaseSource
    version: int
    patient_id: strawberry.Private[int]
    clinic_id: strawberry.Private[int]
    representative_id: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: models.SupervisionCase) -> Self:
        return cls(
            id=row.id,  # type: ignore[arg-type]
            icd10=row.icd10,
            physician_name=row.physician_name,
            opened_on=row.opened_on,
            visits_per_year=row.visits_per_year,
            plan_below_minimum=row.plan_below_minimum,
            status=row.status,
            closed_on=row.closed_on,
            close_reason=row.close_reason,
            source=row.source,
            version=row.version,
            patient_id=row.patient_id,
            clinic_id=row.clinic_id,
            representative_id=row.representative_id,
        )

    @strawberry.field
    async def patient(self, info: Info) -> Patient:
        return Patient.from_model(await info.context.loaders.patient.load(self.patient_id))

    @strawberry.field
    async def clinic(self, info: Info) -> MedicalOrganization:
        return MedicalOrganization.from_model(
            await info.context.loaders.clinic.load(self.clinic_id)
        )

    @strawberry.field
    async def representative(self, info: Info) -> Representative | None:
        if self.representative_id is None:
            return None
        row = await info.context.loaders.representative.load(self.representative_id)
        return Representative.from_model(row) if row else None

    @strawberry.field(description="The earliest planned visit.")
    async def next_visit(self, info: Info) -> Visit | None:
        row = await info.context.loaders.next_visit_of_case.load(self.id)
        return Visit.from_model(row) if row else None

    @strawberry.field(
        description="Visits by window, oldest first; page on with visits(filter: {caseId})."
    )
    async def visits(self, info: Info, first: int | None = None) -> Connection[Visit]:
        size = first_of(first)
        rows = await info.context.loaders.visits_of_case.load((self.id, size))
        return Connection.of(
            nested_page(rows, size, ["window_start", "id"]),
            Visit.from_model,
            lambda: info.context.loaders.visit_count_of_case.load(self.id),
        )


@strawberry.type
class Visit(ModelNode):
    """A follow-up visit: a window to come in, and what happened."""

    loader_name: ClassVar[str] = "visit"
    id: relay.NodeID[int]
    window_start: date
    window_end: date
    appointment_at: datetime | None
    status: models.VisitStatus
    attended_on: date | None
    missed_at: datetime | None
    external_id: str | None = strawberry.field(description="The clinic's own id of the visit.")
    reason_code: str | None
    case_id: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: models.Visit) -> Self:
        return cls(
            id=row.id,  # type: ignore[arg-type]
            window_start=row.window_start,
            window_end=row.window_end,
            appointment_at=row.appointment_at,
            status=row.status,
            attended_on=row.attended_on,
            missed_at=row.missed_at,
            external_id=row.external_id,
            reason_code=row.reason_code,
            case_id=row.case_id,
        )

    @strawberry.field
    async def case(self, info: Info) -> SupervisionCase:
        return SupervisionCase.from_model(await info.context.loaders.case.load(self.case_id))


@strawberry.type
class WorkItem(ModelNode):
    """Something a representative must act on."""

    loader_name: ClassVar[str] = "work_item"
    id: relay.NodeID[int]
    kind: models.WorkItemKind
    priority: int = strawberry.field(description="1 is the most urgent.")
    due_at: datetime
    status: models.WorkItemStatus
    resolution: str | None
    resolved_at: datetime | None
    created_at: datetime
    patient_id: strawberry.Private[int]
    case_id: strawberry.Private[int | None]
    visit_id: strawberry.Private[int | None]
    owner_id: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: models.WorkItem) -> Self:
        return cls(
            id=row.id,  # type: ignore[arg-type]
            kind=row.kind,
            priority=row.priority,
            due_at=row.due_at,
            status=row.status,
            resolution=row.resolution,
            resolved_at=row.resolved_at,
            created_at=row.created_at,
            patient_id=row.patient_id,
            case_id=row.case_id,
            visit_id=row.visit_id,
            owner_id=row.owner_id,
        )

    @strawberry.field
    async def patient(self, info: Info) -> Patient:
        return Patient.from_model(await info.context.loaders.patient.load(self.patient_id))

    @strawberry.field
    async def case(self, info: Info) -> SupervisionCase | None:
        if self.case_id is None:
            return None
        return SupervisionCase.from_model(await info.context.loaders.case.load(self.case_id))

    @strawberry.field
    async def visit(self, info: Info) -> Visit | None:
        if self.visit_id is None:
            return None
        return Visit.from_model(await info.context.loaders.visit.load(self.visit_id))

    @strawberry.field
    async def owner(self, info: Info) -> Representative | None:
        if self.owner_id is None:
            return None
        row = await info.context.loaders.representative.load(self.owner_id)
        return Representative.from_model(row) if row else None


@strawberry.type
class SupervisionRule:
    """Minimum visits per year for an ICD-10 prefix, with where the row came from."""

    icd10_prefix: str
    min_visits_per_year: int
    specialty: str
    source: str
    verified: bool = strawberry.field(description="Read from the official text of Order 168н.")

    @classmethod
    def from_model(cls, row: models.SupervisionRule) -> Self:
        return cls(
            icd10_prefix=row.icd10_prefix,
            min_visits_per_year=row.min_visits_per_year,
            specialty=row.specialty,
            source=row.source,
            verified=row.verified,
        )


@strawberry.type
class Me:
    role: Role
    label: str
    representative_id: strawberry.Private[int | None]

    @strawberry.field
    async def representative(self, info: Info) -> Representative | None:
        if self.representative_id is None:
            return None
        row = await info.context.loaders.representative.load(self.representative_id)
        return Representative.from_model(row) if row else None


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
    def from_model(cls, row: models.AuditEvent) -> Self:
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
