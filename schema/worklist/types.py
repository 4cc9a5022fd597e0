"""Work items and representatives' contact attempts."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, ClassVar

import strawberry
from sqlmodel import SQLModel
from strawberry import relay

from cases.worklist import models as worklist_models
from schema.core.objects import ModelNode
from schema.core.relations import lazy, one
from schema.patients.types import Patient
from schema.registry.types import Representative
from schema.supervision.types import SupervisionCase, Visit

if TYPE_CHECKING:
    from schema.appeals.types import Appeal
LazyAppeal = Annotated["Appeal", strawberry.lazy("schema.appeals.types")]

for _enum in (
    worklist_models.WorkItemKind,
    worklist_models.WorkItemStatus,
    worklist_models.ContactMethod,
    worklist_models.ContactOutcome,
):
    strawberry.enum(_enum)


@strawberry.type
class ContactAttempt(ModelNode):
    loader_name: ClassVar[str] = "contact_attempt"
    model: ClassVar[type[SQLModel]] = worklist_models.ContactAttempt
    id: relay.NodeID[int]
    method: worklist_models.ContactMethod
    outcome: worklist_models.ContactOutcome
    note: str | None
    attempted_at: datetime
    representative_id: strawberry.Private[int]

    representative: Representative = one(
        "representative", "representative_id", lambda: Representative
    )


@strawberry.type
class WorkItem(ModelNode):
    """Something a representative must act on."""

    loader_name: ClassVar[str] = "work_item"
    model: ClassVar[type[SQLModel]] = worklist_models.WorkItem
    id: relay.NodeID[int]
    kind: worklist_models.WorkItemKind
    priority: int = strawberry.field(description="1 is the most urgent.")
    due_at: datetime
    status: worklist_models.WorkItemStatus
    resolution: str | None
    resolved_at: datetime | None
    created_at: datetime
    patient_id: strawberry.Private[int | None]
    case_id: strawberry.Private[int | None]
    visit_id: strawberry.Private[int | None]
    appeal_id: strawberry.Private[int | None]
    owner_id: strawberry.Private[int | None]

    patient: Patient | None = one(
        "patient",
        "patient_id",
        lambda: Patient,
        description="Null only for an appeal of a person not known as a patient.",
    )

    appeal: LazyAppeal | None = one("appeal", "appeal_id", lazy("schema.appeals.types", "Appeal"))

    case: SupervisionCase | None = one("case", "case_id", lambda: SupervisionCase)

    visit: Visit | None = one("visit", "visit_id", lambda: Visit)

    owner: Representative | None = one("representative", "owner_id", lambda: Representative)
