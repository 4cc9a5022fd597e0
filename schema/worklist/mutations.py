"""Mutations of the worklist: work items and contact attempts."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from cases.worklist.service import WorkItemService
from schema.core.errors import (
    InvalidStateError,
    NotFoundError,
    ValidationError,
)
from schema.core.ids import optional_row_id, row_id
from schema.core.mutations import mutate
from schema.core.relay import Info
from schema.worklist.inputs import LogContactAttemptInput
from schema.worklist.types import ContactAttempt, WorkItem

LogContactAttemptResult = Annotated[
    ContactAttempt | ValidationError | NotFoundError,
    strawberry.union("LogContactAttemptResult"),
]
StartWorkItemResult = Annotated[
    WorkItem | ValidationError | NotFoundError | InvalidStateError,
    strawberry.union("StartWorkItemResult"),
]
ResolveWorkItemResult = Annotated[
    WorkItem | ValidationError | NotFoundError | InvalidStateError,
    strawberry.union("ResolveWorkItemResult"),
]


@strawberry.type
class WorklistMutation:
    @strawberry.mutation
    async def log_contact_attempt(
        self, info: Info, input: LogContactAttemptInput
    ) -> LogContactAttemptResult:
        return await mutate(
            info,
            lambda c: WorkItemService(c.session).log_contact_attempt(
                c.actor,
                patient_id=row_id(input.patient_id, "Patient", "patient_id"),
                method=input.method,
                outcome=input.outcome,
                note=input.note,
                case_id=optional_row_id(input.case_id, "SupervisionCase", "case_id"),
                work_item_id=optional_row_id(input.work_item_id, "WorkItem", "work_item_id"),
                representative_id=optional_row_id(
                    input.representative_id, "Representative", "representative_id"
                ),
            ),
            ContactAttempt.from_model,
        )

    @strawberry.mutation
    async def start_work_item(self, info: Info, id: relay.GlobalID) -> StartWorkItemResult:
        return await mutate(
            info,
            lambda c: WorkItemService(c.session).start(c.actor, row_id(id, "WorkItem", "id")),
            WorkItem.from_model,
            renamed={"work_item_id": "id"},
        )

    @strawberry.mutation
    async def resolve_work_item(
        self, info: Info, id: relay.GlobalID, resolution: str
    ) -> ResolveWorkItemResult:
        return await mutate(
            info,
            lambda c: WorkItemService(c.session).resolve(
                c.actor, row_id(id, "WorkItem", "id"), resolution
            ),
            WorkItem.from_model,
            renamed={"work_item_id": "id"},
        )
