"""The remaining case mutations: each changes what it says, audits it, and refuses bad input by field."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import col

from cases.audit.models import AuditEvent
from cases.registry.models import Representative
from cases.reminders.models import Reminder, ReminderStatus
from tests.conftest import GraphQLClient, RolledBackDatabase
from tests.factories import gid, open_case, register_patient, save, setup_region

VISIT_FIELDS = "__typename ... on Visit { id status windowStart windowEnd appointmentAt reasonCode } ... on UserError { code field }"


async def actions(db: RolledBackDatabase) -> list[str]:
    async with db.session() as session:
        return list(
            (await session.execute(sa.select(AuditEvent.action).order_by(AuditEvent.id))).scalars()
        )


async def test_schedule_reschedule_and_cancel_a_visit(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    region = await setup_region(db)
    patient = await register_patient(graphql, region)
    case = await open_case(graphql, region, patient["id"])
    start = date.today() + timedelta(days=20)
    appointment = f"{(start + timedelta(days=5)).isoformat()}T10:30:00+03:00"

    scheduled = (
        await graphql.data(
            f"mutation($i: ScheduleVisitInput!) {{ scheduleVisit(input: $i) {{ {VISIT_FIELDS} }} }}",
            i={
                "caseId": case["id"],
                "windowStart": start.isoformat(),
                "windowEnd": (start + timedelta(days=10)).isoformat(),
                "appointmentAt": appointment,
            },
        )
    )["scheduleVisit"]
    backwards = (
        await graphql.data(
            f"mutation($i: ScheduleVisitInput!) {{ scheduleVisit(input: $i) {{ {VISIT_FIELDS} }} }}",
            i={
                "caseId": case["id"],
                "windowStart": start.isoformat(),
                "windowEnd": (start - timedelta(days=1)).isoformat(),
            },
        )
    )["scheduleVisit"]
    moved = (
        await graphql.data(
            f"mutation($i: RescheduleVisitInput!) {{ rescheduleVisit(input: $i) {{ {VISIT_FIELDS} }} }}",
            i={"visitId": scheduled["id"], "windowEnd": (start + timedelta(days=15)).isoformat()},
        )
    )["rescheduleVisit"]
    cancelled = (
        await graphql.data(
            f'mutation($id: ID!) {{ cancelVisit(visitId: $id, reasonCode: "patient_request") {{ {VISIT_FIELDS} }} }}',
            id=scheduled["id"],
        )
    )["cancelVisit"]
    again = (
        await graphql.data(
            f'mutation($id: ID!) {{ cancelVisit(visitId: $id, reasonCode: "x") {{ {VISIT_FIELDS} }} }}',
            id=scheduled["id"],
        )
    )["cancelVisit"]

    assert scheduled["status"] == "PLANNED"
    assert (backwards["code"], backwards["field"]) == ("VALIDATION", "input.windowEnd")
    assert moved["windowEnd"] == (start + timedelta(days=15)).isoformat()
    assert (cancelled["status"], cancelled["reasonCode"]) == ("CANCELLED", "patient_request")
    assert (again["code"], again["field"]) == ("INVALID_STATE", "visitId")
    async with db.session() as session:
        reminders = (
            await session.execute(
                sa.select(Reminder.kind, Reminder.status).where(col(Reminder.visit_id).is_not(None))
            )
        ).all()
    # The scheduled visit's reminders (invitation, 3 and 1 days before) were revived by the
    # reschedule (same keys) and cancelled with the visit; the opened case's invitation stays.
    kinds_of_cancelled = sorted(
        kind.value for kind, status in reminders if status is ReminderStatus.CANCELLED
    )
    assert kinds_of_cancelled == sorted(["invitation", "appointment_3_days", "appointment_1_day"])
    assert (await actions(db))[-3:] == ["visit.plan", "visit.reschedule", "visit.cancel"]


async def test_update_case_checks_the_version_and_audits(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    region = await setup_region(db)
    patient = await register_patient(graphql, region)
    case = await open_case(graphql, region, patient["id"])
    mutation = """mutation($i: UpdateCaseInput!) { updateCase(input: $i) {
        __typename ... on SupervisionCase { icd10 visitsPerYear version } ... on ConflictError { currentVersion } } }"""

    updated = (
        await graphql.data(
            mutation,
            i={
                "caseId": case["id"],
                "version": case["version"],
                "icd10": "i11.9",
                "visitsPerYear": 4,
            },
        )
    )["updateCase"]
    stale = (
        await graphql.data(
            mutation, i={"caseId": case["id"], "version": case["version"], "visitsPerYear": 2}
        )
    )["updateCase"]

    assert updated == {
        "__typename": "SupervisionCase",
        "icd10": "I11.9",
        "visitsPerYear": 4,
        "version": case["version"] + 1,
    }
    assert stale == {"__typename": "ConflictError", "currentVersion": case["version"] + 1}
    # the new frequency re-plans the window ahead: cancelled, and the next one planned
    assert (await actions(db))[-3:] == ["case.update", "visit.cancel", "visit.plan"]


async def test_reassign_cases_is_all_or_nothing(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    region = await setup_region(db)
    patient = await register_patient(graphql, region)
    first = await open_case(graphql, region, patient["id"])
    second = await open_case(graphql, region, patient["id"], icd10="E11.9")
    async with db.session() as session:
        other = Representative(
            insurer_id=region["insurer"].id, level=3, last_name="Орлова", first_name="Вера"
        )
        level_one = Representative(
            insurer_id=region["insurer"].id, level=1, last_name="Котов", first_name="Ян"
        )
        await save(session, other, level_one)
        await session.commit()
    mutation = """mutation($ids: [ID!]!, $rep: ID!) { reassignCases(caseIds: $ids, representativeId: $rep) {
        __typename ... on ReassignedCases { cases { representative { lastName } } } ... on UserError { code field } } }"""

    moved = (
        await graphql.data(
            mutation, ids=[first["id"], second["id"]], rep=gid("Representative", other.id)
        )
    )["reassignCases"]
    to_level_one = (
        await graphql.data(mutation, ids=[first["id"]], rep=gid("Representative", level_one.id))
    )["reassignCases"]
    with_missing = (
        await graphql.data(
            mutation,
            ids=[first["id"], gid("SupervisionCase", 987654)],
            rep=gid("Representative", region["representative"].id),
        )
    )["reassignCases"]
    too_many = (
        await graphql.data(mutation, ids=[first["id"]] * 101, rep=gid("Representative", other.id))
    )["reassignCases"]

    assert moved == {
        "__typename": "ReassignedCases",
        "cases": [{"representative": {"lastName": "Орлова"}}] * 2,
    }
    assert (to_level_one["code"], to_level_one["field"]) == ("VALIDATION", "representativeId")
    assert (with_missing["code"], with_missing["field"]) == ("NOT_FOUND", "caseIds")
    assert (too_many["code"], too_many["field"]) == ("VALIDATION", "caseIds")
    check = await graphql.data(
        "query($id: ID!) { supervisionCase(id: $id) { representative { lastName } } }",
        id=first["id"],
    )
    assert check["supervisionCase"]["representative"]["lastName"] == "Орлова"


async def test_consent_and_contact_attempts(graphql: GraphQLClient, db: RolledBackDatabase) -> None:
    region = await setup_region(db)
    patient = await register_patient(graphql, region)

    consent = await graphql.data(
        """mutation($p: ID!) { setNotificationConsent(input: {patientId: $p, channel: SMS, granted: false, method: "call to the hotline"}) {
             ... on NotificationConsent { channel granted method } } }""",
        p=patient["id"],
    )
    attempt = await graphql.data(
        """mutation($p: ID!, $r: ID!) { logContactAttempt(input: {patientId: $p, method: CALL, outcome: WILL_ATTEND, note: "придёт в четверг", representativeId: $r}) {
             __typename ... on ContactAttempt { outcome representative { lastName } } } }""",
        p=patient["id"],
        r=gid("Representative", region["representative"].id),
    )
    nobody = await graphql.data(
        """mutation($p: ID!) { logContactAttempt(input: {patientId: $p, method: CALL, outcome: NO_ANSWER}) {
             ... on UserError { code field } } }""",
        p=patient["id"],
    )
    card = await graphql.data(
        "query($id: ID!) { patient(id: $id) { consents { edges { node { channel granted } } } lastContactAttempt { outcome } informingEvents { edges { node { kind method outcome } } } } }",
        id=patient["id"],
    )

    assert consent["setNotificationConsent"] == {
        "channel": "SMS",
        "granted": False,
        "method": "call to the hotline",
    }
    assert attempt["logContactAttempt"] == {
        "__typename": "ContactAttempt",
        "outcome": "WILL_ATTEND",
        "representative": {"lastName": "Петрова"},
    }
    assert nobody["logContactAttempt"] == {"code": "VALIDATION", "field": "input.representativeId"}
    assert card["patient"] == {
        "consents": {"edges": [{"node": {"channel": "SMS", "granted": False}}]},
        "lastContactAttempt": {"outcome": "WILL_ATTEND"},
        "informingEvents": {
            "edges": [{"node": {"kind": "contact", "method": "PHONE_CALL", "outcome": "REACHED"}}]
        },
    }
    assert "patient.consent_withdrawn" in await actions(db)


RULE_FIELDS = "annex row specialty icd10 schedule duration source"


async def test_the_rules_table_is_the_orders_annexes_and_a_region_adds_its_own_rows(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    # given
    listing = (
        "query($c: String, $s: String) { supervisionRules(icd10: $c, specialty: $s) {"
        f" totalCount edges {{ node {{ {RULE_FIELDS} }} }} }} }}"
    )
    add = (
        "mutation($i: SupervisionRuleInput!) { addSupervisionRule(input: $i) {"
        f" __typename ... on SupervisionRule {{ {RULE_FIELDS} }} ... on UserError {{ field }} }} }}"
    )
    regional = {
        "specialty": "therapist",
        "icd10": "I11",
        "condition": "Гипертензивная болезнь сердца",
        "schedule": "per_year:2",
        "duration": "lifelong",
        "source": "Приказ министерства здравоохранения края № 01-05/123",
    }

    # when
    everything = await graphql.data(listing)
    hypertension = await graphql.data(listing, c="I11.9")
    added = await graphql.data(add, i=regional)
    refused = await graphql.data(add, i={**regional, "schedule": "twice"})
    with_regional = await graphql.data(listing, c="I11.9", s="therapist")
    trail = await graphql.data(
        '{ auditEvents(filter: {action: "supervision_rule.add"}) { totalCount } }'
    )

    # then
    assert everything["supervisionRules"]["totalCount"] == 102
    assert [edge["node"] for edge in hypertension["supervisionRules"]["edges"]] == [
        {
            "annex": 1,
            "row": 1,
            "specialty": "therapist",
            "icd10": "I10-I15",
            "schedule": "per_year:1",
            "duration": "lifelong",
            "source": "Order 168н, annex 1, row 1",
        },
        {
            "annex": 2,
            "row": 2,
            "specialty": "cardiologist",
            "icd10": "I10-I15",
            "schedule": "per_year:2",
            "duration": "lifelong",
            "source": "Order 168н, annex 2, row 2",
        },
    ]
    assert added["addSupervisionRule"]["annex"] is None
    assert (
        refused["addSupervisionRule"]["__typename"],
        refused["addSupervisionRule"]["field"],
    ) == (
        "ValidationError",
        "input.schedule",
    )
    assert [edge["node"]["annex"] for edge in with_regional["supervisionRules"]["edges"]] == [
        1,
        None,
    ]
    assert trail["auditEvents"]["totalCount"] == 1


async def test_patients_order_and_filters(graphql: GraphQLClient, db: RolledBackDatabase) -> None:
    region = await setup_region(db)
    from tests.factories import valid_enp

    a = await register_patient(graphql, region, lastName="Акулова", enp=valid_enp(501))
    await register_patient(graphql, region, lastName="Яковлева", enp=valid_enp(502))
    await open_case(graphql, region, a["id"])
    query = """query($o: PatientOrderInput, $f: PatientFilterInput) { patients(orderBy: $o, filter: $f) { edges { node { lastName } } } }"""

    by_name_desc = await graphql.data(query, o={"field": "NAME", "descending": True})
    with_case = await graphql.data(query, f={"hasActiveCase": True, "diagnosisPrefix": "i1"})

    assert [e["node"]["lastName"] for e in by_name_desc["patients"]["edges"]] == [
        "Яковлева",
        "Акулова",
    ]
    assert [e["node"]["lastName"] for e in with_case["patients"]["edges"]] == ["Акулова"]


async def test_supervision_case_filters(graphql: GraphQLClient, db: RolledBackDatabase) -> None:
    region = await setup_region(db)
    patient = await register_patient(graphql, region)
    hypertension = await open_case(graphql, region, patient["id"])
    diabetes = await open_case(graphql, region, patient["id"], icd10="E11.9", representativeId=None)
    query = """query($f: SupervisionCaseFilterInput) { supervisionCases(filter: $f) { edges { node { id } } } }"""

    async def ids(**filter: object) -> list[str]:
        data = await graphql.data(query, f=filter)
        return [edge["node"]["id"] for edge in data["supervisionCases"]["edges"]]

    far = (date.today() + timedelta(days=800)).isoformat()
    assert await ids(icd10Prefix="e11") == [diabetes["id"]]
    assert await ids(representativeId=gid("Representative", region["representative"].id)) == [
        hypertension["id"]
    ]
    assert await ids(status="ACTIVE", nextVisitDueBefore=far) == [
        hypertension["id"],
        diabetes["id"],
    ]
    assert await ids(nextVisitDueAfter=far) == []
    assert await ids(hasOpenWorkItem=True) == []
    assert await ids(missedVisitsAtLeast=1) == []
    assert await ids(
        missedVisitsAtLeast=0, clinicId=gid("MedicalOrganization", region["clinic"].id)
    ) == [
        hypertension["id"],
        diabetes["id"],
    ]
