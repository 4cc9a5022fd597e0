"""The monthly report's rows, in Russian."""

from __future__ import annotations

from dataclasses import dataclass

from cases.appeals.models import AppealKind, ExaminationOutcome
from cases.patients.models import Channel
from cases.reminders.models import ReminderStatus
from cases.statistics.service import Statistics
from cases.supervision.models import CloseReason, VisitStatus


@dataclass(frozen=True)
class ReportRow:
    section: str
    indicator: str
    value: int | float | None


REPORT_COLUMNS = ("раздел", "показатель", "значение")


CLOSE_REASONS = {
    CloseReason.RECOVERED: "выздоровление",
    CloseReason.DECEASED: "смерть",
    CloseReason.MOVED_AWAY: "выбытие",
    CloseReason.TRANSFERRED: "передача в другую МО",
    CloseReason.REFUSED: "отказ",
    CloseReason.REMOVED_BY_PHYSICIAN: "снятие врачом",
}


CHANNELS = {
    Channel.SMS: "SMS",
    Channel.EMAIL: "e-mail",
    Channel.VOICE_CALL: "звонок",
    Channel.POST: "почта",
}


APPEAL_KINDS = {
    AppealKind.COMPLAINT: "жалобы",
    AppealKind.STATEMENT: "заявления",
    AppealKind.PROPOSAL: "предложения",
    AppealKind.CONSULTATION: "консультации",
}


EXAMINATION_OUTCOMES = {
    ExaminationOutcome.NO_VIOLATIONS: "без нарушений",
    ExaminationOutcome.VIOLATIONS_FOUND: "выявлены нарушения",
}


def report_rows(figures: Statistics) -> list[ReportRow]:
    """The rows of the report a fund sends upward: every figure, zeros included, in a fixed order."""
    rows: list[ReportRow] = []

    def add(section: str, indicator: str, value: int | float | None) -> None:
        rows.append(ReportRow(section, indicator, value))

    add("период", f"{figures.period.start:%d.%m.%Y}–{figures.period.end:%d.%m.%Y}", None)
    for level in (1, 2, 3):
        add(
            "страховые представители",
            f"{level} уровня",
            figures.representatives_by_level.get(level, 0),
        )
    add("диспансерное наблюдение", "случаев ДН на конец периода", figures.active_cases)
    add(
        "диспансерное наблюдение", "лиц под ДН на конец периода", figures.patients_under_supervision
    )
    add("диспансерное наблюдение", "взято под ДН за период", figures.cases_opened)
    add(
        "диспансерное наблюдение",
        "из них позднее 3 рабочих дней после установления диагноза",
        figures.cases_opened_late,
    )
    add("диспансерное наблюдение", "снято с ДН за период", figures.cases_closed)
    for reason, label in CLOSE_REASONS.items():
        add("снято с ДН по причине", label, figures.cases_closed_by_reason.get(reason, 0))
    add("явки", "запланировано", figures.visits_due)
    add("явки", "состоялось", figures.visits_by_status.get(VisitStatus.ATTENDED, 0))
    add("явки", "пропущено", figures.visits_by_status.get(VisitStatus.MISSED, 0))
    add("явки", "доля состоявшихся", figures.attendance_rate)
    for channel, label in CHANNELS.items():
        for status in ReminderStatus:
            add(
                f"информирование: {label}",
                status.value,
                figures.reminders.get((channel, status), 0),
            )
    add("информирование", "доля доставленных", figures.delivery_rate)
    add("информирование", "лиц под ДН в периоде", figures.supervised_patients)
    add("информирование", "из них проинформировано", figures.informed_patients)
    add("информирование", "охват информированием", figures.informing_coverage)
    for kind, label in APPEAL_KINDS.items():
        add("обращения", label, figures.appeals_received_by_kind.get(kind, 0))
    add("обращения", "всего", figures.appeals_received)
    add("обращения", "доля жалоб", figures.complaint_share)
    add("обращения", "зарегистрировано с опозданием", figures.appeals_registered_late)
    add("обращения", "дан ответ", figures.appeals_answered)
    add("обращения", "из них в срок", figures.appeals_answered_on_time)
    add("обращения", "доля отвеченных в срок", figures.appeals_on_time_rate)
    add("ЭКМП", "назначено", figures.examinations_ordered)
    for outcome, label in EXAMINATION_OUTCOMES.items():
        add("ЭКМП завершено", label, figures.examinations_completed_by_outcome.get(outcome, 0))
    return rows
