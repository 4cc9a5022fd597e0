"""Compiled reads: a query answered by a few statements whose JSON PostgreSQL builds.

The general executor resolves an answer field by field: for a page of 50 work items with their
patients, cases and visits, some 1,200 fields, each with its own resolver call, info object and
completion, which costs ten times what the statements do. Most requests are the same few
documents, and most of their fields are columns and relations of tables. For such a document
this module plans, once, what each root field needs (`cases.reads.projection.Shape`), and answers it
with the statements of that plan: the root list's page of ids (through the same `PageQuery`
the resolver builds, with the caller's scope), then one statement that builds every node's JSON
with everything below it, then the count if asked for. The answer goes out as the text the
database wrote.

Whatever this module cannot answer exactly as the executor would, it leaves to the executor
(`NotCompiled`): a field with a resolver of its own, a variable or an argument the resolver
refuses, a required value the database has not got. All of that is settled before any
statement runs, but the last, which only the nodes' JSON shows; the one statement that writes
(a card read's audit row) runs after every other and writes nothing for such a document, so a
request the executor takes over has written nothing. Everything else is the executor's as
before: parsing, validation, the permission and cost rules, error masking. On SQLite every
request takes the executor.

It runs as a schema extension (`CompiledExecution`: strawberry skips its own execution when an
extension has set the result), and, for a query already judged for a caller of the same
permission profile, straight from the route (`api.app.GraphQLRoute.known_answer`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from inspect import isawaitable
from typing import Any, Final

import orjson
import sqlalchemy as sa
import structlog
from cachetools import LRUCache
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    get_named_type,
    get_operation_ast,
    is_enum_type,
    is_non_null_type,
    parse,
)
from graphql.execution import ExecutionResult as GraphQLExecutionResult
from graphql.execution import Executor
from graphql.execution.collect_fields import (
    FieldDetailsList,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.pyutils import Path
from strawberry import relay
from strawberry.extensions import SchemaExtension
from strawberry.types.fields.resolver import StrawberryResolver

from cases.audit.service import ReadAudit
from cases.kit.caching import ByObject
from cases.kit.columns import utcnow
from cases.kit.errors import DomainError
from cases.kit.paging import Page, PageQuery
from cases.kit.repository import on_postgresql
from cases.reads.driver import DriverStatement
from cases.reads.pages import PageReader
from cases.reads.projection import (
    MISSING_IN_TEXT,
    Column,
    Constant,
    Cursor,
    Flag,
    Flags,
    Format,
    Items,
    Member,
    Paged,
    PageFlag,
    ProjectionReader,
    Related,
    Row,
    Shape,
    TextId,
    Total,
    Unsupported,
    audit_values,
)
from cases.tenancy import DataScope, scope_kind, scope_of, scope_values
from schema.context import Context
from schema.ids import row_id
from schema.loaders import SOURCES, AllOf, ById, CountOf, FirstN, FirstOf
from schema.relay import RELATION, Connection, Relation, first_of
from schema.types import ModelNode, ModelObject

log = structlog.get_logger(__name__)

BACKREF: Final = "strawberry-definition"
SCALAR_FORMATS: Final = {
    "String": Format.VALUE,
    "Int": Format.VALUE,
    "Boolean": Format.VALUE,
    "Date": Format.DATE,
    "DateTime": Format.INSTANT,
}


class NotCompiled(Exception):
    """This request goes to the general executor (the reason is for the logs)."""


@dataclass
class Request:
    """What an executor holds of one request: the operation, its fragments and the coerced
    variables. An `Executor` itself is built only to call a root list's resolver, which takes
    its resolve info (building one for every request cost a tenth of a card's CPU)."""

    schema: GraphQLSchema
    document: DocumentNode
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDetails]
    variable_values: VariableValues
    variables: dict[str, Any] | None
    context: Any
    _executor: Executor[Any] | None = None

    @property
    def root_value(self) -> None:
        return None

    def executor(self) -> Executor[Any]:
        if self._executor is None:
            built = Executor.build(
                self.schema,
                self.document,
                None,
                self.context,
                self.variables,
                self.operation.name.value if self.operation.name else None,
            )
            if isinstance(built, list):
                raise NotCompiled("variables")
            self._executor = built
        return self._executor


