"""The GraphQL schema: types, inputs, queries, mutations and loaders over the `cases` domain."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.errors import MaskUnexpectedErrors, log_errors
from schema.mutations import Mutation
from schema.queries import Query

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 5000
# The limiters' rules, built once: the validation cache is keyed by the rules, so rules made
# anew per request would never let a document's earlier validation be reused.
LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]


class DispensarySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_errors(errors, execution_context)


def build_schema(*, production: bool = False) -> DispensarySchema:
    extensions: list[Any] = [
        lambda: AddValidationRules(LIMIT_RULES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        # Clients send the same few documents: parse and validate each once (bounded caches).
        ParserCache,
        ValidationCache,
        MaskUnexpectedErrors,
    ]
    return DispensarySchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=production),
    )


schema = build_schema()
