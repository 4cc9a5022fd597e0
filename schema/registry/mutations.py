"""Mutations of the registry."""

from __future__ import annotations

from typing import Annotated

import strawberry

from cases.registry.service import InsurerService
from schema.core.errors import (
    ConflictError,
    ValidationError,
)
from schema.core.mutations import mutate
from schema.core.relay import Info
from schema.registry.inputs import RegisterInsurerInput
from schema.registry.types import Insurer

RegisterInsurerResult = Annotated[
    Insurer | ValidationError | ConflictError,
    strawberry.union("RegisterInsurerResult"),
]


@strawberry.type
class RegistryMutation:
    @strawberry.mutation
    async def register_insurer(
        self, info: Info, input: RegisterInsurerInput
    ) -> RegisterInsurerResult:
        return await mutate(
            info,
            lambda c: InsurerService(c.session).register(
                c.actor,
                code=input.registry_code,
                name=input.name,
                hotline_phone=input.hotline_phone,
            ),
            Insurer.from_model,
        )
