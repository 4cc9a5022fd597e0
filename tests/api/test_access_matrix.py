"""Every root field × every caller × own and foreign tenant, generated from the schema.

A new operation fails this suite until it has a rule in `schema.core.permissions.OPERATIONS` and
either an example below (it touches a tenant's data) or a place in TENANT_FREE.
"""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLObjectType, get_named_type, is_leaf_type, is_non_null_type

from cases.kit.actor import Actor, ClinicScope, Role
from schema import schema
from schema.core.permissions import OPERATIONS, is_permitted
from tests.api.access import EXAMPLES, build_world
from tests.conftest import GraphQLClient, RolledBackDatabase


def root_fields() -> list[str]:
    gql = schema._schema
    return [
        f"{root.name}.{name}"
        for root in (gql.query_type, gql.mutation_type)
        if root is not None
        for name in root.fields
    ]


# Operations that read or write no patient's data: only the permission applies.
TENANT_FREE = {
    "Query.me",
    "Query.insurers",
    "Query.supervisionRules",
    "Mutation.registerInsurer",
    "Mutation.addSupervisionRule",
    "Query.clinics",
    "Mutation.registerClinic",
    "Mutation.updateClinic",
}

# Aggregates over the caller's scope address no tenant's object, so "foreign" means nothing
# to them; their permission rows are checked here like every field's, and that they count
# only what the caller may see is test_tenancy's test_aggregates_count_only_what_the_caller_may_see.
AGGREGATES = {"Query.letterBatches", "Query.statistics"}

# The callers of the matrix, as the permission table sees them.
CALLERS: dict[str, Actor] = {
    "representative_1": Actor(Role.REPRESENTATIVE, "r1", representative_id=-1, level=1),
    "representative_2": Actor(Role.REPRESENTATIVE, "r2", representative_id=-2, level=2),
    "representative_3": Actor(Role.REPRESENTATIVE, "r3", representative_id=-3, level=3),
    "supervisor": Actor(Role.SUPERVISOR, "s", representative_id=-4, level=3),
    "territorial_fund": Actor(Role.TERRITORIAL_FUND, "f"),
    "clinic_system": Actor(Role.CLINIC_SYSTEM, "c", scopes=frozenset(ClinicScope)),
    "clinic_without_scopes": Actor(Role.CLINIC_SYSTEM, "c0"),
    "admin": Actor(Role.ADMIN, "a"),
}
SEES_EVERY_TENANT = {"territorial_fund", "admin"}
# Representatives see their own worklist only, whatever tenant it is in.
OWN_WORKLIST_ONLY = {"representative_1", "representative_2"}


def outcome(body: dict[str, Any], field: str) -> str:
    """denied: the operation is refused; refused: the object is out of reach; done: it worked."""
    codes = [error.get("extensions", {}).get("code") for error in body.get("errors") or []]
    if "PERMISSION_DENIED" in codes:
        return "denied"
    if "NOT_FOUND" in codes:
        return "refused"
    assert not codes, body
    result = body["data"][field]
    if isinstance(result, list):
        result = result[0]["result"]
    if result is None or result.get("totalCount") == 0:
        return "refused"
    if result.get("__typename") in ("NotFoundError", "PermissionDeniedError"):
        return "refused"
    # Any other typed error means the example is wrong, not that access is.
    return f"failed with {result['code']}" if "code" in result else "done"


def expected(operation: str, caller: str, tenant: str) -> str:
    if not is_permitted(CALLERS[caller], operation):
        return "denied"
    if operation == "Query.worklist" and caller in OWN_WORKLIST_ONLY:
        return "denied"
    if operation == "Query.worklist" and caller == "representative_3" and tenant == "foreign":
        return "denied"
    if operation in TENANT_FREE or caller in SEES_EVERY_TENANT or tenant == "own":
        return "done"
    return "refused"


def test_every_root_field_has_a_rule_and_an_access_example() -> None:
    fields = set(root_fields())
    assert fields - set(OPERATIONS) == set(), "add a rule to schema.core.permissions.OPERATIONS"
    assert fields - set(EXAMPLES) - TENANT_FREE - AGGREGATES == set(), "add an example to EXAMPLES"
    assert set(OPERATIONS) - fields == set(), "a rule names a field the schema lacks"


def test_the_territorial_fund_is_refused_every_mutation() -> None:
    fund = CALLERS["territorial_fund"]
    assert not any(
        is_permitted(fund, operation)
        for operation in root_fields()
        if operation.startswith("Mutation.")
    )


def minimal_document(operation: str) -> str:
    """The field with its required arguments as variables left unset: permission is checked
    before variables are, so the document reaches exactly the permission check."""
    kind, name = operation.split(".")
    gql = schema._schema
    root = gql.query_type if kind == "Query" else gql.mutation_type
    assert isinstance(root, GraphQLObjectType)
    field = root.fields[name]
    required = {
        arg: str(spec.type) for arg, spec in field.args.items() if is_non_null_type(spec.type)
    }
    declared = ", ".join(f"${arg}: {type_}" for arg, type_ in required.items())
    arguments = ", ".join(f"{arg}: ${arg}" for arg in required)
    selection = "" if is_leaf_type(get_named_type(field.type)) else "{ __typename }"
    return (
        f"{kind.lower()}{f'({declared})' if declared else ''} "
        f"{{ {name}{f'({arguments})' if arguments else ''} {selection} }}"
    )


@pytest.mark.parametrize("caller", list(CALLERS))
async def test_every_operation_is_refused_exactly_to_whom_the_table_says(
    graphql: GraphQLClient, db: RolledBackDatabase, settings: Any, caller: str
) -> None:
    # given
    world = await build_world(db, settings)
    client = graphql.as_(world.callers[caller])

    for operation in root_fields():
        # when
        body = await client(minimal_document(operation))

        # then
        codes = {error["extensions"].get("code") for error in body.get("errors") or []}
        refused = "PERMISSION_DENIED" in codes
        assert refused is not is_permitted(CALLERS[caller], operation), (operation, body)


@pytest.mark.parametrize("operation", sorted(EXAMPLES))
async def test_own_and_foreign_tenant_for_every_caller(
    graphql: GraphQLClient, db: RolledBackDatabase, settings: Any, operation: str
) -> None:
    # given
    world = await build_world(db, settings)
    document, variables = EXAMPLES[operation]
    field = operation.split(".")[1]
    results = {}

    for caller, headers in world.callers.items():
        for tenant in ("own", "foreign"):
            ids = getattr(world, tenant).ids()
            # when: each call in a savepoint of its own, so no call sees another's changes
            savepoint = await db.connection.begin_nested()
            body = await graphql.as_(headers)(document, **variables(ids))
            await savepoint.rollback()
            results[caller, tenant] = outcome(body, field)

    # then
    assert results == {
        (caller, tenant): expected(operation, caller, tenant) for caller, tenant in results
    }
