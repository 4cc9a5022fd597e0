"""Root query fields; each is a thin call into a `cases` service."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry import relay

from cases.actor import Role
from cases.errors import PermissionDenied, ValidationFailed
from cases.models import CaseStatus, VisitStatus, WorkItemKind
from cases.pagination import PageRequest
from cases.repository import (
    AuditFilter,
    CaseFilter,
    CaseOrder,
    PatientFilter,
    PatientOrder,
    VisitFilter,
    WorkItemFilter,
)
from cases.service import (
    AuditService,
    InsurerService,
    PatientService,
    SupervisionRuleService,
    SupervisionService,
    WorkItemService,
)
from schema.ids import optional_row_id, row_id
from schema.relay import Connection
from schema.types import (
    AuditEvent,
    Info,
    Insurer,
    Me,
    Patient,
    SupervisionCase,
    SupervisionRule,
    Visit,
    WorkItem,
    nested_page,
)

strawberry.enum(CaseOrder, name="SupervisionCaseOrderField")
strawberry.enum(PatientOrder, name="PatientOrderField")


@strawberry.input
class PatientOrderInput:
    field: PatientOrder = PatientOrder.NAME
    descending: bool = False


@strawberry.input
class PatientFilterInput:
    insurer_id: relay.GlobalID | None = None
    clinic_id: relay.GlobalID | None = None
    representative_id: relay.GlobalID | None = None
    diagnosis_prefix: str | None = strawberry.field(
        default=None, description="ICD-10 prefix, e.g. I1."
    )
    has_active_case: bool | None = None


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
class WorklistFilterInput:
    kinds: list[WorkItemKind] | None = None
    representative_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="Whose worklist; a representative sees their own, a supervisor anyone's.",
    )


@strawberry.input
class AuditEventFilterInput:
    patient_id: relay.GlobalID | None = None
    entity_type: str | None = strawberry.field(default=None, description="e.g. SupervisionCase.")
    entity_id: relay.GlobalID | None = None
    action: str | None = strawberry.field(default=None, description="e.g. patient.read.")
    actor: str | None = strawberry.field(default=None, description="e.g. representative:12.")
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None


@strawberry.type
class Query:
    @strawberry.field(description="Any object by its global id; null when there is none.")
    async def node(self, info: Info, id: relay.GlobalID) -> relay.Node | None:
        return await id.resolve_node(info, required=False)

    @strawberry.field(description="The caller.")
    def me(self, info: Info) -> Me:
        actor = info.context.actor
        return Me(role=actor.role, label=actor.label, representative_id=actor.representative_id)

    @strawberry.field(description="Insurers of the region, by name.")
    async def insurers(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Insurer]:
        page, count = await InsurerService(info.context.session).page(PageRequest.of(first, after))
        return Connection.of(page, Insurer.from_model, count)

    @strawberry.field(description="One patient by global id or by ЕНП.")
    async def patient(
        self, info: Info, id: relay.GlobalID | None = None, enp: str | None = None
    ) -> Patient | None:
        if (id is None) == (enp is None):
            raise ValidationFailed("give exactly one of id and enp", field="id")
        if id is not None:
            found = await info.context.loaders.patient.load(row_id(id, "Patient", "id"))
        else:
            found = await PatientService(info.context.session).by_enp(enp or "")
        return await Patient.open_card(info, found) if found else None

    @strawberry.field(
        description="Patients by name; `search` takes an ЕНП, a СНИЛС, a phone or the start of a name."
    )
    async def patients(
        self,
        info: Info,
        search: str | None = None,
        filter: PatientFilterInput | None = None,
        order_by: PatientOrderInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Patient]:
        order = order_by or PatientOrderInput()
        given = filter or PatientFilterInput()
        domain_filter = PatientFilter(
            search=search,
            insurer_id=optional_row_id(given.insurer_id, "Insurer", "filter.insurerId"),
            clinic_id=optional_row_id(given.clinic_id, "MedicalOrganization", "filter.clinicId"),
            representative_id=optional_row_id(
                given.representative_id, "Representative", "filter.representativeId"
            ),
            diagnosis_prefix=given.diagnosis_prefix,
            has_active_case=given.has_active_case,
        )
        page, count = await PatientService(info.context.session).page(
            domain_filter, PageRequest.of(first, after), order.field, order.descending
        )
        return Connection.of(page, Patient.from_model, count)

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
        page, count = await SupervisionService(info.context.session, info.context.rules).page(
            domain_filter, PageRequest.of(first, after), order.field, order.descending
        )
        return Connection.of(page, SupervisionCase.from_model, count)

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
        page, count = await SupervisionService(info.context.session, info.context.rules).visit_page(
            domain_filter, PageRequest.of(first, after)
        )
        return Connection.of(page, Visit.from_model, count)

    @strawberry.field(description="Open work items, most urgent first, then by due time.")
    async def worklist(
        self,
        info: Info,
        filter: WorklistFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[WorkItem]:
        given = filter or WorklistFilterInput()
        actor = info.context.actor
        owner = optional_row_id(
            given.representative_id, "Representative", "filter.representativeId"
        )
        if owner is None:
            owner = actor.representative_id
        if owner is None:
            raise ValidationFailed("name whose worklist to show", field="filter.representativeId")
        if actor.role is Role.REPRESENTATIVE and owner != actor.representative_id:
            raise PermissionDenied("only a supervisor sees another representative's worklist")
        page, count = await WorkItemService(info.context.session).page(
            WorkItemFilter(owner_id=owner, kinds=tuple(given.kinds or ())),
            PageRequest.of(first, after),
        )
        return Connection.of(page, WorkItem.from_model, count)

    @strawberry.field(description="The rules table: minimum visits per year by ICD-10 prefix.")
    async def supervision_rules(
        self, info: Info, icd10_prefix: str | None = None
    ) -> Connection[SupervisionRule]:
        rows = await SupervisionRuleService(info.context.session).all()
        if icd10_prefix:
            wanted = icd10_prefix.strip().upper()
            rows = [
                row
                for row in rows
                if row.icd10_prefix.startswith(wanted) or wanted.startswith(row.icd10_prefix)
            ]
        page = nested_page(rows, len(rows), ["icd10_prefix"])
        total = len(rows)

        async def count() -> int:
            return total

        return Connection.of(page, SupervisionRule.from_model, count)

    @strawberry.field(
        description="The audit trail, newest first: changes and reads of patients' cards."
    )
    async def audit_events(
        self,
        info: Info,
        filter: AuditEventFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AuditEvent]:
        given = filter or AuditEventFilterInput()
        entity_id = given.entity_id
        if entity_id is not None and not entity_id.node_id.isdigit():
            raise ValidationFailed("must be a global id", field="filter.entityId")
        domain_filter = AuditFilter(
            patient_id=optional_row_id(given.patient_id, "Patient", "filter.patientId"),
            entity_type=entity_id.type_name if entity_id else given.entity_type,
            entity_id=int(entity_id.node_id) if entity_id else None,
            action=given.action,
            actor=given.actor,
            occurred_after=given.occurred_after,
            occurred_before=given.occurred_before,
        )
        page, count = await AuditService(info.context.session).page(
            domain_filter, PageRequest.of(first, after)
        )
        return Connection.of(page, AuditEvent.from_model, count)
