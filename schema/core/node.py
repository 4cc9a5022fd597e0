"""The root `node` field: any object by its global id."""

from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.types.base import StrawberryObjectDefinition

from cases.kit.errors import ValidationFailed
from schema.core.relay import Info


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global id; null when there is none.")
    async def node(self, info: Info, id: relay.GlobalID) -> relay.Node | None:
        definition = info.schema.get_type_by_name(id.type_name)
        if not (
            isinstance(definition, StrawberryObjectDefinition)
            and issubclass(definition.origin, relay.Node)
        ):
            raise ValidationFailed("must be the global id of an object", field="id")
        return await id.resolve_node(info, required=False)
