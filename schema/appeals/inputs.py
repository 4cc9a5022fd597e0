"""Inputs of appeals' and examinations' queries and mutations."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry import relay

from cases.appeals.models import (
    AppealChannel,
    AppealKind,
    AppealOutcome,
    AppealStatus,
    AppealSubject,
    ExaminationKind,
    ExaminationOutcome,
    ExaminationReason,
    ExaminationStatus,
)
from cases.appeals.repository import AppealOrder

strawberry.enum(AppealOrder, name="AppealOrderField")


@strawberry.input
class AppealFilterInput:
    statuses: list[AppealStatus] | None = None
    kinds: list[AppealKind] | None = None
    answer_due_before: date | None = strawberry.field(
        default=None, description="Answer due before this local date (e.g. today: overdue)."
    )
    answer_due_after: date | None = None
    clinic_id: relay.GlobalID | None = None
    representative_id: relay.GlobalID | None = None
    insurer_id: relay.GlobalID | None = None
    patient_id: relay.GlobalID | None = None
    case_id: relay.GlobalID | None = None


@strawberry.input
class AppealOrderInput:
    field: AppealOrder = AppealOrder.ANSWER_DUE
    descending: bool = False


@strawberry.input
class QualityExaminationFilterInput:
    statuses: list[ExaminationStatus] | None = None
    clinic_id: relay.GlobalID | None = None
    insurer_id: relay.GlobalID | None = None
    appeal_id: relay.GlobalID | None = None
    case_id: relay.GlobalID | None = None


@strawberry.input
class RegisterAppealInput:
    received_at: datetime = strawberry.field(description="When the appeal reached the insurer.")
    channel: AppealChannel
    kind: AppealKind
    subject: AppealSubject
    text: str
    patient_enp: str | None = strawberry.field(
        default=None, description="ЕНП of the person, when they are known."
    )
    clinic_id: relay.GlobalID | None = strawberry.field(
        default=None, description="The clinic concerned; required for a complaint."
    )
    case_id: relay.GlobalID | None = None
    insurer_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="Needed only when neither the patient nor the caller names the insurer.",
    )


@strawberry.input
class ExtendAppealInput:
    appeal_id: relay.GlobalID
    days: int = strawberry.field(description="1 to 30; an appeal is extended once.")
    notice: str = strawberry.field(description="How and when the person was told.")


@strawberry.input
class AnswerAppealInput:
    appeal_id: relay.GlobalID
    text: str
    outcome: AppealOutcome


@strawberry.input
class OrderQualityExaminationInput:
    kind: ExaminationKind
    reason: ExaminationReason | None = strawberry.field(
        default=None, description="Required for a targeted examination."
    )
    clinic_id: relay.GlobalID
    period_start: date
    period_end: date
    expert_name: str
    due_on: date
    appeal_id: relay.GlobalID | None = strawberry.field(
        default=None, description="The complaint it follows; required when the reason is one."
    )
    case_ids: list[relay.GlobalID] = strawberry.field(default_factory=list)
    visit_ids: list[relay.GlobalID] = strawberry.field(default_factory=list)
    insurer_id: relay.GlobalID | None = None


@strawberry.input
class CompleteQualityExaminationInput:
    examination_id: relay.GlobalID
    outcome: ExaminationOutcome
    violation_codes: list[str] = strawberry.field(default_factory=list)
    findings: str | None = None
