"""The first query and mutation through the whole stack: HTTP, middleware, schema, service, database."""

from __future__ import annotations

import sqlalchemy as sa

from cases.audit.models import AuditEvent
from cases.registry.models import Insurer
from tests.conftest import GraphQLClient, RolledBackDatabase

REGISTER_INSURER = """
mutation Register($input: RegisterInsurerInput!) {
  registerInsurer(input: $input) {
    __typename
    ... on Insurer { id registryCode name hotlinePhone }
    ... on UserError { code message field }
    ... on ConflictError { currentVersion }
  }
}
"""

INSURERS = """
query Insurers($first: Int, $after: String) {
  insurers(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id registryCode name } }
  }
}
"""

NODE = """
query Node($id: ID!) { node(id: $id) { __typename id ... on Insurer { registryCode } } }
"""


async def register(graphql: GraphQLClient, **fields: object) -> dict[str, object]:
    data = await graphql.data(REGISTER_INSURER, input=fields)
    result: dict[str, object] = data["registerInsurer"]
    return result


async def test_register_insurer_normalises_and_audits(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    # when
    result = await register(
        graphql, registryCode="vtb-ms", name="  ВТБ   МС ", hotlinePhone="8-800-333-222-5"
    )

    # then
    assert result["__typename"] == "Insurer"
    assert result["registryCode"] == "VTB-MS"
    assert result["name"] == "ВТБ МС"
    assert result["hotlinePhone"] == "+78003332225"
    async with db.session() as session:
        insurer = (await session.execute(sa.select(Insurer))).scalar_one()
        audit = (await session.execute(sa.select(AuditEvent))).scalar_one()
    assert insurer.code == "VTB-MS"
    assert audit.action == "insurer.register"
    assert audit.entity_id == insurer.id
    assert audit.changes["hotline_phone"] == {"before": None, "after": "+78003332225"}


async def test_bad_phone_is_a_typed_error_naming_the_field(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    # when
    result = await register(graphql, registryCode="INGOS-M", name="Ингосстрах-М", hotlinePhone="12")

    # then
    assert result == {
        "__typename": "ValidationError",
        "code": "VALIDATION",
        "message": "is not a valid phone number",
        "field": "input.hotlinePhone",
    }
    async with db.session() as session:
        assert (
            await session.execute(sa.select(sa.func.count()).select_from(Insurer))
        ).scalar() == 0


async def test_duplicate_code_is_a_conflict_and_writes_nothing(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    # given
    await register(graphql, registryCode="VTB-MS", name="ВТБ МС")

    # when
    result = await register(graphql, registryCode="vtb-ms", name="Другая")

    # then
    assert result["__typename"] == "ConflictError"
    assert result["field"] == "input.registryCode"
    async with db.session() as session:
        names = (await session.execute(sa.select(Insurer.name))).scalars().all()
        audits = (
            await session.execute(sa.select(sa.func.count()).select_from(AuditEvent))
        ).scalar()
    assert names == ["ВТБ МС"]
    assert audits == 1


async def test_insurers_page_with_stable_cursors(graphql: GraphQLClient) -> None:
    # given
    for number in range(5):
        await register(graphql, registryCode=f"SMO-{number}", name=f"СМО {number}")

    # when
    first = (await graphql.data(INSURERS, first=2))["insurers"]
    second = (await graphql.data(INSURERS, first=2, after=first["pageInfo"]["endCursor"]))[
        "insurers"
    ]
    last = (await graphql.data(INSURERS, first=2, after=second["pageInfo"]["endCursor"]))[
        "insurers"
    ]

    # then
    names = [edge["node"]["name"] for page in (first, second, last) for edge in page["edges"]]
    assert names == [f"СМО {number}" for number in range(5)]
    assert first["totalCount"] == 5
    assert first["pageInfo"]["hasNextPage"] is True
    assert last["pageInfo"]["hasNextPage"] is False
    assert second["pageInfo"]["hasPreviousPage"] is True


async def test_page_size_above_the_cap_is_refused(graphql: GraphQLClient) -> None:
    # when
    body = await graphql(INSURERS, first=101)

    # then
    error = body["errors"][0]
    assert error["extensions"] == {"code": "VALIDATION", "field": "first"}
    assert error["message"] == "must be between 0 and 100"


async def test_garbage_cursor_is_a_validation_error(graphql: GraphQLClient) -> None:
    body = await graphql(INSURERS, first=2, after="not-a-cursor!")
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "field": "after"}


async def test_node_resolves_an_insurer_by_global_id(graphql: GraphQLClient) -> None:
    # given
    created = await register(graphql, registryCode="VTB-MS", name="ВТБ МС")

    # when
    data = await graphql.data(NODE, id=created["id"])

    # then
    assert data["node"] == {"__typename": "Insurer", "id": created["id"], "registryCode": "VTB-MS"}


AUDIT_AFTER = """
query($after: DateTime) { auditEvents(first: 1, filter: {occurredAfter: $after}) { totalCount } }
"""


async def test_an_instant_without_its_offset_is_refused_naming_where(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    # when: an instant that could be any of 24 hours, as a variable and written in the document
    db.statements.clear()
    as_variable = await graphql(AUDIT_AFTER, after="2026-11-20T09:00:00")
    written = await graphql(
        '{ auditEvents(first: 1, filter: {occurredAfter: "2026-11-20T09:00:00"}) { totalCount } }'
    )

    # then: refused before any SQL as the client's error, saying which value and what it lacks
    assert db.statements == []
    for body, field in ((as_variable, "after"), (written, "filter.occurredAfter")):
        assert body["data"] is None
        [error] = body["errors"]
        assert "UTC offset" in error["message"]
        assert '"2026-11-20T09:00:00"' in error["message"]
        assert error["extensions"] == {"code": "VALIDATION", "field": field}
    assert "$after" in as_variable["errors"][0]["message"]


async def test_an_instant_with_its_offset_is_read_as_that_instant(graphql: GraphQLClient) -> None:
    body = await graphql(AUDIT_AFTER, after="2026-11-20T09:00:00+03:00")
    assert "errors" not in body
