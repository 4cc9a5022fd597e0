"""Period statistics match numbers counted by hand on a small fixed region."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from cases.appeals.models import (
    AppealKind,
    AppealOutcome,
    AppealStatus,
    ExaminationKind,
    ExaminationOutcome,
    ExaminationStatus,
    QualityExamination,
)
from cases.patients.models import Channel
from cases.registry.models import Representative
from cases.reminders.models import Reminder, ReminderKind, ReminderStatus
from cases.statistics.report import report_rows
from cases.statistics.service import Period, StatisticsService
from cases.supervision.models import CloseReason, VisitStatus
from cases.worklist.models import ContactAttempt, ContactMethod, ContactOutcome
from tests.conftest import RolledBackDatabase
from tests.factories import Region, save

OCTOBER = Period.month("2026-10")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def fixed_region(db: RolledBackDatabase) -> dict[str, Any]:
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
        c2 = await region.case(p2, clinic, representative, opened_on=date(2026, 10, 5))
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
            sent = at(when) if status in (ReminderStatus.SENT, ReminderStatus.DELIVERED) else None
            return Reminder(
                patient_id=patient.id,
                kind=ReminderKind.INVITATION,
                channel=channel,
                template="invitation",
                scheduled_for=at(when),
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
                attempted_at=at("2026-10-15T08:00"),
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
            received_at=at("2026-10-02T08:00"),
            answered_at=at("2026-10-20T08:00"),
            answered_on_time=True,
            **answered,
        )
        await region.appeal(
            insurer,
            date(2026, 11, 2),
            kind=AppealKind.CONSULTATION,
            received_at=at("2026-10-03T08:00"),
            answered_at=at("2026-10-25T08:00"),
            answered_on_time=False,
            **answered,
        )
        # 00:30 on 1 October in Moscow: inside October.
        await region.appeal(insurer, date(2026, 10, 31), received_at=at("2026-09-30T21:30"))
        await region.appeal(
            insurer,
            date(2026, 10, 10),
            kind=AppealKind.COMPLAINT,
            clinic_id=clinic.id,
            received_at=at("2026-09-10T08:00"),
            answered_at=at("2026-10-05T08:00"),
            answered_on_time=True,
            **answered,
        )
        await region.appeal(other, date(2026, 11, 1), received_at=at("2026-10-02T08:00"))

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
                ordered_at=at(ordered),
                status=ExaminationStatus.COMPLETED if completed else ExaminationStatus.ORDERED,
                completed_at=at(completed) if completed else None,
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


async def test_october_figures_of_one_insurer_match_the_hand_count(db: RolledBackDatabase) -> None:
    # given
    region = await fixed_region(db)

    # when
    async with db.session() as session:
        db.statements.clear()
        figures = await StatisticsService(session, "Europe/Moscow").compute(
            OCTOBER, insurer_id=region["insurer"]
        )
        statements = len(db.statements)

    # then
    assert figures.representatives_by_level == {1: 1, 2: 1, 3: 1}
    assert (figures.active_cases, figures.patients_under_supervision) == (2, 2)
    assert (figures.cases_opened, figures.cases_closed) == (1, 1)
    assert figures.cases_closed_by_reason == {CloseReason.MOVED_AWAY: 1}
    assert figures.visits_by_status == {
        VisitStatus.ATTENDED: 1,
        VisitStatus.MISSED: 1,
        VisitStatus.CANCELLED: 1,
        VisitStatus.PLANNED: 1,
    }
    assert (figures.visits_due, figures.attendance_rate) == (3, 0.5)
    assert figures.reminders == {
        (Channel.SMS, ReminderStatus.DELIVERED): 1,
        (Channel.SMS, ReminderStatus.FAILED): 1,
        (Channel.EMAIL, ReminderStatus.SENT): 1,
    }
    assert figures.delivery_rate == 0.3333
    assert (figures.supervised_patients, figures.informed_patients) == (3, 2)
    assert figures.informing_coverage == 0.6667
    assert figures.appeals_received_by_kind == {
        AppealKind.COMPLAINT: 1,
        AppealKind.CONSULTATION: 1,
        AppealKind.STATEMENT: 1,
    }
    assert (figures.appeals_received, figures.complaint_share) == (3, 0.3333)
    assert (figures.appeals_answered, figures.appeals_answered_on_time) == (3, 2)
    assert figures.examinations_ordered == 2
    assert figures.examinations_completed_by_outcome == {
        ExaminationOutcome.VIOLATIONS_FOUND: 1,
        ExaminationOutcome.NO_VIOLATIONS: 1,
    }
    # the insurer's existence, then one aggregate statement per section
    assert statements == 1 + 7


async def test_the_whole_region_and_one_clinic(db: RolledBackDatabase) -> None:
    region = await fixed_region(db)

    async with db.session() as session:
        service = StatisticsService(session, "Europe/Moscow")
        everyone = await service.compute(OCTOBER)
        clinic = await service.compute(OCTOBER, clinic_id=region["clinic"])

    assert everyone.representatives_by_level == {1: 1, 2: 1, 3: 2}
    assert everyone.visits_by_status[VisitStatus.ATTENDED] == 2
    assert everyone.appeals_received == 4
    assert everyone.reminders[(Channel.SMS, ReminderStatus.DELIVERED)] == 2
    assert clinic.visits_by_status[VisitStatus.ATTENDED] == 1
    assert clinic.appeals_received_by_kind == {AppealKind.COMPLAINT: 1}
    assert clinic.active_cases == 2


async def test_report_rows_carry_every_figure(db: RolledBackDatabase) -> None:
    region = await fixed_region(db)

    async with db.session() as session:
        figures = await StatisticsService(session, "Europe/Moscow").compute(
            OCTOBER, insurer_id=region["insurer"]
        )
    rows = {(row.section, row.indicator): row.value for row in report_rows(figures)}

    assert rows[("период", "01.10.2026–31.10.2026")] is None
    assert rows[("явки", "доля состоявшихся")] == 0.5
    assert rows[("снято с ДН по причине", "выбытие")] == 1
    assert rows[("обращения", "из них в срок")] == 2
    assert rows[("обращения", "доля отвеченных в срок")] == 0.6667
    assert rows[("информирование: SMS", "failed")] == 1
