"""Building reminder rows (the outbox) from planned reminders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cases.kit.columns import utcnow
from cases.reminders.models import ReminderStatus
from cases.reminders.policy import (
    PlannedReminder,
)


def outbox_rows(
    planned: Sequence[PlannedReminder], patient_id: int, case_id: int, visit_id: int
) -> list[dict[str, Any]]:
    now = utcnow()
    return [
        {
            "patient_id": patient_id,
            "case_id": case_id,
            "visit_id": visit_id,
            "kind": reminder.kind,
            "channel": reminder.channel,
            "template": reminder.template,
            "scheduled_for": reminder.scheduled_for,
            "status": ReminderStatus.PENDING,
            "attempts": 0,
            "idempotency_key": reminder.idempotency_key,
            "created_at": now,
            "updated_at": now,
        }
        for reminder in planned
    ]
