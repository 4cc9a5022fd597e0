"""Root query fields of appeals and quality-of-care examinations."""

from __future__ import annotations

import strawberry

from cases.appeals.examinations import QualityExaminationService
from cases.appeals.repository import AppealFilter, ExaminationFilter
from cases.appeals.service import AppealService
from cases.kit.paging import PageRequest
from schema.appeals.inputs import AppealFilterInput, AppealOrderInput, QualityExaminationFilterInput
from schema.appeals.types import Appeal, QualityExamination
from schema.core.ids import optional_row_id
from schema.core.relay import Connection, Info


@strawberry.type
class AppealsQuery:
    @strawberry.field(description="Appeals, by answer deadline unless ordered otherwise.")
    async def appeals(
        self,
        info: Info,
        filter: AppealFilterInput | None = None,
        order_by: AppealOrderInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Appeal]:
        given = filter or AppealFilterInput()
        order = order_by or AppealOrderInput()
        domain_filter = AppealFilter(
            statuses=tuple(given.statuses or ()),
            kinds=tuple(given.kinds or ()),
            answer_due_before=given.answer_due_before,
            answer_due_after=given.answer_due_after,
            clinic_id=optional_row_id(given.clinic_id, "MedicalOrganization", "filter.clinicId"),
            representative_id=optional_row_id(
                given.representative_id, "Representative", "filter.representativeId"
            ),
            insurer_id=optional_row_id(given.insurer_id, "Insurer", "filter.insurerId"),
            patient_id=optional_row_id(given.patient_id, "Patient", "filter.patientId"),
            case_id=optional_row_id(given.case_id, "SupervisionCase", "filter.caseId"),
        )
        query = AppealService(info.context.session, info.context.rules).page_query(
            domain_filter, PageRequest.of(first, after), order.field, order.descending
        )
        return Connection.listed(info, query, Appeal.from_model)

    @strawberry.field(description="Quality-of-care examinations, latest first.")
    async def quality_examinations(
        self,
        info: Info,
        filter: QualityExaminationFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[QualityExamination]:
        given = filter or QualityExaminationFilterInput()
        domain_filter = ExaminationFilter(
            statuses=tuple(given.statuses or ()),
            clinic_id=optional_row_id(given.clinic_id, "MedicalOrganization", "filter.clinicId"),
            insurer_id=optional_row_id(given.insurer_id, "Insurer", "filter.insurerId"),
            appeal_id=optional_row_id(given.appeal_id, "Appeal", "filter.appealId"),
            case_id=optional_row_id(given.case_id, "SupervisionCase", "filter.caseId"),
        )
        query = QualityExaminationService(info.context.session, info.context.rules).page_query(
            domain_filter, PageRequest.of(first, after)
        )
        return Connection.listed(info, query, QualityExamination.from_model)
