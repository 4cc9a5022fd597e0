"""Running a compiled read: the plans kept per document, the statements each root field sends,
and the answer assembled from the JSON the database wrote.

The contract is the package's (`schema.compiled`): the same answer as the executor, or the
executor's; nothing is written for a request the executor takes over.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any

import orjson
import sqlalchemy as sa
import structlog
from cachetools import LRUCache
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    parse,
)
from graphql.execution.collect_fields import (
    FragmentDetails,
)
from graphql.execution.values import get_variable_values
from graphql.pyutils import Path
from strawberry import relay

from cases.kit.caching import ByObject
from cases.kit.columns import utcnow
from cases.kit.errors import DomainError
from cases.kit.paging import Page, PageQuery
from cases.kit.repository import on_postgresql
from cases.reads.driver import DriverStatement
from cases.reads.pages import PageReader
from cases.reads.projection import (
    MISSING_IN_TEXT,
    Constant,
    Cursor,
    Flag,
    Flags,
    Items,
    PageFlag,
    ProjectionReader,
    Row,
    Total,
    Unsupported,
    audit_values,
)
from cases.tenancy import DataScope, scope_of, scope_values
from schema.compiled.planner import (
    NotCompiled,
    Plan,
    Planner,
    Request,
    RootPlan,
    Statements,
    arguments_of,
    build_plan,
    origin_of,
)
from schema.core.context import Context
from schema.core.ids import row_id
from schema.core.objects import ModelNode

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Step:
    """A root field settled and ready to run its statements; `writes` if one of them writes."""

    run: Callable[[], Awaitable[Any]]
    writes: bool


OTHER_REASONS = "other reasons"


class CompiledReads:
    """The plans of the documents a schema has been asked, the least recently used dropped first."""

    def __init__(self, size: int = 256) -> None:
        self.plans: LRUCache[tuple[Any, ...], Plan | str] = LRUCache(size)
        # How many requests were answered compiled (of them, how many before strawberry saw
        # them: `api.app.GraphQLRoute`), and why the others were not.
        self.answered = 0
        self.early = 0
        self.declined: Counter[str] = Counter()
        self.reasons = 64  # reasons counted by name; the rest as OTHER_REASONS
        # The parsed documents of the queries answered: a query seen again can be answered
        # before strawberry parses it.
        self.documents: LRUCache[str, DocumentNode] = LRUCache(size)
        # Each document's operations and fragments, by the document and the operation's name.
        self.operations: ByObject[tuple[OperationDefinitionNode, dict[str, FragmentDetails]]] = (
            ByObject(size)
        )

    def document_of(self, query: str) -> DocumentNode | None:
        return self.documents.get(query)

    def decline(self, reason: str) -> None:
        """Count a request left to the executor by its reason; the counter stays bounded
        whatever the documents sent, past `reasons` reasons the new ones count together."""
        if reason not in self.declined and len(self.declined) >= self.reasons:
            reason = OTHER_REASONS
        self.declined[reason] += 1

    def operation_of(
        self, document: DocumentNode, operation_name: str | None
    ) -> tuple[OperationDefinitionNode, dict[str, FragmentDetails]]:
        """The query operation `operation_name` names in `document`, and its fragments."""
        found = self.operations.get(document, operation_name)
        if found is None:
            operation = get_operation_ast(document, operation_name)
            if operation is None or operation.operation is not OperationType.QUERY:
                raise NotCompiled("not a query")
            fragments = {
                definition.name.value: FragmentDetails(definition)
                for definition in document.definitions
                if isinstance(definition, FragmentDefinitionNode)
            }
            found = self.operations.keep(document, operation_name, (operation, fragments))
        return found

    def request(
        self,
        graphql_schema: GraphQLSchema,
        document: DocumentNode,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        context: Any,
    ) -> Request:
        """The query operation of `document` with its variables coerced, or NotCompiled."""
        operation, fragments = self.operation_of(document, operation_name)
        coerced = get_variable_values(
            graphql_schema, operation.variable_definitions or (), variables or {}
        )
        if isinstance(coerced, list):
            raise NotCompiled("variables")
        return Request(graphql_schema, document, operation, fragments, coerced, variables, context)

    async def answer(
        self,
        graphql_schema: GraphQLSchema,
        document: DocumentNode,
        query: str | None,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        context: Context,
    ) -> dict[str, Any]:
        """The data of the answer, or NotCompiled."""
        session = context.session
        scope = scope_of(session)
        if scope is None or not on_postgresql(session):
            raise NotCompiled("not on PostgreSQL")
        request = self.request(graphql_schema, document, operation_name, variables, context)
        plan = self.plan(query, operation_name, request)
        dialect = session.get_bind().dialect
        # What may still send the request to the executor is settled before any statement runs
        # (but a required value the database has not got), and the one statement that writes
        # (a card read's audit row, withheld when a value is missing) runs last: a request the
        # executor takes over has written nothing.
        steps = [
            await self.look_up(root, request, context, scope, dialect)
            if root.lookup is not None
            else await self.listed(root, request, context, scope, dialect)
            for root in plan.roots
        ]
        if sum(step.writes for step in steps) > 1:
            raise NotCompiled("more than one read to record")
        answers = {}
        for position in sorted(range(len(steps)), key=lambda n: steps[n].writes):
            answers[position] = await steps[position].run()
        if query is not None and query not in self.documents:
            self.documents[query] = document
        return {root.key: answers[n] for n, root in enumerate(plan.roots)}

    def plan(self, query: str | None, operation_name: str | None, request: Request) -> Plan:
        """The document's plan: kept per query text, operation and the values of the variables
        its @include and @skip read, which decide what is selected."""
        switches = tuple(
            sorted(
                (name, repr(value))
                for name, value in request.variable_values.coerced.items()
                if isinstance(value, bool)
            )
        )
        key = (query, operation_name, switches)
        found = self.plans.get(key) if query is not None else None
        if found is None:
            try:
                found = build_plan(request)
            except (NotCompiled, Unsupported) as refusal:
                found = str(refusal)
            if query is not None:
                self.plans[key] = found
        if isinstance(found, str):
            raise NotCompiled(found)
        return found

    async def listed(
        self,
        root: RootPlan,
        request: Request,
        context: Context,
        scope: DataScope,
        dialect: sa.Dialect,
    ) -> Step:
        """A root list: the resolver's own page query (it checks the arguments, the caller and
        builds the query without I/O), then its page of ids, the nodes' JSON, the count."""
        connection = await _resolve(root, request)
        query = getattr(connection, "query", None)
        if not isinstance(query, PageQuery) or root.node_type is None:
            raise NotCompiled("the list has no page query")
        table = root.node_type.model.__table__  # type: ignore[attr-defined]
        nodes = root.nodes
        statement = None if nodes is None else nodes.for_scope(scope, dialect)
        values = scope_values(scope) if nodes is None else nodes.values(scope, request)

        async def run() -> dict[str, Any]:
            session = context.session
            page, count_rows = await PageReader.from_session(session).ids(
                query, table.c.id, cursors=root.cursors
            )
            documents: Sequence[str] = []
            if statement is not None and page.items:
                rows = await ProjectionReader.from_session(session).rows(
                    statement, page.items, values
                )
                if len(rows) != len(page.items):
                    raise NotCompiled("rows changed between the page and its nodes")
                documents = [_checked(row["document"]) for row in rows]
            answer: dict[str, Any] = {}
            for member in root.members:
                match member:
                    case Items(key=key, members=parts):
                        answer[key] = _edges(parts, page, documents)
                    case Flags(key=key, members=flags):
                        answer[key] = _page_info(flags, page)
                    case Total(key=key):
                        answer[key] = await count_rows()
                    case Constant(key=key, value=value):
                        answer[key] = value
            return answer

        return Step(run, writes=False)

    async def look_up(
        self,
        root: RootPlan,
        request: Request,
        context: Context,
        scope: DataScope,
        dialect: sa.Dialect,
    ) -> Step:
        """A root object by global id, as the lookup fields' resolvers find it (by id, in the
        caller's scope), recording the read where their read hook does (a patient's card)."""
        lookup = root.lookup
        assert lookup is not None
        arguments = arguments_of(root, request)
        given = {name for name, value in arguments.items() if value is not None}
        if given != {lookup.argument}:
            raise NotCompiled("looked up by another argument")
        try:
            global_id = relay.GlobalID.from_id(arguments[lookup.argument])
            row = row_id(global_id, lookup.type_name or global_id.type_name, lookup.argument)
        except (DomainError, ValueError) as refusal:
            raise NotCompiled("not a global id of this type") from refusal
        statements = self.node_statements(root, request, global_id.type_name)
        statement = statements.for_scope(scope, dialect)
        values = statements.values(scope, request)
        if statements.audit is not None:
            values.update(audit_values(context.actor, utcnow()))

        async def run() -> orjson.Fragment | None:
            rows = await ProjectionReader.from_session(context.session).rows(
                statement, [row], values
            )
            if not rows:
                return None
            return orjson.Fragment(_checked(rows[0]["document"]))

        return Step(run, writes=statements.audit is not None)

    @staticmethod
    def node_statements(root: RootPlan, request: Request, type_name: str) -> Statements:
        found = root.by_type.get(type_name)
        if found is None:
            object_type = request.schema.type_map.get(type_name)
            node_type = (
                origin_of(object_type) if isinstance(object_type, GraphQLObjectType) else None
            )
            if not (isinstance(node_type, type) and issubclass(node_type, ModelNode)):
                raise NotCompiled("an id of no node type")  # the name is the client's text
            assert isinstance(object_type, GraphQLObjectType)
            planner = Planner(request)
            shape = planner.shape(object_type, root.details)
            audit = node_type.read_audit if root.lookup and root.lookup.read_hook else None
            found = root.by_type[type_name] = Statements(
                shape, tuple(planner.sizes), audit, single=True
            )
        return found


