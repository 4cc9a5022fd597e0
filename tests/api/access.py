"""Two insurers and two clinics, and every kind of caller of the first: the world access tests use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cases.appeals.models import (
    Appeal,
    AppealChannel,
    AppealKind,
    AppealOutcome,
    AppealStatus,
    AppealSubject,
    ExaminationKind,
    QualityExamination,
)
from cases.audit.models import AuditEvent
from cases.patients.models import Patient
from cases.registry.api_keys import hash_api_key
from cases.registry.models import ApiClient, Insurer, MedicalOrganization, Representative
from cases.reminders.models import (
    InformingEvent,
    InformingMethod,
    InformingOutcome,
    Reminder,
    ReminderStatus,
)
from cases.supervision.models import SupervisionCase, Visit
from cases.worklist.models import WorkItem, WorkItemKind
from core.settings import Settings
from tests.conftest import ADMIN, FUND, RolledBackDatabase, bearer
from tests.factories import Region, gid, save, valid_enp

Ids = dict[str, Any]
RESULT = "__typename ... on UserError { code } ... on Node { id }"
YESTERDAY = (date.today() - timedelta(days=1)).isoformat()


@dataclass
class Tenant:
    insurer: Insurer
    clinic: MedicalOrganization
    representative: Representative
    patient: Patient
    case: SupervisionCase
    visit: Visit
    work_item: WorkItem
    reminder: Reminder
    dead_reminder: Reminder
    appeal: Appeal
    answered_appeal: Appeal
    examination: QualityExamination

    def ids(self) -> dict[str, Any]:
        return {
            "insurer": gid("Insurer", self.insurer.id),
            "clinic": gid("MedicalOrganization", self.clinic.id),
            "representative": gid("Representative", self.representative.id),
            "patient": gid("Patient", self.patient.id),
            "enp": self.patient.enp,
            "insurerCode": self.insurer.code,
            "clinicCode": self.clinic.code,
            "subject": self.representative.subject,
            "appealSubject": self.appeal.subject.name,
            "case": gid("SupervisionCase", self.case.id),
            "visit": gid("Visit", self.visit.id),
            "workItem": gid("WorkItem", self.work_item.id),
            "reminder": gid("Reminder", self.reminder.id),
            "deadReminder": gid("Reminder", self.dead_reminder.id),
            "appeal": gid("Appeal", self.appeal.id),
            "answeredAppeal": gid("Appeal", self.answered_appeal.id),
            "examination": gid("QualityExamination", self.examination.id),
        }


@dataclass
class World:
    own: Tenant
    foreign: Tenant
    # Caller name -> Authorization header; every caller belongs to the `own` tenant.
    callers: dict[str, dict[str, str]]


def api_key_header(key: str) -> dict[str, str]:
    return {"Authorization": f"ApiKey {key}"}


async def tenant(region: Region) -> Tenant:
    insurer, clinic, representative = await region.basics()
    patient = await region.patient(insurer, attached_clinic_id=clinic.id)
    case = await region.case(patient, clinic, representative)
    visit = await region.visit(case, date(2030, 6, 30))
    work_item = WorkItem(
        kind=WorkItemKind.MISSED_VISIT,
        owner_id=representative.id,
        patient_id=patient.id,
        case_id=case.id,
        due_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    audit = AuditEvent(
        actor=f"representative:{representative.id}",
        action="patient.read",
        entity_type="Patient",
        entity_id=patient.id,
        patient_id=patient.id,
        insurer_id=insurer.id,
    )
    await save(region.session, work_item, audit)
    soon = datetime(2030, 6, 1, 6, tzinfo=UTC)
    reminder = await region.reminder(case, visit, soon)
    dead = await region.reminder(case, visit, soon, status=ReminderStatus.DEAD)
    informed = InformingEvent(
        patient_id=patient.id,
        case_id=case.id,
        reminder_id=reminder.id,
        kind="invitation",
        method=InformingMethod.SMS,
        outcome=InformingOutcome.SENT,
    )
    appeal = Appeal(
        insurer_id=insurer.id,
        received_at=soon,
        channel=AppealChannel.EMAIL,
        kind=AppealKind.STATEMENT,
        subject=next(iter(AppealSubject)),
        text="Прошу записать на приём",
        patient_id=patient.id,
        clinic_id=clinic.id,
        registration_due=date(2030, 6, 4),
        answer_due=date(2030, 7, 1),
    )
    answered = Appeal(
        **{
            **appeal.model_dump(exclude={"id"}),
            "status": AppealStatus.ANSWERED,
            "answered_at": soon,
            "answer_text": "Записан на 3 июня",
            "outcome": AppealOutcome.EXPLAINED,
        }
    )
    await save(region.session, informed, appeal, answered)
    examination = QualityExamination(
        insurer_id=insurer.id,
        kind=ExaminationKind.SCHEDULED,
        clinic_id=clinic.id,
        period_start=date(2030, 1, 1),
        period_end=date(2030, 3, 31),
        expert_name="Эксперт",
        ordered_by="test",
        due_on=date(2030, 7, 1),
    )
    await save(region.session, examination)
    return Tenant(
        insurer,
        clinic,
        representative,
        patient,
        case,
        visit,
        work_item,
        reminder,
        dead,
        appeal,
        answered,
        examination,
    )


async def build_world(db: RolledBackDatabase, settings: Settings) -> World:
    async with db.session() as session:
        region = Region(session)
        own, foreign = await tenant(region), await tenant(region)
        staff = {
            name: Representative(
                insurer_id=own.insurer.id,
                level=level,
                is_supervisor=name == "supervisor",
                last_name="Сидорова",
                first_name="Мария",
                subject=f"{name}-{own.insurer.id}",
            )
            for name, level in (("representative_1", 1), ("representative_2", 2), ("supervisor", 3))
        }
        await save(session, *staff.values())
        keys = {
            "clinic_system": ["patients:read", "cases:write", "visits:write"],
            "clinic_without_scopes": [],
        }
        callers = {
            "representative_3": bearer(str(own.representative.subject)),
            **{name: bearer(str(person.subject)) for name, person in staff.items()},
            "territorial_fund": FUND,
            "admin": ADMIN,
        }
        for number, (name, scopes) in enumerate(keys.items()):
            key = f"dsp_k{own.clinic.id}x{number}_secret-{number}"
            await save(
                session,
                ApiClient(
                    clinic_id=own.clinic.id,
                    name=name,
                    key_prefix=f"k{own.clinic.id}x{number}",
                    key_hash=hash_api_key(key, settings.api_key_secret),
                    scopes=scopes,
                ),
            )
            callers[name] = api_key_header(key)
        await session.commit()
    return World(own=own, foreign=foreign, callers=callers)


# For each operation on a tenant's data: a document and its variables for that tenant's ids.
EXAMPLES: dict[str, tuple[str, Callable[[Ids], dict[str, Any]]]] = {
    "Query.node": ("query($id: ID!) { node(id: $id) { id } }", lambda t: {"id": t["patient"]}),
    "Query.patient": (
        "query($id: ID!) { patient(id: $id) { id } }",
        lambda t: {"id": t["patient"]},
    ),
    "Query.patients": (
        "query($s: String) { patients(search: $s) { totalCount } }",
        lambda t: {"s": t["enp"]},
    ),
    "Query.supervisionCase": (
        "query($id: ID!) { supervisionCase(id: $id) { id } }",
        lambda t: {"id": t["case"]},
    ),
    "Query.supervisionCases": (
        "query($p: ID) { supervisionCases(filter: {patientId: $p}) { totalCount } }",
        lambda t: {"p": t["patient"]},
    ),
    "Query.visits": (
        "query($c: ID) { visits(filter: {caseId: $c}) { totalCount } }",
        lambda t: {"c": t["case"]},
    ),
    "Query.worklist": (
        "query($r: ID) { worklist(filter: {representativeId: $r}) { totalCount } }",
        lambda t: {"r": t["representative"]},
    ),
    "Query.auditEvents": (
        "query($p: ID) { auditEvents(filter: {patientId: $p}) { totalCount } }",
        lambda t: {"p": t["patient"]},
    ),
    "Mutation.registerPatient": (
        f"mutation($i: RegisterPatientInput!) {{ registerPatient(input: $i) {{ {RESULT} }} }}",
        lambda t: {
            "i": {
                "enp": valid_enp(900_001),
                "lastName": "Орлова",
                "firstName": "Вера",
                "birthDate": "1950-01-02",
                "sex": "FEMALE",
                "insurerId": t["insurer"],
            }
        },
    ),
    "Mutation.updatePatientContacts": (
        f"mutation($i: UpdatePatientContactsInput!) {{ updatePatientContacts(input: $i) {{ {RESULT} }} }}",
        lambda t: {"i": {"patientId": t["patient"], "version": 1, "email": "a@example.ru"}},
    ),
    "Mutation.setNotificationConsent": (
        "mutation($i: SetNotificationConsentInput!) { setNotificationConsent(input: $i) {"
        " __typename ... on UserError { code } } }",
        lambda t: {
            "i": {"patientId": t["patient"], "channel": "SMS", "granted": False, "method": "call"}
        },
    ),
    "Mutation.openCase": (
        f"mutation($i: OpenCaseInput!) {{ openCase(input: $i) {{ {RESULT} }} }}",
        lambda t: {
            "i": {
                "patientId": t["patient"],
                "icd10": "E11.9",
                "clinicId": t["clinic"],
                "openedOn": YESTERDAY,
            }
        },
    ),
    "Mutation.updateCase": (
        f"mutation($i: UpdateCaseInput!) {{ updateCase(input: $i) {{ {RESULT} }} }}",
        lambda t: {"i": {"caseId": t["case"], "version": 1, "physicianName": "Д-р Лебедев"}},
    ),
    "Mutation.closeCase": (
        f"mutation($i: CloseCaseInput!) {{ closeCase(input: $i) {{ {RESULT} }} }}",
        lambda t: {
            "i": {"caseId": t["case"], "version": 1, "reason": "RECOVERED", "closedOn": YESTERDAY}
        },
    ),
    "Mutation.assignRepresentative": (
        f"mutation($c: ID!, $r: ID!) {{ assignRepresentative(caseId: $c, representativeId: $r) {{ {RESULT} }} }}",
        lambda t: {"c": t["case"], "r": t["representative"]},
    ),
    "Mutation.reassignCases": (
        "mutation($c: [ID!]!, $r: ID!) { reassignCases(caseIds: $c, representativeId: $r) {"
        " __typename ... on UserError { code } } }",
        lambda t: {"c": [t["case"]], "r": t["representative"]},
    ),
    "Mutation.scheduleVisit": (
        f"mutation($i: ScheduleVisitInput!) {{ scheduleVisit(input: $i) {{ {RESULT} }} }}",
        lambda t: {
            "i": {"caseId": t["case"], "windowStart": "2031-01-01", "windowEnd": "2031-01-31"}
        },
    ),
    "Mutation.rescheduleVisit": (
        f"mutation($i: RescheduleVisitInput!) {{ rescheduleVisit(input: $i) {{ {RESULT} }} }}",
        lambda t: {"i": {"visitId": t["visit"], "windowEnd": "2030-07-15"}},
    ),
    "Mutation.cancelVisit": (
        f'mutation($v: ID!) {{ cancelVisit(visitId: $v, reasonCode: "moved") {{ {RESULT} }} }}',
        lambda t: {"v": t["visit"]},
    ),
    "Mutation.recordVisit": (
        f"mutation($i: RecordVisitInput!) {{ recordVisit(input: $i) {{ {RESULT} }} }}",
        lambda t: {"i": visit_report(t)},
    ),
    "Mutation.recordVisits": (
        f"mutation($i: [RecordVisitInput!]!) {{ recordVisits(input: $i) {{ result {{ {RESULT} }} }} }}",
        lambda t: {"i": [visit_report(t)]},
    ),
    "Mutation.logContactAttempt": (
        f"mutation($i: LogContactAttemptInput!) {{ logContactAttempt(input: $i) {{ {RESULT} }} }}",
        lambda t: {
            "i": {
                "patientId": t["patient"],
                "method": "CALL",
                "outcome": "NO_ANSWER",
                "representativeId": t["representative"],
            }
        },
    ),
    "Mutation.startWorkItem": (
        f"mutation($id: ID!) {{ startWorkItem(id: $id) {{ {RESULT} }} }}",
        lambda t: {"id": t["workItem"]},
    ),
    "Query.reminders": (
        "query($p: ID) { reminders(filter: {patientId: $p}) { totalCount } }",
        lambda t: {"p": t["patient"]},
    ),
    "Query.informingEvents": (
        "query($p: ID) { informingEvents(filter: {patientId: $p}) { totalCount } }",
        lambda t: {"p": t["patient"]},
    ),
    "Query.appeals": (
        "query($p: ID) { appeals(filter: {patientId: $p}) { totalCount } }",
        lambda t: {"p": t["patient"]},
    ),
    "Query.qualityExaminations": (
        "query($c: ID) { qualityExaminations(filter: {clinicId: $c}) { totalCount } }",
        lambda t: {"c": t["clinic"]},
    ),
    "Mutation.sendReminderNow": (
        f"mutation($id: ID!) {{ sendReminderNow(id: $id) {{ {RESULT} }} }}",
        lambda t: {"id": t["reminder"]},
    ),
    "Mutation.cancelReminder": (
        f"mutation($id: ID!) {{ cancelReminder(id: $id) {{ {RESULT} }} }}",
        lambda t: {"id": t["reminder"]},
    ),
    "Mutation.retryReminder": (
        f"mutation($id: ID!) {{ retryReminder(id: $id) {{ {RESULT} }} }}",
        lambda t: {"id": t["deadReminder"]},
    ),
    "Mutation.registerAppeal": (
        f"mutation($i: RegisterAppealInput!) {{ registerAppeal(input: $i) {{ {RESULT} }} }}",
        lambda t: {
            "i": {
                "receivedAt": "2026-01-10T10:00:00+03:00",
                "channel": "EMAIL",
                "kind": "STATEMENT",
                "subject": t["appealSubject"],
                "text": "Прошу помочь записаться",
                "patientEnp": t["enp"],
                "clinicId": t["clinic"],
            }
        },
    ),
    "Mutation.assignAppeal": (
        f"mutation($a: ID!, $r: ID!) {{ assignAppeal(appealId: $a, representativeId: $r) {{ {RESULT} }} }}",
        lambda t: {"a": t["appeal"], "r": t["representative"]},
    ),
    "Mutation.extendAppeal": (
        f"mutation($i: ExtendAppealInput!) {{ extendAppeal(input: $i) {{ {RESULT} }} }}",
        lambda t: {"i": {"appealId": t["appeal"], "days": 10, "notice": "letter of 2 June"}},
    ),
    "Mutation.answerAppeal": (
        f"mutation($i: AnswerAppealInput!) {{ answerAppeal(input: $i) {{ {RESULT} }} }}",
        lambda t: {"i": {"appealId": t["appeal"], "text": "Записан", "outcome": "EXPLAINED"}},
    ),
    "Mutation.closeAppeal": (
        f"mutation($a: ID!) {{ closeAppeal(appealId: $a) {{ {RESULT} }} }}",
        lambda t: {"a": t["answeredAppeal"]},
    ),
    "Mutation.orderQualityExamination": (
        "mutation($i: OrderQualityExaminationInput!) { orderQualityExamination(input: $i) {"
        f" {RESULT} }} }}",
        lambda t: {
            "i": {
                "kind": "SCHEDULED",
                "clinicId": t["clinic"],
                "periodStart": "2026-01-01",
                "periodEnd": "2026-03-31",
                "expertName": "Эксперт",
                "dueOn": "2030-01-01",
                "caseIds": [t["case"]],
            }
        },
    ),
    "Mutation.completeQualityExamination": (
        "mutation($i: CompleteQualityExaminationInput!) { completeQualityExamination(input: $i) {"
        f" {RESULT} }} }}",
        lambda t: {"i": {"examinationId": t["examination"], "outcome": "NO_VIOLATIONS"}},
    ),
    "Query.representatives": (
        "query($i: ID) { representatives(filter: {insurerId: $i}) { totalCount } }",
        lambda t: {"i": t["insurer"]},
    ),
    "Mutation.registerRepresentative": (
        "mutation($i: RegisterRepresentativeInput!) { registerRepresentative(input: $i) {"
        f" {RESULT} }} }}",
        lambda t: {
            "i": {"insurerId": t["insurer"], "level": 3, "lastName": "Котова", "firstName": "Ия"}
        },
    ),
    "Mutation.updateRepresentative": (
        "mutation($i: UpdateRepresentativeInput!) { updateRepresentative(input: $i) {"
        f" {RESULT} }} }}",
        lambda t: {"i": {"representativeId": t["representative"], "phone": "+7 912 000-00-01"}},
    ),
    "Mutation.deactivateRepresentative": (
        f"mutation($r: ID!) {{ deactivateRepresentative(representativeId: $r) {{ {RESULT} }} }}",
        lambda t: {"r": t["representative"]},
    ),
    "Mutation.linkRepresentativeLogin": (
        "mutation($r: ID!, $s: String!) { linkRepresentativeLogin(representativeId: $r, subject: $s) {"
        f" {RESULT} }} }}",
        lambda t: {"r": t["representative"], "s": f"new-login-{t['representative']}"},
    ),
    "Mutation.unlinkRepresentativeLogin": (
        f"mutation($r: ID!) {{ unlinkRepresentativeLogin(representativeId: $r) {{ {RESULT} }} }}",
        lambda t: {"r": t["representative"]},
    ),
    "Mutation.setDeskHours": (
        "mutation($r: ID!, $d: [DeskHoursInput!]!) { setDeskHours(representativeId: $r, desks: $d) {"
        f" {RESULT} }} }}",
        lambda t: {
            "r": t["representative"],
            "d": [
                {
                    "clinicId": t["clinic"],
                    "weekday": 0,
                    "startsAt": "09:00:00",
                    "endsAt": "12:00:00",
                }
            ],
        },
    ),
    "Mutation.resolveWorkItem": (
        f'mutation($id: ID!) {{ resolveWorkItem(id: $id, resolution: "called") {{ {RESULT} }} }}',
        lambda t: {"id": t["workItem"]},
    ),
}


def visit_report(t: Ids) -> dict[str, Any]:
    return {
        "caseId": t["case"],
        "clinicId": t["clinic"],
        "externalId": "mis-1",
        "attended": True,
        "visitDate": YESTERDAY,
    }
