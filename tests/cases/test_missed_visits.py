"""The missed-visit scan: overdue planned visits become missed once and reach the worklist."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from cases.models import (
    Channel,
    Reminder,
    ReminderKind,
    Visit,
    VisitStatus,
    WorkItem,
    WorkItemKind,
)
from cases.service import MissedVisitScan
from tests.conftest import RolledBackDatabase
from tests.factories import Region

MOSCOW = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TODAY = NOW.date()


async def test_flags_only_visits_past_the_grace_period(db: RolledBackDatabase) -> None:
    async with db.session() as session:
        # given
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        case = await region.case(await region.patient(insurer), clinic, representative)
        overdue = await region.visit(case, TODAY - timedelta(days=8))
        in_grace = await region.visit(case, TODAY - timedelta(days=6))
        attended = await region.visit(case, TODAY - timedelta(days=40), VisitStatus.ATTENDED)

        # when
        flagged = await MissedVisitScan(session).run(NOW, grace_days=7, zone=MOSCOW)
        again = await MissedVisitScan(session).run(NOW, grace_days=7, zone=MOSCOW)

        # then
        statuses: dict[int | None, VisitStatus] = dict(
            (await session.execute(sa.select(Visit.id, Visit.status))).all()
        )
        items = (await session.execute(sa.select(WorkItem))).scalars().all()
    assert (flagged, again) == (1, 0)
    assert statuses == {
        overdue.id: VisitStatus.MISSED,
        in_grace.id: VisitStatus.PLANNED,
        attended.id: VisitStatus.ATTENDED,
    }
    assert [(item.kind, item.visit_id, item.owner_id, item.priority) for item in items] == [
        (WorkItemKind.MISSED_VISIT, overdue.id, representative.id, 2)
    ]


async def test_second_miss_in_a_row_escalates(db: RolledBackDatabase) -> None:
    async with db.session() as session:
        # given
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        case = await region.case(await region.patient(insurer), clinic, representative)
        await region.visit(case, TODAY - timedelta(days=200), VisitStatus.MISSED)
        second = await region.visit(case, TODAY - timedelta(days=10))

        # when
        await MissedVisitScan(session).run(NOW, grace_days=7, zone=MOSCOW)

        # then
        item = (await session.execute(sa.select(WorkItem))).scalar_one()
    assert (item.kind, item.priority, item.visit_id) == (WorkItemKind.ESCALATION, 1, second.id)


async def test_works_in_batches(db: RolledBackDatabase) -> None:
    async with db.session() as session:
        # given
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        case = await region.case(await region.patient(insurer), clinic, representative)
        for days in range(10, 15):
            await region.visit(case, TODAY - timedelta(days=days * 30))

        # when
        batches = [
            await MissedVisitScan(session).run(NOW, 7, MOSCOW, batch_size=2) for _ in range(4)
        ]

        # then
        count = (await session.execute(sa.select(sa.func.count()).select_from(WorkItem))).scalar()
    assert batches == [2, 2, 1, 0]
    assert count == 5


async def test_a_miss_plans_the_rebooking_reminder_and_the_call_task(
    db: RolledBackDatabase,
) -> None:
    async with db.session() as session:
        # given: a patient with a phone, in Vladivostok
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        patient = await region.patient(insurer, phone="+79161234567", time_zone="Asia/Vladivostok")
        case = await region.case(patient, clinic, representative)
        visit = await region.visit(case, TODAY - timedelta(days=9))

        # when: flagged twice (a retried job)
        await MissedVisitScan(session).run(NOW, grace_days=7, zone=MOSCOW)
        await MissedVisitScan(session).run(NOW, grace_days=7, zone=MOSCOW)

        # then
        reminders = (
            (await session.execute(sa.select(Reminder).order_by(Reminder.scheduled_for)))
            .scalars()
            .all()
        )
    vladivostok = ZoneInfo("Asia/Vladivostok")
    assert [(r.kind, r.channel, r.visit_id) for r in reminders] == [
        (ReminderKind.REBOOKING, Channel.SMS, visit.id),
        (ReminderKind.CALL_TASK, Channel.VOICE_CALL, visit.id),
    ]
    # 09:00 local the day after the miss (NOW is 19:00 in Vladivostok), and 09:00 a week after.
    local = [r.scheduled_for.astimezone(vladivostok) for r in reminders]
    assert [(moment.date(), moment.hour) for moment in local] == [
        (date(2026, 11, 24), 9),
        (date(2026, 11, 30), 9),
    ]
