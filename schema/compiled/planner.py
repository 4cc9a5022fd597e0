"""Planning a compiled read: which columns and relations of which tables each root field of a
document selects, read through the schema's own object types, or `NotCompiled`.

The contract is the package's (`schema.compiled`): a plan answers exactly as the executor
would, or the request is the executor's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import sqlalchemy as sa
from graphql import (
    DocumentNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    get_named_type,
    is_enum_type,
    is_non_null_type,
)
from graphql.execution import Executor
from graphql.execution.collect_fields import (
    FieldDetailsList,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues, get_argument_values
from strawberry import relay
from strawberry.types.fields.resolver import StrawberryResolver

from cases.audit.service import ReadAudit
from cases.reads.driver import DriverStatement
from cases.reads.projection import (
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
)
from cases.tenancy import DataScope, scope_kind, scope_values
from schema.core.loaders import SOURCES, AllOf, ById, CountOf, FirstN, FirstOf
from schema.core.objects import ModelObject
from schema.core.relay import RELATION, Connection, Relation, first_of

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


class Planner:
    """Builds a plan from a document's selections, type by type, through the schema's own
    object types: a field maps a column (`ModelObject.column_of`) or a relation
    (`schema.core.relay.Relation`, whose loader names the rows in `schema.core.loaders.SOURCES`)."""

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
        cls = origin_of(object_type)
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
                info_type = object_of(connection.fields[name])
                flags: list[PageFlag | Constant] = []
                for flag_key, flag in self.subfields(info_type, found).items():
                    flag_name = flag[0].node.name.value
                    if flag_name == "__typename":
                        flags.append(Constant(flag_key, info_type.name))
                    else:
                        flags.append(PageFlag(flag_key, PAGE_FLAGS[flag_name]))
                members.append(Flags(key, tuple(flags)))
            elif name == "edges":
                edge_type = object_of(connection.fields[name])
                parts: list[Row | Cursor | Constant] = []
                for part_key, part in self.subfields(edge_type, found).items():
                    part_name = part[0].node.name.value
                    if part_name == "__typename":
                        parts.append(Constant(part_key, edge_type.name))
                    elif part_name == "cursor":
                        parts.append(Cursor(part_key))
                    else:
                        node_type = object_of(edge_type.fields[part_name])
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


def origin_of(object_type: GraphQLObjectType) -> Any:
    definition = object_type.extensions.get(BACKREF)
    return getattr(definition, "origin", None)


def object_of(field_def: GraphQLField) -> GraphQLObjectType:
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


def build_plan(request: Request) -> Plan:
    """A document's plan: per root field, a lookup or a list with the statements of its nodes."""
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
            connection = object_of(field_def)
            if not issubclass(origin_of(connection) or object, Connection):
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
            edge = object_of(connection.fields["edges"])
            node_type = origin_of(object_of(edge.fields["node"]))
            if not issubclass(node_type, ModelObject):
                raise NotCompiled(f"Query.{name} lists no table")
            root.node_type = node_type
        roots.append(root)
    return Plan(roots)


def arguments_of(root: RootPlan, request: Request) -> dict[str, Any]:
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
