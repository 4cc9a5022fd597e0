"""Appeals and quality-of-care examinations."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

import strawberry
from sqlmodel import SQLModel
from strawberry import relay

from cases.appeals import models as appeals_models
from cases.kit.paging import MAX_PAGE_SIZE
from schema.core.objects import ModelNode
from schema.core.relations import connection, one
from schema.core.relay import Connection, Info
from schema.patients.types import Patient
from schema.registry.types import Insurer, MedicalOrganization, Representative
from schema.supervision.types import SupervisionCase, Visit

for _enum in (
    appeals_models.AppealChannel,
    appeals_models.AppealKind,
    appeals_models.AppealSubject,
    appeals_models.AppealStatus,
    appeals_models.AppealOutcome,
    appeals_models.ExaminationKind,
    appeals_models.ExaminationReason,
    appeals_models.ExaminationStatus,
    appeals_models.ExaminationOutcome,
):
    strawberry.enum(_enum)


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
    registered_late: bool = strawberry.field(
        description="Registered after its registration deadline."
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
