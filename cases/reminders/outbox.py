"""Reminder rows (the outbox): one factory builds every row a change plans, whatever plans it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cases.kit.columns import utcnow
from cases.patients.models import Channel
from cases.reminders.models import ReminderKind, ReminderStatus
from cases.reminders.policy import PlannedReminder


def outbox_row(
    *,
    patient_id: int,
    case_id: int | None,
    visit_id: int | None,
    kind: ReminderKind | str,
    channel: Channel,
    template: str,
    scheduled_for: datetime,
    idempotency_key: str,
    now: datetime,
    previous_id: int | None = None,
) -> dict[str, Any]:
    """A pending reminder, as the row the outbox takes; `previous_id` is the reminder whose
    channel failed, when this one is the next rung of the ladder."""
    return {
        "patient_id": patient_id,
        "case_id": case_id,
        "visit_id": visit_id,
        "kind": kind,
        "channel": channel,
        "template": template,
        "scheduled_for": scheduled_for,
        "status": ReminderStatus.PENDING,
        "attempts": 0,
        "previous_id": previous_id,
        "idempotency_key": idempotency_key,
        "created_at": now,
        "updated_at": now,
    }


def outbox_rows(
    planned: Sequence[PlannedReminder], patient_id: int, case_id: int, visit_id: int
) -> list[dict[str, Any]]:
    now = utcnow()
    return [
        outbox_row(
            patient_id=patient_id,
            case_id=case_id,
            visit_id=visit_id,
            kind=reminder.kind,
            channel=reminder.channel,
            template=reminder.template,
            scheduled_for=reminder.scheduled_for,
            idempotency_key=reminder.idempotency_key,
            now=now,
        )
        for reminder in planned
    ]
