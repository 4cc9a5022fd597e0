"""The missed-visit scan: overdue planned visits become missed once and reach the worklist."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from cases.patients.models import Channel, NotificationConsent, Patient
from cases.registry.models import Insurer, MedicalOrganization, Representative
from cases.reminders.models import Reminder, ReminderKind
from cases.supervision.models import SupervisionCase, Visit, VisitStatus
from cases.supervision.scan import MissedVisitScan
from cases.worklist.models import WorkItem, WorkItemKind
from core.db import create_session_factory
from tests.conftest import Database, RolledBackDatabase
from tests.factories import Region, save

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


async def test_two_misses_of_one_case_in_one_batch_escalate_the_later(
    db: RolledBackDatabase,
) -> None:
    async with db.session() as session:
        # given: two overdue visits of one case, flagged by the same batch
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        case = await region.case(await region.patient(insurer), clinic, representative)
        first = await region.visit(case, TODAY - timedelta(days=200))
        second = await region.visit(case, TODAY - timedelta(days=10))

        # when
        flagged = await MissedVisitScan(session).run(NOW, grace_days=7, zone=MOSCOW)

        # then
        items = (await session.execute(sa.select(WorkItem).order_by(WorkItem.id))).scalars().all()
    assert flagged == 2
    assert [(item.visit_id, item.kind, item.priority) for item in items] == [
        (first.id, WorkItemKind.MISSED_VISIT, 2),
        (second.id, WorkItemKind.ESCALATION, 1),
    ]


async def test_two_misses_of_one_case_in_one_batch_plan_one_follow_up_for_the_later(
    db: RolledBackDatabase,
) -> None:
    async with db.session() as session:
        # given: two overdue visits of one case of a patient with a phone
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        patient = await region.patient(insurer, phone="+79161234567")
        case = await region.case(patient, clinic, representative)
        await region.visit(case, TODAY - timedelta(days=40))
        later = await region.visit(case, TODAY - timedelta(days=10))

        # when
        await MissedVisitScan(session).run(NOW, grace_days=7, zone=MOSCOW)

        # then: one re-booking reminder and one call task, both for the later visit
        reminders = (await session.execute(sa.select(Reminder))).scalars().all()
    assert sorted((r.kind, r.visit_id) for r in reminders) == [
        (ReminderKind.CALL_TASK, later.id),
        (ReminderKind.REBOOKING, later.id),
    ]


async def test_follow_up_goes_by_contact_data_and_consent(db: RolledBackDatabase) -> None:
    async with db.session() as session:
        # given: one patient who withdrew SMS consent but has an e-mail address, one who
        # withdrew voice calls, and one with no contact data at all
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        no_sms = await region.patient(insurer, phone="+79161234567", email="a@example.org")
        no_calls = await region.patient(insurer, phone="+79161234568")
        unreachable = await region.patient(insurer)
        await save(
            session,
            NotificationConsent(
                patient_id=no_sms.id, channel=Channel.SMS, granted=False, method="sms STOP"
            ),
            NotificationConsent(
                patient_id=no_calls.id, channel=Channel.VOICE_CALL, granted=False, method="call"
            ),
        )
        visits = {}
        for name, patient in [("no_sms", no_sms), ("no_calls", no_calls), ("none", unreachable)]:
            case = await region.case(patient, clinic, representative)
            visits[name] = await region.visit(case, TODAY - timedelta(days=9))

        # when
        flagged = await MissedVisitScan(session).run(NOW, grace_days=7, zone=MOSCOW)

        # then
        reminders = (await session.execute(sa.select(Reminder))).scalars().all()
    planned = {(r.visit_id, r.kind, r.channel) for r in reminders}
    assert flagged == 3
    assert planned == {
        (visits["no_sms"].id, ReminderKind.REBOOKING, Channel.EMAIL),
        (visits["no_sms"].id, ReminderKind.CALL_TASK, Channel.VOICE_CALL),
        (visits["no_calls"].id, ReminderKind.REBOOKING, Channel.SMS),
    }


async def test_a_batch_is_five_statements_and_locks_what_it_takes(db: RolledBackDatabase) -> None:
    async with db.session() as session:
        # given
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        for n in range(3):
            patient = await region.patient(insurer, phone=f"+7916123456{n}")
            case = await region.case(patient, clinic, representative)
            await region.visit(case, TODAY - timedelta(days=9 + n))
        db.statements.clear()

        # when
        await MissedVisitScan(session).run(NOW, grace_days=7, zone=MOSCOW)

        # then: flag, read the patients, read the consents, raise the items, plan the reminders
        statements = list(db.statements)
    assert len(statements) == 5
    if db.dialect == "postgresql":
        assert "FOR UPDATE SKIP LOCKED" in statements[0]


# SQLite has one writer at a time: there is no locked row to skip there.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_scans_at_once_take_different_visits(committed_database: Database) -> None:
    sessions = create_session_factory(committed_database.engine)
    # given: four overdue visits, committed, so that two connections see them
    async with sessions() as session:
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        patient = await region.patient(insurer)
        case = await region.case(patient, clinic, representative)
        visits = [await region.visit(case, TODAY - timedelta(days=10 + n)) for n in range(4)]
        await session.commit()
    try:
        # when: the second scan runs while the first holds its batch of two, uncommitted
        async with sessions() as first, sessions() as second:
            taken_first = await MissedVisitScan(first).run(NOW, 7, MOSCOW, batch_size=2)
            taken_second = await asyncio.wait_for(
                MissedVisitScan(second).run(NOW, 7, MOSCOW, batch_size=10), timeout=10
            )
            await second.commit()
            await first.commit()

        # then: neither waited for the other, and each visit was flagged by one of them
        async with sessions() as session:
            flagged = (
                await session.execute(
                    sa.select(WorkItem.visit_id).where(WorkItem.case_id == case.id)
                )
            ).scalars()
            statuses = (
                await session.execute(sa.select(Visit.status).where(Visit.case_id == case.id))
            ).scalars()
            assert (taken_first, taken_second) == (2, 2)
            assert sorted(flagged) == sorted(visit.id for visit in visits)
            assert set(statuses) == {VisitStatus.MISSED}
    finally:
        async with sessions() as session:
            for statement in [
                sa.delete(Reminder).where(Reminder.case_id == case.id),
                sa.delete(WorkItem).where(WorkItem.case_id == case.id),
                sa.delete(Visit).where(Visit.case_id == case.id),
                sa.delete(SupervisionCase).where(SupervisionCase.id == case.id),
                sa.delete(Patient).where(Patient.id == patient.id),
                sa.delete(Representative).where(Representative.id == representative.id),
                sa.delete(MedicalOrganization).where(MedicalOrganization.id == clinic.id),
                sa.delete(Insurer).where(Insurer.id == insurer.id),
            ]:
                await session.execute(statement)
            await session.commit()
