"""The query cost limit: how many objects a document may ask for, computed before it runs.

Each object-typed field costs one per time it can be returned: a connection's `first`
(default page size when absent) multiplies everything below it. Scalars are free.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_composite_type,
)

from cases.kit.paging import DEFAULT_PAGE_SIZE


def page_size_of(value: Any) -> int | None:
    """The page size a variable's value gives, as GraphQL's Int takes it (a float without a
    fraction is an Int too); None for a value that is no Int."""
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    return None


def cost_errors(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: dict[str, Any] | None,
    max_cost: int,
) -> list[GraphQLError]:
    """An error for each operation of a valid `document` that costs more than `max_cost`."""
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    cost = QueryCost(schema, fragments, variables or {})
    errors = []
    for operation in document.definitions:
        if not isinstance(operation, OperationDefinitionNode):
            continue
        found = cost.of(operation)
        if found > max_cost:
            errors.append(
                GraphQLError(
                    f"query cost {found} exceeds the limit of {max_cost}; ask for fewer items",
                    nodes=[operation],
                    extensions={"code": "QUERY_TOO_COSTLY", "cost": found, "maxCost": max_cost},
                )
            )
    return errors


class QueryCost:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        given: dict[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.given = given

    def of(self, node: OperationDefinitionNode) -> int:
        defaults = {
            definition.variable.name.value: definition.default_value
            for definition in node.variable_definitions or ()
        }
        root = self.schema.get_root_type(node.operation)
        if root is None:
            return 0
        return self._cost(node.selection_set, root, 1, defaults, set())

    def _cost(
        self,
        selections: SelectionSetNode | None,
        parent: Any,
        multiplier: int,
        defaults: dict[str, Any],
        seen_fragments: set[str],
    ) -> int:
        if selections is None:
            return 0
        total = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                fields = getattr(parent, "fields", {})
                field = fields.get(selection.name.value)
                if field is None:
                    continue
                named = get_named_type(field.type)
                if not is_composite_type(named):
                    continue
                total += multiplier
                below = multiplier
                if named.name.endswith("Connection"):
                    below *= self._first(selection, defaults)
                total += self._cost(selection.selection_set, named, below, defaults, seen_fragments)
            elif isinstance(selection, InlineFragmentNode):
                target = parent
                if selection.type_condition is not None:
                    target = self.schema.get_type(selection.type_condition.name.value)
                total += self._cost(
                    selection.selection_set, target, multiplier, defaults, seen_fragments
                )
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen_fragments:
                    continue
                target = self.schema.get_type(fragment.type_condition.name.value)
                total += self._cost(
                    fragment.selection_set,
                    target if isinstance(target, GraphQLObjectType) else target or parent,
                    multiplier,
                    defaults,
                    seen_fragments | {name},
                )
        return total

    def _first(self, field: FieldNode, defaults: dict[str, Any]) -> int:
        for argument in field.arguments or ():
            if argument.name.value != "first":
                continue
            value = argument.value
            if isinstance(value, VariableNode):
                name = value.name.value
                given = page_size_of(self.given.get(name))
                if given is not None:
                    return max(0, given)
                default = defaults.get(name)
                if isinstance(default, IntValueNode):
                    return max(0, int(default.value))
                return DEFAULT_PAGE_SIZE
            if isinstance(value, IntValueNode):
                return max(0, int(value.value))
        return DEFAULT_PAGE_SIZE
