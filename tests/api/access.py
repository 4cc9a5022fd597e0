"""Two insurers and two clinics, and every kind of caller of the first: the world access tests use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
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
from tests.factories import Region, gid, save


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
