"""59-ФЗ deadlines of appeals, and the scan that puts near and overdue appeals on the worklist."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from cases.appeals.models import (
    AppealChannel,
    AppealKind,
    AppealOutcome,
    AppealStatus,
    AppealSubject,
)
from cases.appeals.policy import (
    AppealDeadlineStage,
    appeal_deadline_stage,
    appeal_deadlines,
    extended_answer_due,
)
from cases.appeals.service import AppealDeadlineScan, AppealDraft, AppealService
from cases.kit.actor import Actor, Role
from cases.kit.errors import InvalidState, ValidationFailed
from cases.worklist.models import WorkItem, WorkItemKind, WorkItemStatus
from tests.conftest import RolledBackDatabase
from tests.factories import Region

MOSCOW = ZoneInfo("Europe/Moscow")
# 09:00 in Moscow on Monday 23 November 2026.
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
TODAY = date(2026, 11, 23)
ADMIN = Actor(role=Role.ADMIN, label="test")


def test_registration_and_answer_count_calendar_days_through_weekends() -> None:
    # given: received on Friday, registered on Monday
    deadlines = appeal_deadlines(date(2026, 10, 2), date(2026, 10, 5))

    # then: Friday + 3 is Monday; Monday + 30 is Wednesday 4 November (a holiday counts too)
    assert deadlines.registration_due == date(2026, 10, 5)
    assert deadlines.answer_due == date(2026, 11, 4)


def test_a_deadline_on_a_weekend_is_not_moved() -> None:
    # Thursday + 3 days is Sunday, and stays Sunday.
    assert appeal_deadlines(date(2026, 10, 1), date(2026, 10, 1)).registration_due == date(
        2026, 10, 4
    )
    # Registered on Thursday 1 October: due Saturday 31 October.
    assert appeal_deadlines(date(2026, 10, 1), date(2026, 10, 1)).answer_due == date(2026, 10, 31)


def test_extension_adds_up_to_thirty_calendar_days() -> None:
    assert extended_answer_due(date(2026, 10, 31), 30) == date(2026, 11, 30)
    assert extended_answer_due(date(2026, 12, 20), 15) == date(2027, 1, 4)
    for days in (0, 31):
        with pytest.raises(ValueError, match="1 to 30"):
            extended_answer_due(date(2026, 10, 31), days)


@pytest.mark.parametrize(
    ("answer_due", "stage"),
    [
        (TODAY + timedelta(days=6), None),
        (TODAY + timedelta(days=5), AppealDeadlineStage.NEAR),
        (TODAY, AppealDeadlineStage.NEAR),
        (TODAY - timedelta(days=1), AppealDeadlineStage.OVERDUE),
    ],
)
def test_deadline_stage(answer_due: date, stage: AppealDeadlineStage | None) -> None:
    assert appeal_deadline_stage(answer_due, TODAY, near_days=5) == stage


async def test_register_uses_local_dates(db: RolledBackDatabase) -> None:
    async with db.session() as session:
        # given: received 22:30 Moscow time on Friday 2 October (19:30 UTC)
        insurer, _, _ = await Region(session).basics()
        service = AppealService(session)
        draft = AppealDraft(
            received_at=datetime(2026, 10, 2, 19, 30, tzinfo=UTC),
            channel=AppealChannel.PORTAL,
            kind=AppealKind.STATEMENT,
            subject=AppealSubject.SUPERVISION_SCHEDULE,
            text="Прошу перенести явку.",
            insurer_id=insurer.id,
        )

        # when: registered 00:30 Moscow time on Tuesday 6 October
        appeal = await service.register(ADMIN, draft, now=datetime(2026, 10, 5, 21, 30, tzinfo=UTC))

    # then
    assert appeal.registration_due == date(2026, 10, 5)
    assert appeal.answer_due == date(2026, 11, 5)
    assert appeal.status is AppealStatus.REGISTERED


async def test_extension_once_before_the_deadline(db: RolledBackDatabase) -> None:
    async with db.session() as session:
        # given
        insurer, _, _ = await Region(session).basics()
        appeal = await Region(session).appeal(insurer, answer_due=TODAY + timedelta(days=2))
        late = await Region(session).appeal(insurer, answer_due=TODAY - timedelta(days=1))
        service = AppealService(session)

        # when
        extended = await service.extend(ADMIN, appeal.id, 30, "letter sent 20.11", today=TODAY)

        # then
        assert extended.answer_due == TODAY + timedelta(days=32)
        with pytest.raises(InvalidState, match="once already") as again:
            await service.extend(ADMIN, appeal.id, 5, "again", today=TODAY)
        assert again.value.field == "appeal_id"
        with pytest.raises(InvalidState, match="has passed"):
            await service.extend(ADMIN, late.id, 5, "too late", today=TODAY)
        with pytest.raises(ValidationFailed) as too_long:
            await service.extend(ADMIN, late.id, 31, "too long", today=TODAY)
        assert too_long.value.field == "days"


async def test_scan_raises_near_and_overdue_items_once(db: RolledBackDatabase) -> None:
    async with db.session() as session:
        # given
        region = Region(session)
        insurer, _, representative = await region.basics()
        patient = await region.patient(insurer)
        near = await region.appeal(
            insurer,
            TODAY + timedelta(days=5),
            representative_id=representative.id,
            patient_id=patient.id,
            status=AppealStatus.IN_PROGRESS,
        )
        overdue = await region.appeal(insurer, TODAY - timedelta(days=1))
        await region.appeal(insurer, TODAY + timedelta(days=6))
        answered = await region.appeal(
            insurer,
            TODAY - timedelta(days=3),
            status=AppealStatus.ANSWERED,
            answered_at=NOW,
            outcome=AppealOutcome.EXPLAINED,
        )

        # when
        raised = await AppealDeadlineScan(session).run(NOW, MOSCOW, near_days=5)
        again = await AppealDeadlineScan(session).run(NOW + timedelta(hours=1), MOSCOW, near_days=5)

        # then
        items = (
            (await session.execute(sa.select(WorkItem).order_by(WorkItem.priority))).scalars().all()
        )
    assert (raised, again) == (2, 0)
    assert [
        (item.kind, item.appeal_id, item.owner_id, item.patient_id, item.priority, item.status)
        for item in items
    ] == [
        (WorkItemKind.APPEAL_DEADLINE, overdue.id, None, None, 1, WorkItemStatus.OPEN),
        (
            WorkItemKind.APPEAL_DEADLINE,
            near.id,
            representative.id,
            patient.id,
            2,
            WorkItemStatus.OPEN,
        ),
    ]
    assert items[0].dedup_key == f"appeal-overdue:{overdue.id}:{TODAY - timedelta(days=1)}"
    # The near appeal is due at the start of its last day, Moscow time.
    assert items[1].due_at == datetime(2026, 11, 27, 21, 0, tzinfo=UTC)
    assert answered.id not in {item.appeal_id for item in items}


async def test_answering_closes_the_appeals_work_items(db: RolledBackDatabase) -> None:
    async with db.session() as session:
        # given
        region = Region(session)
        insurer, _, _ = await region.basics()
        appeal = await region.appeal(insurer, TODAY + timedelta(days=1))
        await AppealDeadlineScan(session).run(NOW, MOSCOW)

        # when
        answered = await AppealService(session).answer(
            ADMIN, appeal.id, "Разъяснён порядок записи.", AppealOutcome.EXPLAINED, now=NOW
        )
        again = await AppealDeadlineScan(session).run(NOW, MOSCOW)

        # then
        item = (await session.execute(sa.select(WorkItem))).scalar_one()
    assert answered.status is AppealStatus.ANSWERED
    assert answered.answered_on_time is True
    assert (item.status, item.resolution, again) == (WorkItemStatus.DONE, "appeal answered", 0)
