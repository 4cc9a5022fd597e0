"""Object types of the API; each maps one domain model and resolves relations through loaders."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, ClassVar, Self

import strawberry
from sqlmodel import SQLModel
from strawberry import relay
from strawberry.relay import to_base64
from strawberry.scalars import JSON

from cases.appeals import models as appeals_models
from cases.audit import models as audit_models
from cases.audit.service import CARD_READ, ReadAudit
from cases.kit.actor import Role
from cases.kit.paging import MAX_PAGE_SIZE
from cases.patients import models as patients_models
from cases.patients.service import PatientService
from cases.registry import models as registry_models
from cases.reminders import models as reminders_models
from cases.supervision import models as supervision_models
from cases.worklist import models as worklist_models
from schema.context import Context
from schema.relations import connection, every_row, one
from schema.relay import Connection

Info = strawberry.Info[Context, Any]

for _enum in (
    patients_models.Sex,
    patients_models.Channel,
    supervision_models.CaseStatus,
    supervision_models.CloseReason,
    supervision_models.CaseSource,
    supervision_models.VisitStatus,
    reminders_models.ReminderKind,
    reminders_models.ReminderStatus,
    reminders_models.SkipReason,
    worklist_models.WorkItemKind,
    worklist_models.WorkItemStatus,
    worklist_models.ContactMethod,
    worklist_models.ContactOutcome,
    reminders_models.DeliveryError,
    reminders_models.InformingMethod,
    reminders_models.InformingOutcome,
    appeals_models.AppealChannel,
    appeals_models.AppealKind,
    appeals_models.AppealSubject,
    appeals_models.AppealStatus,
    appeals_models.AppealOutcome,
    appeals_models.ExaminationKind,
    appeals_models.ExaminationReason,
    appeals_models.ExaminationStatus,
    appeals_models.ExaminationOutcome,
    Role,
):
    strawberry.enum(_enum)


class ModelObject:
    """An object type that maps one table: each of its own fields (private ones included) holds
    the column of the same name, or the one `renamed` names; its relation fields read other
    tables through the request's loaders. A compiled read (`schema.compiled`) maps the fields
    to the columns the same way."""

    model: ClassVar[type[SQLModel]]
    renamed: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def column_of(cls, field_name: str) -> str:
        return cls.renamed.get(field_name, field_name)

    @classmethod
    def from_model(cls, row: Any) -> Self:
        return cls(**{name: getattr(row, column) for name, column in _columns(cls)})


# Per type: its own fields (those its constructor takes) and the columns that hold them.
_COLUMNS: dict[type, tuple[tuple[str, str], ...]] = {}


def _columns(cls: type[ModelObject]) -> tuple[tuple[str, str], ...]:
    found = _COLUMNS.get(cls)
    if found is None:
        found = _COLUMNS[cls] = tuple(
            (field.name, cls.column_of(field.name))
            for field in dataclasses.fields(cls)  # type: ignore[arg-type]
            if field.init
        )
    return found


class ModelNode(ModelObject, relay.Node):
    """A node backed by one table, loaded by id through the request's loaders."""

    loader_name: ClassVar[str]
    # What `on_read` records of each row read by id; a compiled read records the same in its
    # statement (`cases.reads.projection`).
    read_audit: ClassVar[ReadAudit | None] = None

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        ids = []
        for node_id in node_ids:
            ids.append(int(node_id) if node_id.isdigit() else -1)
        loader = getattr(info.context.loaders, cls.loader_name)
        found = await loader.load_many(ids)
        await cls.on_read(info.context, [row for row in found if row is not None])
        return [cls.from_model(row) if row is not None else None for row in found]

    @classmethod
    async def on_read(cls, context: Context, rows: Sequence[Any]) -> None:
        """Called with the rows `node(id)` returns (a patient's card is audited)."""


@strawberry.type
class Insurer(ModelNode):
    """An insurance medical organization (СМО)."""

    loader_name: ClassVar[str] = "insurer"
    model: ClassVar[type[SQLModel]] = registry_models.Insurer
    renamed: ClassVar[Mapping[str, str]] = {"registry_code": "code"}
    id: relay.NodeID[int]
    registry_code: str = strawberry.field(description="The insurer's registry code, e.g. VTB-MS.")
    name: str
    hotline_phone: str | None = strawberry.field(description="E.164, e.g. +78003332225.")
    created_at: datetime


