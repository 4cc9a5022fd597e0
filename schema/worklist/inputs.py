"""Inputs of the worklist's queries and mutations."""

from __future__ import annotations

import strawberry
from strawberry import relay

from cases.worklist.models import ContactMethod, ContactOutcome, WorkItemKind


@strawberry.input
class WorklistFilterInput:
    kinds: list[WorkItemKind] | None = None
    representative_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="Whose worklist; a representative sees their own, a supervisor anyone's.",
    )


@strawberry.input
class LogContactAttemptInput:
    patient_id: relay.GlobalID
    method: ContactMethod
    outcome: ContactOutcome
    note: str | None = None
    case_id: relay.GlobalID | None = None
    work_item_id: relay.GlobalID | None = None
    representative_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Needed only when the caller is not a representative."
    )