async def _resolve(root: RootPlan, request: Request) -> Any:
    """The root field's resolver, called as the executor calls it."""
    executor = request.executor()
    query_type = executor.schema.query_type
    assert query_type is not None
    assert root.field_def.resolve is not None
    info = executor.build_resolve_info(
        root.field_def,
        [detail.node for detail in root.details],
        query_type,
        Path(None, root.key, "Query"),
    )
    try:
        found = root.field_def.resolve(executor.root_value, info, **arguments_of(root, request))
        if isawaitable(found):
            found = await found
    except NotCompiled:
        raise
    except Exception as refusal:
        raise NotCompiled("the resolver refused") from refusal
    return found


def _checked(document: str) -> str:
    if MISSING_IN_TEXT in document:
        raise NotCompiled("a required value is missing")
    return document


def _edges(
    parts: Sequence[Row | Cursor | Constant], page: Page[int], documents: Sequence[str]
) -> list[dict[str, Any]]:
    edges = []
    for position in range(len(page.items)):
        edge: dict[str, Any] = {}
        for part in parts:
            match part:
                case Row(key=key):
                    edge[key] = orjson.Fragment(documents[position])
                case Cursor(key=key):
                    edge[key] = page.cursors[position]
                case Constant(key=key, value=value):
                    edge[key] = value
        edges.append(edge)
    return edges


