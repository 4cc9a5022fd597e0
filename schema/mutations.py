"""Root mutation fields: validate input, call one service method in a savepoint, return a union."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from cases.service import InsurerService
from schema.context import Context
from schema.errors import ConflictError, UserError, ValidationError, run_mutation
from schema.types import Insurer


@strawberry.input
class RegisterInsurerInput:
    registry_code: str = strawberry.field(description="Registry code of the СМО, e.g. VTB-MS.")
    name: str
    hotline_phone: str | None = strawberry.field(
        default=None, description="Any usual Russian written form; stored as E.164."
    )


RegisterInsurerResult = Annotated[
    Insurer | ValidationError | ConflictError, strawberry.union("RegisterInsurerResult")
]


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def register_insurer(
        self, info: strawberry.Info[Context, Any], input: RegisterInsurerInput
    ) -> RegisterInsurerResult:
        context = info.context
        result: Any = await run_mutation(
            context.session,
            lambda: InsurerService(context.session).register(
                context.actor,
                code=input.registry_code,
                name=input.name,
                hotline_phone=input.hotline_phone,
            ),
        )
        if isinstance(result, UserError):
            return result  # type: ignore[return-value]
        return Insurer.from_model(result)