@strawberry.type
class MedicalOrganization(ModelNode):
    """A clinic (МО)."""

    loader_name: ClassVar[str] = "clinic"
    model: ClassVar[type[SQLModel]] = registry_models.MedicalOrganization
    renamed: ClassVar[Mapping[str, str]] = {"registry_code": "code"}
    id: relay.NodeID[int]
    registry_code: str
    name: str
    address: str | None
    time_zone: str


@strawberry.type
class Representative(ModelNode):
    """An insurance representative of level 1, 2 or 3."""

    loader_name: ClassVar[str] = "representative"
    model: ClassVar[type[SQLModel]] = registry_models.Representative
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

    insurer: Insurer = one("insurer", "insurer_id", lambda: Insurer)


@strawberry.type
class NotificationConsent(ModelObject):
    model: ClassVar[type[SQLModel]] = patients_models.NotificationConsent
    channel: patients_models.Channel
    granted: bool
    changed_at: datetime
    method: str = strawberry.field(description="How it was given or withdrawn.")


@strawberry.type
class ContactAttempt(ModelNode):
    loader_name: ClassVar[str] = "contact_attempt"
    model: ClassVar[type[SQLModel]] = worklist_models.ContactAttempt
    id: relay.NodeID[int]
    method: worklist_models.ContactMethod
    outcome: worklist_models.ContactOutcome
    note: str | None
    attempted_at: datetime
    representative_id: strawberry.Private[int]

    representative: Representative = one(
        "representative", "representative_id", lambda: Representative
    )


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

    cases: Connection[SupervisionCase] = connection(
        "cases_of_patient",
        lambda: SupervisionCase,
        ["id"],
        count="case_count_of_patient",
        description=f"The patient's cases, oldest first; page on with supervisionCases (max {MAX_PAGE_SIZE}).",
    )

    informing_events: Connection[InformingEvent] = connection(
        "informing_events_of_patient",
        lambda: InformingEvent,
        ["occurred_at", "id"],
        count="informing_event_count_of_patient",
        description=f"How the patient was informed, latest first; page on with informingEvents (max {MAX_PAGE_SIZE}).",
    )

    last_contact_attempt: ContactAttempt | None = one(
        "last_contact_of_patient", "id", lambda: ContactAttempt
    )

    last_reminder: Reminder | None = one("last_reminder_of_patient", "id", lambda: Reminder)

    consents: Connection[NotificationConsent] = every_row(
        "consents_of_patient",
        lambda: NotificationConsent,
        ["id"],
        description="Consent per channel (at most one per channel).",
    )


@strawberry.type
class SupervisionCase(ModelNode):
    """One patient under supervision for one diagnosis at one clinic."""

    loader_name: ClassVar[str] = "case"
    model: ClassVar[type[SQLModel]] = supervision_models.SupervisionCase
    id: relay.NodeID[int]
    icd10: str
    physician_name: str | None
    opened_on: date
    visits_per_year: int
    plan_below_minimum: bool = strawberry.field(
        description="The clinic's plan has fewer visits than the rules table's minimum."
    )
    status: supervision_models.CaseStatus
    closed_on: date | None
    close_reason: supervision_models.CloseReason | None
    source: supervision_models.CaseSource
    version: int
    patient_id: strawberry.Private[int]
    clinic_id: strawberry.Private[int]
    representative_id: strawberry.Private[int | None]

    patient: Patient = one("patient", "patient_id", lambda: Patient)

    clinic: MedicalOrganization = one("clinic", "clinic_id", lambda: MedicalOrganization)

    representative: Representative | None = one(
        "representative", "representative_id", lambda: Representative
    )

    next_visit: Visit | None = one(
        "next_visit_of_case", "id", lambda: Visit, description="The earliest planned visit."
    )

    visits: Connection[Visit] = connection(
        "visits_of_case",
        lambda: Visit,
        ["window_start", "id"],
        count="visit_count_of_case",
        description="Visits by window, oldest first; page on with visits(filter: {caseId}).",
    )

    examinations: Connection[QualityExamination] = connection(
        "examinations_of_case",
        lambda: QualityExamination,
        ["id"],
        description="Quality-of-care examinations of this case, latest first.",
    )


@strawberry.type
class Visit(ModelNode):
    """A follow-up visit: a window to come in, and what happened."""

    loader_name: ClassVar[str] = "visit"
    model: ClassVar[type[SQLModel]] = supervision_models.Visit
    id: relay.NodeID[int]
    window_start: date
    window_end: date
    appointment_at: datetime | None
    status: supervision_models.VisitStatus
    attended_on: date | None
    missed_at: datetime | None
    external_id: str | None = strawberry.field(description="The clinic's own id of the visit.")
    reason_code: str | None
    case_id: strawberry.Private[int]

    case: SupervisionCase = one("case", "case_id", lambda: SupervisionCase)


