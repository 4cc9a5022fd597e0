"""Mutations of supervision: cases, their representative, visits, the rules table."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry import relay

from cases.kit.errors import ValidationFailed
from cases.supervision.rules import SupervisionRuleService
from cases.supervision.service import MAX_BATCH, SupervisionService
from cases.supervision.visits import VisitService
from schema.core.context import Context
from schema.core.errors import (
    ConflictError,
    InvalidStateError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from schema.core.ids import optional_row_id, row_id
from schema.core.mutations import mutate
from schema.core.relay import Info
from schema.supervision.inputs import (
    CloseCaseInput,
    OpenCaseInput,
    RecordVisitInput,
    RescheduleVisitInput,
    ScheduleVisitInput,
    SupervisionRuleInput,
    UpdateCaseInput,
)
from schema.supervision.types import SupervisionCase, SupervisionRule, Visit


@strawberry.type
class ReassignedCases:
    cases: list[SupervisionCase]


async def _record_visit(context: Context, input: RecordVisitInput) -> Any:
    return await VisitService(context.session, context.rules).record_visit(
        context.actor,
        clinic_id=row_id(input.clinic_id, "MedicalOrganization", "clinic_id"),
        case_id=row_id(input.case_id, "SupervisionCase", "case_id"),
        external_id=input.external_id,
        attended=input.attended,
        visit_date=input.visit_date,
        visit_id=optional_row_id(input.visit_id, "Visit", "visit_id"),
    )


OpenCaseResult = Annotated[
    SupervisionCase | ValidationError | NotFoundError | PermissionDeniedError,
    strawberry.union("OpenCaseResult"),
]
UpdateCaseResult = Annotated[
    SupervisionCase | ValidationError | NotFoundError | ConflictError | InvalidStateError,
    strawberry.union("UpdateCaseResult"),
]
CloseCaseResult = Annotated[
    SupervisionCase | ValidationError | NotFoundError | ConflictError | InvalidStateError,
    strawberry.union("CloseCaseResult"),
]
AssignRepresentativeResult = Annotated[
    SupervisionCase | ValidationError | NotFoundError,
    strawberry.union("AssignRepresentativeResult"),
]
ReassignCasesResult = Annotated[
    ReassignedCases | ValidationError | NotFoundError,
    strawberry.union("ReassignCasesResult"),
]
ScheduleVisitResult = Annotated[
    Visit | ValidationError | NotFoundError | InvalidStateError,
    strawberry.union("ScheduleVisitResult"),
]
RescheduleVisitResult = Annotated[
    Visit | ValidationError | NotFoundError | InvalidStateError,
    strawberry.union("RescheduleVisitResult"),
]
CancelVisitResult = Annotated[
    Visit | ValidationError | NotFoundError | InvalidStateError,
    strawberry.union("CancelVisitResult"),
]
RecordVisitResult = Annotated[
    Visit | ValidationError | NotFoundError | ConflictError | InvalidStateError,
    strawberry.union("RecordVisitResult"),
]
AddSupervisionRuleResult = Annotated[
    SupervisionRule | ValidationError,
    strawberry.union("AddSupervisionRuleResult"),
]


@strawberry.type
class SupervisionMutation:
    @strawberry.mutation(description="Open a case and plan its visits per the rules.")
    async def open_case(self, info: Info, input: OpenCaseInput) -> OpenCaseResult:
        return await mutate(
            info,
            lambda c: SupervisionService(c.session, c.rules).open(
                c.actor,
                patient_id=row_id(input.patient_id, "Patient", "patient_id"),
                icd10=input.icd10,
                clinic_id=row_id(input.clinic_id, "MedicalOrganization", "clinic_id"),
                opened_on=input.opened_on,
                physician_name=input.physician_name,
                visits_per_year=input.visits_per_year,
                specialty=input.specialty,
                diagnosed_on=input.diagnosed_on,
                representative_id=optional_row_id(
                    input.representative_id, "Representative", "representative_id"
                ),
                source=input.source,
            ),
            SupervisionCase.from_model,
        )

    @strawberry.mutation
    async def update_case(self, info: Info, input: UpdateCaseInput) -> UpdateCaseResult:
        return await mutate(
            info,
            lambda c: SupervisionService(c.session, c.rules).update(
                c.actor,
                row_id(input.case_id, "SupervisionCase", "case_id"),
                input.version,
                icd10=input.icd10,
                physician_name=input.physician_name,
                visits_per_year=input.visits_per_year,
                specialty=input.specialty,
            ),
            SupervisionCase.from_model,
        )

    @strawberry.mutation(
        description="Close a case; its future visits and pending reminders are cancelled."
    )
    async def close_case(self, info: Info, input: CloseCaseInput) -> CloseCaseResult:
        return await mutate(
            info,
            lambda c: SupervisionService(c.session, c.rules).close(
                c.actor,
                row_id(input.case_id, "SupervisionCase", "case_id"),
                input.version,
                input.reason,
                input.closed_on,
            ),
            SupervisionCase.from_model,
        )

    @strawberry.mutation
    async def assign_representative(
        self, info: Info, case_id: relay.GlobalID, representative_id: relay.GlobalID
    ) -> AssignRepresentativeResult:
        async def change(c: Context) -> Any:
            cases = await SupervisionService(c.session, c.rules).assign(
                c.actor,
                [row_id(case_id, "SupervisionCase", "case_id")],
                row_id(representative_id, "Representative", "representative_id"),
            )
            return cases[0]

        return await mutate(
            info, change, SupervisionCase.from_model, renamed={"case_ids": "caseId"}
        )

    @strawberry.mutation(
        description=f"Give up to {MAX_BATCH} cases to one representative, all or none."
    )
    async def reassign_cases(
        self, info: Info, case_ids: list[relay.GlobalID], representative_id: relay.GlobalID
    ) -> ReassignCasesResult:
        async def change(c: Context) -> Any:
            if len(case_ids) > MAX_BATCH:
                raise ValidationFailed(f"at most {MAX_BATCH} cases at a time", field="case_ids")
            return await SupervisionService(c.session, c.rules).assign(
                c.actor,
                [row_id(id_, "SupervisionCase", "case_ids") for id_ in case_ids],
                row_id(representative_id, "Representative", "representative_id"),
            )

        return await mutate(
            info,
            change,
            lambda cases: ReassignedCases(
                cases=[SupervisionCase.from_model(case) for case in cases]
            ),
        )

    @strawberry.mutation
    async def schedule_visit(self, info: Info, input: ScheduleVisitInput) -> ScheduleVisitResult:
        return await mutate(
            info,
            lambda c: VisitService(c.session, c.rules).schedule_visit(
                c.actor,
                row_id(input.case_id, "SupervisionCase", "case_id"),
                input.window_start,
                input.window_end,
                input.appointment_at,
            ),
            Visit.from_model,
        )

    @strawberry.mutation
    async def reschedule_visit(
        self, info: Info, input: RescheduleVisitInput
    ) -> RescheduleVisitResult:
        return await mutate(
            info,
            lambda c: VisitService(c.session, c.rules).reschedule_visit(
                c.actor,
                row_id(input.visit_id, "Visit", "visit_id"),
                input.window_start,
                input.window_end,
                input.appointment_at,
            ),
            Visit.from_model,
        )

    @strawberry.mutation
    async def cancel_visit(
        self, info: Info, visit_id: relay.GlobalID, reason_code: str
    ) -> CancelVisitResult:
        return await mutate(
            info,
            lambda c: VisitService(c.session, c.rules).cancel_visit(
                c.actor, row_id(visit_id, "Visit", "visit_id"), reason_code
            ),
            Visit.from_model,
        )

    @strawberry.mutation(description="A clinic's report of one visit; idempotent by external id.")
    async def record_visit(self, info: Info, input: RecordVisitInput) -> RecordVisitResult:
        return await mutate(info, lambda c: _record_visit(c, input), Visit.from_model)

    @strawberry.mutation(
        description=f"Up to {MAX_BATCH} reports; each item stands alone (one bad item rejects no other)."
    )
    async def record_visits(
        self, info: Info, input: list[RecordVisitInput]
    ) -> list[RecordVisitsItem]:
        if len(input) > MAX_BATCH:
            raise ValidationFailed(f"at most {MAX_BATCH} items at a time", field="input")
        items = []
        for index, item in enumerate(input):

            async def change(c: Context, item: RecordVisitInput = item) -> Any:
                return await _record_visit(c, item)

            result = await mutate(info, change, Visit.from_model, under=f"input.{index}")
            items.append(RecordVisitsItem(index=index, external_id=item.external_id, result=result))
        return items

    @strawberry.mutation(
        description="Administrators only: add a region's own row to the rules table (the order's "
        "rows are never edited; where both cover a code, the stricter applies)."
    )
    async def add_supervision_rule(
        self, info: Info, input: SupervisionRuleInput
    ) -> AddSupervisionRuleResult:
        return await mutate(
            info,
            lambda c: SupervisionRuleService(c.session).add_regional(
                c.actor,
                specialty=input.specialty,
                icd10=input.icd10,
                condition=input.condition,
                schedule=input.schedule,
                duration=input.duration,
                remark=input.remark,
                source=input.source,
            ),
            SupervisionRule.from_model,
        )


@strawberry.type
class RecordVisitsItem:
    index: int
    external_id: str
    result: RecordVisitResult
