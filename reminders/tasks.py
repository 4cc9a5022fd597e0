"""Dramatiq actors. Each takes ids only, opens its own session, re-checks state, and is idempotent."""

from __future__ import annotations

import dramatiq
import structlog

from cases.appeals import AppealDeadlineScan
from cases.models import utcnow
from cases.service import MissedVisitScan
from core.broker import current_broker
from core.rules import case_rules
from core.settings import get_settings
from reminders.database import worker_sessions

log = structlog.get_logger(__name__)

SCAN_BATCH = 500
TEN_MINUTES_MS = 10 * 60 * 1000


@dramatiq.actor(
    actor_name="visits.flag_missed",
    queue_name="scans",
    broker=current_broker(),
    max_retries=3,
    time_limit=TEN_MINUTES_MS,
)
async def flag_missed_visits() -> None:
    """Flag every visit overdue past the grace period, a committed batch at a time."""
    settings = get_settings()
    flagged = 0
    while True:
        async with worker_sessions()() as session:
            count = await MissedVisitScan(session, case_rules(settings)).run(
                utcnow(), settings.grace_period_days, settings.zone, SCAN_BATCH
            )
            await session.commit()
        flagged += count
        if count < SCAN_BATCH:
            break
    log.info("visits.flagged_missed", count=flagged)


@dramatiq.actor(
    actor_name="appeals.scan_deadlines",
    queue_name="scans",
    broker=current_broker(),
    max_retries=3,
    time_limit=TEN_MINUTES_MS,
)
async def scan_appeal_deadlines() -> None:
    """Raise work items for appeals near their answer deadline and for overdue ones."""
    settings = get_settings()
    async with worker_sessions()() as session:
        raised = await AppealDeadlineScan(session).run(
            utcnow(), settings.zone, settings.appeal_near_deadline_days
        )
        await session.commit()
    log.info("appeals.deadline_items_raised", count=raised)
