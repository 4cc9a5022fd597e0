"""The case API as a clinic system and a representative use it, end to end over HTTP."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from cases.audit.models import AuditEvent
from cases.reminders.models import Reminder, ReminderStatus
from cases.supervision.models import SupervisionCase, Visit, VisitStatus
from tests.conftest import GraphQLClient, RolledBackDatabase
from tests.factories import Region, gid, open_case, register_patient, setup_region, valid_enp

RECORD_VISIT = """
mutation($input: RecordVisitInput!) {
  recordVisit(input: $input) {
    __typename
    ... on Visit { id status attendedOn externalId }
    ... on UserError { code field message }
  }
}
"""

UPDATE_CONTACTS = """
mutation($input: UpdatePatientContactsInput!) {
  updatePatientContacts(input: $input) {
    __typename
    ... on Patient { phone email version }
    ... on ConflictError { code field currentVersion }
    ... on UserError { code field message }
  }
}
"""

CASES_PAGE = """
query($first: Int, $after: String, $filter: SupervisionCaseFilterInput) {
  supervisionCases(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id } }
  }
}
"""


async def test_register_patient_with_a_landline_written_the_usual_way(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    region = await setup_region(db)

    patient = await register_patient(graphql, region)

    assert patient["__typename"] == "Patient"
    assert patient["phone"] == "+78652560668"
    assert patient["version"] == 1


async def test_wrong_enp_check_digit_is_a_validation_error_naming_enp(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    region = await setup_region(db)
    good = valid_enp(777)
    wrong = good[:-1] + str((int(good[-1]) + 1) % 10)

    result = await register_patient(graphql, region, enp=wrong)

    assert result["__typename"] == "ValidationError"
    assert (result["code"], result["field"]) == ("VALIDATION", "input.enp")


async def test_open_hypertension_case_plans_its_visits_and_reminders(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    region = await setup_region(db)
    patient = await register_patient(graphql, region)

    case = await open_case(graphql, region, patient["id"])

    assert case["__typename"] == "SupervisionCase"
    assert case["icd10"] == "I10"
    assert case["visitsPerYear"] >= 1
    assert case["nextVisit"]["status"] == "PLANNED"
    assert date.fromisoformat(case["nextVisit"]["windowEnd"]) >= date.today()
    assert case["visits"]["totalCount"] == 1
    async with db.session() as session:
        reminders = (await session.execute(sa.select(Reminder))).scalars().all()
        actions = (await session.execute(sa.select(AuditEvent.action))).scalars().all()
    assert [(r.kind.value, r.channel.value, r.status) for r in reminders] == [
        ("invitation", "sms", ReminderStatus.PENDING)
    ]
    assert actions == ["patient.register", "case.open", "visit.plan"]


async def test_recording_the_same_attendance_twice_counts_once(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    region = await setup_region(db)
    patient = await register_patient(graphql, region)
    case = await open_case(graphql, region, patient["id"])
    report = {
        "caseId": case["id"],
        "clinicId": gid("MedicalOrganization", region["clinic"].id),
        "externalId": "EMR-2026-0001",
        "attended": True,
        "visitDate": date.today().isoformat(),
    }

    first = (await graphql.data(RECORD_VISIT, input=report))["recordVisit"]
    again = (await graphql.data(RECORD_VISIT, input=report))["recordVisit"]

    assert first == again
    assert first["status"] == "ATTENDED"
    async with db.session() as session:
        statuses = (
            (await session.execute(sa.select(Visit.status).order_by(Visit.id))).scalars().all()
        )
        audits = (
            await session.execute(
                sa.select(sa.func.count()).where(AuditEvent.action == "visit.attended")
            )
        ).scalar()
    # One attendance, and the next window planned after it.
    assert statuses == [VisitStatus.ATTENDED, VisitStatus.PLANNED]
    assert audits == 1


async def test_attended_date_in_the_future_is_refused(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    region = await setup_region(db)
    patient = await register_patient(graphql, region)
    case = await open_case(graphql, region, patient["id"])

    result = (
        await graphql.data(
            RECORD_VISIT,
            input={
                "caseId": case["id"],
                "clinicId": gid("MedicalOrganization", region["clinic"].id),
                "externalId": "EMR-X",
                "attended": True,
                "visitDate": (date.today() + timedelta(days=2)).isoformat(),
            },
        )
    )["recordVisit"]

    assert (result["code"], result["field"]) == ("VALIDATION", "input.visitDate")


async def test_stale_edit_is_a_conflict_with_the_current_version(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    region = await setup_region(db)
    patient = await register_patient(graphql, region)
    edit = {"patientId": patient["id"], "version": 1, "email": "olga@example.org"}
    fresh = (await graphql.data(UPDATE_CONTACTS, input=edit))["updatePatientContacts"]

    stale = (await graphql.data(UPDATE_CONTACTS, input={**edit, "email": "other@example.org"}))[
        "updatePatientContacts"
    ]

    assert fresh["version"] == 2
    assert stale.pop("message").startswith("the patient was changed meanwhile")
    assert stale == {
        "__typename": "ConflictError",
        "code": "CONFLICT",
        "field": "input.version",
        "currentVersion": 2,
    }
    current = await graphql.data(
        "query($id: ID!) { patient(id: $id) { email version } }", id=patient["id"]
    )
    assert current["patient"] == {"email": "olga@example.org", "version": 2}


async def test_page_through_a_thousand_cases_with_stable_cursors(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    region = await setup_region(db)
    async with db.session() as session:
        patient = await Region(session).patient(region["insurer"])
        session.add_all(
            SupervisionCase(
                patient_id=patient.id,
                icd10="I10",
                clinic_id=region["clinic"].id,
                opened_on=date(2025, 1, 1),
                visits_per_year=1,
            )
            for _ in range(1000)
        )
        await session.commit()
    filter = {"patientId": gid("Patient", patient.id)}

    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = (await graphql.data(CASES_PAGE, first=100, after=after, filter=filter))[
            "supervisionCases"
        ]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        if pages == 3:
            # A case added mid-way sorts after everything seen: no page shifts or repeats.
            async with db.session() as session:
                session.add(
                    SupervisionCase(
                        patient_id=patient.id,
                        icd10="E11",
                        clinic_id=region["clinic"].id,
                        opened_on=date(2025, 1, 1),
                        visits_per_year=1,
                    )
                )
                await session.commit()

    assert pages == 11
    assert len(seen) == len(set(seen)) == 1001
    assert page["totalCount"] == 1001


async def test_record_visits_batch_keeps_good_items_when_one_is_bad(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    region = await setup_region(db)
    patient = await register_patient(graphql, region)
    case = await open_case(graphql, region, patient["id"])
    clinic = gid("MedicalOrganization", region["clinic"].id)
    today = date.today().isoformat()
    items = [
        {
            "caseId": case["id"],
            "clinicId": clinic,
            "externalId": "A-1",
            "attended": True,
            "visitDate": today,
        },
        {
            "caseId": gid("SupervisionCase", 999999),
            "clinicId": clinic,
            "externalId": "A-2",
            "attended": True,
            "visitDate": today,
        },
        {
            "caseId": case["id"],
            "clinicId": clinic,
            "externalId": "A-1",
            "attended": True,
            "visitDate": today,
        },
    ]

    data = await graphql.data(
        """mutation($input: [RecordVisitInput!]!) { recordVisits(input: $input) {
             index externalId result { __typename ... on UserError { code field } } } }""",
        input=items,
    )

    results = [(item["index"], item["result"]["__typename"]) for item in data["recordVisits"]]
    assert results == [(0, "Visit"), (1, "NotFoundError"), (2, "Visit")]
    assert data["recordVisits"][1]["result"]["field"] == "input.1.caseId"


async def test_close_case_cancels_future_visits_and_pending_reminders(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    region = await setup_region(db)
    patient = await register_patient(graphql, region)
    case = await open_case(graphql, region, patient["id"])

    data = await graphql.data(
        """mutation($input: CloseCaseInput!) { closeCase(input: $input) {
             __typename ... on SupervisionCase { status closeReason nextVisit { id } } } }""",
        input={
            "caseId": case["id"],
            "version": case["version"],
            "reason": "MOVED_AWAY",
            "closedOn": date.today().isoformat(),
        },
    )

    assert data["closeCase"] == {
        "__typename": "SupervisionCase",
        "status": "CLOSED",
        "closeReason": "MOVED_AWAY",
        "nextVisit": None,
    }
    async with db.session() as session:
        visits = (await session.execute(sa.select(Visit.status))).scalars().all()
        reminders = (await session.execute(sa.select(Reminder.status))).scalars().all()
    assert visits == [VisitStatus.CANCELLED]
    assert reminders == [ReminderStatus.CANCELLED]


async def test_patient_search_by_name_prefix_folds_yo_and_case(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    region = await setup_region(db)
    await register_patient(graphql, region, lastName="Фёдорова", enp=valid_enp(1001))
    await register_patient(
        graphql, region, lastName="Федоров", enp=valid_enp(1002), sex="MALE", firstName="Олег"
    )
    await register_patient(
        graphql, region, lastName="Смирнов", enp=valid_enp(1003), sex="MALE", firstName="Иван"
    )

    query = "query($s: String) { patients(search: $s) { totalCount edges { node { lastName } } } }"
    by_name = (await graphql.data(query, s="ФЕДОР"))["patients"]
    by_enp = (await graphql.data(query, s=valid_enp(1003)))["patients"]
    by_phone = (await graphql.data(query, s="+7 8652 56 06 68"))["patients"]

    assert sorted(edge["node"]["lastName"] for edge in by_name["edges"]) == ["Федоров", "Фёдорова"]
    assert [edge["node"]["lastName"] for edge in by_enp["edges"]] == ["Смирнов"]
    assert by_phone["totalCount"] == 3
