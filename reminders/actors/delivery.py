"""Reminders' actors: dispatch of due reminders, sending in batches and alone, dead letters."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import dramatiq
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from cases.reminders.delivery import Outcome, ReminderDelivery
from cases.reminders.dispatcher import ReminderDispatcher
from core.broker import current_broker
from core.settings import get_settings
from reminders.actors.common import (
    NOT_RETRIED,
    ONE_MINUTE_MS,
    TEN_MINUTES_MS,
    couriers,
    delivery_limits,
    now,
)
from reminders.database import worker_sessions
from reminders.rules import case_rules

DISPATCH_BATCH = 500


# Reminders per `reminders.send_batch` message: one transaction and one request to the SMS
# gateway for the lot, where a message per reminder paid the broker, a transaction and an
# HTTP request each time.
SEND_BATCH = 100


def _delivery(session: AsyncSession) -> ReminderDelivery:
    settings = get_settings()
    return ReminderDelivery(session, case_rules(settings), couriers(), delivery_limits(settings))


def _enqueue(ids: Sequence[int]) -> None:
    for start in range(0, len(ids), SEND_BATCH):
        send_reminders.send(list(ids[start : start + SEND_BATCH]))


def _enqueue_each(delays_ms: Mapping[int, int | None]) -> None:
    """A `reminders.send` message for each reminder, delayed by its milliseconds (None: none)."""
    for reminder_id, delay in delays_ms.items():
        send_reminder.send_with_options(args=(reminder_id,), delay=delay)


log = structlog.get_logger(__name__)


@dramatiq.actor(
    actor_name="reminders.dispatch_due",
    queue_name="scans",
    broker=current_broker(),
    max_retries=3,
    throws=NOT_RETRIED,
    time_limit=TEN_MINUTES_MS,
)
async def dispatch_due_reminders() -> None:
    """Queue every due reminder, a committed batch at a time; each is enqueued after its commit."""
    settings = get_settings()
    rules, limits = case_rules(settings), delivery_limits(settings)
    dispatched = 0
    while True:
        async with worker_sessions()() as session:
            ids = await ReminderDispatcher(session, rules, limits).claim(now(), DISPATCH_BATCH)
            await session.commit()
        # The broker client blocks on network I/O; keep it off the event loop.
        await asyncio.to_thread(_enqueue, ids)
        dispatched += len(ids)
        if len(ids) < DISPATCH_BATCH:
            break
    log.info("reminders.dispatched", count=dispatched)


@dramatiq.actor(
    actor_name="reminders.send_batch",
    queue_name="reminders",
    broker=current_broker(),
    max_retries=3,
    # Nothing is thrown away unretried: a batch that keeps failing is split, and each of its
    # reminders ends as its own dead letter, for an operator to see.
    throws=(),
    min_backoff=5_000,
    time_limit=5 * ONE_MINUTE_MS,
    on_retry_exhausted="reminders.split_batch",
)
async def send_reminders(reminder_ids: list[int]) -> None:
    """Deliver a batch of reminders in one transaction. Each that must try again later goes on
    alone as a `reminders.send` message, delayed by its backoff, and so does each that the batch
    could not carry (an e-mail), at once."""
    async with worker_sessions()() as session:
        attempts = await _delivery(session).deliver_many(reminder_ids, now())
        await session.commit()
    outcomes = Counter(attempt.outcome.value for attempt in attempts.values())
    log.info("reminders.batch", size=len(reminder_ids), **outcomes)
    alone = {
        id_: _milliseconds(a.delay) if a.outcome is Outcome.RETRY else None
        for id_, a in attempts.items()
        if a.outcome in (Outcome.RETRY, Outcome.ALONE)
    }
    if not alone:
        return
    try:
        await asyncio.to_thread(_enqueue_each, alone)
    except Exception:
        # Committed already: a redelivered batch would skip the backoff. The reminders stay
        # queued, and the dispatcher enqueues them again once they count as lost.
        log.exception("reminders.batch_enqueue_failed", count=len(alone))


@dramatiq.actor(
    actor_name="reminders.split_batch",
    queue_name="reminders",
    broker=current_broker(),
    max_retries=3,
    throws=(),
    time_limit=ONE_MINUTE_MS,
)
async def split_batch(message: dict[str, Any], _retries: dict[str, Any]) -> None:
    """A batch the broker gave up on (unexpected errors): each reminder goes on alone, so that
    one that cannot be sent holds up no other and ends as its own dead letter."""
    reminder_ids = [int(id_) for id_ in message["args"][0]]
    log.warning("reminders.batch_split", size=len(reminder_ids))
    await asyncio.to_thread(_enqueue_each, dict.fromkeys(reminder_ids))


@dramatiq.actor(
    actor_name="reminders.send",
    queue_name="reminders",
    broker=current_broker(),
    # Our own budget (attempts and age) bounds delivery retries; this bounds unexpected errors.
    max_retries=20,
    throws=(),
    min_backoff=5_000,
    max_backoff=30 * ONE_MINUTE_MS,
    time_limit=ONE_MINUTE_MS,
    on_retry_exhausted="reminders.dead_letter",
)
async def send_reminder(reminder_id: int) -> None:
    """Deliver one reminder; a transient failure comes back after the backoff."""
    async with worker_sessions()() as session:
        attempt = await _delivery(session).deliver(reminder_id, now())
        await session.commit()
    log.info("reminders.attempt", reminder_id=reminder_id, outcome=attempt.outcome.value)
    if attempt.outcome is Outcome.RETRY:
        raise dramatiq.Retry(delay=_milliseconds(attempt.delay))


def _milliseconds(delay: timedelta | None) -> int:
    assert delay is not None  # a retry always says when
    return int(delay.total_seconds() * 1000)


@dramatiq.actor(
    actor_name="reminders.dead_letter",
    queue_name="reminders",
    broker=current_broker(),
    # One that fails still leaves its reminder queued: the dispatcher takes it up as lost.
    max_retries=3,
    throws=(),
    time_limit=ONE_MINUTE_MS,
)
async def dead_letter(message: dict[str, Any], _retries: dict[str, Any]) -> None:
    """A send the broker gave up on (unexpected errors): mark the reminder dead for an operator."""
    reminder_id = int(message["args"][0])
    async with worker_sessions()() as session:
        marked = await _delivery(session).give_up(reminder_id, now())
        await session.commit()
    log.warning("reminders.dead_letter", reminder_id=reminder_id, marked=marked)
