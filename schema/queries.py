"""Root query fields; each is a thin call into a `cases` service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta

import strawberry
from strawberry import relay

from cases.appeals.examinations import QualityExaminationService
from cases.appeals.models import AppealKind, AppealStatus, ExaminationStatus
from cases.appeals.repository import AppealFilter, AppealOrder, ExaminationFilter
from cases.appeals.service import AppealService
from cases.audit.repository import AuditFilter
from cases.audit.service import AuditService
from cases.kit.actor import Role
from cases.kit.columns import utcnow
from cases.kit.errors import PermissionDenied, ValidationFailed
from cases.kit.paging import PageRequest, build_page
from cases.patients.models import Channel
from cases.patients.repository import PatientFilter, PatientOrder
from cases.patients.service import PatientService
from cases.registry.service import InsurerService
from cases.reminders.models import ReminderKind, ReminderStatus
from cases.reminders.operations import PostalBatches, ReminderOperations
from cases.reminders.repository import InformingFilter, ReminderFilter
from cases.statistics.service import Period, StatisticsService
from cases.supervision.models import CaseStatus, VisitStatus
from cases.supervision.repository import CaseFilter, CaseOrder, VisitFilter
from cases.supervision.rules import SupervisionRuleService
from cases.supervision.service import SupervisionService
from cases.worklist.models import WorkItemKind
from cases.worklist.repository import WorkItemFilter
from cases.worklist.service import WorkItemService
from schema.ids import optional_row_id, row_id
from schema.relations import constant_count, nested_page
from schema.relay import Connection
from schema.types import (
    Appeal,
    AuditEvent,
    Info,
    InformingEvent,
    Insurer,
    LetterBatch,
    Me,
    Patient,
    QualityExamination,
    Reminder,
    ReminderCounts,
    Statistics,
    SupervisionCase,
    SupervisionRule,
    Visit,
    WorkItem,
)

strawberry.enum(CaseOrder, name="SupervisionCaseOrderField")

LETTER_BATCH_DAYS = 31


@strawberry.type
class ReminderConnection(Connection[Reminder]):
    counts_by_status: strawberry.Private[
        Callable[[], Awaitable[dict[ReminderStatus, int]]] | None
    ] = None

    @strawberry.field(
        description="Reminders matching the filter in each status (status filter aside)."
    )
    async def counts(self) -> ReminderCounts:
        assert self.counts_by_status is not None
        counts = await self.counts_by_status()
        return ReminderCounts(**{status.value: count for status, count in counts.items()})


@strawberry.input
class ReminderFilterInput:
    statuses: list[ReminderStatus] | None = None
    patient_id: relay.GlobalID | None = None
    case_id: relay.GlobalID | None = None
    channel: Channel | None = None
    kind: ReminderKind | None = None
    scheduled_from: datetime | None = None
    scheduled_before: datetime | None = None


@strawberry.input
class InformingFilterInput:
    patient_id: relay.GlobalID | None = None
    case_id: relay.GlobalID | None = None
    since: datetime | None = None
    before: datetime | None = None


strawberry.enum(PatientOrder, name="PatientOrderField")
strawberry.enum(AppealOrder, name="AppealOrderField")


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
        query = InsurerService(info.context.session).page_query(PageRequest.of(first, after))
        return Connection.listed(info, query, Insurer.from_model)

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
        query = PatientService(info.context.session).page_query(
            domain_filter, PageRequest.of(first, after), order.field, order.descending
        )
        return Connection.listed(info, query, Patient.from_model)

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
        query = WorkItemService(info.context.session).page_query(
            WorkItemFilter(owner_id=owner, kinds=tuple(given.kinds or ())),
            PageRequest.of(first, after),
        )
        return Connection.listed(info, query, WorkItem.from_model)

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
        return Connection.of(page, SupervisionRule.from_model, lambda: constant_count(len(rows)))

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
        query = AuditService(info.context.session).page_query(
            domain_filter, PageRequest.of(first, after)
        )
        return Connection.listed(info, query, AuditEvent.from_model)

    @strawberry.field(
        description="The outbox for operators: reminders latest first, with counts by status; "
        "dead letters are `statuses: [DEAD]`."
    )
    async def reminders(
        self,
        info: Info,
        filter: ReminderFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> ReminderConnection:
        given = filter or ReminderFilterInput()
        domain_filter = ReminderFilter(
            statuses=tuple(given.statuses or ()),
            patient_id=optional_row_id(given.patient_id, "Patient", "filter.patientId"),
            case_id=optional_row_id(given.case_id, "SupervisionCase", "filter.caseId"),
            channel=given.channel,
            kind=given.kind,
            scheduled_from=given.scheduled_from,
            scheduled_before=given.scheduled_before,
        )
        operations = ReminderOperations(info.context.session)
        query = operations.page_query(domain_filter, PageRequest.of(first, after))
        connection = ReminderConnection.listed(info, query, Reminder.from_model)
        connection.counts_by_status = lambda: operations.counts(domain_filter)
        return connection

    @strawberry.field(
        description="Informing events (each attempt: type, method, date), latest first, "
        "per patient or per case."
    )
    async def informing_events(
        self,
        info: Info,
        filter: InformingFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[InformingEvent]:
        given = filter or InformingFilterInput()
        domain_filter = InformingFilter(
            patient_id=optional_row_id(given.patient_id, "Patient", "filter.patientId"),
            case_id=optional_row_id(given.case_id, "SupervisionCase", "filter.caseId"),
            since=given.since,
            before=given.before,
        )
        query = ReminderOperations(info.context.session).informing_page_query(
            domain_filter, PageRequest.of(first, after)
        )
        return Connection.listed(info, query, InformingEvent.from_model)

    @strawberry.field(
        description=f"Daily batches of postal letters, latest first (the last {LETTER_BATCH_DAYS} days "
        "unless `since` says otherwise); each is a CSV file to download."
    )
    async def letter_batches(
        self,
        info: Info,
        since: date | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[LetterBatch]:
        zone = info.context.request.app.state.settings.zone
        start = since or (utcnow().astimezone(zone).date() - timedelta(days=LETTER_BATCH_DAYS))
        request = PageRequest.of(first, after)
        days = await PostalBatches(info.context.session, zone).days(start)
        if request.after is not None:
            last = date.fromisoformat(str(request.after[0]))
            days = [(day, count) for day, count in days if day < last]
        batches = [
            LetterBatch(day=day, letters=count, download_path=f"/letters/{day.isoformat()}.csv")
            for day, count in days
        ]
        page = build_page(batches[: request.first + 1], lambda b: [b.day.isoformat()], request)
        return Connection.of(page, lambda batch: batch, lambda: constant_count(len(days)))

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

    @strawberry.field(description="Figures of a period (local dates, at most 366 days).")
    async def statistics(
        self,
        info: Info,
        period_start: date,
        period_end: date,
        insurer_id: relay.GlobalID | None = None,
        clinic_id: relay.GlobalID | None = None,
    ) -> Statistics:
        figures = await StatisticsService(
            info.context.session, info.context.rules.default_zone
        ).compute(
            Period(period_start, period_end),
            insurer_id=optional_row_id(insurer_id, "Insurer", "insurerId"),
            clinic_id=optional_row_id(clinic_id, "MedicalOrganization", "clinicId"),
        )
        return Statistics.of(figures)
