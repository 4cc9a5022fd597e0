"""Root query fields; each is a thin call into a `cases` service."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry import relay

from cases.pagination import PageRequest
from cases.service import InsurerService
from schema.context import Context
from schema.relay import Connection
from schema.types import Insurer


@strawberry.type
class Query:
    @strawberry.field(description="Any object by its global id; null when there is none.")
    async def node(
        self, info: strawberry.Info[Context, Any], id: relay.GlobalID
    ) -> relay.Node | None:
        return await id.resolve_node(info, required=False)

    @strawberry.field(description="Insurers of the region, by name.")
    async def insurers(
        self,
        info: strawberry.Info[Context, Any],
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Insurer]:
        service = InsurerService(info.context.session)
        page = await service.page(PageRequest.of(first, after))
        return Connection.of(page, Insurer.from_model, service.count)
