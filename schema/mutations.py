"""Root mutation fields: decode input, call one service method in a savepoint, return a union."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry import relay

from cases.appeals.examinations import ExaminationOrder, QualityExaminationService
from cases.appeals.models import (
    AppealChannel,
    AppealKind,
    AppealOutcome,
    AppealSubject,
    ExaminationKind,
    ExaminationOutcome,
    ExaminationReason,
)
from cases.appeals.service import AppealDraft, AppealService
from cases.kit.errors import ValidationFailed
from cases.patients.models import Channel, Sex
from cases.patients.service import PatientDraft, PatientService
from cases.registry.service import InsurerService
from cases.reminders.operations import ReminderOperations
from cases.supervision.models import CaseSource, CloseReason
from cases.supervision.rules import SupervisionRuleService
from cases.supervision.service import MAX_BATCH, SupervisionService
from cases.worklist.models import ContactMethod, ContactOutcome
from cases.worklist.service import WorkItemService
from schema.context import Context
from schema.errors import (
    ConflictError,
    InvalidStateError,
    NotFoundError,
    PermissionDeniedError,
    UserError,
    ValidationError,
    run_mutation,
)
from schema.ids import optional_row_id, row_id
from schema.types import (
    Appeal,
    ContactAttempt,
    Info,
    Insurer,
    NotificationConsent,
    Patient,
    QualityExamination,
    Reminder,
    SupervisionCase,
    SupervisionRule,
    Visit,
    WorkItem,
)

T = TypeVar("T")


async def mutate(
    info: Info, change: Callable[[Context], Awaitable[Any]], to_type: Callable[[Any], T]
) -> Any:
    """The one path of every mutation: a savepoint, the service call, a typed result.

    Returns the success type or a UserError member; strawberry checks it against the union.
    """
    context = info.context
    result = await run_mutation(context.session, lambda: change(context))
    return result if isinstance(result, UserError) else to_type(result)


Errors = ValidationError | NotFoundError | ConflictError | InvalidStateError | PermissionDeniedError

RegisterInsurerResult = Annotated[Insurer | Errors, strawberry.union("RegisterInsurerResult")]
PatientResult = Annotated[Patient | Errors, strawberry.union("PatientResult")]
ConsentResult = Annotated[NotificationConsent | Errors, strawberry.union("ConsentResult")]
CaseResult = Annotated[SupervisionCase | Errors, strawberry.union("SupervisionCaseResult")]
VisitResult = Annotated[Visit | Errors, strawberry.union("VisitResult")]
WorkItemResult = Annotated[WorkItem | Errors, strawberry.union("WorkItemResult")]
ContactAttemptResult = Annotated[ContactAttempt | Errors, strawberry.union("ContactAttemptResult")]
RuleResult = Annotated[SupervisionRule | Errors, strawberry.union("SupervisionRuleResult")]
ReminderResult = Annotated[Reminder | Errors, strawberry.union("ReminderResult")]
AppealResult = Annotated[Appeal | Errors, strawberry.union("AppealResult")]
ExaminationResult = Annotated[
    QualityExamination | Errors, strawberry.union("QualityExaminationResult")
]


@strawberry.type
class ReassignedCases:
    cases: list[SupervisionCase]


ReassignResult = Annotated[ReassignedCases | Errors, strawberry.union("ReassignCasesResult")]


@strawberry.input
class RegisterInsurerInput:
    registry_code: str = strawberry.field(description="Registry code of the СМО, e.g. VTB-MS.")
    name: str
    hotline_phone: str | None = strawberry.field(
        default=None, description="Any usual Russian written form; stored as E.164."
    )


@strawberry.input
class RegisterPatientInput:
    enp: str = strawberry.field(description="ЕНП: 16 digits, the last a Luhn check digit.")
    last_name: str
    first_name: str
    middle_name: str | None = None
    birth_date: date
    sex: Sex
    insurer_id: relay.GlobalID
    snils: str | None = None
    phone: str | None = strawberry.field(
        default=None, description="Any usual written form, e.g. 8 (8652) 56-06-68."
    )
    phone_extra: str | None = None
    email: str | None = None
    postal_address: str | None = None
    time_zone: str | None = strawberry.field(
        default=None, description="IANA zone, e.g. Europe/Moscow."
    )
    attached_clinic_id: relay.GlobalID | None = None


@strawberry.input
class UpdatePatientContactsInput:
    patient_id: relay.GlobalID
    version: int = strawberry.field(description="The version the client saw.")
    phone: str | None = strawberry.UNSET
    phone_extra: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    postal_address: str | None = strawberry.UNSET
    time_zone: str | None = strawberry.UNSET


@strawberry.input
class SetNotificationConsentInput:
    patient_id: relay.GlobalID
    channel: Channel
    granted: bool
    method: str = strawberry.field(
        description="How it was given or withdrawn, e.g. 'written form'."
    )


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


@strawberry.input
class UpdateCaseInput:
    case_id: relay.GlobalID
    version: int
    icd10: str | None = None
    physician_name: str | None = None
    visits_per_year: int | None = None


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


@strawberry.type
class RecordVisitsItem:
    index: int
    external_id: str
    result: VisitResult


@strawberry.input
class LogContactAttemptInput:
    patient_id: relay.GlobalID
    method: ContactMethod
    outcome: ContactOutcome
    note: str | None = None
    case_id: relay.GlobalID | None = None
    work_item_id: relay.GlobalID | None = None
    representative_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Needed only when the caller is not a representative."
    )


@strawberry.input
class SupervisionRuleInput:
    icd10_prefix: str
    min_visits_per_year: int
    specialty: str
    source: str
    verified: bool = False


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


def _capped(ids: list[relay.GlobalID], type_name: str, field: str) -> list[int]:
    if len(ids) > MAX_BATCH:
        raise ValidationFailed(f"at most {MAX_BATCH} items", field=field)
    return [row_id(id_, type_name, field) for id_ in ids]


def _given(value: T | None) -> bool:
    return value is not strawberry.UNSET


async def _record_visit(context: Context, input: RecordVisitInput) -> Any:
    return await SupervisionService(context.session, context.rules).record_visit(
        context.actor,
        clinic_id=row_id(input.clinic_id, "MedicalOrganization", "clinicId"),
        case_id=row_id(input.case_id, "SupervisionCase", "caseId"),
        external_id=input.external_id,
        attended=input.attended,
        visit_date=input.visit_date,
        visit_id=optional_row_id(input.visit_id, "Visit", "visitId"),
    )


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def register_insurer(
        self, info: Info, input: RegisterInsurerInput
    ) -> RegisterInsurerResult:
        return await mutate(
            info,
            lambda c: InsurerService(c.session).register(
                c.actor,
                code=input.registry_code,
                name=input.name,
                hotline_phone=input.hotline_phone,
            ),
            Insurer.from_model,
        )

    @strawberry.mutation
    async def register_patient(self, info: Info, input: RegisterPatientInput) -> PatientResult:
        async def change(c: Context) -> Any:
            draft = PatientDraft(
                enp=input.enp,
                last_name=input.last_name,
                first_name=input.first_name,
                middle_name=input.middle_name,
                birth_date=input.birth_date,
                sex=input.sex,
                insurer_id=row_id(input.insurer_id, "Insurer", "insurerId"),
                snils=input.snils,
                phone=input.phone,
                phone_extra=input.phone_extra,
                email=input.email,
                postal_address=input.postal_address,
                time_zone=input.time_zone,
                attached_clinic_id=optional_row_id(
                    input.attached_clinic_id, "MedicalOrganization", "attachedClinicId"
                ),
            )
            return await PatientService(c.session, c.rules).register(c.actor, draft)

        return await mutate(info, change, Patient.from_model)

    @strawberry.mutation(description="Change contact data; fields left out stay, null clears.")
    async def update_patient_contacts(
        self, info: Info, input: UpdatePatientContactsInput
    ) -> PatientResult:
        changes = {
            name: getattr(input, name)
            for name in ("phone", "phone_extra", "email", "postal_address", "time_zone")
            if _given(getattr(input, name))
        }

        async def change(c: Context) -> Any:
            patient_id = row_id(input.patient_id, "Patient", "patientId")
            return await PatientService(c.session, c.rules).update_contacts(
                c.actor, patient_id, input.version, changes
            )

        return await mutate(info, change, Patient.from_model)

    @strawberry.mutation
    async def set_notification_consent(
        self, info: Info, input: SetNotificationConsentInput
    ) -> ConsentResult:
        return await mutate(
            info,
            lambda c: PatientService(c.session, c.rules).set_consent(
                c.actor,
                row_id(input.patient_id, "Patient", "patientId"),
                input.channel,
                input.granted,
                input.method,
            ),
            NotificationConsent.from_model,
        )

    @strawberry.mutation(description="Open a case and plan its visits per the rules.")
    async def open_case(self, info: Info, input: OpenCaseInput) -> CaseResult:
        return await mutate(
            info,
            lambda c: SupervisionService(c.session, c.rules).open(
                c.actor,
                patient_id=row_id(input.patient_id, "Patient", "patientId"),
                icd10=input.icd10,
                clinic_id=row_id(input.clinic_id, "MedicalOrganization", "clinicId"),
                opened_on=input.opened_on,
                physician_name=input.physician_name,
                visits_per_year=input.visits_per_year,
                representative_id=optional_row_id(
                    input.representative_id, "Representative", "representativeId"
                ),
                source=input.source,
            ),
            SupervisionCase.from_model,
        )

    @strawberry.mutation
    async def update_case(self, info: Info, input: UpdateCaseInput) -> CaseResult:
        return await mutate(
            info,
            lambda c: SupervisionService(c.session, c.rules).update(
                c.actor,
                row_id(input.case_id, "SupervisionCase", "caseId"),
                input.version,
                icd10=input.icd10,
                physician_name=input.physician_name,
                visits_per_year=input.visits_per_year,
            ),
            SupervisionCase.from_model,
        )

    @strawberry.mutation(
        description="Close a case; its future visits and pending reminders are cancelled."
    )
    async def close_case(self, info: Info, input: CloseCaseInput) -> CaseResult:
        return await mutate(
            info,
            lambda c: SupervisionService(c.session, c.rules).close(
                c.actor,
                row_id(input.case_id, "SupervisionCase", "caseId"),
                input.version,
                input.reason,
                input.closed_on,
            ),
            SupervisionCase.from_model,
        )

    @strawberry.mutation
    async def assign_representative(
        self, info: Info, case_id: relay.GlobalID, representative_id: relay.GlobalID
    ) -> CaseResult:
        async def change(c: Context) -> Any:
            cases = await SupervisionService(c.session, c.rules).assign(
                c.actor,
                [row_id(case_id, "SupervisionCase", "caseId")],
                row_id(representative_id, "Representative", "representativeId"),
            )
            return cases[0]

        return await mutate(info, change, SupervisionCase.from_model)

    @strawberry.mutation(
        description=f"Give up to {MAX_BATCH} cases to one representative, all or none."
    )
    async def reassign_cases(
        self, info: Info, case_ids: list[relay.GlobalID], representative_id: relay.GlobalID
    ) -> ReassignResult:
        async def change(c: Context) -> Any:
            if len(case_ids) > MAX_BATCH:
                raise ValidationFailed(f"at most {MAX_BATCH} cases at a time", field="caseIds")
            return await SupervisionService(c.session, c.rules).assign(
                c.actor,
                [row_id(id_, "SupervisionCase", "caseIds") for id_ in case_ids],
                row_id(representative_id, "Representative", "representativeId"),
            )

        return await mutate(
            info,
            change,
            lambda cases: ReassignedCases(
                cases=[SupervisionCase.from_model(case) for case in cases]
            ),
        )

    @strawberry.mutation
    async def schedule_visit(self, info: Info, input: ScheduleVisitInput) -> VisitResult:
        return await mutate(
            info,
            lambda c: SupervisionService(c.session, c.rules).schedule_visit(
                c.actor,
                row_id(input.case_id, "SupervisionCase", "caseId"),
                input.window_start,
                input.window_end,
                input.appointment_at,
            ),
            Visit.from_model,
        )

    @strawberry.mutation
    async def reschedule_visit(self, info: Info, input: RescheduleVisitInput) -> VisitResult:
        return await mutate(
            info,
            lambda c: SupervisionService(c.session, c.rules).reschedule_visit(
                c.actor,
                row_id(input.visit_id, "Visit", "visitId"),
                input.window_start,
                input.window_end,
                input.appointment_at,
            ),
            Visit.from_model,
        )

    @strawberry.mutation
    async def cancel_visit(
        self, info: Info, visit_id: relay.GlobalID, reason_code: str
    ) -> VisitResult:
        return await mutate(
            info,
            lambda c: SupervisionService(c.session, c.rules).cancel_visit(
                c.actor, row_id(visit_id, "Visit", "visitId"), reason_code
            ),
            Visit.from_model,
        )

    @strawberry.mutation(description="A clinic's report of one visit; idempotent by external id.")
    async def record_visit(self, info: Info, input: RecordVisitInput) -> VisitResult:
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

            result = await mutate(info, change, Visit.from_model)
            items.append(RecordVisitsItem(index=index, external_id=item.external_id, result=result))
        return items

    @strawberry.mutation
    async def log_contact_attempt(
        self, info: Info, input: LogContactAttemptInput
    ) -> ContactAttemptResult:
        return await mutate(
            info,
            lambda c: WorkItemService(c.session).log_contact_attempt(
                c.actor,
                patient_id=row_id(input.patient_id, "Patient", "patientId"),
                method=input.method,
                outcome=input.outcome,
                note=input.note,
                case_id=optional_row_id(input.case_id, "SupervisionCase", "caseId"),
                work_item_id=optional_row_id(input.work_item_id, "WorkItem", "workItemId"),
                representative_id=optional_row_id(
                    input.representative_id, "Representative", "representativeId"
                ),
            ),
            ContactAttempt.from_model,
        )

    @strawberry.mutation
    async def start_work_item(self, info: Info, id: relay.GlobalID) -> WorkItemResult:
        return await mutate(
            info,
            lambda c: WorkItemService(c.session).start(c.actor, row_id(id, "WorkItem", "id")),
            WorkItem.from_model,
        )

    @strawberry.mutation
    async def resolve_work_item(
        self, info: Info, id: relay.GlobalID, resolution: str
    ) -> WorkItemResult:
        return await mutate(
            info,
            lambda c: WorkItemService(c.session).resolve(
                c.actor, row_id(id, "WorkItem", "id"), resolution
            ),
            WorkItem.from_model,
        )

    @strawberry.mutation(description="Administrators only: add or change a row of the rules table.")
    async def update_supervision_rule(self, info: Info, input: SupervisionRuleInput) -> RuleResult:
        return await mutate(
            info,
            lambda c: SupervisionRuleService(c.session).upsert(
                c.actor,
                icd10_prefix=input.icd10_prefix,
                min_visits_per_year=input.min_visits_per_year,
                specialty=input.specialty,
                source=input.source,
                verified=input.verified,
            ),
            SupervisionRule.from_model,
        )

    @strawberry.mutation(
        description="Make a pending reminder due now; the next dispatch (within a minute) sends it, "
        "inside the patient's waking hours."
    )
    async def send_reminder_now(self, info: Info, id: relay.GlobalID) -> ReminderResult:
        return await mutate(
            info,
            lambda c: ReminderOperations(c.session).send_now(c.actor, row_id(id, "Reminder", "id")),
            Reminder.from_model,
        )

    @strawberry.mutation(description="Cancel a pending or queued reminder.")
    async def cancel_reminder(self, info: Info, id: relay.GlobalID) -> ReminderResult:
        return await mutate(
            info,
            lambda c: ReminderOperations(c.session).cancel(c.actor, row_id(id, "Reminder", "id")),
            Reminder.from_model,
        )

    @strawberry.mutation(
        description="Put a dead or failed reminder back in the outbox, due now, with a fresh retry budget."
    )
    async def retry_reminder(self, info: Info, id: relay.GlobalID) -> ReminderResult:
        return await mutate(
            info,
            lambda c: ReminderOperations(c.session).retry(c.actor, row_id(id, "Reminder", "id")),
            Reminder.from_model,
        )

    @strawberry.mutation(description="Register an appeal; its deadlines follow 59-ФЗ.")
    async def register_appeal(self, info: Info, input: RegisterAppealInput) -> AppealResult:
        async def change(c: Context) -> Any:
            draft = AppealDraft(
                received_at=input.received_at,
                channel=input.channel,
                kind=input.kind,
                subject=input.subject,
                text=input.text,
                patient_enp=input.patient_enp,
                clinic_id=optional_row_id(input.clinic_id, "MedicalOrganization", "clinicId"),
                case_id=optional_row_id(input.case_id, "SupervisionCase", "caseId"),
                insurer_id=optional_row_id(input.insurer_id, "Insurer", "insurerId"),
            )
            return await AppealService(c.session, c.rules).register(c.actor, draft)

        return await mutate(info, change, Appeal.from_model)

    @strawberry.mutation(description="Give an appeal to a third-level representative.")
    async def assign_appeal(
        self, info: Info, appeal_id: relay.GlobalID, representative_id: relay.GlobalID
    ) -> AppealResult:
        return await mutate(
            info,
            lambda c: AppealService(c.session, c.rules).assign(
                c.actor,
                row_id(appeal_id, "Appeal", "appealId"),
                row_id(representative_id, "Representative", "representativeId"),
            ),
            Appeal.from_model,
        )

    @strawberry.mutation(description="Extend the answer deadline once, by up to 30 days.")
    async def extend_appeal(self, info: Info, input: ExtendAppealInput) -> AppealResult:
        return await mutate(
            info,
            lambda c: AppealService(c.session, c.rules).extend(
                c.actor, row_id(input.appeal_id, "Appeal", "appealId"), input.days, input.notice
            ),
            Appeal.from_model,
        )

    @strawberry.mutation
    async def answer_appeal(self, info: Info, input: AnswerAppealInput) -> AppealResult:
        return await mutate(
            info,
            lambda c: AppealService(c.session, c.rules).answer(
                c.actor, row_id(input.appeal_id, "Appeal", "appealId"), input.text, input.outcome
            ),
            Appeal.from_model,
        )

    @strawberry.mutation
    async def close_appeal(self, info: Info, appeal_id: relay.GlobalID) -> AppealResult:
        return await mutate(
            info,
            lambda c: AppealService(c.session, c.rules).close(
                c.actor, row_id(appeal_id, "Appeal", "appealId")
            ),
            Appeal.from_model,
        )

    @strawberry.mutation
    async def order_quality_examination(
        self, info: Info, input: OrderQualityExaminationInput
    ) -> ExaminationResult:
        async def change(c: Context) -> Any:
            order = ExaminationOrder(
                kind=input.kind,
                reason=input.reason,
                clinic_id=row_id(input.clinic_id, "MedicalOrganization", "clinicId"),
                period_start=input.period_start,
                period_end=input.period_end,
                expert_name=input.expert_name,
                due_on=input.due_on,
                appeal_id=optional_row_id(input.appeal_id, "Appeal", "appealId"),
                case_ids=_capped(input.case_ids, "SupervisionCase", "caseIds"),
                visit_ids=_capped(input.visit_ids, "Visit", "visitIds"),
                insurer_id=optional_row_id(input.insurer_id, "Insurer", "insurerId"),
            )
            return await QualityExaminationService(c.session, c.rules).order(c.actor, order)

        return await mutate(info, change, QualityExamination.from_model)

    @strawberry.mutation
    async def complete_quality_examination(
        self, info: Info, input: CompleteQualityExaminationInput
    ) -> ExaminationResult:
        return await mutate(
            info,
            lambda c: QualityExaminationService(c.session, c.rules).complete(
                c.actor,
                row_id(input.examination_id, "QualityExamination", "examinationId"),
                violation_codes=input.violation_codes,
                findings=input.findings,
                outcome=input.outcome,
            ),
            QualityExamination.from_model,
        )
