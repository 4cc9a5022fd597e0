"""Inputs of the reminders' queries."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from cases.patients.models import Channel
from cases.reminders.models import ReminderKind, ReminderStatus


@strawberry.input
class ReminderFilterInput:
    statuses: list[ReminderStatus] | None = None
    patient_id: relay.GlobalID | None = None
    case_id: relay.GlobalID | None = None
    channel: Channel | None = None
    kind: ReminderKind | None = None
    scheduled_from: datetime | None = None
    scheduled_before: datetime | None = None


@strawberry.input
class InformingFilterInput:
    patient_id: relay.GlobalID | None = None
    case_id: relay.GlobalID | None = None
    since: datetime | None = None
    before: datetime | None = None
