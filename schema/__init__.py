"""The GraphQL schema: types, inputs, queries, mutations and loaders over the `cases` domain."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.cost import cost_rule
from schema.errors import MaskUnexpectedErrors, log_errors
from schema.mutations import Mutation
from schema.permissions import permission_rule
from schema.queries import Query

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 5000
MAX_COST = 10_000


class RequestGuards(SchemaExtension):
    """Adds the caller's permission rule and the cost limit to validation: a refused document
    never reaches a resolver, so it runs no SQL."""

    def __init__(self, max_cost: int) -> None:
        self.max_cost = max_cost

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = (
            *context.validation_rules,
            permission_rule(context.context.actor),
            cost_rule(self.max_cost, context.variables),
        )
        yield


# The limiters' rules, built once rather than per request.
LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]


class DispensarySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_errors(errors, execution_context)


def build_schema(*, production: bool = False, max_cost: int = MAX_COST) -> DispensarySchema:
    extensions: list[Any] = [
        lambda: AddValidationRules(LIMIT_RULES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: RequestGuards(max_cost),
        # Clients send the same few documents: parse each once (a bounded cache). Validation is
        # not cached: the caller's permission and cost rules differ from request to request.
        ParserCache,
        MaskUnexpectedErrors,
    ]
    if production:
        extensions.append(DisableIntrospection)
    return DispensarySchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=production),
    )


schema = build_schema()
