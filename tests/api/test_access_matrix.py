"""Every root field × every caller × own and foreign tenant, generated from the schema.

A new operation fails this suite until it has a rule in `schema.core.permissions.OPERATIONS` and
either an example below (it touches a tenant's data) or a place in TENANT_FREE.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from graphql import GraphQLObjectType, get_named_type, is_leaf_type, is_non_null_type

from cases.kit.actor import Actor, ClinicScope, Role
from schema import schema
from schema.core.permissions import OPERATIONS, is_permitted
from tests.api.access import build_world
from tests.conftest import GraphQLClient, RolledBackDatabase
from tests.factories import valid_enp

Ids = dict[str, Any]
RESULT = "__typename ... on UserError { code } ... on Node { id }"
YESTERDAY = (date.today() - timedelta(days=1)).isoformat()


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
    "Mutation.updateSupervisionRule",
}

# Aggregates over the caller's scope address no tenant's object, so "foreign" means nothing
# to them; their permission rows are checked here like every field's, and that they count
# only what the caller may see is test_tenancy's test_aggregates_count_only_what_the_caller_may_see.
AGGREGATES = {"Query.letterBatches", "Query.statistics"}

# For each operation on a tenant's data: a document and its variables for that tenant's ids.
EXAMPLES: dict[str, tuple[str, Callable[[Ids], dict[str, Any]]]] = {
    "Query.node": ("query($id: ID!) { node(id: $id) { id } }", lambda t: {"id": t["patient"]}),
    "Query.patient": (
        "query($id: ID!) { patient(id: $id) { id } }",
        lambda t: {"id": t["patient"]},
    ),
    "Query.patients": (
        "query($s: String) { patients(search: $s) { totalCount } }",
        lambda t: {"s": t["enp"]},
    ),
    "Query.supervisionCase": (
        "query($id: ID!) { supervisionCase(id: $id) { id } }",
        lambda t: {"id": t["case"]},
    ),
    "Query.supervisionCases": (
        "query($p: ID) { supervisionCases(filter: {patientId: $p}) { totalCount } }",
        lambda t: {"p": t["patient"]},
    ),
    "Query.visits": (
        "query($c: ID) { visits(filter: {caseId: $c}) { totalCount } }",
        lambda t: {"c": t["case"]},
    ),
    "Query.worklist": (
        "query($r: ID) { worklist(filter: {representativeId: $r}) { totalCount } }",
        lambda t: {"r": t["representative"]},
    ),
    "Query.auditEvents": (
        "query($p: ID) { auditEvents(filter: {patientId: $p}) { totalCount } }",
        lambda t: {"p": t["patient"]},
    ),
    "Mutation.registerPatient": (
        f"mutation($i: RegisterPatientInput!) {{ registerPatient(input: $i) {{ {RESULT} }} }}",
        lambda t: {
            "i": {
                "enp": valid_enp(900_001),
                "lastName": "Орлова",
                "firstName": "Вера",
                "birthDate": "1950-01-02",
                "sex": "FEMALE",
                "insurerId": t["insurer"],
            }
        },
    ),
    "Mutation.updatePatientContacts": (
        f"mutation($i: UpdatePatientContactsInput!) {{ updatePatientContacts(input: $i) {{ {RESULT} }} }}",
        lambda t: {"i": {"patientId": t["patient"], "version": 1, "email": "a@example.ru"}},
    ),
    "Mutation.setNotificationConsent": (
        "mutation($i: SetNotificationConsentInput!) { setNotificationConsent(input: $i) {"
        " __typename ... on UserError { code } } }",
        lambda t: {
            "i": {"patientId": t["patient"], "channel": "SMS", "granted": False, "method": "call"}
        },
    ),
    "Mutation.openCase": (
        f"mutation($i: OpenCaseInput!) {{ openCase(input: $i) {{ {RESULT} }} }}",
        lambda t: {
            "i": {
                "patientId": t["patient"],
                "icd10": "E11.9",
                "clinicId": t["clinic"],
                "openedOn": YESTERDAY,
            }
        },
    ),
    "Mutation.updateCase": (
        f"mutation($i: UpdateCaseInput!) {{ updateCase(input: $i) {{ {RESULT} }} }}",
        lambda t: {"i": {"caseId": t["case"], "version": 1, "physicianName": "Д-р Лебедев"}},
    ),
    "Mutation.closeCase": (
        f"mutation($i: CloseCaseInput!) {{ closeCase(input: $i) {{ {RESULT} }} }}",
        lambda t: {
            "i": {"caseId": t["case"], "version": 1, "reason": "RECOVERED", "closedOn": YESTERDAY}
        },
    ),
    "Mutation.assignRepresentative": (
        f"mutation($c: ID!, $r: ID!) {{ assignRepresentative(caseId: $c, representativeId: $r) {{ {RESULT} }} }}",
        lambda t: {"c": t["case"], "r": t["representative"]},
    ),
    "Mutation.reassignCases": (
        "mutation($c: [ID!]!, $r: ID!) { reassignCases(caseIds: $c, representativeId: $r) {"
        " __typename ... on UserError { code } } }",
        lambda t: {"c": [t["case"]], "r": t["representative"]},
    ),
    "Mutation.scheduleVisit": (
        f"mutation($i: ScheduleVisitInput!) {{ scheduleVisit(input: $i) {{ {RESULT} }} }}",
        lambda t: {
            "i": {"caseId": t["case"], "windowStart": "2031-01-01", "windowEnd": "2031-01-31"}
        },
    ),
    "Mutation.rescheduleVisit": (
        f"mutation($i: RescheduleVisitInput!) {{ rescheduleVisit(input: $i) {{ {RESULT} }} }}",
        lambda t: {"i": {"visitId": t["visit"], "windowEnd": "2030-07-15"}},
    ),
    "Mutation.cancelVisit": (
        f'mutation($v: ID!) {{ cancelVisit(visitId: $v, reasonCode: "moved") {{ {RESULT} }} }}',
        lambda t: {"v": t["visit"]},
    ),
    "Mutation.recordVisit": (
        f"mutation($i: RecordVisitInput!) {{ recordVisit(input: $i) {{ {RESULT} }} }}",
        lambda t: {"i": visit_report(t)},
    ),
    "Mutation.recordVisits": (
        f"mutation($i: [RecordVisitInput!]!) {{ recordVisits(input: $i) {{ result {{ {RESULT} }} }} }}",
        lambda t: {"i": [visit_report(t)]},
    ),
    "Mutation.logContactAttempt": (
        f"mutation($i: LogContactAttemptInput!) {{ logContactAttempt(input: $i) {{ {RESULT} }} }}",
        lambda t: {
            "i": {
                "patientId": t["patient"],
                "method": "CALL",
                "outcome": "NO_ANSWER",
                "representativeId": t["representative"],
            }
        },
    ),
    "Mutation.startWorkItem": (
        f"mutation($id: ID!) {{ startWorkItem(id: $id) {{ {RESULT} }} }}",
        lambda t: {"id": t["workItem"]},
    ),
    "Query.reminders": (
        "query($p: ID) { reminders(filter: {patientId: $p}) { totalCount } }",
        lambda t: {"p": t["patient"]},
    ),
    "Query.informingEvents": (
        "query($p: ID) { informingEvents(filter: {patientId: $p}) { totalCount } }",
        lambda t: {"p": t["patient"]},
    ),
    "Query.appeals": (
        "query($p: ID) { appeals(filter: {patientId: $p}) { totalCount } }",
        lambda t: {"p": t["patient"]},
    ),
    "Query.qualityExaminations": (
        "query($c: ID) { qualityExaminations(filter: {clinicId: $c}) { totalCount } }",
        lambda t: {"c": t["clinic"]},
    ),
    "Mutation.sendReminderNow": (
        f"mutation($id: ID!) {{ sendReminderNow(id: $id) {{ {RESULT} }} }}",
        lambda t: {"id": t["reminder"]},
    ),
    "Mutation.cancelReminder": (
        f"mutation($id: ID!) {{ cancelReminder(id: $id) {{ {RESULT} }} }}",
        lambda t: {"id": t["reminder"]},
    ),
    "Mutation.retryReminder": (
        f"mutation($id: ID!) {{ retryReminder(id: $id) {{ {RESULT} }} }}",
        lambda t: {"id": t["deadReminder"]},
    ),
    "Mutation.registerAppeal": (
        f"mutation($i: RegisterAppealInput!) {{ registerAppeal(input: $i) {{ {RESULT} }} }}",
        lambda t: {
            "i": {
                "receivedAt": "2026-01-10T10:00:00+03:00",
                "channel": "EMAIL",
                "kind": "STATEMENT",
                "subject": t["appealSubject"],
                "text": "Прошу помочь записаться",
                "patientEnp": t["enp"],
                "clinicId": t["clinic"],
            }
        },
    ),
    "Mutation.assignAppeal": (
        f"mutation($a: ID!, $r: ID!) {{ assignAppeal(appealId: $a, representativeId: $r) {{ {RESULT} }} }}",
        lambda t: {"a": t["appeal"], "r": t["representative"]},
    ),
    "Mutation.extendAppeal": (
        f"mutation($i: ExtendAppealInput!) {{ extendAppeal(input: $i) {{ {RESULT} }} }}",
        lambda t: {"i": {"appealId": t["appeal"], "days": 10, "notice": "letter of 2 June"}},
    ),
    "Mutation.answerAppeal": (
        f"mutation($i: AnswerAppealInput!) {{ answerAppeal(input: $i) {{ {RESULT} }} }}",
        lambda t: {"i": {"appealId": t["appeal"], "text": "Записан", "outcome": "EXPLAINED"}},
    ),
    "Mutation.closeAppeal": (
        f"mutation($a: ID!) {{ closeAppeal(appealId: $a) {{ {RESULT} }} }}",
        lambda t: {"a": t["answeredAppeal"]},
    ),
    "Mutation.orderQualityExamination": (
        "mutation($i: OrderQualityExaminationInput!) { orderQualityExamination(input: $i) {"
        f" {RESULT} }} }}",
        lambda t: {
            "i": {
                "kind": "SCHEDULED",
                "clinicId": t["clinic"],
                "periodStart": "2026-01-01",
                "periodEnd": "2026-03-31",
                "expertName": "Эксперт",
                "dueOn": "2030-01-01",
                "caseIds": [t["case"]],
            }
        },
    ),
    "Mutation.completeQualityExamination": (
        "mutation($i: CompleteQualityExaminationInput!) { completeQualityExamination(input: $i) {"
        f" {RESULT} }} }}",
        lambda t: {"i": {"examinationId": t["examination"], "outcome": "NO_VIOLATIONS"}},
    ),
    "Mutation.resolveWorkItem": (
        f'mutation($id: ID!) {{ resolveWorkItem(id: $id, resolution: "called") {{ {RESULT} }} }}',
        lambda t: {"id": t["workItem"]},
    ),
}


def visit_report(t: Ids) -> dict[str, Any]:
    return {
        "caseId": t["case"],
        "clinicId": t["clinic"],
        "externalId": "mis-1",
        "attended": True,
        "visitDate": YESTERDAY,
    }


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
