"""The period's figures: periods, shares and the service that computes them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from cases.appeals.models import AppealKind, ExaminationOutcome
from cases.kit.dates import plausible
from cases.kit.errors import NotFound, ValidationFailed
from cases.patients.models import Channel
from cases.registry.repository import ClinicRepository, InsurerRepository
from cases.reminders.models import ReminderStatus
from cases.statistics.repository import StatisticsRepository, StatisticsScope
from cases.supervision.models import CloseReason, VisitStatus

MAX_PERIOD_DAYS = 366


MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True)
class Period:
    """Local calendar dates, both ends included."""

    start: date
    end: date

    @classmethod
    def month(cls, text: str, field: str = "period") -> Period:
        match = MONTH.fullmatch(text.strip())
        if match is None or not 1 <= int(match[2]) <= 12:
            raise ValidationFailed("must be a month as YYYY-MM, e.g. 2026-10", field=field)
        start = plausible(date(int(match[1]), int(match[2]), 1), field)
        following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        return cls(start, following - timedelta(days=1))

    def check(self) -> None:
        plausible(self.start, "period_start")
        plausible(self.end, "period_end")
        if self.end < self.start:
            raise ValidationFailed("must not be before the period start", field="period_end")
        if (self.end - self.start).days >= MAX_PERIOD_DAYS:
            raise ValidationFailed(
                f"a period is at most {MAX_PERIOD_DAYS} days", field="period_end"
            )


def share(part: int, whole: int) -> float | None:
    """part / whole rounded to 4 places; None when there is nothing to divide by."""
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class Statistics:
    period: Period
    insurer_id: int | None
    clinic_id: int | None
    representatives_by_level: dict[int, int]
    active_cases: int
    patients_under_supervision: int
    cases_opened: int
    # Of them, supervision begun more than 3 working days after the diagnosis (168н п. 4).
    cases_opened_late: int
    cases_closed_by_reason: dict[CloseReason, int]
    visits_by_status: dict[VisitStatus, int]
    reminders: dict[tuple[Channel, ReminderStatus], int]
    supervised_patients: int
    informed_patients: int
    appeals_received_by_kind: dict[AppealKind, int]
    appeals_answered: int
    appeals_answered_on_time: int
    appeals_registered_late: int
    examinations_ordered: int
    examinations_completed_by_outcome: dict[ExaminationOutcome, int]

    @property
    def cases_closed(self) -> int:
        return sum(self.cases_closed_by_reason.values())

    @property
    def visits_due(self) -> int:
        """Visits whose window ends in the period, cancelled ones left out."""
        return sum(
            count
            for status, count in self.visits_by_status.items()
            if status != VisitStatus.CANCELLED
        )

    @property
    def attendance_rate(self) -> float | None:
        """Attended over attended and missed: a visit still open has no outcome yet."""
        attended = self.visits_by_status.get(VisitStatus.ATTENDED, 0)
        return share(attended, attended + self.visits_by_status.get(VisitStatus.MISSED, 0))

    def reminders_with(self, status: ReminderStatus) -> int:
        return sum(count for (_, each), count in self.reminders.items() if each == status)

    @property
    def delivery_rate(self) -> float | None:
        """Delivered over everything handed to a channel (sent, delivered, failed)."""
        delivered = self.reminders_with(ReminderStatus.DELIVERED)
        attempted = (
            delivered
            + self.reminders_with(ReminderStatus.SENT)
            + self.reminders_with(ReminderStatus.FAILED)
        )
        return share(delivered, attempted)

    @property
    def informing_coverage(self) -> float | None:
        return share(self.informed_patients, self.supervised_patients)

    @property
    def appeals_received(self) -> int:
        return sum(self.appeals_received_by_kind.values())

    @property
    def complaint_share(self) -> float | None:
        return share(
            self.appeals_received_by_kind.get(AppealKind.COMPLAINT, 0), self.appeals_received
        )

    @property
    def appeals_on_time_rate(self) -> float | None:
        return share(self.appeals_answered_on_time, self.appeals_answered)


class StatisticsService:
    def __init__(self, session: AsyncSession, zone: str) -> None:
        self.zone = ZoneInfo(zone)
        self.figures = StatisticsRepository.from_session(session)
        self.insurers = InsurerRepository.from_session(session)
        self.clinics = ClinicRepository.from_session(session)

    def _at(self, day: date) -> datetime:
        return datetime.combine(day, time(0), self.zone)

    async def compute(
        self, period: Period, insurer_id: int | None = None, clinic_id: int | None = None
    ) -> Statistics:
        period.check()
        if insurer_id is not None and await self.insurers.get(insurer_id) is None:
            raise NotFound("no such insurer", field="insurer_id")
        if clinic_id is not None and await self.clinics.get(clinic_id) is None:
            raise NotFound("no such clinic", field="clinic_id")
        scope = StatisticsScope(
            start=period.start,
            end=period.end,
            start_at=self._at(period.start),
            end_at=self._at(period.end + timedelta(days=1)),
            insurer_id=insurer_id,
            clinic_id=clinic_id,
        )
        cases = await self.figures.cases(scope)
        appeals = await self.figures.appeals_by_kind(scope)
        examinations = await self.figures.examinations(scope)
        return Statistics(
            period=period,
            insurer_id=insurer_id,
            clinic_id=clinic_id,
            representatives_by_level=await self.figures.representatives_by_level(scope),
            active_cases=cases.active_cases,
            patients_under_supervision=cases.patients_at_end,
            cases_opened=cases.opened,
            cases_opened_late=cases.opened_late,
            cases_closed_by_reason={
                CloseReason(reason): count
                for reason, count in (await self.figures.closed_by_reason(scope)).items()
            },
            visits_by_status={
                VisitStatus(status): count
                for status, count in (await self.figures.visits_by_status(scope)).items()
            },
            reminders={
                (Channel(channel), ReminderStatus(status)): count
                for (channel, status), count in (
                    await self.figures.reminders_by_channel_and_status(scope)
                ).items()
            },
            supervised_patients=cases.supervised,
            informed_patients=cases.informed,
            appeals_received_by_kind={
                AppealKind(row.kind): row.received for row in appeals if row.received
            },
            appeals_answered=sum(row.answered for row in appeals),
            appeals_answered_on_time=sum(row.on_time for row in appeals),
            appeals_registered_late=sum(row.registered_late for row in appeals),
            examinations_ordered=sum(row.ordered for row in examinations),
            examinations_completed_by_outcome={
                ExaminationOutcome(row.outcome): row.completed
                for row in examinations
                if row.outcome is not None and row.completed
            },
        )
