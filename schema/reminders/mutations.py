"""Operators' mutations of reminders."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from cases.reminders.operations import ReminderOperations
from schema.core.errors import (
    InvalidStateError,
    NotFoundError,
    ValidationError,
)
from schema.core.ids import row_id
from schema.core.mutations import mutate
from schema.core.relay import Info
from schema.reminders.types import Reminder

SendReminderNowResult = Annotated[
    Reminder | ValidationError | NotFoundError | InvalidStateError,
    strawberry.union("SendReminderNowResult"),
]
CancelReminderResult = Annotated[
    Reminder | ValidationError | NotFoundError | InvalidStateError,
    strawberry.union("CancelReminderResult"),
]
RetryReminderResult = Annotated[
    Reminder | ValidationError | NotFoundError | InvalidStateError,
    strawberry.union("RetryReminderResult"),
]


@strawberry.type
class RemindersMutation:
    @strawberry.mutation(
        description="Make a pending reminder due now; the next dispatch (within a minute) sends it, "
        "inside the patient's waking hours."
    )
    async def send_reminder_now(self, info: Info, id: relay.GlobalID) -> SendReminderNowResult:
        return await mutate(
            info,
            lambda c: ReminderOperations(c.session).send_now(c.actor, row_id(id, "Reminder", "id")),
            Reminder.from_model,
            renamed={"reminder_id": "id"},
        )

    @strawberry.mutation(description="Cancel a pending or queued reminder.")
    async def cancel_reminder(self, info: Info, id: relay.GlobalID) -> CancelReminderResult:
        return await mutate(
            info,
            lambda c: ReminderOperations(c.session).cancel(c.actor, row_id(id, "Reminder", "id")),
            Reminder.from_model,
            renamed={"reminder_id": "id"},
        )

    @strawberry.mutation(
        description="Put a dead or failed reminder back in the outbox, due now, with a fresh retry budget."
    )
    async def retry_reminder(self, info: Info, id: relay.GlobalID) -> RetryReminderResult:
        return await mutate(
            info,
            lambda c: ReminderOperations(c.session).retry(c.actor, row_id(id, "Reminder", "id")),
            Reminder.from_model,
            renamed={"reminder_id": "id"},
        )