@dataclass(frozen=True)
class Lookup:
    """A root field that returns one object by its global id."""

    argument: str
    type_name: str | None  # None: any node type (`node`)
    # Whether the executor calls the type's read hook (`ModelNode.on_read`) on what it returns.
    read_hook: bool


# The root fields that look an object up. Every root field returning a connection whose page
# is a `PageQuery` (a `Connection.listed`) compiles without a line here.
LOOKUPS: Final = {
    "node": Lookup("id", None, read_hook=True),
    "patient": Lookup("id", "Patient", read_hook=True),
    "supervisionCase": Lookup("id", "SupervisionCase", read_hook=False),
}


@dataclass(frozen=True)
class PageSize:
    """Where a nested list's `first` comes from, to be read with each request's variables."""

    parameter: str
    field_def: GraphQLField
    details: FieldDetailsList


@dataclass
class Statements:
    """One shape's compiled statements, one per kind of scope, and the page sizes they take;
    with `audit`, the statements record each read (`cases.kit.audit.ReadAudit`)."""

    shape: Shape
    sizes: tuple[PageSize, ...]
    audit: ReadAudit | None = None
    single: bool = False  # for one id at a time (a lookup)
    compiled: dict[str, DriverStatement | str] = field(default_factory=dict)

    def values(self, scope: DataScope, request: Request) -> dict[str, Any]:
        """The values the statements take besides the ids: the scope's, the page sizes."""
        return {**scope_values(scope), **_page_sizes(self.sizes, request)}

    def for_scope(self, scope: DataScope, dialect: sa.Dialect) -> DriverStatement:
        kind = scope_kind(scope)
        found = self.compiled.get(kind)
        if found is None:
            try:
                found = ProjectionReader.compile(
                    self.shape, scope, dialect, self.audit, single=self.single
                )
            except Unsupported as refusal:
                found = str(refusal)
            self.compiled[kind] = found
        if isinstance(found, str):
            raise NotCompiled(found)
        return found


@dataclass
class RootPlan:
    key: str
    field_def: GraphQLField
    details: FieldDetailsList
    # A list: the members of its connection and the statements of its nodes, if selected.
    members: tuple[Items | Flags | Total | Constant, ...] = ()
    nodes: Statements | None = None
    node_type: type[ModelObject] | None = None
    cursors: bool = False  # whether the selection shows a cursor (an edge's, or the page's)
    # A lookup: the statements of each node type asked for, made when first asked.
    lookup: Lookup | None = None
    by_type: dict[str, Statements] = field(default_factory=dict)


@dataclass
class Plan:
    roots: list[RootPlan]


@dataclass(frozen=True)
class Step:
    """A root field settled and ready to run its statements; `writes` if one of them writes."""

    run: Callable[[], Awaitable[Any]]
    writes: bool


