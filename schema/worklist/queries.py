"""Root query fields of the worklist."""

from __future__ import annotations

import strawberry

from cases.kit.paging import PageRequest
from cases.worklist.repository import WorkItemFilter
from cases.worklist.service import WorkItemService
from schema.core.ids import optional_row_id
from schema.core.permissions import worklist_owner
from schema.core.relay import Connection, Info
from schema.worklist.inputs import WorklistFilterInput
from schema.worklist.types import WorkItem


@strawberry.type
class WorklistQuery:
    @strawberry.field(description="Open work items, most urgent first, then by due time.")
    async def worklist(
        self,
        info: Info,
        filter: WorklistFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[WorkItem]:
        given = filter or WorklistFilterInput()
        owner = worklist_owner(
            info.context.actor,
            optional_row_id(given.representative_id, "Representative", "filter.representativeId"),
        )
        query = WorkItemService(info.context.session).page_query(
            WorkItemFilter(owner_id=owner, kinds=tuple(given.kinds or ())),
            PageRequest.of(first, after),
        )
        return Connection.listed(info, query, WorkItem.from_model)
