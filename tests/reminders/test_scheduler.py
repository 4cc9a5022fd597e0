"""Two schedulers started by mistake never run the same slot of a job twice."""

from __future__ import annotations

import asyncio
import uuid
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


def test_default_jobs_dispatch_reminders_and_scan_visits_appeals_and_reviews() -> None:
    from reminders.scheduler import default_jobs

    jobs = {job.name: job.every for job in default_jobs()}

    assert jobs == {
        "visits.flag_missed": timedelta(hours=1),
        "reminders.dispatch_due": timedelta(minutes=1),
        "appeals.scan_deadlines": timedelta(hours=1),
        "cases.review_due": timedelta(hours=6),
    }