@strawberry.type
class WorkItem(ModelNode):
    """Something a representative must act on."""

    loader_name: ClassVar[str] = "work_item"
    model: ClassVar[type[SQLModel]] = worklist_models.WorkItem
    id: relay.NodeID[int]
    kind: worklist_models.WorkItemKind
    priority: int = strawberry.field(description="1 is the most urgent.")
    due_at: datetime
    status: worklist_models.WorkItemStatus
    resolution: str | None
    resolved_at: datetime | None
    created_at: datetime
    patient_id: strawberry.Private[int | None]
    case_id: strawberry.Private[int | None]
    visit_id: strawberry.Private[int | None]
    appeal_id: strawberry.Private[int | None]
    owner_id: strawberry.Private[int | None]

    patient: Patient | None = one(
        "patient",
        "patient_id",
        lambda: Patient,
        description="Null only for an appeal of a person not known as a patient.",
    )

    appeal: Appeal | None = one("appeal", "appeal_id", lambda: Appeal)

    case: SupervisionCase | None = one("case", "case_id", lambda: SupervisionCase)

    visit: Visit | None = one("visit", "visit_id", lambda: Visit)

    owner: Representative | None = one("representative", "owner_id", lambda: Representative)


@strawberry.type
class SupervisionRule(ModelObject):
    """Minimum visits per year for an ICD-10 prefix, with where the row came from."""

    model: ClassVar[type[SQLModel]] = supervision_models.SupervisionRule
    icd10_prefix: str
    min_visits_per_year: int
    specialty: str
    source: str
    verified: bool = strawberry.field(description="Read from the official text of Order 168н.")


@strawberry.type
class Me:
    role: Role
    label: str
    representative_id: strawberry.Private[int | None]

    representative: Representative | None = one(
        "representative", "representative_id", lambda: Representative
    )


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


@strawberry.type
class Appeal(ModelNode):
    """A written or oral appeal (обращение) with its 59-ФЗ deadlines."""

    loader_name: ClassVar[str] = "appeal"
    model: ClassVar[type[SQLModel]] = appeals_models.Appeal
    id: relay.NodeID[int]
    received_at: datetime
    registered_at: datetime
    channel: appeals_models.AppealChannel
    kind: appeals_models.AppealKind
    subject: appeals_models.AppealSubject
    text: str
    status: appeals_models.AppealStatus
    registration_due: date = strawberry.field(
        description="3 calendar days after receipt (local date)."
    )
    answer_due: date = strawberry.field(
        description="30 calendar days after registration, plus the extension if any."
    )
    extension_days: int | None
    extension_notice: str | None = strawberry.field(description="How the person was told.")
    extended_at: datetime | None
    answer_text: str | None
    outcome: appeals_models.AppealOutcome | None
    answered_at: datetime | None
    answered_on_time: bool | None
    closed_at: datetime | None
    version: int
    insurer_id: strawberry.Private[int]
    patient_id: strawberry.Private[int | None]
    clinic_id: strawberry.Private[int | None]
    case_id: strawberry.Private[int | None]
    representative_id: strawberry.Private[int | None]

    insurer: Insurer = one("insurer", "insurer_id", lambda: Insurer)

    patient: Patient | None = one("patient", "patient_id", lambda: Patient)

    clinic: MedicalOrganization | None = one(
        "clinic",
        "clinic_id",
        lambda: MedicalOrganization,
        description="The clinic concerned; always present on a complaint.",
    )

    case: SupervisionCase | None = one("case", "case_id", lambda: SupervisionCase)

    representative: Representative | None = one(
        "representative", "representative_id", lambda: Representative
    )

    examinations: Connection[QualityExamination] = connection(
        "examinations_of_appeal",
        lambda: QualityExamination,
        ["id"],
        description="Examinations ordered after this appeal, latest first.",
    )


@strawberry.type
class ExaminedCase:
    """A case an examination looks at, and the visit when one was named."""

    case_id: strawberry.Private[int]
    visit_id: strawberry.Private[int | None]

    case: SupervisionCase = one("case", "case_id", lambda: SupervisionCase)

    visit: Visit | None = one("visit", "visit_id", lambda: Visit)


