"""The GraphQL schema over the `cases` domain: one package per domain (its types, inputs, queries
and mutations), merged here into the root types; `schema.core` holds what they share and
`schema.compiled` the compiled reads.

A domain's types import the types of the domains below it (registry, patients, supervision,
reminders, worklist, appeals) directly; a type of a domain above it is named through a
`strawberry.lazy` alias, resolved when the schema is built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import strawberry
from cachetools import LRUCache
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
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from cases.kit.actor import Actor
from schema.appeals.mutations import AppealsMutation
from schema.appeals.queries import AppealsQuery
from schema.audit.queries import AuditQuery
from schema.compiled import CompiledExecution, CompiledReads
from schema.core.cost import cost_errors, page_size_of
from schema.core.errors import MaskUnexpectedErrors, log_errors
from schema.core.node import NodeQuery
from schema.core.permissions import permission_profile, permission_rule
from schema.core.scalars import SCALAR_OVERRIDES
from schema.patients.mutations import PatientsMutation
from schema.patients.queries import PatientsQuery
from schema.registry.mutations import RegistryMutation
from schema.registry.queries import RegistryQuery
from schema.reminders.mutations import RemindersMutation
from schema.reminders.queries import RemindersQuery
from schema.statistics.queries import StatisticsQuery
from schema.supervision.mutations import SupervisionMutation
from schema.supervision.queries import SupervisionQuery
from schema.worklist.mutations import WorklistMutation
from schema.worklist.queries import WorklistQuery

Query = merge_types(
    "Query",
    (
        NodeQuery,
        RegistryQuery,
        PatientsQuery,
        SupervisionQuery,
        WorklistQuery,
        AuditQuery,
        RemindersQuery,
        AppealsQuery,
        StatisticsQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        RegistryMutation,
        PatientsMutation,
        SupervisionMutation,
        WorklistMutation,
        RemindersMutation,
        AppealsMutation,
    ),
)

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 5000
MAX_COST = 10_000


class RequestGuards(SchemaExtension):
    """Validates a document in three parts; a refused document never reaches a resolver, so it
    runs no SQL.

    Clients send the same few documents, so the schema keeps verdicts per query text: the
    schema's own rules and the limits once per text, the caller's permission rule once per
    text and permission profile, the cost limit once per text and page sizes asked for.
    """

    def __init__(self, max_cost: int, verdicts: Verdicts) -> None:
        self.max_cost = max_cost
        self.verdicts = verdicts

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        schema = context.schema._schema
        document = context.graphql_document
        assert document is not None
        actor = context.context.actor
        rules = tuple(context.validation_rules)
        rules_key, permission_key, cost_key = verdict_keys(context.query, actor, context.variables)
        errors = self.verdicts.kept(rules_key, lambda: validate_document(schema, document, rules))
        if not errors:
            errors = self.verdicts.kept(
                permission_key, lambda: validate(schema, document, [permission_rule(actor)])
            )
        if not errors:
            errors = self.verdicts.kept(
                cost_key, lambda: cost_errors(schema, document, context.variables, self.max_cost)
            )
        context.pre_execution_errors = errors
        yield


def verdict_keys(
    query: str | None, actor: Actor, variables: dict[str, Any] | None
) -> tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]:
    """Under what the verdicts of a request are kept: the schema's rules and the limits per query
    text, the permission rule per text and permission profile, the cost per text and the values
    of the Int variables (the cost reads the variables only where they give a page size)."""
    sizes = tuple(
        sorted(
            (name, size)
            for name, value in (variables or {}).items()
            if (size := page_size_of(value)) is not None
        )
    )
    return (query,), (query, permission_profile(actor)), (query, "cost", sizes)


class Verdicts:
    """One schema's validation errors per (query text, what else they depend on), the least
    recently used dropped first."""

    def __init__(self, size: int) -> None:
        self.known: LRUCache[tuple[Any, ...], list[GraphQLError]] = LRUCache(size)

    def passed(self, key: tuple[Any, ...]) -> bool:
        """Whether the verdict kept for `key` found nothing wrong (False when none is kept)."""
        return self.known.get(key) == []

    def kept(
        self, key: tuple[Any, ...], verdict: Callable[[], list[GraphQLError]]
    ) -> list[GraphQLError]:
        """The verdict kept for `key` (its first item the query text), or a fresh one, kept when
        the document came as text."""
        if key[0] is None:
            return verdict()
        errors = self.known.get(key)
        if errors is None:
            errors = self.known[key] = verdict()
        return list(errors)


# The limiters' rules, built once rather than per request.
LIMIT_RULES = [
    # The limiter counts the root field as level 0: MAX_DEPTH levels, the root the first.
    *QueryDepthLimiter(max_depth=MAX_DEPTH - 1).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]


class DispensarySchema(strawberry.Schema):
    # The plans of compiled reads and their counts (None: every query takes the executor).
    compiled_reads: CompiledReads | None = None
    verdicts: Verdicts

    def admits(self, query: str, actor: Actor, variables: dict[str, Any] | None) -> bool:
        """Whether a request with this text, caller and variables has been judged and found
        valid, permitted and cheap enough already: every verdict kept, none an error."""
        return all(self.verdicts.passed(key) for key in verdict_keys(query, actor, variables))

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_errors(errors, execution_context)


def build_schema(
    *, production: bool = False, max_cost: int = MAX_COST, compiled_reads: bool = True
) -> DispensarySchema:
    verdicts = Verdicts(256)
    extensions: list[Any] = [
        lambda: AddValidationRules(LIMIT_RULES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: RequestGuards(max_cost, verdicts),
        # Clients send the same few documents: parse each once (a bounded cache).
        ParserCache,
        MaskUnexpectedErrors,
    ]
    reads = CompiledReads(256) if compiled_reads else None
    if reads is not None:
        extensions.append(lambda: CompiledExecution(reads))
    if production:
        extensions.append(DisableIntrospection)
    built = DispensarySchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=production),
        scalar_overrides=SCALAR_OVERRIDES,
    )
    built.compiled_reads = reads
    built.verdicts = verdicts
    return built


schema = build_schema()