class Planner:
    """Builds a plan from a document's selections, type by type, through the schema's own
    object types: a field maps a column (`ModelObject.column_of`) or a relation
    (`schema.relay.Relation`, whose loader names the rows in `schema.loaders.SOURCES`)."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.sizes: list[PageSize] = []

    def subfields(
        self, object_type: GraphQLObjectType, details: FieldDetailsList
    ) -> dict[str, FieldDetailsList]:
        request = self.request
        collected = collect_subfields(
            request.schema,
            request.fragments,
            request.variable_values,
            request.operation,
            object_type,
            details,
        )
        if collected.new_defer_usages:
            raise NotCompiled("@defer")
        return collected.grouped_field_set

    def shape(self, object_type: GraphQLObjectType, details: FieldDetailsList) -> Shape:
        cls = _origin(object_type)
        if not (isinstance(cls, type) and issubclass(cls, ModelObject)):
            raise NotCompiled(f"{object_type.name} maps no table")
        members = tuple(
            self.member(cls, object_type, key, found)
            for key, found in self.subfields(object_type, details).items()
        )
        return Shape(cls.model, members)

    def member(
        self,
        cls: type[ModelObject],
        object_type: GraphQLObjectType,
        key: str,
        details: FieldDetailsList,
    ) -> Member:
        name = details[0].node.name.value
        if name == "__typename":
            return Constant(key, object_type.name)
        field_def = object_type.fields[name]
        definition = field_def.extensions.get(BACKREF)
        relation = (getattr(definition, "metadata", None) or {}).get(RELATION)
        if relation is not None:
            return self.relation(cls, key, details, field_def, relation)
        if name == "id" and issubclass(cls, relay.Node):
            return TextId(key, f"{object_type.name}:")
        if definition is None or isinstance(definition.base_resolver, StrawberryResolver):
            raise NotCompiled(f"{object_type.name}.{name} has a resolver")
        column = cls.column_of(definition.python_name)
        table = cls.model.__table__  # type: ignore[attr-defined]
        if column not in table.c:
            raise NotCompiled(f"{object_type.name}.{name} is no column")
        return _column(key, column, field_def, table.c[column])

    def relation(
        self,
        cls: type[ModelObject],
        key: str,
        details: FieldDetailsList,
        field_def: GraphQLField,
        relation: Relation,
    ) -> Member:
        source = SOURCES.get(relation.loader)
        target = get_named_type(field_def.type)
        assert isinstance(target, GraphQLObjectType)
        required = is_non_null_type(field_def.type)
        match source:
            case ById():
                via = cls.column_of(relation.key)
                return Related(key, via, self.shape(target, details), required)
            case FirstOf(rows) if relation.key == "id":
                return Related(key, rows, self.shape(target, details), required)
            case FirstN(rows):
                parameter = f"first_{len(self.sizes)}"
                self.sizes.append(PageSize(parameter, field_def, details))
                count = SOURCES.get(relation.count or "")
                counted = count.rows if isinstance(count, CountOf) else None
                if relation.count is not None and counted is None:
                    raise NotCompiled(f"{relation.count} counts no rows")
                return Paged(key, rows, parameter, self.page_members(target, details), counted)
            case AllOf(rows):
                return Paged(key, rows, None, self.page_members(target, details))
        raise NotCompiled(f"the loader {relation.loader} reads no plain rows")

    def page_members(
        self, connection: GraphQLObjectType, details: FieldDetailsList
    ) -> tuple[Items | Flags | Total | Constant, ...]:
        """A connection's selection: its edges (node, cursor), page info and total."""
        members: list[Items | Flags | Total | Constant] = []
        for key, found in self.subfields(connection, details).items():
            name = found[0].node.name.value
            if name == "__typename":
                members.append(Constant(key, connection.name))
            elif name == "totalCount":
                members.append(Total(key))
            elif name == "pageInfo":
                info_type = _object_of(connection.fields[name])
                flags: list[PageFlag | Constant] = []
                for flag_key, flag in self.subfields(info_type, found).items():
                    flag_name = flag[0].node.name.value
                    if flag_name == "__typename":
                        flags.append(Constant(flag_key, info_type.name))
                    else:
                        flags.append(PageFlag(flag_key, PAGE_FLAGS[flag_name]))
                members.append(Flags(key, tuple(flags)))
            elif name == "edges":
                edge_type = _object_of(connection.fields[name])
                parts: list[Row | Cursor | Constant] = []
                for part_key, part in self.subfields(edge_type, found).items():
                    part_name = part[0].node.name.value
                    if part_name == "__typename":
                        parts.append(Constant(part_key, edge_type.name))
                    elif part_name == "cursor":
                        parts.append(Cursor(part_key))
                    else:
                        node_type = _object_of(edge_type.fields[part_name])
                        parts.append(Row(part_key, self.shape(node_type, part)))
                members.append(Items(key, tuple(parts)))
            else:
                raise NotCompiled(f"{connection.name}.{name}")
        return tuple(members)


CURSOR_FLAGS: Final = (Flag.START_CURSOR, Flag.END_CURSOR)
PAGE_FLAGS: Final = {
    "hasNextPage": Flag.HAS_NEXT,
    "hasPreviousPage": Flag.HAS_PREVIOUS,
    "startCursor": Flag.START_CURSOR,
    "endCursor": Flag.END_CURSOR,
}


def _origin(object_type: GraphQLObjectType) -> Any:
    definition = object_type.extensions.get(BACKREF)
    return getattr(definition, "origin", None)


def _object_of(field_def: GraphQLField) -> GraphQLObjectType:
    found = get_named_type(field_def.type)
    if not isinstance(found, GraphQLObjectType):
        raise NotCompiled(f"{found} is no object type")
    return found


