"""Every refusal of a request is a GraphQL error body with a code, naming what the caller sent
where it can; none is an unexpected error."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN, GraphQLClient, RolledBackDatabase
from tests.factories import gid, open_case, register_patient, setup_region

CLOSE = """
mutation($i: CloseCaseInput!) {
  closeCase(input: $i) { __typename ... on UserError { code field } }
}
"""


def first_error(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("errors"), body
    error: dict[str, Any] = body["errors"][0]
    return error


async def test_an_enumeration_value_a_variable_cannot_take_names_its_path(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    region = await setup_region(db)
    patient = await register_patient(graphql, region)
    case = await open_case(graphql, region, patient["id"])

    body = await graphql(
        CLOSE,
        i={"caseId": case["id"], "version": 1, "reason": "BORED", "closedOn": "2026-11-01"},
    )

    error = first_error(body)
    assert error["extensions"]["code"] == "VALIDATION"
    assert error["extensions"]["field"] == "i.reason"


@pytest.mark.parametrize(
    ("document", "variables", "field"),
    [
        ("query($f: Int) { insurers(first: $f) { totalCount } }", {"f": "x"}, "f"),
        ("query($f: Int) { insurers(first: $f) { totalCount } }", {"f": 2**31}, "f"),
        (
            "query($b: Boolean) { patients(filter: {hasActiveCase: $b}) { totalCount } }",
            {"b": "yes"},
            "b",
        ),
        ("query($s: String) { patients(search: $s) { totalCount } }", {"s": {"a": 1}}, "s"),
        ("query($id: ID!) { node(id: $id) { id } }", {}, "id"),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": None}, "id"),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": "not base64!"}, "id"),
        (
            "query($f: PatientFilterInput) { patients(filter: $f) { totalCount } }",
            {"f": {"nosuch": 1}},
            "f",
        ),
        (
            "query($f: [ReminderStatus!]) { reminders(filter: {statuses: $f}) { totalCount } }",
            {"f": ["SENT", "LOST"]},
            "f.1",
        ),
    ],
)
async def test_a_variable_that_cannot_be_read_is_a_validation_error_naming_it(
    graphql: GraphQLClient, document: str, variables: dict[str, Any], field: str
) -> None:
    error = first_error(await graphql(document, **variables))

    assert error["extensions"]["code"] == "VALIDATION"
    assert error["extensions"]["field"] == field


async def test_a_global_id_of_no_type_is_a_validation_error_naming_the_argument(
    graphql: GraphQLClient,
) -> None:
    unknown_type = await graphql('{ node(id: "Zm9vOjE=") { id } }')  # foo:1
    unknown_row = await graphql(
        "query($id: ID!) { node(id: $id) { id } }", id=gid("Patient", 99_999)
    )
    unreadable = await graphql('{ supervisionCase(id: "%%%") { id } }')

    assert first_error(unknown_type)["extensions"] == {"code": "VALIDATION", "field": "id"}
    assert unknown_row == {"data": {"node": None}}
    assert first_error(unreadable)["extensions"]["code"] == "VALIDATION"
    assert first_error(unreadable)["extensions"]["field"] == "id"


@pytest.mark.parametrize("number", [2**63, 2**70])
async def test_an_id_too_large_for_any_row_is_not_found(
    graphql: GraphQLClient, db: RolledBackDatabase, number: int
) -> None:
    region = await setup_region(db)
    too_large = gid("Patient", number)

    by_node = await graphql("query($id: ID!) { node(id: $id) { id } }", id=too_large)
    by_field = await graphql("query($id: ID!) { patient(id: $id) { id } }", id=too_large)
    registered = await register_patient(graphql, region, insurerId=gid("Insurer", number))

    assert by_node == {"data": {"node": None}}
    assert by_field == {"data": {"patient": None}}
    assert (registered["__typename"], registered["field"]) == ("NotFoundError", "input.insurerId")


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ("{ insurers { nosuchfield } }", "VALIDATION"),
        (
            'mutation { closeCase(input: {caseId: "x", version: 1, reason: BORED, closedOn: "2026-01-01"}) { __typename } }',
            "VALIDATION",
        ),
        ("{ " + " ".join(f"a{n}: me {{ role }}" for n in range(31)) + " }", "QUERY_TOO_COMPLEX"),
        ("{ me { role " + "x " * 5000 + "} }", "QUERY_TOO_COMPLEX"),
        ("{ me { role }", "VALIDATION"),
    ],
)
async def test_every_refused_document_carries_a_code(
    graphql: GraphQLClient, document: str, code: str
) -> None:
    error = first_error(await graphql(document))

    assert error["extensions"]["code"] == code, error


async def test_the_depth_limit_is_the_number_of_nested_levels(graphql: GraphQLClient) -> None:
    # patients > edges > node > cases > edges > node > patient > cases ...: each field one level,
    # the root field the first and the leaf the last
    def document(levels: int) -> str:
        cycle = ["cases(first: 1)", "edges", "node", "patient"]
        chain = ["patients(first: 1)", "edges", "node"] + [cycle[n % 4] for n in range(levels - 4)]
        body = "id"
        for name in reversed(chain):
            body = f"{name} {{ {body} }}"
        return "{ " + body + " }"

    allowed = await graphql(document(12))
    refused = await graphql(document(13))

    assert "errors" not in allowed, allowed
    assert first_error(refused)["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_malformed_json_is_a_graphql_error_body(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        content=b'{"query": "{ me { role } }"',
        headers={**ADMIN, "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_a_nul_in_free_text_is_refused_naming_the_field(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    region = await setup_region(db)

    registered = await register_patient(graphql, region, email="ivanov\u0000@example.ru")
    searched = await graphql('{ patients(search: "Иван\\u0000") { totalCount } }')

    assert (registered["__typename"], registered["field"]) == ("ValidationError", "input.email")
    assert first_error(searched)["extensions"] == {"code": "VALIDATION", "field": "search"}
