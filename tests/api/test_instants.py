"""Instants come back in one form, UTC, however they were sent and whichever path reads them."""

from __future__ import annotations

from typing import Any

from tests.api.access import EXAMPLES, build_world
from tests.conftest import GraphQLClient, RolledBackDatabase

REGISTER = """
mutation($i: RegisterAppealInput!) {
  registerAppeal(input: $i) { ... on Appeal { id receivedAt } ... on UserError { code field } }
}
"""


async def test_an_instant_sent_with_an_offset_is_answered_and_read_in_utc(
    graphql: GraphQLClient, db: RolledBackDatabase, settings: Any
) -> None:
    # given
    world = await build_world(db, settings)
    _, variables = EXAMPLES["Mutation.registerAppeal"]
    sent = variables(world.own.ids())
    sent["i"]["receivedAt"] = "2026-01-10T10:00:00+03:00"

    # when
    answered = (await graphql.data(REGISTER, **sent))["registerAppeal"]
    read = await graphql.data(
        "query($id: ID!) { node(id: $id) { ... on Appeal { receivedAt } } }", id=answered["id"]
    )
    trail = await graphql.data(
        "query($id: ID) { auditEvents(filter: {entityId: $id}) { edges { node { changes } } } }",
        id=answered["id"],
    )

    # then
    assert answered["receivedAt"] == "2026-01-10T07:00:00+00:00"
    assert read["node"]["receivedAt"] == answered["receivedAt"]
    [event] = trail["auditEvents"]["edges"]
    assert event["node"]["changes"]["received_at"]["after"] == answered["receivedAt"]
