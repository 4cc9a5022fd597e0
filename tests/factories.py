"""Small builders of valid domain rows for tests."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from cases.appeals.models import Appeal, AppealChannel, AppealKind, AppealStatus, AppealSubject
from cases.patients.models import Channel, Patient, Sex
from cases.patients.validation import enp_check_digit, name_search_key
from cases.registry.models import Insurer, MedicalOrganization, Representative
from cases.reminders.models import Reminder, ReminderKind, ReminderStatus
from cases.supervision.models import SupervisionCase, Visit, VisitStatus

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
