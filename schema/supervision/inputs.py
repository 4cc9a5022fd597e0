"""Inputs of supervision's queries and mutations."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry import relay

from cases.supervision.models import CaseSource, CaseStatus, CloseReason, VisitStatus
from cases.supervision.repository import CaseOrder

strawberry.enum(CaseOrder, name="SupervisionCaseOrderField")


@strawberry.input
class SupervisionCaseFilterInput:
    patient_id: relay.GlobalID | None = None
    status: CaseStatus | None = None
    icd10_prefix: str | None = None
    clinic_id: relay.GlobalID | None = None
    representative_id: relay.GlobalID | None = None
    insurer_id: relay.GlobalID | None = None
    next_visit_due_before: date | None = None
    next_visit_due_after: date | None = None
    has_open_work_item: bool | None = None
    missed_visits_at_least: int | None = None


@strawberry.input
class SupervisionCaseOrder:
    field: CaseOrder = CaseOrder.ID
    descending: bool = False


@strawberry.input
class VisitFilterInput:
    case_id: relay.GlobalID | None = None
    patient_id: relay.GlobalID | None = None
    clinic_id: relay.GlobalID | None = None
    status: VisitStatus | None = None
    window_end_before: date | None = None
    window_end_after: date | None = None


@strawberry.input
class OpenCaseInput:
    patient_id: relay.GlobalID
    icd10: str
    clinic_id: relay.GlobalID
    opened_on: date
    physician_name: str | None = None
    visits_per_year: int | None = strawberry.field(
        default=None, description="The clinic's plan; else the rules table; else the default."
    )
    representative_id: relay.GlobalID | None = None
    source: CaseSource = CaseSource.MANUAL
    specialty: str | None = strawberry.field(
        default=None,
        description="The supervising specialty (e.g. cardiologist); default: the therapist's, or "
        "the specialty of the row that covers the code.",
    )
    diagnosed_on: date | None = strawberry.field(
        default=None, description="The date of diagnosis or of the hospital's discharge summary."
    )


@strawberry.input
class UpdateCaseInput:
    case_id: relay.GlobalID
    version: int
    icd10: str | None = None
    physician_name: str | None = None
    visits_per_year: int | None = None
    specialty: str | None = None


@strawberry.input
class CloseCaseInput:
    case_id: relay.GlobalID
    version: int
    reason: CloseReason
    closed_on: date


@strawberry.input
class ScheduleVisitInput:
    case_id: relay.GlobalID
    window_start: date
    window_end: date
    appointment_at: datetime | None = None


@strawberry.input
class RescheduleVisitInput:
    visit_id: relay.GlobalID
    window_start: date | None = None
    window_end: date | None = None
    appointment_at: datetime | None = None


@strawberry.input
class RecordVisitInput:
    case_id: relay.GlobalID
    clinic_id: relay.GlobalID
    external_id: str = strawberry.field(
        description="The clinic's id; a retry with it changes nothing."
    )
    attended: bool
    visit_date: date
    visit_id: relay.GlobalID | None = strawberry.field(
        default=None, description="The planned visit this answers; default: the case's next one."
    )


@strawberry.input
class SupervisionRuleInput:
    specialty: str
    icd10: str = strawberry.field(description="Codes and ranges, e.g. I20-I25;Z95.1.")
    condition: str
    schedule: str = strawberry.field(
        description="e.g. per_year:2 or phases:every_months:3@12;every_months:6."
    )
    duration: str = strawberry.field(description="e.g. lifelong or months:12.")
    source: str = strawberry.field(description="The region's own source: its order or decision.")
    remark: str = ""
