"""Small builders of valid domain rows for tests, in the database and through the API, and the
global ids of rows as a client writes them."""

from __future__ import annotations

import base64
import itertools
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from cases.appeals.models import (
    Appeal,
    AppealChannel,
    AppealKind,
    AppealOutcome,
    AppealStatus,
    AppealSubject,
    ExaminationKind,
    ExaminationOutcome,
    ExaminationStatus,
    QualityExamination,
)
from cases.kit.validation import enp_check_digit, name_search_key
from cases.patients.models import Channel, NotificationConsent, Patient, Sex
from cases.registry.models import Insurer, MedicalOrganization, Representative
from cases.reminders.models import Reminder, ReminderKind, ReminderStatus
from cases.supervision.models import CloseReason, SupervisionCase, Visit, VisitStatus
from cases.worklist.models import (
    ContactAttempt,
    ContactMethod,
    ContactOutcome,
    WorkItem,
    WorkItemKind,
)

if TYPE_CHECKING:
    from tests.conftest import GraphQLClient, RolledBackDatabase

_numbers = itertools.count(1)


# Zones `daytime_zone` tries: Russian ones first, then one of every whole offset, so that
# any instant falls inside the waking hours of one of them.
_DAYTIME_ZONES = (
    "Europe/Moscow",
    "Asia/Vladivostok",
    *(f"Etc/GMT{-offset:+d}" for offset in range(-12, 15)),
)


def daytime_zone(now: datetime) -> str:
    """A time zone where `now` falls well inside the waking hours that reminders respect
    (10:00 to 19:00 local time)."""
    if now.utcoffset() is None:
        raise ValueError(f"daytime_zone needs an aware instant, got {now!r}")
    for name in _DAYTIME_ZONES:
        if 10 <= now.astimezone(ZoneInfo(name)).hour < 19:
            return name
    raise LookupError(f"no zone of {_DAYTIME_ZONES} has {now.isoformat()} between 10:00 and 19:00")


def valid_enp(number: int) -> str:
    first15 = f"{number:015d}"
    return first15 + enp_check_digit(first15)


async def save(session: AsyncSession, *rows: Any) -> None:
    session.add_all(rows)
    await session.flush()


