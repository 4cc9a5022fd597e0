"""Claiming due reminders and moving those outside quiet hours to the next opening."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from cases.reminders.couriers import DeliveryLimits
from cases.reminders.delivery import PATIENT_FACING
from cases.reminders.policy import next_allowed_send_time
from cases.reminders.repository import (
    ReminderRepository,
)
from cases.supervision.policy import CaseRules


class ReminderDispatcher:
    """Releases due reminders to the sender: inside the patient's waking hours, once each."""

    def __init__(
        self, session: AsyncSession, rules: CaseRules, limits: DeliveryLimits | None = None
    ) -> None:
        self.rules = rules
        self.limits = limits or DeliveryLimits()
        self.reminders = ReminderRepository.from_session(session)

    async def claim(self, now: datetime, batch_size: int = 500) -> list[int]:
        """Queue one batch of due reminders; returns their ids, plus any whose message was lost.

        A reminder due outside the patient's quiet-hours window is moved to the window's next
        opening in the patient's zone instead, so the next run does not look at it again.
        """
        policy = self.rules.policy
        ready: list[int] = []
        later: dict[int, datetime] = {}
        for row in await self.reminders.due(now, batch_size):
            if row.channel not in PATIENT_FACING:
                ready.append(row.id)
                continue
            at = next_allowed_send_time(
                now, ZoneInfo(row.time_zone), policy.quiet_start, policy.quiet_end
            )
            if at <= now:
                ready.append(row.id)
            else:
                later[row.id] = at
        await self.reminders.mark_queued(ready, now)
        await self.reminders.postpone(later, now)
        lost = await self.reminders.stale_queued(now - self.limits.stale_after, batch_size)
        await self.reminders.touch_queued(lost, now)
        return ready + lost
