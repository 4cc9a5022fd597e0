"""Appeals' actor: the deadline scan (`appeals.scan_deadlines`)."""

from __future__ import annotations

import dramatiq
import structlog

from cases.appeals.service import AppealDeadlineScan
from core.broker import current_broker
from core.settings import get_settings
from reminders.actors.common import NOT_RETRIED, TEN_MINUTES_MS, now
from reminders.database import worker_sessions

log = structlog.get_logger(__name__)


@dramatiq.actor(
    actor_name="appeals.scan_deadlines",
    queue_name="scans",
    broker=current_broker(),
    max_retries=3,
    throws=NOT_RETRIED,
    time_limit=TEN_MINUTES_MS,
)
async def scan_appeal_deadlines() -> None:
    """Raise work items for appeals near their answer deadline and for overdue ones."""
    settings = get_settings()
    async with worker_sessions()() as session:
        raised = await AppealDeadlineScan(session).run(
            now(), settings.zone, settings.appeal_near_deadline_days
        )
        await session.commit()
    log.info("appeals.deadline_items_raised", count=raised)
