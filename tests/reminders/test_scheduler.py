"""Two schedulers started by mistake never run the same slot of a job twice, and a slot whose
message the broker refused is enqueued by a later tick."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col

from cases.kit.models import JobRun
from core.db import create_session_factory
from reminders.scheduler import PeriodicJob, Scheduler
from tests.conftest import Database, RolledBackDatabase

NOW = datetime(2026, 11, 23, 10, 15, tzinfo=UTC)


async def test_one_slot_is_claimed_by_one_scheduler(db: RolledBackDatabase) -> None:
    # given
    sent: list[str] = []
    jobs = [PeriodicJob("visits.flag_missed", timedelta(hours=1), lambda: sent.append("scan"))]
    first = Scheduler(db.sessions, jobs, instance="a")
    second = Scheduler(db.sessions, jobs, instance="b")

    # when
    won_first = await first.tick(NOW)
    won_second = await second.tick(NOW + timedelta(minutes=5))
    next_hour = await second.tick(NOW + timedelta(hours=1))

    # then
    assert (won_first, won_second, next_hour) == (
        ["visits.flag_missed"],
        [],
        ["visits.flag_missed"],
    )
    assert sent == ["scan", "scan"]
    async with db.session() as session:
        claims = (
            await session.execute(sa.select(JobRun.claimed_by).order_by(JobRun.slot))
        ).scalars()
        assert list(claims) == ["a", "b"]


async def test_concurrent_schedulers_enqueue_once(database: Database) -> None:
    # given: three schedulers, each with its own connections, committing for real
    sessions = create_session_factory(database.engine)
    job = f"test.concurrent.{uuid.uuid4().hex}"
    sent: list[str] = []
    jobs = [PeriodicJob(job, timedelta(minutes=1), lambda: sent.append(job))]

    # when
    try:
        results = await asyncio.gather(
            *(Scheduler(sessions, jobs, instance=f"s{n}").tick(NOW) for n in range(3))
        )
    finally:
        async with sessions() as session:
            await session.execute(sa.delete(JobRun).where(col(JobRun.job) == job))
            await session.commit()

    # then
    assert sent == [job]
    assert sorted(len(result) for result in results) == [0, 0, 1]


class Broker:
    """Refuses the first `failures` messages of a job, then takes them."""

    def __init__(self, failures: dict[str, int]) -> None:
        self.failures = failures
        self.sent: list[str] = []

    def sender(self, job: str) -> Callable[[], None]:
        def send() -> None:
            if self.failures.get(job, 0) > 0:
                self.failures[job] -= 1
                raise ConnectionError("the broker is away")
            self.sent.append(job)

        return send


async def test_a_slot_the_broker_refused_is_enqueued_by_the_next_tick(
    db: RolledBackDatabase,
) -> None:
    # given: the broker refuses the hourly scan's first message
    broker = Broker({"visits.flag_missed": 1})
    jobs = [
        PeriodicJob("visits.flag_missed", timedelta(hours=1), broker.sender("visits.flag_missed")),
        PeriodicJob(
            "appeals.scan_deadlines", timedelta(hours=1), broker.sender("appeals.scan_deadlines")
        ),
    ]
    scheduler = Scheduler(db.sessions, jobs, instance="a")

    # when: a tick in the broker's outage, and one 15 seconds later, in the same hour
    during = await scheduler.tick(NOW)
    after = await scheduler.tick(NOW + timedelta(seconds=15))
    later = await scheduler.tick(NOW + timedelta(seconds=30))

    # then: the other job went at once; the refused one on the next tick; each slot once
    assert (during, after, later) == (["appeals.scan_deadlines"], ["visits.flag_missed"], [])
    assert sorted(broker.sent) == ["appeals.scan_deadlines", "visits.flag_missed"]
    async with db.session() as session:
        pending = (
            (await session.execute(sa.select(JobRun).where(col(JobRun.enqueued_at).is_(None))))
            .scalars()
            .all()
        )
    assert pending == []


async def test_slots_missed_in_a_long_outage_go_as_one_message(db: RolledBackDatabase) -> None:
    # given: three hours of an outage, a tick each hour
    broker = Broker({"visits.flag_missed": 3})
    jobs = [
        PeriodicJob("visits.flag_missed", timedelta(hours=1), broker.sender("visits.flag_missed"))
    ]
    scheduler = Scheduler(db.sessions, jobs, instance="a")
    for hour in range(3):
        assert await scheduler.tick(NOW + timedelta(hours=hour)) == []

    # when: the broker is back
    back = await scheduler.tick(NOW + timedelta(hours=3))

    # then: one scan covers the four claimed slots
    assert back == ["visits.flag_missed"]
    assert broker.sent == ["visits.flag_missed"]


def test_default_jobs_dispatch_reminders_and_scan_visits_appeals_and_reviews() -> None:
    from reminders.scheduler import default_jobs

    jobs = {job.name: job.every for job in default_jobs()}

    assert jobs == {
        "visits.flag_missed": timedelta(hours=1),
        "reminders.dispatch_due": timedelta(minutes=1),
        "appeals.scan_deadlines": timedelta(hours=1),
        "cases.review_due": timedelta(hours=6),
    }
