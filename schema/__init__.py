"""The GraphQL schema: types, inputs, queries, mutations and loaders over the `cases` domain."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError, validate
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
from strawberry.schema.schema import validate_document
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
    """Validates a document in two parts; a refused document never reaches a resolver, so it
    runs no SQL.

    The schema's own rules and the limits do not depend on the caller, and clients send the same
    few documents: their verdict is kept per query text (a bounded cache). The caller's
    permission rule and the cost limit, which reads the variables, run on every request.
    """

    def __init__(self, max_cost: int) -> None:
        self.max_cost = max_cost

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        schema = context.schema._schema
        document = context.graphql_document
        assert document is not None
        rules = tuple(context.validation_rules)
        errors = VERDICTS.get((context.query, rules)) if context.query else None
        if errors is None:
            errors = validate_document(schema, document, rules)
            if context.query:
                VERDICTS.put((context.query, rules), errors)
        if not errors:
            errors = validate(
                schema,
                document,
                [
                    permission_rule(context.context.actor),
                    cost_rule(self.max_cost, context.variables),
                ],
            )
        context.pre_execution_errors = errors
        yield


class Verdicts:
    """The fixed rules' errors per (query text, rules), the least recently used dropped first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.known: OrderedDict[tuple[str, tuple[Any, ...]], list[GraphQLError]] = OrderedDict()

    def get(self, key: tuple[str, tuple[Any, ...]]) -> list[GraphQLError] | None:
        errors = self.known.get(key)
        if errors is None:
            return None
        self.known.move_to_end(key)
        return list(errors)

    def put(self, key: tuple[str, tuple[Any, ...]], errors: list[GraphQLError]) -> None:
        self.known[key] = errors
        if len(self.known) > self.size:
            self.known.popitem(last=False)


VERDICTS = Verdicts(256)


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
        # Clients send the same few documents: parse each once (a bounded cache).
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
