"""Supervision cases, their visits and the rules table."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, ClassVar

import strawberry
from sqlmodel import SQLModel
from strawberry import relay

from cases.supervision import models as supervision_models
from cases.supervision.annexes import PlanSource
from schema.core.objects import ModelNode, ModelObject
from schema.core.relations import connection, lazy, one
from schema.core.relay import Connection
from schema.patients.types import Patient
from schema.registry.types import MedicalOrganization, Representative

if TYPE_CHECKING:
    from schema.appeals.types import QualityExamination
LazyQualityExamination = Annotated["QualityExamination", strawberry.lazy("schema.appeals.types")]

strawberry.enum(PlanSource)

for _enum in (
    supervision_models.CaseStatus,
    supervision_models.CloseReason,
    supervision_models.CaseSource,
    supervision_models.VisitStatus,
):
    strawberry.enum(_enum)


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
    specialty: str = strawberry.field(description="The supervising specialty.")
    schedule: str = strawberry.field(
        description="The schedule in force, as the rules table writes it."
    )
    plan_source: PlanSource = strawberry.field(
        description="What set the schedule: the rules table's row, the clinic's plan, or the "
        "region's default (no row, or a row that sets no number)."
    )
    diagnosed_on: date | None = strawberry.field(
        description="The date of diagnosis or of the hospital's discharge summary."
    )
    opened_late: bool = strawberry.field(
        description="Supervision began more than 3 working days after the diagnosis (168н п. 4)."
    )
    review_on: date | None = strawberry.field(
        description="When the duration the rule sets runs out: the representative reviews the case."
    )
    rule_id: strawberry.Private[int | None]
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

    rule: SupervisionRule | None = one(
        "supervision_rule",
        "rule_id",
        lambda: SupervisionRule,
        description="The row of the rules table the plan came from (null: none covers the code).",
    )

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

    examinations: Connection[LazyQualityExamination] = connection(
        "examinations_of_case",
        lazy("schema.appeals.types", "QualityExamination"),
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
class SupervisionRule(ModelObject):
    """A row of the rules table: one of Order 168н's annexes' rows, or a region's own."""

    model: ClassVar[type[SQLModel]] = supervision_models.SupervisionRule
    annex: int | None = strawberry.field(description="The order's annex; null for a region's row.")
    row: int | None
    specialty: str = strawberry.field(description="The supervising specialty, e.g. cardiologist.")
    icd10: str = strawberry.field(description="The codes it covers, e.g. I20-I25;Z95.1.")
    condition: str
    schedule: str = strawberry.field(
        description="per_year:N, every_months:M, every_years:Y, phases:A@M;B or clinical."
    )
    duration: str = strawberry.field(
        description="lifelong, months:N or years:N (with a qualifier), individual, until_surgery."
    )
    remark: str
    source: str = strawberry.field(description="e.g. Order 168н, annex 2, row 4.")
