"""The GraphQL schema: types, inputs, queries, mutations and loaders over the `cases` domain."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.errors import MaskUnexpectedErrors, log_errors
from schema.mutations import Mutation
from schema.queries import Query

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 5000


class DispensarySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_errors(errors, execution_context)


def build_schema(*, production: bool = False) -> DispensarySchema:
    extensions: list[Any] = [
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        MaskUnexpectedErrors,
    ]
    return DispensarySchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=production),
    )


schema = build_schema()
