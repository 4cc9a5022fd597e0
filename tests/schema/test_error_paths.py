"""A domain error names the domain's field; the caller reads the path of what they sent."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from schema.core.mutations import caller_path
from tests.api.access import EXAMPLES, build_world
from tests.conftest import GraphQLClient, RolledBackDatabase
from tests.factories import gid

ROOT = Path(__file__).resolve().parents[2]
WITH_INPUT = {"input": object()}
BARE = {"visitId": object(), "reasonCode": object()}


@pytest.mark.parametrize(
    ("field", "arguments", "renamed", "under", "path"),
    [
        ("case_ids", WITH_INPUT, {}, None, "input.caseIds"),
        ("visit_id", BARE, {}, None, "visitId"),
        ("code", WITH_INPUT, {"code": "input.registryCode"}, None, "input.registryCode"),
        ("case_id", WITH_INPUT, {}, "input.3", "input.3.caseId"),
        ("filter.clinic_id", BARE, {}, None, "filter.clinicId"),
        ("input", WITH_INPUT, {}, None, "input"),
        (None, WITH_INPUT, {}, None, None),
    ],
)
def test_caller_path(
    field: str | None,
    arguments: dict[str, Any],
    renamed: dict[str, str],
    under: str | None,
    path: str | None,
) -> None:
    assert caller_path(field, arguments, renamed, under) == path


def test_the_domain_names_its_fields_in_its_own_words() -> None:
    camel = re.compile(r'field(?:_name)?(?::\s*str\s*)?=\s*"[a-z0-9]+[A-Z]')
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "cases").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if camel.search(line)
    ]
    assert found == []


@pytest.mark.parametrize(
    ("operation", "change", "path"),
    [
        # An argument of the mutation: its own name, however the domain calls it.
        ("cancelVisit", lambda t: {"v": gid("Visit", 999_999)}, "visitId"),
        ("assignRepresentative", lambda t: {"c": gid("SupervisionCase", 999_999)}, "caseId"),
        ("reassignCases", lambda t: {"c": [gid("SupervisionCase", 999_999)]}, "caseIds"),
        ("startWorkItem", lambda t: {"id": gid("WorkItem", 999_999)}, "id"),
        ("retryReminder", lambda t: {"id": t["reminder"]}, "id"),
        ("closeAppeal", lambda t: {"a": t["appeal"]}, "appealId"),
        # A field of the input: under `input`.
        ("updateCase", lambda t: {"i": {"caseId": t["case"], "version": 7}}, "input.version"),
        (
            "rescheduleVisit",
            lambda t: {"i": {"visitId": gid("Visit", 999_999), "windowEnd": "2030-07-15"}},
            "input.visitId",
        ),
        (
            "orderQualityExamination",
            lambda t: {
                "i": {
                    "kind": "SCHEDULED",
                    "clinicId": t["clinic"],
                    "periodStart": "2026-01-01",
                    "periodEnd": "2026-03-31",
                    "expertName": "Эксперт",
                    "dueOn": "2030-01-01",
                    "caseIds": [gid("SupervisionCase", 999_999)],
                }
            },
            "input.caseIds",
        ),
        (
            "extendAppeal",
            lambda t: {"i": {"appealId": t["answeredAppeal"], "days": 10, "notice": "letter"}},
            "input.appealId",
        ),
        (
            "completeQualityExamination",
            lambda t: {
                "i": {
                    "examinationId": t["examination"],
                    "outcome": "VIOLATIONS_FOUND",
                }
            },
            "input.violationCodes",
        ),
        # An item of a batch: its index under `input`.
        (
            "recordVisits",
            lambda t: {
                "i": [
                    {
                        "caseId": gid("SupervisionCase", 999_999),
                        "clinicId": t["clinic"],
                        "externalId": "mis-9",
                        "attended": True,
                        "visitDate": "2026-01-10",
                    }
                ]
            },
            "input.0.caseId",
        ),
    ],
)
async def test_an_error_names_the_path_the_caller_sent(
    graphql: GraphQLClient,
    db: RolledBackDatabase,
    settings: Any,
    operation: str,
    change: Any,
    path: str,
) -> None:
    # given
    world = await build_world(db, settings)
    ids = world.own.ids()
    document, variables = EXAMPLES[f"Mutation.{operation}"]
    document = document.replace("... on UserError { code }", "... on UserError { code field }")

    # when
    data = await graphql.data(document, **{**variables(ids), **change(ids)})

    # then
    result = data[operation]
    if isinstance(result, list):
        result = result[0]["result"]
    assert result["field"] == path, result


async def test_a_query_names_its_argument(graphql: GraphQLClient) -> None:
    body = await graphql(
        'query { statistics(periodStart: "2026-02-01", periodEnd: "2026-01-01") { activeCases } }'
    )

    assert body["errors"][0]["extensions"]["field"] == "periodEnd"
