"""Mutations of appeals and quality-of-care examinations."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry import relay

from cases.appeals.examinations import ExaminationOrder, QualityExaminationService
from cases.appeals.service import AppealDraft, AppealService
from cases.supervision.service import MAX_BATCH
from schema.appeals.inputs import (
    AnswerAppealInput,
    CompleteQualityExaminationInput,
    ExtendAppealInput,
    OrderQualityExaminationInput,
    RegisterAppealInput,
)
from schema.appeals.types import Appeal, QualityExamination
from schema.core.context import Context
from schema.core.errors import (
    InvalidStateError,
    NotFoundError,
    ValidationError,
)
from schema.core.ids import optional_row_id, row_id
from schema.core.mutations import capped_ids, mutate
from schema.core.relay import Info

RegisterAppealResult = Annotated[
    Appeal | ValidationError | NotFoundError,
    strawberry.union("RegisterAppealResult"),
]
AssignAppealResult = Annotated[
    Appeal | ValidationError | NotFoundError | InvalidStateError,
    strawberry.union("AssignAppealResult"),
]
ExtendAppealResult = Annotated[
    Appeal | ValidationError | NotFoundError | InvalidStateError,
    strawberry.union("ExtendAppealResult"),
]
AnswerAppealResult = Annotated[
    Appeal | ValidationError | NotFoundError | InvalidStateError,
    strawberry.union("AnswerAppealResult"),
]
CloseAppealResult = Annotated[
    Appeal | ValidationError | NotFoundError | InvalidStateError,
    strawberry.union("CloseAppealResult"),
]
OrderQualityExaminationResult = Annotated[
    QualityExamination | ValidationError | NotFoundError,
    strawberry.union("OrderQualityExaminationResult"),
]
CompleteQualityExaminationResult = Annotated[
    QualityExamination | ValidationError | NotFoundError | InvalidStateError,
    strawberry.union("CompleteQualityExaminationResult"),
]


@strawberry.type
class AppealsMutation:
    @strawberry.mutation(description="Register an appeal; its deadlines follow 59-ФЗ.")
    async def register_appeal(self, info: Info, input: RegisterAppealInput) -> RegisterAppealResult:
        async def change(c: Context) -> Any:
            draft = AppealDraft(
                received_at=input.received_at,
                channel=input.channel,
                kind=input.kind,
                subject=input.subject,
                text=input.text,
                patient_enp=input.patient_enp,
                clinic_id=optional_row_id(input.clinic_id, "MedicalOrganization", "clinic_id"),
                case_id=optional_row_id(input.case_id, "SupervisionCase", "case_id"),
                insurer_id=optional_row_id(input.insurer_id, "Insurer", "insurer_id"),
            )
            return await AppealService(c.session, c.rules).register(c.actor, draft)

        return await mutate(info, change, Appeal.from_model)

    @strawberry.mutation(description="Give an appeal to a third-level representative.")
    async def assign_appeal(
        self, info: Info, appeal_id: relay.GlobalID, representative_id: relay.GlobalID
    ) -> AssignAppealResult:
        return await mutate(
            info,
            lambda c: AppealService(c.session, c.rules).assign(
                c.actor,
                row_id(appeal_id, "Appeal", "appeal_id"),
                row_id(representative_id, "Representative", "representative_id"),
            ),
            Appeal.from_model,
        )

    @strawberry.mutation(description="Extend the answer deadline once, by up to 30 days.")
    async def extend_appeal(self, info: Info, input: ExtendAppealInput) -> ExtendAppealResult:
        return await mutate(
            info,
            lambda c: AppealService(c.session, c.rules).extend(
                c.actor, row_id(input.appeal_id, "Appeal", "appeal_id"), input.days, input.notice
            ),
            Appeal.from_model,
        )

    @strawberry.mutation
    async def answer_appeal(self, info: Info, input: AnswerAppealInput) -> AnswerAppealResult:
        return await mutate(
            info,
            lambda c: AppealService(c.session, c.rules).answer(
                c.actor, row_id(input.appeal_id, "Appeal", "appeal_id"), input.text, input.outcome
            ),
            Appeal.from_model,
        )

    @strawberry.mutation
    async def close_appeal(self, info: Info, appeal_id: relay.GlobalID) -> CloseAppealResult:
        return await mutate(
            info,
            lambda c: AppealService(c.session, c.rules).close(
                c.actor, row_id(appeal_id, "Appeal", "appeal_id")
            ),
            Appeal.from_model,
        )

    @strawberry.mutation
    async def order_quality_examination(
        self, info: Info, input: OrderQualityExaminationInput
    ) -> OrderQualityExaminationResult:
        async def change(c: Context) -> Any:
            order = ExaminationOrder(
                kind=input.kind,
                reason=input.reason,
                clinic_id=row_id(input.clinic_id, "MedicalOrganization", "clinic_id"),
                period_start=input.period_start,
                period_end=input.period_end,
                expert_name=input.expert_name,
                due_on=input.due_on,
                appeal_id=optional_row_id(input.appeal_id, "Appeal", "appeal_id"),
                case_ids=capped_ids(input.case_ids, "SupervisionCase", "case_ids", MAX_BATCH),
                visit_ids=capped_ids(input.visit_ids, "Visit", "visit_ids", MAX_BATCH),
                insurer_id=optional_row_id(input.insurer_id, "Insurer", "insurer_id"),
            )
            return await QualityExaminationService(c.session, c.rules).order(c.actor, order)

        return await mutate(info, change, QualityExamination.from_model)

    @strawberry.mutation
    async def complete_quality_examination(
        self, info: Info, input: CompleteQualityExaminationInput
    ) -> CompleteQualityExaminationResult:
        return await mutate(
            info,
            lambda c: QualityExaminationService(c.session, c.rules).complete(
                c.actor,
                row_id(input.examination_id, "QualityExamination", "examination_id"),
                violation_codes=input.violation_codes,
                findings=input.findings,
                outcome=input.outcome,
            ),
            QualityExamination.from_model,
        )
