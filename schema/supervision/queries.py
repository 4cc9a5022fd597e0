"""Root query fields of supervision: cases, visits, the rules table."""

from __future__ import annotations

import strawberry
from strawberry import relay

from cases.kit.errors import ValidationFailed
from cases.kit.paging import PageRequest
from cases.supervision.repository import CaseFilter, VisitFilter
from cases.supervision.rules import SupervisionRuleService
from cases.supervision.service import SupervisionService
from schema.core.ids import optional_row_id, row_id
from schema.core.relations import constant_count, nested_page
from schema.core.relay import Connection, Info
from schema.supervision.inputs import (
    SupervisionCaseFilterInput,
    SupervisionCaseOrder,
    VisitFilterInput,
)
from schema.supervision.types import SupervisionCase, SupervisionRule, Visit


@strawberry.type
class SupervisionQuery:
    @strawberry.field
    async def supervision_case(self, info: Info, id: relay.GlobalID) -> SupervisionCase | None:
        found = await info.context.loaders.case.load(row_id(id, "SupervisionCase", "id"))
        return SupervisionCase.from_model(found) if found else None

    @strawberry.field
    async def supervision_cases(
        self,
        info: Info,
        filter: SupervisionCaseFilterInput | None = None,
        order_by: SupervisionCaseOrder | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[SupervisionCase]:
        given = filter or SupervisionCaseFilterInput()
        if given.missed_visits_at_least is not None and given.missed_visits_at_least < 0:
            raise ValidationFailed("must not be negative", field="filter.missedVisitsAtLeast")
        order = order_by or SupervisionCaseOrder()
        domain_filter = CaseFilter(
            patient_id=optional_row_id(given.patient_id, "Patient", "filter.patientId"),
            status=given.status,
            icd10_prefix=given.icd10_prefix,
            clinic_id=optional_row_id(given.clinic_id, "MedicalOrganization", "filter.clinicId"),
            representative_id=optional_row_id(
                given.representative_id, "Representative", "filter.representativeId"
            ),
            insurer_id=optional_row_id(given.insurer_id, "Insurer", "filter.insurerId"),
            next_visit_due_before=given.next_visit_due_before,
            next_visit_due_after=given.next_visit_due_after,
            has_open_work_item=given.has_open_work_item,
            missed_visits_at_least=given.missed_visits_at_least,
        )
        query = SupervisionService(info.context.session, info.context.rules).page_query(
            domain_filter, PageRequest.of(first, after), order.field, order.descending
        )
        return Connection.listed(info, query, SupervisionCase.from_model)

    @strawberry.field
    async def visits(
        self,
        info: Info,
        filter: VisitFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Visit]:
        given = filter or VisitFilterInput()
        domain_filter = VisitFilter(
            case_id=optional_row_id(given.case_id, "SupervisionCase", "filter.caseId"),
            patient_id=optional_row_id(given.patient_id, "Patient", "filter.patientId"),
            clinic_id=optional_row_id(given.clinic_id, "MedicalOrganization", "filter.clinicId"),
            status=given.status,
            window_end_before=given.window_end_before,
            window_end_after=given.window_end_after,
        )
        query = SupervisionService(info.context.session, info.context.rules).visit_page_query(
            domain_filter, PageRequest.of(first, after)
        )
        return Connection.listed(info, query, Visit.from_model)

    @strawberry.field(
        description="The rules table: the order's rows by annex and row, then the region's; "
        "`icd10` keeps the rows that cover a code, `specialty` those of one specialty."
    )
    async def supervision_rules(
        self, info: Info, icd10: str | None = None, specialty: str | None = None
    ) -> Connection[SupervisionRule]:
        stored = await SupervisionRuleService(info.context.session).matching(icd10, specialty)
        page = nested_page(stored, len(stored), ["id"])
        return Connection.of(page, SupervisionRule.from_model, lambda: constant_count(len(stored)))
