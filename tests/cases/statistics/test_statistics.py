"""Period statistics match numbers counted by hand on a small fixed region."""

from __future__ import annotations

from cases.appeals.models import AppealKind, ExaminationOutcome
from cases.patients.models import Channel
from cases.reminders.models import ReminderStatus
from cases.statistics.report import report_rows
from cases.statistics.service import Period, StatisticsService
from cases.supervision.models import CloseReason, VisitStatus
from tests.conftest import RolledBackDatabase
from tests.factories import fixed_region

OCTOBER = Period.month("2026-10")


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
    assert figures.cases_opened_late == 1
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
