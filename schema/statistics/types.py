"""The figures of a period."""

from __future__ import annotations

from datetime import date
from typing import Any, Self

import strawberry

from cases.patients import models as patients_models
from cases.reminders import models as reminders_models
from cases.supervision import models as supervision_models


@strawberry.type
class CountByKey:
    key: str
    count: int


@strawberry.type
class ReminderCount:
    channel: patients_models.Channel
    status: reminders_models.ReminderStatus
    count: int


def _counts(values: dict[Any, int]) -> list[CountByKey]:
    return [CountByKey(key=str(key), count=count) for key, count in sorted(values.items())]


@strawberry.type(description="Figures of a period of local dates, both ends included.")
class Statistics:
    period_start: date
    period_end: date
    representatives_by_level: list[CountByKey] = strawberry.field(
        description="Active representatives; with a clinic, those with desk hours there."
    )
    active_cases: int = strawberry.field(description="Cases under supervision at the period's end.")
    patients_under_supervision: int = strawberry.field(description="At the period's end.")
    cases_opened: int
    cases_opened_late: int = strawberry.field(
        description="Of them, begun more than 3 working days after the diagnosis (168н п. 4)."
    )
    cases_closed: int
    cases_closed_by_reason: list[CountByKey]
    visits_planned: int = strawberry.field(
        description="Visits whose window ends in the period, cancelled ones left out."
    )
    visits_attended: int
    visits_missed: int
    attendance_rate: float | None = strawberry.field(description="Attended / (attended + missed).")
    reminders: list[ReminderCount] = strawberry.field(
        description="Reminders scheduled in the period by channel and status."
    )
    delivery_rate: float | None = strawberry.field(
        description="Delivered / (sent + delivered + failed)."
    )
    supervised_patients: int = strawberry.field(description="Under supervision at any time in it.")
    informed_patients: int = strawberry.field(
        description="Of those, sent a message or reached by a representative in the period."
    )
    informing_coverage: float | None
    appeals_by_kind: list[CountByKey] = strawberry.field(description="Received in the period.")
    appeals_received: int
    complaint_share: float | None
    appeals_answered: int
    appeals_answered_on_time: int
    examinations_ordered: int
    examinations_completed_by_outcome: list[CountByKey]

    @classmethod
    def of(cls, figures: Any) -> Self:
        return cls(
            period_start=figures.period.start,
            period_end=figures.period.end,
            representatives_by_level=_counts(figures.representatives_by_level),
            active_cases=figures.active_cases,
            patients_under_supervision=figures.patients_under_supervision,
            cases_opened=figures.cases_opened,
            cases_opened_late=figures.cases_opened_late,
            cases_closed=figures.cases_closed,
            cases_closed_by_reason=_counts(figures.cases_closed_by_reason),
            visits_planned=figures.visits_due,
            visits_attended=figures.visits_by_status.get(
                supervision_models.VisitStatus.ATTENDED, 0
            ),
            visits_missed=figures.visits_by_status.get(supervision_models.VisitStatus.MISSED, 0),
            attendance_rate=figures.attendance_rate,
            reminders=[
                ReminderCount(channel=channel, status=status, count=count)
                for (channel, status), count in sorted(figures.reminders.items())
            ],
            delivery_rate=figures.delivery_rate,
            supervised_patients=figures.supervised_patients,
            informed_patients=figures.informed_patients,
            informing_coverage=figures.informing_coverage,
            appeals_by_kind=_counts(figures.appeals_received_by_kind),
            appeals_received=figures.appeals_received,
            complaint_share=figures.complaint_share,
            appeals_answered=figures.appeals_answered,
            appeals_answered_on_time=figures.appeals_answered_on_time,
            examinations_ordered=figures.examinations_ordered,
            examinations_completed_by_outcome=_counts(figures.examinations_completed_by_outcome),
        )