@strawberry.type
class QualityExamination(ModelNode):
    """An ЭКМП: an expert examination of the care a clinic gave."""

    loader_name: ClassVar[str] = "examination"
    model: ClassVar[type[SQLModel]] = appeals_models.QualityExamination
    id: relay.NodeID[int]
    kind: appeals_models.ExaminationKind
    reason: appeals_models.ExaminationReason | None = strawberry.field(
        description="Why a targeted examination was ordered; null for a scheduled one."
    )
    period_start: date
    period_end: date
    expert_name: str
    due_on: date
    ordered_at: datetime
    status: appeals_models.ExaminationStatus
    violation_codes: list[str]
    findings: str | None
    outcome: appeals_models.ExaminationOutcome | None
    completed_at: datetime | None
    version: int
    insurer_id: strawberry.Private[int]
    clinic_id: strawberry.Private[int]
    appeal_id: strawberry.Private[int | None]

    insurer: Insurer = one("insurer", "insurer_id", lambda: Insurer)

    clinic: MedicalOrganization = one("clinic", "clinic_id", lambda: MedicalOrganization)

    appeal: Appeal | None = one("appeal", "appeal_id", lambda: Appeal)

    @strawberry.field(description=f"What the examination looks at (at most {MAX_PAGE_SIZE}).")
    async def examined(self, info: Info) -> list[ExaminedCase]:
        rows = await info.context.loaders.examined_of_examination.load(self.id)
        return [ExaminedCase(case_id=row.case_id, visit_id=row.visit_id) for row in rows]


@strawberry.type
class CountByKey:
    key: str
    count: int


@strawberry.type
class ReminderCount:
    channel: patients_models.Channel
    status: reminders_models.ReminderStatus
    count: int


def _counts(values: dict[Any, int]) -> list[CountByKey]:
    return [CountByKey(key=str(key), count=count) for key, count in sorted(values.items())]


@strawberry.type(description="Figures of a period of local dates, both ends included.")
class Statistics:
    period_start: date
    period_end: date
    representatives_by_level: list[CountByKey] = strawberry.field(
        description="Active representatives; with a clinic, those with desk hours there."
    )
    active_cases: int = strawberry.field(description="Cases under supervision at the period's end.")
    patients_under_supervision: int = strawberry.field(description="At the period's end.")
    cases_opened: int
    cases_closed: int
    cases_closed_by_reason: list[CountByKey]
    visits_planned: int = strawberry.field(
        description="Visits whose window ends in the period, cancelled ones left out."
    )
    visits_attended: int
    visits_missed: int
    attendance_rate: float | None = strawberry.field(description="Attended / (attended + missed).")
    reminders: list[ReminderCount] = strawberry.field(
        description="Reminders scheduled in the period by channel and status."
    )
    delivery_rate: float | None = strawberry.field(
        description="Delivered / (sent + delivered + failed)."
    )
    supervised_patients: int = strawberry.field(description="Under supervision at any time in it.")
    informed_patients: int = strawberry.field(
        description="Of those, sent a message or reached by a representative in the period."
    )
    informing_coverage: float | None
    appeals_by_kind: list[CountByKey] = strawberry.field(description="Received in the period.")
    appeals_received: int
    complaint_share: float | None
    appeals_answered: int
    appeals_answered_on_time: int
    examinations_ordered: int
    examinations_completed_by_outcome: list[CountByKey]

    @classmethod
    def of(cls, figures: Any) -> Self:
        return cls(
            period_start=figures.period.start,
            period_end=figures.period.end,
            representatives_by_level=_counts(figures.representatives_by_level),
            active_cases=figures.active_cases,
            patients_under_supervision=figures.patients_under_supervision,
            cases_opened=figures.cases_opened,
            cases_closed=figures.cases_closed,
            cases_closed_by_reason=_counts(figures.cases_closed_by_reason),
            visits_planned=figures.visits_due,
            visits_attended=figures.visits_by_status.get(
                supervision_models.VisitStatus.ATTENDED, 0
            ),
            visits_missed=figures.visits_by_status.get(supervision_models.VisitStatus.MISSED, 0),
            attendance_rate=figures.attendance_rate,
            reminders=[
                ReminderCount(channel=channel, status=status, count=count)
                for (channel, status), count in sorted(figures.reminders.items())
            ],
            delivery_rate=figures.delivery_rate,
            supervised_patients=figures.supervised_patients,
            informed_patients=figures.informed_patients,
            informing_coverage=figures.informing_coverage,
            appeals_by_kind=_counts(figures.appeals_received_by_kind),
            appeals_received=figures.appeals_received,
            complaint_share=figures.complaint_share,
            appeals_answered=figures.appeals_answered,
            appeals_answered_on_time=figures.appeals_answered_on_time,
            examinations_ordered=figures.examinations_ordered,
            examinations_completed_by_outcome=_counts(figures.examinations_completed_by_outcome),
        )
