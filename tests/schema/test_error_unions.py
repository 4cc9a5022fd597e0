"""Each mutation's result union lists exactly the errors it can return.

Every error a union lists is provoked below (or, for the few a concurrent request alone can
cause, named in RACES with the race), and a provocation answering with an error the union does
not list would come back as an unexpected error, which fails the test too.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from graphql import GraphQLList, GraphQLNonNull, GraphQLUnionType, get_named_type

from schema import schema
from tests.api.access import EXAMPLES, RESULT, YESTERDAY, Ids, World, build_world
from tests.conftest import GraphQLClient, RolledBackDatabase
from tests.factories import gid

ERRORS = {
    "ValidationError",
    "NotFoundError",
    "ConflictError",
    "InvalidStateError",
    "PermissionDeniedError",
}

# Errors only two requests at once can cause: the database refuses the second's row, which
# the savepoint turns into a conflict.
RACES = {
    ("setNotificationConsent", "ConflictError"): "two first consents on one channel",
}


def mutation_unions() -> dict[str, GraphQLUnionType]:
    mutation = schema._schema.mutation_type
    assert mutation is not None
    found: dict[str, GraphQLUnionType] = {}
    for name, field in mutation.fields.items():
        kind = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        if isinstance(kind, GraphQLList):
            continue  # a batch: its items carry the single mutation's union
        union = get_named_type(kind)
        assert isinstance(union, GraphQLUnionType), name
        found[name] = union
    return found


UNIONS = mutation_unions()


def test_each_mutation_has_a_union_of_its_own_named_after_it() -> None:
    names = [union.name for union in UNIONS.values()]

    assert len(set(names)) == len(names)
    for mutation, union in UNIONS.items():
        assert union.name == f"{mutation[0].upper()}{mutation[1:]}Result"
        members = {member.name for member in union.types}
        assert len(members - ERRORS) == 1, (mutation, members)


def test_no_union_lists_every_error() -> None:
    # Before, every mutation answered with all five; none can fail in all five ways.
    assert not any({member.name for member in u.types} >= ERRORS for u in UNIONS.values())


def declared(mutation: str) -> set[str]:
    return {member.name for member in UNIONS[mutation].types} & ERRORS


# A provocation: a caller (of the own tenant), a document and its variables, built from the
# tenant's ids; `before` runs first (as the administrator) to put the data in the state needed.
Step = tuple[str, Callable[[Ids], dict[str, Any]]]


class Provocation:
    def __init__(
        self,
        document: str,
        variables: Callable[[Ids], dict[str, Any]],
        *,
        caller: str = "admin",
        before: tuple[Step, ...] = (),
    ) -> None:
        self.document, self.variables, self.caller, self.before = (
            document,
            variables,
            caller,
            before,
        )


def example(
    mutation: str, change: Callable[[Ids], dict[str, Any]] | None = None, **kw: Any
) -> Provocation:
    document, variables = EXAMPLES[f"Mutation.{mutation}"]
    if change is None:
        return Provocation(document, variables, **kw)
    return Provocation(document, lambda t: _merged(variables(t), change(t)), **kw)


def _merged(variables: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    merged = dict(variables)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _id_type(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        type_name, _, node_id = base64.b64decode(value, validate=True).decode().partition(":")
    except ValueError:
        return None
    return type_name if node_id.isdigit() and type_name.isidentifier() else None


def with_first_id(variables: Any, replace: Callable[[str], str]) -> Any:
    """The variables with their first global id replaced (depth first, in order)."""
    done = False

    def walk(value: Any) -> Any:
        nonlocal done
        if done:
            return value
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        type_name = _id_type(value)
        if type_name is not None:
            done = True
            return replace(type_name)
        return value

    return walk(variables)


def wrong_type(type_name: str) -> str:
    return gid("Insurer" if type_name != "Insurer" else "Patient", 1)


def unknown(type_name: str) -> str:
    return gid(type_name, 999_999_999)


def generic(mutation: str) -> dict[str, Provocation]:
    """A wrong type of id is a ValidationError and an unknown one a NotFoundError, wherever the
    mutation takes an id."""
    document, variables = EXAMPLES[f"Mutation.{mutation}"]
    return {
        "ValidationError": Provocation(document, lambda t: with_first_id(variables(t), wrong_type)),
        "NotFoundError": Provocation(document, lambda t: with_first_id(variables(t), unknown)),
    }


CLOSE = (
    "mutation($i: CloseCaseInput!) { closeCase(input: $i) { __typename } }",
    lambda t: {
        "i": {"caseId": t["case"], "version": 1, "reason": "RECOVERED", "closedOn": YESTERDAY}
    },
)
CANCEL = (
    'mutation($v: ID!) { cancelVisit(visitId: $v, reasonCode: "moved") { __typename } }',
    lambda t: {"v": t["visit"]},
)
RESOLVE = (
    'mutation($id: ID!) { resolveWorkItem(id: $id, resolution: "called") { __typename } }',
    lambda t: {"id": t["workItem"]},
)
COMPLETE = (
    "mutation($i: CompleteQualityExaminationInput!) { completeQualityExamination(input: $i) {"
    " __typename } }",
    lambda t: {"i": {"examinationId": t["examination"], "outcome": "NO_VIOLATIONS"}},
)
REPORT_VISIT = (
    "mutation($i: RecordVisitInput!) { recordVisit(input: $i) { __typename } }",
    lambda t: {
        "i": {
            "caseId": t["case"],
            "clinicId": t["clinic"],
            "externalId": "mis-1",
            "attended": True,
            "visitDate": YESTERDAY,
        }
    },
)
REGISTER_INSURER = (
    f"mutation($i: RegisterInsurerInput!) {{ registerInsurer(input: $i) {{ {RESULT} }} }}"
)
UPDATE_RULE = (
    "mutation($i: SupervisionRuleInput!) { addSupervisionRule(input: $i) {"
    " __typename ... on UserError { code } } }"
)
RULE = {
    "specialty": "therapist",
    "icd10": "Z99",
    "condition": "test",
    "schedule": "per_year:2",
    "duration": "lifelong",
    "source": "test",
}

REGISTER_CLINIC = (
    f"mutation($i: RegisterClinicInput!) {{ registerClinic(input: $i) {{ {RESULT} }} }}"
)
UPDATE_CLINIC = f"mutation($i: UpdateClinicInput!) {{ updateClinic(input: $i) {{ {RESULT} }} }}"


# The errors beyond the generic ones, per mutation.
SPECIFIC: dict[str, dict[str, Provocation]] = {
    "registerInsurer": {
        "ValidationError": Provocation(
            REGISTER_INSURER,
            lambda t: {"i": {"registryCode": "SMO-X", "name": "X", "hotlinePhone": "12"}},
        ),
        "ConflictError": Provocation(
            REGISTER_INSURER, lambda t: {"i": {"registryCode": t["insurerCode"], "name": "X"}}
        ),
    },
    "registerClinic": {
        "ValidationError": Provocation(
            REGISTER_CLINIC, lambda t: {"i": {"registryCode": "no such code!", "name": "X"}}
        ),
        "ConflictError": Provocation(
            REGISTER_CLINIC, lambda t: {"i": {"registryCode": t["clinicCode"], "name": "X"}}
        ),
    },
    "updateClinic": {
        "ValidationError": Provocation(
            UPDATE_CLINIC, lambda t: {"i": {"clinicId": t["insurer"], "name": "X"}}
        ),
        "NotFoundError": Provocation(
            UPDATE_CLINIC, lambda t: {"i": {"clinicId": unknown("MedicalOrganization")}}
        ),
    },
    "registerRepresentative": {
        "ConflictError": example(
            "registerRepresentative", lambda t: {"i": {"subject": t["subject"]}}
        ),
        "PermissionDeniedError": example(
            "registerRepresentative",
            lambda t: {"i": {"insurerId": t["foreignInsurer"]}},
            caller="supervisor",
        ),
    },
    "linkRepresentativeLogin": {
        "ConflictError": example(
            "linkRepresentativeLogin", lambda t: {"r": t["otherRepresentative"], "s": t["subject"]}
        ),
    },
    "addSupervisionRule": {
        "ValidationError": Provocation(
            UPDATE_RULE, lambda t: {"i": {**RULE, "schedule": "per_year:0"}}
        ),
    },
    "registerPatient": {
        "ConflictError": example("registerPatient", lambda t: {"i": {"enp": t["enp"]}}),
        "PermissionDeniedError": example(
            "registerPatient",
            lambda t: {"i": {"insurerId": t["foreignInsurer"]}},
            caller="supervisor",
        ),
    },
    "updatePatientContacts": {
        "ConflictError": example("updatePatientContacts", lambda t: {"i": {"version": 99}}),
    },
    "openCase": {
        "PermissionDeniedError": example(
            "openCase", lambda t: {"i": {"clinicId": t["foreignClinic"]}}, caller="clinic_system"
        ),
    },
    "updateCase": {
        "ConflictError": example("updateCase", lambda t: {"i": {"version": 99}}),
        "InvalidStateError": example(
            "updateCase", lambda t: {"i": {"version": 2}}, before=(CLOSE,)
        ),
    },
    "closeCase": {
        "ConflictError": example("closeCase", lambda t: {"i": {"version": 99}}),
        "InvalidStateError": example("closeCase", lambda t: {"i": {"version": 2}}, before=(CLOSE,)),
    },
    "scheduleVisit": {"InvalidStateError": example("scheduleVisit", before=(CLOSE,))},
    "rescheduleVisit": {"InvalidStateError": example("rescheduleVisit", before=(CANCEL,))},
    "cancelVisit": {"InvalidStateError": example("cancelVisit", before=(CANCEL,))},
    "recordVisit": {
        "ConflictError": example(
            "recordVisit", lambda t: {"i": {"attended": False}}, before=(REPORT_VISIT,)
        ),
        "InvalidStateError": example("recordVisit", before=(CLOSE,)),
    },
    "startWorkItem": {"InvalidStateError": example("startWorkItem", before=(RESOLVE,))},
    "resolveWorkItem": {"InvalidStateError": example("resolveWorkItem", before=(RESOLVE,))},
    "sendReminderNow": {
        "InvalidStateError": example("sendReminderNow", lambda t: {"id": t["deadReminder"]})
    },
    "cancelReminder": {
        "InvalidStateError": example("cancelReminder", lambda t: {"id": t["deadReminder"]})
    },
    "retryReminder": {
        "InvalidStateError": example("retryReminder", lambda t: {"id": t["reminder"]})
    },
    "assignAppeal": {
        "InvalidStateError": example("assignAppeal", lambda t: {"a": t["answeredAppeal"]})
    },
    "extendAppeal": {
        "InvalidStateError": example(
            "extendAppeal", lambda t: {"i": {"appealId": t["answeredAppeal"]}}
        )
    },
    "answerAppeal": {
        "InvalidStateError": example(
            "answerAppeal", lambda t: {"i": {"appealId": t["answeredAppeal"]}}
        )
    },
    "closeAppeal": {"InvalidStateError": example("closeAppeal", lambda t: {"a": t["appeal"]})},
    "completeQualityExamination": {
        "InvalidStateError": example("completeQualityExamination", before=(COMPLETE,))
    },
}


def provocations(mutation: str) -> dict[str, Provocation]:
    found = generic(mutation) if f"Mutation.{mutation}" in EXAMPLES else {}
    found.update(SPECIFIC.get(mutation, {}))
    return found


def ids_of(world: World) -> Ids:
    ids = world.own.ids()
    ids["foreignInsurer"] = gid("Insurer", world.foreign.insurer.id)
    ids["foreignClinic"] = gid("MedicalOrganization", world.foreign.clinic.id)
    ids["foreignRepresentative"] = gid("Representative", world.foreign.representative.id)
    ids["otherRepresentative"] = gid("Representative", world.foreign.representative.id)
    return ids


async def answer(
    graphql: GraphQLClient, world: World, mutation: str, provocation: Provocation
) -> str:
    ids = ids_of(world)
    for document, variables in provocation.before:
        body = await graphql(document, **variables(ids))
        assert not body.get("errors"), body
    body = await graphql.as_(world.callers[provocation.caller])(
        provocation.document, **provocation.variables(ids)
    )
    assert not body.get("errors"), (mutation, body)
    typename: str = body["data"][mutation]["__typename"]
    return typename


@pytest.mark.parametrize("mutation", sorted(UNIONS))
async def test_every_error_a_union_lists_is_one_the_mutation_returns(
    graphql: GraphQLClient, db: RolledBackDatabase, settings: Any, mutation: str
) -> None:
    # given
    world = await build_world(db, settings)
    answered: dict[str, str] = {}

    for error, provocation in provocations(mutation).items():
        # when: each in a savepoint of its own
        savepoint = await db.connection.begin_nested()
        answered[error] = await answer(graphql, world, mutation, provocation)
        await savepoint.rollback()

    # then
    assert answered == {error: error for error in answered}
    races = {error for (name, error) in RACES if name == mutation}
    assert set(answered) | races == declared(mutation)


def test_a_race_named_is_one_the_union_lists() -> None:
    assert all(error in declared(mutation) for mutation, error in RACES)
