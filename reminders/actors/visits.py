"""Supervision's actors: the missed-visit scan (`visits.flag_missed`) and the review of cases
whose fixed duration has run out (`cases.review_due`)."""

from __future__ import annotations

import dramatiq
import structlog

from cases.supervision.scan import MissedVisitScan, SupervisionReviewScan
from core.broker import current_broker
from core.settings import get_settings
from reminders.actors.common import NOT_RETRIED, TEN_MINUTES_MS, now
from reminders.database import worker_sessions
from reminders.rules import case_rules

# A batch is five statements whatever its size, so larger batches gain little; 500 keeps each
# transaction, and the visits it locks, small.
SCAN_BATCH = 500

log = structlog.get_logger(__name__)


@dramatiq.actor(
    actor_name="visits.flag_missed",
    queue_name="scans",
    broker=current_broker(),
    max_retries=3,
    throws=NOT_RETRIED,
    time_limit=TEN_MINUTES_MS,
)
async def flag_missed_visits() -> None:
    """Flag every visit overdue past the grace period, a committed batch at a time."""
    settings = get_settings()
    flagged = 0
    while True:
        async with worker_sessions()() as session:
            count = await MissedVisitScan(session, case_rules(settings)).run(
                now(), settings.grace_period_days, settings.zone, SCAN_BATCH
            )
            await session.commit()
        flagged += count
        if count < SCAN_BATCH:
            break
    log.info("visits.flagged_missed", count=flagged)


@dramatiq.actor(
    actor_name="cases.review_due",
    queue_name="scans",
    broker=current_broker(),
    max_retries=3,
    throws=NOT_RETRIED,
    time_limit=TEN_MINUTES_MS,
)
async def raise_supervision_reviews() -> None:
    """Put the cases whose fixed duration has run out on their representatives' worklists."""
    settings = get_settings()
    async with worker_sessions()() as session:
        due = await SupervisionReviewScan(session).run(now(), settings.zone)
        await session.commit()
    log.info("cases.reviews_due", count=due)
