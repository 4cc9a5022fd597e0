"""SQL of the period's figures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from cases.appeals.models import Appeal, QualityExamination
from cases.kit.repository import Repository
from cases.patients.models import Patient
from cases.registry.models import DeskHours, Representative
from cases.reminders.models import Reminder, ReminderStatus
from cases.supervision.models import (
    SupervisionCase,
    Visit,
)
from cases.worklist.models import (
    ContactAttempt,
    ContactOutcome,
)


@dataclass(frozen=True)
class StatisticsScope:
    """A period of local dates, its bounds as instants, and an optional insurer and clinic."""

    start: date
    end: date
    start_at: datetime
    end_at: datetime
    insurer_id: int | None = None
    clinic_id: int | None = None


def _within(column: Any, scope: StatisticsScope) -> Any:
    """An instant column inside the scope's period (local midnight to local midnight)."""
    return sa.and_(column >= scope.start_at, column < scope.end_at)


def _owned(statement: Any, scope: StatisticsScope, model: Any) -> Any:
    """Limit a statement over a table with its own insurer_id and clinic_id to the scope."""
    if scope.insurer_id is not None:
        statement = statement.where(model.__table__.c.insurer_id == scope.insurer_id)
    if scope.clinic_id is not None:
        statement = statement.where(model.__table__.c.clinic_id == scope.clinic_id)
    return statement


def _count_if(condition: Any) -> Any:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


