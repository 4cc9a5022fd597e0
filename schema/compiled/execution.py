"""The route hook of compiled reads: a schema extension that answers a query with its plan."""

from __future__ import annotations

from collections.abc import AsyncIterator

import structlog
from graphql import (
    GraphQLError,
)
from graphql.execution import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension

from schema.compiled.planner import NotCompiled
from schema.compiled.runner import CompiledReads

log = structlog.get_logger(__name__)


class CompiledExecution(SchemaExtension):
    """Answers a query document with its compiled plan where it can (`CompiledReads`); strawberry
    then skips its own execution, as it does for a result an extension has set."""

    def __init__(self, reads: CompiledReads) -> None:
        self.reads = reads

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        if document is not None and execution.result is None:
            try:
                data = await self.reads.answer(
                    execution.schema._schema,
                    document,
                    execution.query,
                    execution.operation_name,
                    execution.variables,
                    execution.context,
                )
            except NotCompiled as refusal:
                self.reads.decline(str(refusal))
                log.debug("compiled_read.declined", reason=str(refusal))
            except Exception as error:  # noqa: BLE001 - reported as the executor reports it
                # Raised out of an extension, strawberry would answer with the error's message
                # and mask nothing: hand it over as an execution's error instead, which is
                # logged and masked as any other.
                execution.result = GraphQLExecutionResult(
                    data=None, errors=[GraphQLError(str(error), original_error=error)]
                )
            else:
                self.reads.answered += 1
                execution.result = GraphQLExecutionResult(data=data, errors=None)
        yield