def _page_info(flags: Sequence[PageFlag | Constant], page: Page[int]) -> dict[str, Any]:
    values = {
        Flag.HAS_NEXT: page.has_next_page,
        Flag.HAS_PREVIOUS: page.has_previous_page,
        Flag.START_CURSOR: page.cursors[0] if page.cursors else None,
        Flag.END_CURSOR: page.cursors[-1] if page.cursors else None,
    }
    return {
        flag.key: flag.value if isinstance(flag, Constant) else values[flag.flag] for flag in flags
    }


def node_statements(
    graphql_schema: GraphQLSchema,
    document: str,
    variables: dict[str, Any],
    scope: DataScope,
    dialect: sa.Dialect,
) -> dict[str, tuple[DriverStatement, dict[str, Any]]]:
    """Per root field of `document`, the statement a compiled read sends for its nodes and the
    values it sends besides the ids (and a recorded read's `cases.reads.projection.audit_values`): for
    the benchmark's floor, which sends the same statements without this module."""
    request = CompiledReads().request(graphql_schema, parse(document), None, variables, None)
    found = {}
    for root in build_plan(request).roots:
        if root.lookup is not None:
            global_id = relay.GlobalID.from_id(arguments_of(root, request)[root.lookup.argument])
            statements = CompiledReads.node_statements(root, request, global_id.type_name)
        elif root.nodes is not None:
            statements = root.nodes
        else:
            continue
        found[root.key] = (statements.for_scope(scope, dialect), statements.values(scope, request))
    return found
