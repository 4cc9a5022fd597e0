"""Object types of the API; each maps one domain model and resolves relations through loaders."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Self

import strawberry
from strawberry import relay

from cases import models
from schema.context import Context


@strawberry.type
class Insurer(relay.Node):
    """An insurance medical organization (СМО)."""

    id: relay.NodeID[int]
    registry_code: str = strawberry.field(description="The insurer's registry code, e.g. VTB-MS.")
    name: str
    hotline_phone: str | None = strawberry.field(description="E.164, e.g. +78003332225.")
    created_at: datetime

    @classmethod
    def from_model(cls, insurer: models.Insurer) -> Self:
        return cls(
            id=insurer.id,  # type: ignore[arg-type]
            registry_code=insurer.code,
            name=insurer.name,
            hotline_phone=insurer.hotline_phone,
            created_at=insurer.created_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info[Context, Any], node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        found = await info.context.loaders.insurer.load_many([int(id_) for id_ in node_ids])
        return [cls.from_model(insurer) if insurer else None for insurer in found]
