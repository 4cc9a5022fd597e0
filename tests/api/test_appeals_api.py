"""Appeals and quality-of-care examinations through the API, as a representative works them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from cases.audit.models import AuditEvent
from cases.kit.columns import utcnow
from tests.conftest import GraphQLClient, RolledBackDatabase
from tests.factories import Region, gid

REGISTER = """
mutation($input: RegisterAppealInput!) {
  registerAppeal(input: $input) {
    __typename
    ... on Appeal { id kind status registrationDue answerDue patient { enp } clinic { name } }
    ... on UserError { code field message }
  }
}
"""

ASSIGN = """
mutation($appeal: ID!, $rep: ID!) {
  assignAppeal(appealId: $appeal, representativeId: $rep) {
    __typename
    ... on Appeal { status representative { id } }
    ... on UserError { code field message }
  }
}
"""

EXTEND = """
mutation($input: ExtendAppealInput!) {
  extendAppeal(input: $input) {
    __typename
    ... on Appeal { answerDue extensionDays extensionNotice }
    ... on UserError { code field message }
  }
}
"""

ANSWER = """
mutation($input: AnswerAppealInput!) {
  answerAppeal(input: $input) {
    __typename
    ... on Appeal { status outcome answeredOnTime }
    ... on UserError { code field message }
  }
}
"""

CLOSE = """
mutation($id: ID!) {
  closeAppeal(appealId: $id) {
    __typename
    ... on Appeal { status closedAt }
    ... on UserError { code field message }
  }
}
"""

ORDER = """
mutation($input: OrderQualityExaminationInput!) {
  orderQualityExamination(input: $input) {
    __typename
    ... on QualityExamination { id kind reason status examined { case { id } visit { id } } }
    ... on UserError { code field message }
  }
}
"""

COMPLETE = """
mutation($input: CompleteQualityExaminationInput!) {
  completeQualityExamination(input: $input) {
    __typename
    ... on QualityExamination { status outcome violationCodes findings }
    ... on UserError { code field message }
  }
}
"""

APPEALS = """
query($filter: AppealFilterInput) {
  appeals(filter: $filter) { totalCount edges { node { id kind status answerDue } } }
}
"""

LINKED = """
query($appeal: ID!, $case: ID!) {
  appeal: node(id: $appeal) { ... on Appeal { examinations { edges { node { id outcome } } } } }
  case: supervisionCase(id: $case) { examinations { edges { node { id outcome } } } }
}
"""

# The zone of the test app's settings (their default), where the appeals service counts days.
REGION_ZONE = ZoneInfo("Europe/Moscow")


def today() -> date:
    """Today as the appeals service sees it: in the region's zone, which for three hours of
    every night is already tomorrow on a machine that keeps UTC."""
    return utcnow().astimezone(REGION_ZONE).date()


async def given_region(db: RolledBackDatabase) -> dict[str, Any]:
    async with db.session() as session:
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        patient = await region.patient(insurer)
        case = await region.case(patient, clinic, representative)
        visit = await region.visit(case, today() - timedelta(days=20))
        await session.commit()
    return {
        "insurer": gid("Insurer", insurer.id),
        "clinic": gid("MedicalOrganization", clinic.id),
        "rep": gid("Representative", representative.id),
        "enp": patient.enp,
        "case": gid("SupervisionCase", case.id),
        "visit": gid("Visit", visit.id),
    }


def complaint(region: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "receivedAt": f"{today() - timedelta(days=1)}T10:00:00+03:00",
        "channel": "LETTER",
        "kind": "COMPLAINT",
        "subject": "QUALITY_OF_CARE",
        "text": "Жалоба на отказ в записи к кардиологу.",
        "patientEnp": region["enp"],
        "clinicId": region["clinic"],
        "caseId": region["case"],
        **fields,
    }


async def test_an_appeal_registered_after_its_deadline_says_so(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    # given
    region = await given_region(db)
    late = {"receivedAt": f"{today() - timedelta(days=5)}T10:00:00+03:00"}
    fields = "... on Appeal { registeredLate registrationDue }"

    # when
    on_time = await graphql.data(
        f"mutation($i: RegisterAppealInput!) {{ registerAppeal(input: $i) {{ {fields} }} }}",
        i=complaint(region),
    )
    after = await graphql.data(
        f"mutation($i: RegisterAppealInput!) {{ registerAppeal(input: $i) {{ {fields} }} }}",
        i=complaint(region, **late),
    )

    # then
    assert on_time["registerAppeal"]["registeredLate"] is False
    assert after["registerAppeal"]["registeredLate"] is True


async def test_a_complaint_without_a_clinic_is_rejected_naming_the_field(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    # given
    region = await given_region(db)

    # when
    result = (await graphql.data(REGISTER, input=complaint(region, clinicId=None)))[
        "registerAppeal"
    ]

    # then
    assert result == {
        "__typename": "ValidationError",
        "code": "VALIDATION",
        "field": "input.clinicId",
        "message": "a complaint must name the clinic it concerns",
    }
    async with db.session() as session:
        assert (
            await session.execute(sa.select(sa.func.count()).select_from(AuditEvent))
        ).scalar() == 0


async def test_an_unknown_enp_and_a_bad_one_are_typed_errors(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    region = await given_region(db)

    unknown = await graphql.data(
        REGISTER, input=complaint(region, patientEnp="0000000000000000", caseId=None)
    )
    mistyped = await graphql.data(REGISTER, input=complaint(region, patientEnp="1234"))

    assert unknown["registerAppeal"]["field"] == "input.patientEnp"
    assert unknown["registerAppeal"]["code"] == "NOT_FOUND"
    assert mistyped["registerAppeal"]["field"] == "input.patientEnp"
    assert mistyped["registerAppeal"]["code"] == "VALIDATION"


async def test_appeal_from_registration_to_closing(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    # given
    region = await given_region(db)
    registered = (await graphql.data(REGISTER, input=complaint(region)))["registerAppeal"]
    received = today() - timedelta(days=1)

    # when
    assigned = (await graphql.data(ASSIGN, appeal=registered["id"], rep=region["rep"]))[
        "assignAppeal"
    ]
    extended = (
        await graphql.data(
            EXTEND, input={"appealId": registered["id"], "days": 10, "notice": "письмо 01.10"}
        )
    )["extendAppeal"]
    twice = (
        await graphql.data(
            EXTEND, input={"appealId": registered["id"], "days": 5, "notice": "ещё раз"}
        )
    )["extendAppeal"]
    early_close = (await graphql.data(CLOSE, id=registered["id"]))["closeAppeal"]
    answered = (
        await graphql.data(
            ANSWER,
            input={
                "appealId": registered["id"],
                "text": "Запись организована.",
                "outcome": "UPHELD",
            },
        )
    )["answerAppeal"]
    closed = (await graphql.data(CLOSE, id=registered["id"]))["closeAppeal"]

    # then
    assert registered["status"] == "REGISTERED"
    assert registered["registrationDue"] == str(received + timedelta(days=3))
    assert registered["answerDue"] == str(today() + timedelta(days=30))
    assert registered["patient"] == {"enp": region["enp"]}
    assert assigned == {
        "__typename": "Appeal",
        "status": "IN_PROGRESS",
        "representative": {"id": region["rep"]},
    }
    assert extended["answerDue"] == str(today() + timedelta(days=40))
    assert extended["extensionDays"] == 10
    assert (twice["__typename"], twice["field"]) == ("InvalidStateError", "input.appealId")
    assert (early_close["__typename"], early_close["field"]) == ("InvalidStateError", "appealId")
    assert answered == {
        "__typename": "Appeal",
        "status": "ANSWERED",
        "outcome": "UPHELD",
        "answeredOnTime": True,
    }
    assert closed["status"] == "CLOSED"
    async with db.session() as session:
        actions = (
            await session.execute(
                sa.select(AuditEvent.action)
                .where(AuditEvent.entity_type == "Appeal")
                .order_by(AuditEvent.id)
            )
        ).scalars()
        assert list(actions) == [
            "appeal.register",
            "appeal.assign",
            "appeal.extend",
            "appeal.answer",
            "appeal.close",
        ]


async def test_appeals_filter_by_status_kind_deadline_and_clinic(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    # given
    region = await given_region(db)
    first = (await graphql.data(REGISTER, input=complaint(region)))["registerAppeal"]
    question = complaint(region, kind="CONSULTATION", clinicId=None, caseId=None)
    second = (await graphql.data(REGISTER, input=question))["registerAppeal"]
    await graphql.data(ASSIGN, appeal=second["id"], rep=region["rep"])

    async def ids(**filter: Any) -> list[str]:
        found = (await graphql.data(APPEALS, filter=filter))["appeals"]
        return [edge["node"]["id"] for edge in found["edges"]]

    # then
    assert await ids() == [first["id"], second["id"]]
    assert await ids(kinds=["COMPLAINT"]) == [first["id"]]
    assert await ids(statuses=["IN_PROGRESS"]) == [second["id"]]
    assert await ids(clinicId=region["clinic"]) == [first["id"]]
    assert await ids(representativeId=region["rep"]) == [second["id"]]
    assert await ids(answerDueBefore=str(today() + timedelta(days=30))) == []
    assert await ids(answerDueBefore=str(today() + timedelta(days=31))) == [
        first["id"],
        second["id"],
    ]


async def test_examination_after_a_complaint_shows_on_the_appeal_and_the_case(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    # given
    region = await given_region(db)
    appeal = (await graphql.data(REGISTER, input=complaint(region)))["registerAppeal"]
    order = {
        "kind": "TARGETED",
        "reason": "COMPLAINT",
        "clinicId": region["clinic"],
        "periodStart": str(today() - timedelta(days=90)),
        "periodEnd": str(today()),
        "expertName": "Эксперт качества № 12",
        "dueOn": str(today() + timedelta(days=30)),
        "appealId": appeal["id"],
        "caseIds": [region["case"]],
        "visitIds": [region["visit"]],
    }

    # when
    without_reason = (await graphql.data(ORDER, input={**order, "reason": None}))[
        "orderQualityExamination"
    ]
    ordered = (await graphql.data(ORDER, input=order))["orderQualityExamination"]
    codes_missing = (
        await graphql.data(
            COMPLETE, input={"examinationId": ordered["id"], "outcome": "VIOLATIONS_FOUND"}
        )
    )["completeQualityExamination"]
    completed = (
        await graphql.data(
            COMPLETE,
            input={
                "examinationId": ordered["id"],
                "outcome": "VIOLATIONS_FOUND",
                "violationCodes": ["3.2.1", "3.2.1", "2.1"],
                "findings": "Пациент не записан в срок.",
            },
        )
    )["completeQualityExamination"]
    linked = await graphql.data(LINKED, appeal=appeal["id"], case=region["case"])

    # then
    assert (without_reason["__typename"], without_reason["field"]) == (
        "ValidationError",
        "input.reason",
    )
    assert ordered["status"] == "ORDERED"
    assert ordered["examined"] == [
        {"case": {"id": region["case"]}, "visit": {"id": region["visit"]}}
    ]
    assert (codes_missing["__typename"], codes_missing["field"]) == (
        "ValidationError",
        "input.violationCodes",
    )
    assert completed == {
        "__typename": "QualityExamination",
        "status": "COMPLETED",
        "outcome": "VIOLATIONS_FOUND",
        "violationCodes": ["3.2.1", "2.1"],
        "findings": "Пациент не записан в срок.",
    }
    expected = [{"node": {"id": ordered["id"], "outcome": "VIOLATIONS_FOUND"}}]
    assert linked["appeal"]["examinations"]["edges"] == expected
    assert linked["case"]["examinations"]["edges"] == expected