class Region:
    """An insurer, a clinic and a third-level representative, made on demand."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def basics(self) -> tuple[Insurer, MedicalOrganization, Representative]:
        n = next(_numbers)
        insurer = Insurer(code=f"SMO-{n}", name=f"СМО {n}")
        clinic = MedicalOrganization(code=f"{260000 + n}", name=f"Поликлиника № {n}")
        await save(self.session, insurer, clinic)
        representative = Representative(
            insurer_id=insurer.id,
            level=3,
            last_name="Петрова",
            first_name="Анна",
            subject=f"representative-{n}",
        )
        await save(self.session, representative)
        return insurer, clinic, representative

    async def patient(self, insurer: Insurer, **fields: Any) -> Patient:
        n = next(_numbers)
        values: dict[str, Any] = {
            "enp": valid_enp(n),
            "last_name": "Иванов",
            "first_name": "Пётр",
            "middle_name": "Сергеевич",
            "search_name": name_search_key("Иванов", "Пётр", "Сергеевич"),
            "birth_date": date(1960, 5, 17),
            "sex": Sex.MALE,
            "insurer_id": insurer.id,
        }
        values.update(fields)
        patient = Patient(**values)
        await save(self.session, patient)
        return patient

    async def case(
        self,
        patient: Patient,
        clinic: MedicalOrganization,
        representative: Representative | None,
        **fields: Any,
    ) -> SupervisionCase:
        values: dict[str, Any] = {
            "patient_id": patient.id,
            "icd10": "I10",
            "clinic_id": clinic.id,
            "opened_on": date(2024, 1, 10),
            "visits_per_year": 2,
            "representative_id": representative.id if representative else None,
        }
        values.update(fields)
        case = SupervisionCase(**values)
        await save(self.session, case)
        return case

    async def visit(
        self, case: SupervisionCase, window_end: date, status: VisitStatus = VisitStatus.PLANNED
    ) -> Visit:
        visit = Visit(
            case_id=case.id,
            clinic_id=case.clinic_id,
            window_start=window_end - timedelta(days=30),
            window_end=window_end,
            status=status,
            attended_on=window_end if status is VisitStatus.ATTENDED else None,
        )
        await save(self.session, visit)
        return visit

    async def reminder(
        self,
        case: SupervisionCase,
        visit: Visit | None,
        scheduled_for: datetime,
        channel: Channel = Channel.SMS,
        kind: ReminderKind = ReminderKind.INVITATION,
        status: ReminderStatus = ReminderStatus.PENDING,
    ) -> Reminder:
        reminder = Reminder(
            patient_id=case.patient_id,
            case_id=case.id,
            visit_id=visit.id if visit else None,
            kind=kind,
            channel=channel,
            template=kind.value,
            scheduled_for=scheduled_for,
            status=status,
            idempotency_key=f"test:{next(_numbers)}:{kind.value}",
        )
        await save(self.session, reminder)
        return reminder

    async def appeal(self, insurer: Insurer, answer_due: date, **fields: Any) -> Appeal:
        """An appeal registered 30 days before `answer_due` (dates as the service computes them)."""
        registered = answer_due - timedelta(days=30)
        values: dict[str, Any] = {
            "insurer_id": insurer.id,
            "received_at": datetime(
                registered.year, registered.month, registered.day, 9, tzinfo=UTC
            ),
            "registered_at": datetime(
                registered.year, registered.month, registered.day, 10, tzinfo=UTC
            ),
            "channel": AppealChannel.LETTER,
            "kind": AppealKind.STATEMENT,
            "subject": AppealSubject.ACCESS_TO_CARE,
            "text": "Прошу разъяснить порядок записи к врачу.",
            "registration_due": registered + timedelta(days=3),
            "answer_due": answer_due,
            "status": AppealStatus.REGISTERED,
        }
        values.update(fields)
        appeal = Appeal(**values)
        await save(self.session, appeal)
        return appeal


def gid(type_name: str, id_: int | None) -> str:
    """The global id of a row, as a client writes it."""
    return base64.b64encode(f"{type_name}:{id_}".encode()).decode()


MOSCOW = ZoneInfo("Europe/Moscow")
# The day `reminder_for`'s reminders are about: their visit's window ends twenty days later.
DAY = date(2026, 11, 23)


async def reminder_for(
    session: AsyncSession,
    scheduled_for: datetime,
    *,
    zone: ZoneInfo = MOSCOW,
    channel: Channel = Channel.SMS,
    kind: ReminderKind = ReminderKind.INVITATION,
    status: ReminderStatus = ReminderStatus.QUEUED,
    **patient: Any,
) -> Reminder:
    """A reminder due at `scheduled_for`, of a new patient's planned visit whose window ends
    twenty days after `DAY`."""
    region = Region(session)
    insurer, clinic, representative = await region.basics()
    contacts = {"phone": "+79280000001", "time_zone": zone.key, **patient}
    case = await region.case(await region.patient(insurer, **contacts), clinic, representative)
    visit = await region.visit(case, DAY + timedelta(days=20))
    return await region.reminder(case, visit, scheduled_for, channel, kind, status)


async def caseload(db: RolledBackDatabase, size: int) -> tuple[int, int]:
    """A representative with `size` patients, each with a case, two visits and a work item."""
    now = datetime(2026, 11, 20, 9, tzinfo=UTC)
    async with db.session() as session:
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        first_patient = 0
        for n in range(size):
            patient = await region.patient(insurer)
            first_patient = first_patient or patient.id  # type: ignore[assignment]
            case = await region.case(patient, clinic, representative)
            missed = await region.visit(case, date(2026, 10, 1))
            await region.visit(case, date(2027, 4, 1))
            await save(
                session,
                WorkItem(
                    kind=WorkItemKind.MISSED_VISIT,
                    owner_id=representative.id,
                    patient_id=patient.id,
                    case_id=case.id,
                    visit_id=missed.id,
                    priority=1 + n % 3,
                    due_at=now + timedelta(hours=n),
                ),
                ContactAttempt(
                    patient_id=patient.id,
                    representative_id=representative.id,
                    method=ContactMethod.CALL,
                    outcome=ContactOutcome.NO_ANSWER,
                ),
                Reminder(
                    patient_id=patient.id,
                    case_id=case.id,
                    visit_id=missed.id,
                    kind=ReminderKind.INVITATION,
                    channel=Channel.SMS,
                    template="invitation",
                    scheduled_for=now,
                    idempotency_key=f"test:{patient.id}",
                ),
                NotificationConsent(
                    patient_id=patient.id, channel=Channel.SMS, granted=True, method="written form"
                ),
            )
        await session.commit()
    return representative.id, first_patient  # type: ignore[return-value]


def utc_at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def fixed_region(db: RolledBackDatabase) -> dict[str, Any]:
    """A small region whose figures of October 2026 were counted by hand, for the statistics
    and the reports that show them: the ids of its insurer, the other insurer and the clinic."""
    async with db.session() as session:
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        other, other_clinic, _ = await region.basics()
        await save(
            session,
            *(
                Representative(
                    insurer_id=insurer.id, level=level, last_name="Р", first_name="Р", active=active
                )
                for level, active in ((1, True), (2, True), (2, False))
            ),
        )
        p1, p2, p3 = [await region.patient(insurer) for _ in range(3)]
        p4 = await region.patient(other)
        c1 = await region.case(p1, clinic, representative, opened_on=date(2026, 1, 10))
        # Diagnosed on Friday 25 September: supervision began on the 6th working day after.
        c2 = await region.case(
            p2,
            clinic,
            representative,
            opened_on=date(2026, 10, 5),
            diagnosed_on=date(2026, 9, 25),
            opened_late=True,
        )
        c3 = await region.case(
            p3,
            clinic,
            representative,
            opened_on=date(2025, 5, 1),
            status="closed",
            closed_on=date(2026, 10, 20),
            close_reason=CloseReason.MOVED_AWAY,
        )
        await region.case(
            p1,
            clinic,
            representative,
            opened_on=date(2024, 1, 1),
            status="closed",
            closed_on=date(2026, 9, 15),
            close_reason=CloseReason.RECOVERED,
        )
        c5 = await region.case(p4, other_clinic, None, opened_on=date(2026, 1, 1))
        await region.visit(c1, date(2026, 10, 10), VisitStatus.ATTENDED)
        await region.visit(c2, date(2026, 10, 31), VisitStatus.MISSED)
        await region.visit(c3, date(2026, 10, 15), VisitStatus.CANCELLED)
        await region.visit(c1, date(2026, 10, 20))
        await region.visit(c1, date(2026, 11, 1))
        await region.visit(c5, date(2026, 10, 12), VisitStatus.ATTENDED)

        def reminder(patient: Any, channel: Channel, status: ReminderStatus, when: str) -> Reminder:
            sent = (
                utc_at(when) if status in (ReminderStatus.SENT, ReminderStatus.DELIVERED) else None
            )
            return Reminder(
                patient_id=patient.id,
                kind=ReminderKind.INVITATION,
                channel=channel,
                template="invitation",
                scheduled_for=utc_at(when),
                status=status,
                sent_at=sent,
                idempotency_key=f"stat:{patient.id}:{channel}:{when}",
            )

        await save(
            session,
            reminder(p1, Channel.SMS, ReminderStatus.DELIVERED, "2026-10-10T09:00"),
            reminder(p2, Channel.SMS, ReminderStatus.FAILED, "2026-10-11T09:00"),
            # 00:30 on 1 November in Moscow: outside October.
            reminder(p2, Channel.EMAIL, ReminderStatus.SENT, "2026-10-31T21:30"),
            reminder(p1, Channel.EMAIL, ReminderStatus.SENT, "2026-10-12T09:00"),
            reminder(p4, Channel.SMS, ReminderStatus.DELIVERED, "2026-10-12T09:00"),
            ContactAttempt(
                patient_id=p3.id,
                representative_id=representative.id,
                method=ContactMethod.CALL,
                outcome=ContactOutcome.REACHED,
                attempted_at=utc_at("2026-10-15T08:00"),
            ),
        )
        answered: dict[str, Any] = {
            "status": AppealStatus.ANSWERED,
            "outcome": AppealOutcome.EXPLAINED,
        }
        await region.appeal(
            insurer,
            date(2026, 11, 1),
            kind=AppealKind.COMPLAINT,
            clinic_id=clinic.id,
            received_at=utc_at("2026-10-02T08:00"),
            answered_at=utc_at("2026-10-20T08:00"),
            answered_on_time=True,
            **answered,
        )
        await region.appeal(
            insurer,
            date(2026, 11, 2),
            kind=AppealKind.CONSULTATION,
            received_at=utc_at("2026-10-03T08:00"),
            answered_at=utc_at("2026-10-25T08:00"),
            answered_on_time=False,
            **answered,
        )
        # 00:30 on 1 October in Moscow: inside October.
        await region.appeal(insurer, date(2026, 10, 31), received_at=utc_at("2026-09-30T21:30"))
        await region.appeal(
            insurer,
            date(2026, 10, 10),
            kind=AppealKind.COMPLAINT,
            clinic_id=clinic.id,
            received_at=utc_at("2026-09-10T08:00"),
            answered_at=utc_at("2026-10-05T08:00"),
            answered_on_time=True,
            **answered,
        )
        await region.appeal(other, date(2026, 11, 1), received_at=utc_at("2026-10-02T08:00"))

        def examination(
            ordered: str, completed: str | None, outcome: ExaminationOutcome | None
        ) -> QualityExamination:
            return QualityExamination(
                insurer_id=insurer.id,
                kind=ExaminationKind.SCHEDULED,
                clinic_id=clinic.id,
                period_start=date(2026, 1, 1),
                period_end=date(2026, 6, 30),
                expert_name="Э",
                due_on=date(2026, 12, 1),
                ordered_by="test",
                ordered_at=utc_at(ordered),
                status=ExaminationStatus.COMPLETED if completed else ExaminationStatus.ORDERED,
                completed_at=utc_at(completed) if completed else None,
                outcome=outcome,
                violation_codes=["1.1"] if outcome is ExaminationOutcome.VIOLATIONS_FOUND else [],
            )

        await save(
            session,
            examination(
                "2026-10-05T08:00", "2026-10-25T08:00", ExaminationOutcome.VIOLATIONS_FOUND
            ),
            examination("2026-09-01T08:00", "2026-10-10T08:00", ExaminationOutcome.NO_VIOLATIONS),
            examination("2026-10-20T08:00", None, None),
        )
        await session.commit()
    return {"insurer": insurer.id, "other": other.id, "clinic": clinic.id}


# The documents and the steps of more than one module's tests.

REGISTER_PATIENT = """
mutation($input: RegisterPatientInput!) {
  registerPatient(input: $input) {
    __typename
    ... on Patient { id enp phone version lastName }
    ... on UserError { code field message }
  }
}
"""

OPEN_CASE = """
mutation($input: OpenCaseInput!) {
  openCase(input: $input) {
    __typename
    ... on SupervisionCase {
      id icd10 visitsPerYear planBelowMinimum version
      nextVisit { id windowStart windowEnd status }
      visits { totalCount edges { node { id status } } }
    }
    ... on UserError { code field message }
  }
}
"""


async def setup_region(db: RolledBackDatabase) -> dict[str, Any]:
    async with db.session() as session:
        insurer, clinic, representative = await Region(session).basics()
        await session.commit()
    return {"insurer": insurer, "clinic": clinic, "representative": representative}


def patient_input(region: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    values = {
        "enp": valid_enp(4242),
        "lastName": "Смирнова",
        "firstName": "Ольга",
        "middleName": "Ивановна",
        "birthDate": "1958-03-02",
        "sex": "FEMALE",
        "insurerId": gid("Insurer", region["insurer"].id),
        "phone": "8 (8652) 56-06-68",
    }
    values.update(overrides)
    return values


async def register_patient(
    graphql: GraphQLClient, region: dict[str, Any], **overrides: Any
) -> dict[str, Any]:
    data = await graphql.data(REGISTER_PATIENT, input=patient_input(region, **overrides))
    result: dict[str, Any] = data["registerPatient"]
    return result


async def open_case(
    graphql: GraphQLClient, region: dict[str, Any], patient_id: str, **overrides: Any
) -> dict[str, Any]:
    values = {
        "patientId": patient_id,
        "icd10": "I10",
        "clinicId": gid("MedicalOrganization", region["clinic"].id),
        "openedOn": (date.today() - timedelta(days=30)).isoformat(),
        "representativeId": gid("Representative", region["representative"].id),
    }
    values.update(overrides)
    data = await graphql.data(OPEN_CASE, input=values)
    result: dict[str, Any] = data["openCase"]
    return result
