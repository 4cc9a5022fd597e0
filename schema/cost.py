"""The query cost limit: how many objects a document may ask for, computed before it runs.

Each object-typed field costs one per time it can be returned: a connection's `first`
(default page size when absent) multiplies everything below it. Scalars are free.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
    get_named_type,
    is_composite_type,
)

from cases.pagination import DEFAULT_PAGE_SIZE


def cost_rule(max_cost: int, variables: dict[str, Any] | None) -> type[ValidationRule]:
    given = variables or {}

    class QueryCost(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            defaults = {
                definition.variable.name.value: definition.default_value
                for definition in node.variable_definitions or ()
            }
            root = self.context.schema.get_root_type(node.operation)
            if root is None:
                return
            cost = self._cost(node.selection_set, root, 1, defaults, set())
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"query cost {cost} exceeds the limit of {max_cost}; ask for fewer items",
                        nodes=[node],
                        extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "maxCost": max_cost},
                    )
                )

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
                    total += self._cost(
                        selection.selection_set, named, below, defaults, seen_fragments
                    )
                elif isinstance(selection, InlineFragmentNode):
                    target = parent
                    if selection.type_condition is not None:
                        target = self.context.schema.get_type(selection.type_condition.name.value)
                    total += self._cost(
                        selection.selection_set, target, multiplier, defaults, seen_fragments
                    )
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.context.get_fragment(name)
                    if fragment is None or name in seen_fragments:
                        continue
                    target = self.context.schema.get_type(fragment.type_condition.name.value)
                    total += self._cost(
                        fragment.selection_set,
                        target if isinstance(target, GraphQLObjectType) else target or parent,
                        multiplier,
                        defaults,
                        seen_fragments | {name},
                    )
            return total

        @staticmethod
        def _first(field: FieldNode, defaults: dict[str, Any]) -> int:
            for argument in field.arguments or ():
                if argument.name.value != "first":
                    continue
                value = argument.value
                if isinstance(value, VariableNode):
                    name = value.name.value
                    if isinstance(given.get(name), int):
                        return max(0, int(given[name]))
                    default = defaults.get(name)
                    if isinstance(default, IntValueNode):
                        return max(0, int(default.value))
                    return DEFAULT_PAGE_SIZE
                if isinstance(value, IntValueNode):
                    return max(0, int(value.value))
            return DEFAULT_PAGE_SIZE

    return QueryCost