class StatisticsRepository(Repository[SupervisionCase]):
    """The period figures a fund reports, each section one aggregate statement."""

    model = SupervisionCase

    def _case_scope(self, scope: StatisticsScope, statement: Any) -> Any:
        """Limit a statement over supervision_case to the scope's insurer and clinic."""
        if scope.clinic_id is not None:
            statement = statement.where(col(SupervisionCase.clinic_id) == scope.clinic_id)
        if scope.insurer_id is not None:
            statement = statement.join(
                Patient, col(Patient.id) == col(SupervisionCase.patient_id)
            ).where(col(Patient.insurer_id) == scope.insurer_id)
        return statement

    async def representatives_by_level(self, scope: StatisticsScope) -> dict[int, int]:
        statement: Any = (
            sa.select(col(Representative.level), sa.func.count())
            .where(col(Representative.active))
            .group_by(col(Representative.level))
        )
        if scope.insurer_id is not None:
            statement = statement.where(col(Representative.insurer_id) == scope.insurer_id)
        if scope.clinic_id is not None:
            statement = statement.where(
                sa.exists().where(
                    col(DeskHours.representative_id) == col(Representative.id),
                    col(DeskHours.clinic_id) == scope.clinic_id,
                )
            )
        rows: Sequence[Any] = (await self.execute(statement)).all()
        return {level: count for level, count in rows}

    async def cases(self, scope: StatisticsScope) -> sa.Row[Any]:
        """Active cases and patients at the period's end, cases opened in it (and of them, those
        opened later than 168н allows), and the patients
        supervised at any time in it with how many of them were informed in it."""
        case = SupervisionCase
        active_at_end = sa.and_(
            col(case.opened_on) <= scope.end,
            sa.or_(col(case.closed_on).is_(None), col(case.closed_on) > scope.end),
        )
        active_in_period = sa.and_(
            col(case.opened_on) <= scope.end,
            sa.or_(col(case.closed_on).is_(None), col(case.closed_on) >= scope.start),
        )
        # One set of informed patients, hashed once, rather than a probe per case.
        informed = sa.union_all(
            sa.select(col(Reminder.patient_id)).where(
                col(Reminder.status).in_([ReminderStatus.SENT, ReminderStatus.DELIVERED]),
                _within(col(Reminder.sent_at), scope),
            ),
            sa.select(col(ContactAttempt.patient_id)).where(
                col(ContactAttempt.outcome).in_(
                    [ContactOutcome.REACHED, ContactOutcome.WILL_ATTEND]
                ),
                _within(col(ContactAttempt.attempted_at), scope),
            ),
        )
        statement = sa.select(
            _count_if(active_at_end).label("active_cases"),
            sa.func.count(sa.distinct(sa.case((active_at_end, col(case.patient_id))))).label(
                "patients_at_end"
            ),
            _count_if(
                sa.and_(col(case.opened_on) >= scope.start, col(case.opened_on) <= scope.end)
            ).label("opened"),
            _count_if(
                sa.and_(
                    col(case.opened_on) >= scope.start,
                    col(case.opened_on) <= scope.end,
                    col(case.opened_late),
                )
            ).label("opened_late"),
            sa.func.count(sa.distinct(sa.case((active_in_period, col(case.patient_id))))).label(
                "supervised"
            ),
            sa.func.count(
                sa.distinct(
                    sa.case(
                        (
                            sa.and_(active_in_period, col(case.patient_id).in_(informed)),
                            col(case.patient_id),
                        )
                    )
                )
            ).label("informed"),
        ).select_from(case)
        return (await self.execute(self._case_scope(scope, statement))).one()

    async def closed_by_reason(self, scope: StatisticsScope) -> dict[str, int]:
        statement: Any = (
            sa.select(col(SupervisionCase.close_reason), sa.func.count())
            .where(
                col(SupervisionCase.closed_on) >= scope.start,
                col(SupervisionCase.closed_on) <= scope.end,
            )
            .group_by(col(SupervisionCase.close_reason))
        )
        rows: Sequence[Any] = (await self.execute(self._case_scope(scope, statement))).all()
        return {str(reason): count for reason, count in rows}

    async def visits_by_status(self, scope: StatisticsScope) -> dict[str, int]:
        """Visits whose window ends in the period, by status (each visit counts in one period)."""
        statement: Any = (
            sa.select(col(Visit.status), sa.func.count())
            .where(col(Visit.window_end) >= scope.start, col(Visit.window_end) <= scope.end)
            .group_by(col(Visit.status))
        )
        if scope.clinic_id is not None:
            statement = statement.where(col(Visit.clinic_id) == scope.clinic_id)
        if scope.insurer_id is not None:
            statement = (
                statement.join(SupervisionCase, col(SupervisionCase.id) == col(Visit.case_id))
                .join(Patient, col(Patient.id) == col(SupervisionCase.patient_id))
                .where(col(Patient.insurer_id) == scope.insurer_id)
            )
        rows: Sequence[Any] = (await self.execute(statement)).all()
        return {str(status): count for status, count in rows}

    async def reminders_by_channel_and_status(
        self, scope: StatisticsScope
    ) -> dict[tuple[str, str], int]:
        """Reminders scheduled in the period, by channel and status."""
        statement: Any = (
            sa.select(col(Reminder.channel), col(Reminder.status), sa.func.count())
            .where(
                _within(col(Reminder.scheduled_for), scope),
            )
            .group_by(col(Reminder.channel), col(Reminder.status))
        )
        if scope.clinic_id is not None:
            statement = statement.join(
                SupervisionCase, col(SupervisionCase.id) == col(Reminder.case_id)
            ).where(col(SupervisionCase.clinic_id) == scope.clinic_id)
        if scope.insurer_id is not None:
            statement = statement.join(Patient, col(Patient.id) == col(Reminder.patient_id)).where(
                col(Patient.insurer_id) == scope.insurer_id
            )
        rows: Sequence[Any] = (await self.execute(statement)).all()
        return {(str(channel), str(status)): count for channel, status, count in rows}

    async def appeals_by_kind(self, scope: StatisticsScope) -> Sequence[sa.Row[Any]]:
        """Per kind: received in the period, and of those registered late; answered in it, and
        of those on time."""
        received = _within(col(Appeal.received_at), scope)
        answered = _within(col(Appeal.answered_at), scope)
        on_time = Appeal.__table__.c.answered_on_time.is_(True)  # type: ignore[attr-defined]
        late = Appeal.__table__.c.registered_late.is_(True)  # type: ignore[attr-defined]
        statement: Any = (
            sa.select(
                col(Appeal.kind).label("kind"),
                _count_if(received).label("received"),
                _count_if(answered).label("answered"),
                _count_if(sa.and_(answered, on_time)).label("on_time"),
                _count_if(sa.and_(received, late)).label("registered_late"),
            )
            .where(sa.or_(received, answered))
            .group_by(col(Appeal.kind))
        )
        return (await self.execute(_owned(statement, scope, Appeal))).all()

    async def examinations(self, scope: StatisticsScope) -> Sequence[sa.Row[Any]]:
        """Per outcome (none while ordered): ordered in the period, and completed in it."""
        exam = QualityExamination
        ordered = _within(col(exam.ordered_at), scope)
        completed = _within(col(exam.completed_at), scope)
        statement: Any = (
            sa.select(
                col(exam.outcome).label("outcome"),
                _count_if(ordered).label("ordered"),
                _count_if(completed).label("completed"),
            )
            .where(sa.or_(ordered, completed))
            .group_by(col(exam.outcome))
        )
        return (await self.execute(_owned(statement, scope, exam))).all()
