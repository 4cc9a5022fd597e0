"""The root `node` field: any object by its global id."""

from __future__ import annotations

import strawberry
from strawberry import relay

from schema.core.relay import Info


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global id; null when there is none.")
    async def node(self, info: Info, id: relay.GlobalID) -> relay.Node | None:
        return await id.resolve_node(info, required=False)