def _column(key: str, column: str, field_def: GraphQLField, table_column: Any) -> Column:
    required = is_non_null_type(field_def.type)
    kind = field_def.type.of_type if isinstance(field_def.type, GraphQLNonNull) else field_def.type
    named = get_named_type(kind)
    if isinstance(kind, GraphQLList):
        if named.name != "String" or not isinstance(table_column.type, sa.JSON):
            raise NotCompiled(f"a list of {named.name}")
        return Column(key, column, Format.VALUE, required=required)
    if is_enum_type(named):
        values = named.values
        names = {str(value.value): name for name, value in values.items()}
        return Column(key, column, names=names, required=required)
    if isinstance(named, GraphQLScalarType) and named.name in SCALAR_FORMATS:
        return Column(key, column, SCALAR_FORMATS[named.name], required=required)
    raise NotCompiled(f"a {named.name} value")


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
                found = self.build(request)
            except (NotCompiled, Unsupported) as refusal:
                found = str(refusal)
            if query is not None:
                self.plans[key] = found
        if isinstance(found, str):
            raise NotCompiled(found)
        return found

    @staticmethod
    def build(request: Request) -> Plan:
        query_type = request.schema.query_type
        assert query_type is not None
        collected = collect_fields(
            request.schema,
            request.fragments,
            request.variable_values,
            query_type,
            request.operation,
        )
        if collected.new_defer_usages:
            raise NotCompiled("@defer")
        roots = []
        for key, details in collected.grouped_field_set.items():
            name = details[0].node.name.value
            if name.startswith("__"):
                raise NotCompiled(f"{name} at the root")
            field_def = query_type.fields[name]
            root = RootPlan(key, field_def, details, lookup=LOOKUPS.get(name))
            if root.lookup is None:
                planner = Planner(request)
                connection = _object_of(field_def)
                if not issubclass(_origin(connection) or object, Connection):
                    raise NotCompiled(f"Query.{name} is no list")
                root.members = planner.page_members(connection, details)
                rows = [
                    part
                    for member in root.members
                    if isinstance(member, Items)
                    for part in member.members
                    if isinstance(part, Row)
                ]
                if len(rows) > 1:
                    raise NotCompiled("nodes selected twice under other names")
                if rows:
                    root.nodes = Statements(rows[0].shape, tuple(planner.sizes))
                root.cursors = any(
                    isinstance(part, Cursor)
                    or (isinstance(part, PageFlag) and part.flag in CURSOR_FLAGS)
                    for member in root.members
                    if isinstance(member, Items | Flags)
                    for part in member.members
                )
                edge = _object_of(connection.fields["edges"])
                node_type = _origin(_object_of(edge.fields["node"]))
                if not issubclass(node_type, ModelObject):
                    raise NotCompiled(f"Query.{name} lists no table")
                root.node_type = node_type
            roots.append(root)
        return Plan(roots)

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
        arguments = _arguments(root, request)
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
            node_type = _origin(object_type) if isinstance(object_type, GraphQLObjectType) else None
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


def _arguments(root: RootPlan, request: Request) -> dict[str, Any]:
    return _argument_values(root.field_def, root.details, request, "arguments")


def _argument_values(
    field_def: GraphQLField, details: FieldDetailsList, request: Request, what: str
) -> dict[str, Any]:
    """A field's arguments with this request's variables, as its resolver receives them."""
    detail = details[0]
    try:
        return get_argument_values(
            field_def, detail.node, request.variable_values, detail.fragment_variable_values
        )
    except Exception as refusal:
        raise NotCompiled(what) from refusal


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
        found = root.field_def.resolve(executor.root_value, info, **_arguments(root, request))
        if isawaitable(found):
            found = await found
    except NotCompiled:
        raise
    except Exception as refusal:
        raise NotCompiled("the resolver refused") from refusal
    return found


def _page_sizes(sizes: Sequence[PageSize], request: Request) -> dict[str, int]:
    """The `first` of each nested list, as its resolver would read it."""
    found: dict[str, int] = {}
    for size in sizes:
        first = _argument_values(size.field_def, size.details, request, "a page size").get("first")
        try:
            found[size.parameter] = first_of(first)
        except Exception as refusal:
            raise NotCompiled("a page size") from refusal
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
    for root in CompiledReads.build(request).roots:
        if root.lookup is not None:
            global_id = relay.GlobalID.from_id(_arguments(root, request)[root.lookup.argument])
            statements = CompiledReads.node_statements(root, request, global_id.type_name)
        elif root.nodes is not None:
            statements = root.nodes
        else:
            continue
        found[root.key] = (statements.for_scope(scope, dialect), statements.values(scope, request))
    return found
