"""Limits that hold before any SQL runs: depth, aliases, cost, body size, batching, rate."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import pytest
from dramatiq.brokers.stub import StubBroker

from api.app import create_app
from api.rate_limit import RateLimiter
from cases.kit.actor import Actor, Role
from schema import build_schema
from tests.conftest import ADMIN, FUND, Database, GraphQLClient, RolledBackDatabase, app_settings

DEEP = (
    '{ node(id: "x") { '
    + "... on WorkItem { case { patient { cases { edges { node { " * 4
    + "id"
    + " } } } } } }" * 4
    + " } }"
)
ALIASES = "{ " + " ".join(f"a{n}: insurers {{ totalCount }}" for n in range(200)) + " }"
COSTLY = """
{ supervisionCases(first: 100) { edges { node {
    visits(first: 100) { edges { node { case { patient { insurer { name } } } } } }
} } } }
"""


@pytest.mark.parametrize(
    ("document", "code"), [(DEEP, None), (ALIASES, None), (COSTLY, "QUERY_TOO_COSTLY")]
)
async def test_abusive_documents_are_refused_before_any_sql(
    graphql: GraphQLClient, db: RolledBackDatabase, document: str, code: str | None
) -> None:
    # when
    db.statements.clear()
    body = await graphql(document)

    # then
    assert body["data"] is None
    assert body["errors"]
    assert db.statements == []
    if code:
        error = body["errors"][0]
        assert error["extensions"] == {"code": code, "cost": 50301, "maxCost": 10000}
        assert "50301" in error["message"]


async def test_a_small_query_costs_well_below_the_limit(graphql: GraphQLClient) -> None:
    body = await graphql("{ supervisionCases(first: 10) { edges { node { patient { id } } } } }")
    assert "errors" not in body


RULE = """
mutation($schedule: String!) {
  addSupervisionRule(input: {specialty: "therapist", icd10: "I10", condition: "АГ", schedule: $schedule, duration: "lifelong", source: "test"}) {
    __typename
  }
}
"""


async def test_a_verdict_kept_for_one_caller_does_not_admit_another(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    # given: the administrator's document has passed the fixed rules, and is kept as valid
    assert "errors" not in await graphql(RULE, schedule="per_year:2")

    # when: the fund sends the same text
    db.statements.clear()
    refused = await graphql.as_(FUND)(RULE, schedule="per_year:2")

    # then: the caller's own rule still runs, before any SQL
    assert refused["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    assert db.statements == []


@pytest.mark.parametrize("size", [100, 100.0], ids=["int", "float without a fraction"])
async def test_the_cost_of_a_kept_document_follows_each_request_variables(
    graphql: GraphQLClient, size: float
) -> None:
    # given: a document kept as cheap enough for small pages
    document = "query($n: Int) { supervisionCases(first: $n) { edges { node { visits(first: $n) { edges { node { id } } } } } } }"
    assert "errors" not in await graphql(document, n=10)

    # when: the same text asks for pages of 100, written as GraphQL's Int takes them
    costly = await graphql(document, n=size)

    # then
    assert costly["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COSTLY",
        "cost": 20301,
        "maxCost": 10000,
    }


async def test_batched_operations_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json=[{"query": "{ me { role } }"}] * 2, headers=ADMIN)
    assert response.status_code == 400
    assert "Traceback" not in response.text


async def test_a_large_body_is_413(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        content=b"{" + b" " * 300_000 + b"}",
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"] == {"code": "PAYLOAD_TOO_LARGE"}


async def test_a_client_over_its_rate_is_429_with_retry_after(
    db: RolledBackDatabase, database: Database
) -> None:
    # given: two requests a minute, no burst beyond them
    settings = app_settings(database.url, rate_limit_per_minute=2, rate_limit_burst=2)
    app = create_app(settings, database.engine, db.sessions, StubBroker())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        # when
        answers = [
            await http.post("/graphql", json={"query": "{ me { role } }"}, headers=ADMIN)
            for _ in range(3)
        ]

    # then
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[2].headers["retry-after"] == "30"
    assert answers[2].json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


def test_the_bucket_refills_at_the_configured_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=1, clock=lambda: now[0])
    assert limiter.retry_after("a") is None
    assert limiter.retry_after("a") == 1
    assert limiter.retry_after("b") is None
    now[0] = 1.0
    assert limiter.retry_after("a") is None


async def test_production_hides_introspection_and_graphiql(
    db: RolledBackDatabase, database: Database
) -> None:
    settings = app_settings(
        database.url,
        environment="production",
        jwt_hs256_secret=None,
        api_key_secret="production-secret-0123456789",
    )
    app = create_app(settings, database.engine, db.sessions, StubBroker())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        anonymous = await http.post("/graphql", json={"query": "{ __schema { types { name } } }"})
    assert page.status_code == 401
    assert anonymous.status_code == 401


async def test_production_schema_refuses_introspection_and_suggestions() -> None:
    production = build_schema(production=True)
    context = SimpleNamespace(actor=Actor(Role.ADMIN, "admin"), request_id="r")

    introspection = await production.execute(
        "{ __schema { types { name } } }", context_value=context
    )
    typo = await production.execute("{ insurer { totalCount } }", context_value=context)

    assert introspection.errors
    assert "introspection" in introspection.errors[0].message.lower()
    assert typo.errors
    assert "Did you mean" not in typo.errors[0].message
