"""Periodic jobs: each slot of each job is claimed in the database once, however many schedulers
run, and its message enqueued at least once.

The claim row is the outbox of the job's message: a tick claims the current slots, then, job by
job in a transaction of its own, enqueues each job's claimed slots not yet on the broker (the
latest of them stands for any it missed) and marks them. A broker that refuses leaves them
claimed and unmarked, for the next tick of any scheduler; one job's failure stops no other."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases.kit.columns import utcnow
from cases.kit.repository import JobRunRepository

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    enqueue: Callable[[], object]

    def slot(self, now: datetime) -> int:
        return int(now.timestamp() // self.every.total_seconds())


class Scheduler:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        jobs: list[PeriodicJob],
        instance: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.jobs = jobs
        self.instance = instance or f"{socket.gethostname()}:{os.getpid()}"

    async def tick(self, now: datetime | None = None) -> list[str]:
        """Claim the current slot of every job, then enqueue every job with a claimed slot not
        yet on the broker; returns the jobs this instance enqueued."""
        now = now or utcnow()
        async with self.sessions() as session:
            runs = JobRunRepository.from_session(session)
            for job in self.jobs:
                await runs.claim(job.name, job.slot(now), self.instance)
            await session.commit()
        enqueued = []
        for job in self.jobs:
            if await self._enqueue_pending(job):
                enqueued.append(job.name)
        return enqueued

    async def _enqueue_pending(self, job: PeriodicJob) -> bool:
        async with self.sessions() as session:
            runs = JobRunRepository.from_session(session)
            pending = await runs.pending(job.name)
            if not pending:
                return False
            try:
                # The broker client blocks on network I/O; keep it off the event loop.
                await asyncio.to_thread(job.enqueue)
            except Exception as error:  # noqa: BLE001 - retried by the next tick
                log.warning(
                    "scheduler.enqueue_failed", job=job.name, error_type=type(error).__name__
                )
                return False
            await runs.mark_enqueued([run.id for run in pending if run.id is not None], utcnow())
            await session.commit()
        log.info("scheduler.enqueued", job=job.name, slots=len(pending))
        return True

    async def run(self, stop: asyncio.Event, interval: float = 15.0) -> None:
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("scheduler.tick_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)


def default_jobs() -> list[PeriodicJob]:
    from reminders.actors import appeals, delivery, visits

    return [
        PeriodicJob("visits.flag_missed", timedelta(hours=1), visits.flag_missed_visits.send),
        PeriodicJob("cases.review_due", timedelta(hours=6), visits.raise_supervision_reviews.send),
        PeriodicJob(
            "reminders.dispatch_due", timedelta(minutes=1), delivery.dispatch_due_reminders.send
        ),
        PeriodicJob(
            "appeals.scan_deadlines", timedelta(hours=1), appeals.scan_appeal_deadlines.send
        ),
    ]
