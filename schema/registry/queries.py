"""Root query fields of the registry: the caller, insurers."""

from __future__ import annotations

import strawberry

from cases.kit.paging import PageRequest
from cases.registry.service import InsurerService
from schema.core.relay import Connection, Info
from schema.registry.types import Insurer, Me


@strawberry.type
class RegistryQuery:
    @strawberry.field(description="The caller.")
    def me(self, info: Info) -> Me:
        actor = info.context.actor
        return Me(role=actor.role, label=actor.label, representative_id=actor.representative_id)

    @strawberry.field(description="Insurers of the region, by name.")
    async def insurers(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Insurer]:
        query = InsurerService(info.context.session).page_query(PageRequest.of(first, after))
        return Connection.listed(info, query, Insurer.from_model)
