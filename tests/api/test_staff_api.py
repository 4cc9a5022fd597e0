"""Staff onboarding over the API: clinics by the administrator, representatives by their
insurer's supervisor, logins that end at once."""

from __future__ import annotations

from typing import Any

from tests.api.access import World, build_world
from tests.conftest import ADMIN, GraphQLClient, RolledBackDatabase, bearer
from tests.factories import gid

RESULT = "__typename ... on UserError { code field message }"
REPRESENTATIVE = """
  ... on Representative {
    id level lastName firstName phone active isSupervisor subject
    insurer { id }
    deskHours { totalCount edges { node { weekday startsAt endsAt clinic { id } } } }
  }
"""
REGISTER = f"""
mutation($i: RegisterRepresentativeInput!) {{
  registerRepresentative(input: $i) {{ {RESULT} {REPRESENTATIVE} }}
}}
"""
ME = "{ me { role label representative { id } } }"


async def staff_world(db: RolledBackDatabase, settings: Any) -> tuple[World, dict[str, str]]:
    world = await build_world(db, settings)
    return world, world.callers["supervisor"]


async def register(graphql: GraphQLClient, headers: dict[str, str], **input: Any) -> dict[str, Any]:
    data = await graphql.as_(headers).data(REGISTER, i=input)
    result: dict[str, Any] = data["registerRepresentative"]
    return result


async def test_a_supervisor_onboards_a_representative_who_then_signs_in(
    graphql: GraphQLClient, db: RolledBackDatabase, settings: Any
) -> None:
    # given
    world, supervisor = await staff_world(db, settings)
    insurer = gid("Insurer", world.own.insurer.id)

    # when
    added = await register(
        graphql,
        supervisor,
        insurerId=insurer,
        level=3,
        lastName=" Котова ",
        firstName="Ия",
        phone="8 (912) 000-00-01",
        subject="kotova-login",
    )
    signed_in = await graphql.as_(bearer("kotova-login")).data(ME)
    trail = await graphql.data(
        "query($id: ID) { auditEvents(filter: {entityId: $id}) { edges { node { action actor } } } }",
        id=added["id"],
    )

    # then
    assert added | {"id": None} == {
        "__typename": "Representative",
        "id": None,
        "level": 3,
        "lastName": "Котова",
        "firstName": "Ия",
        "phone": "+79120000001",
        "active": True,
        "isSupervisor": False,
        "subject": "kotova-login",
        "insurer": {"id": insurer},
        "deskHours": {"totalCount": 0, "edges": []},
    }
    assert signed_in["me"]["representative"] == {"id": added["id"]}
    assert [edge["node"]["action"] for edge in trail["auditEvents"]["edges"]] == [
        "representative.register"
    ]


async def test_a_deactivated_or_unlinked_login_is_refused_on_its_next_request(
    graphql: GraphQLClient, db: RolledBackDatabase, settings: Any
) -> None:
    # given: two representatives who have each just been let in (and so are remembered)
    world, supervisor = await staff_world(db, settings)
    insurer = gid("Insurer", world.own.insurer.id)
    first = await register(
        graphql, supervisor, insurerId=insurer, level=3, lastName="А", firstName="Б", subject="one"
    )
    second = await register(
        graphql, supervisor, insurerId=insurer, level=3, lastName="В", firstName="Г", subject="two"
    )
    for subject in ("one", "two"):
        assert (await graphql.as_(bearer(subject)).post(ME)).status_code == 200

    # when
    deactivated = await graphql.as_(supervisor).data(
        f"mutation($r: ID!) {{ deactivateRepresentative(representativeId: $r) {{ {RESULT} {REPRESENTATIVE} }} }}",
        r=first["id"],
    )
    unlinked = await graphql.as_(supervisor).data(
        f"mutation($r: ID!) {{ unlinkRepresentativeLogin(representativeId: $r) {{ {RESULT} {REPRESENTATIVE} }} }}",
        r=second["id"],
    )

    # then
    assert deactivated["deactivateRepresentative"]["active"] is False
    assert unlinked["unlinkRepresentativeLogin"]["subject"] is None
    for subject in ("one", "two"):
        refused = await graphql.as_(bearer(subject)).post(ME)
        assert refused.status_code == 401, subject


async def test_a_new_level_counts_from_the_next_request(
    graphql: GraphQLClient, db: RolledBackDatabase, settings: Any
) -> None:
    # given: a level-1 representative, known to the API
    world, supervisor = await staff_world(db, settings)
    added = await register(
        graphql,
        supervisor,
        insurerId=gid("Insurer", world.own.insurer.id),
        level=1,
        lastName="Д",
        firstName="Е",
        subject="climbs",
    )
    worklist = "{ worklist { totalCount } }"
    assert (await graphql.as_(bearer("climbs")).data(worklist))["worklist"]["totalCount"] == 0
    patient = gid("Patient", world.own.patient.id)
    consent = (
        "mutation($p: ID!) { updatePatientContacts(input: {patientId: $p, version: 1, "
        'email: "x@example.ru"}) { __typename } }'
    )
    assert (await graphql.as_(bearer("climbs"))(consent, p=patient))["errors"]

    # when
    await graphql.as_(supervisor).data(
        f"mutation($i: UpdateRepresentativeInput!) {{ updateRepresentative(input: $i) {{ {RESULT} }} }}",
        i={"representativeId": added["id"], "level": 2},
    )

    # then
    allowed = await graphql.as_(bearer("climbs"))(consent, p=patient)
    assert "errors" not in allowed, allowed


async def test_a_supervisor_manages_only_their_insurers_staff(
    graphql: GraphQLClient, db: RolledBackDatabase, settings: Any
) -> None:
    # given
    world, supervisor = await staff_world(db, settings)

    # when
    elsewhere = await register(
        graphql,
        supervisor,
        insurerId=gid("Insurer", world.foreign.insurer.id),
        level=3,
        lastName="Ж",
        firstName="З",
    )
    foreign = await graphql.as_(supervisor).data(
        f"mutation($r: ID!) {{ deactivateRepresentative(representativeId: $r) {{ {RESULT} }} }}",
        r=gid("Representative", world.foreign.representative.id),
    )
    by_a_representative = await graphql.as_(world.callers["representative_3"])(
        REGISTER,
        i={
            "insurerId": gid("Insurer", world.own.insurer.id),
            "level": 3,
            "lastName": "И",
            "firstName": "К",
        },
    )

    # then
    assert (elsewhere["__typename"], elsewhere["field"]) == (
        "PermissionDeniedError",
        "input.insurerId",
    )
    # Another insurer's staff are out of the supervisor's reach, as any of its objects.
    assert foreign["deactivateRepresentative"]["__typename"] == "NotFoundError"
    assert by_a_representative["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


async def test_desk_hours_replace_the_old_ones_and_filter_the_representatives(
    graphql: GraphQLClient, db: RolledBackDatabase, settings: Any
) -> None:
    # given
    world, supervisor = await staff_world(db, settings)
    own, other = world.own, world.foreign
    representative = gid("Representative", own.representative.id)
    clinic, other_clinic = (
        gid("MedicalOrganization", own.clinic.id),
        gid("MedicalOrganization", other.clinic.id),
    )
    desks = "mutation($r: ID!, $d: [DeskHoursInput!]!) { setDeskHours(representativeId: $r, desks: $d) {"
    desks += f" {RESULT} {REPRESENTATIVE} }} }}"
    await graphql.as_(supervisor).data(
        desks,
        r=representative,
        d=[{"clinicId": other_clinic, "weekday": 1, "startsAt": "09:00:00", "endsAt": "12:00:00"}],
    )

    # when
    placed = await graphql.as_(supervisor).data(
        desks,
        r=representative,
        d=[
            {"clinicId": clinic, "weekday": 4, "startsAt": "14:00:00", "endsAt": "17:30:00"},
            {"clinicId": clinic, "weekday": 0, "startsAt": "09:00:00", "endsAt": "12:00:00"},
        ],
    )
    backwards = await graphql.as_(supervisor).data(
        desks,
        r=representative,
        d=[{"clinicId": clinic, "weekday": 0, "startsAt": "12:00:00", "endsAt": "09:00:00"}],
    )
    at_clinic = await graphql.as_(supervisor).data(
        "query($c: ID) { representatives(filter: {clinicId: $c}) { edges { node { id } } } }",
        c=clinic,
    )
    at_other = await graphql.as_(supervisor).data(
        "query($c: ID) { representatives(filter: {clinicId: $c}) { totalCount } }", c=other_clinic
    )

    # then
    hours = placed["setDeskHours"]["deskHours"]["edges"]
    assert [(e["node"]["weekday"], e["node"]["startsAt"], e["node"]["endsAt"]) for e in hours] == [
        (0, "09:00:00", "12:00:00"),
        (4, "14:00:00", "17:30:00"),
    ]
    assert (backwards["setDeskHours"]["code"], backwards["setDeskHours"]["field"]) == (
        "VALIDATION",
        "desks.0.endsAt",
    )
    assert at_clinic["representatives"]["edges"] == [{"node": {"id": representative}}]
    assert at_other["representatives"]["totalCount"] == 0


async def test_representatives_are_listed_within_the_callers_scope_with_filters(
    graphql: GraphQLClient, db: RolledBackDatabase, settings: Any
) -> None:
    # given: the own insurer has four representatives (levels 3, 1, 2, 3), the other one
    world, _ = await staff_world(db, settings)
    listing = "query($f: RepresentativeFilterInput) { representatives(filter: $f) { totalCount } }"

    async def count(caller: dict[str, str], **filter: Any) -> int:
        data = await graphql.as_(caller).data(listing, f=filter)
        total: int = data["representatives"]["totalCount"]
        return total

    representative = world.callers["representative_3"]

    # when
    counts = {
        "own, everyone": await count(representative),
        "own, level 3": await count(representative, level=3),
        "own, asking for the other insurer": await count(
            representative, insurerId=gid("Insurer", world.foreign.insurer.id)
        ),
        "administrator, everyone": await count(ADMIN),
        "administrator, inactive": await count(ADMIN, active=False),
    }

    # then
    assert counts == {
        "own, everyone": 4,
        "own, level 3": 2,
        "own, asking for the other insurer": 0,
        "administrator, everyone": 5,
        "administrator, inactive": 0,
    }


async def test_the_administrator_registers_and_changes_clinics(
    graphql: GraphQLClient, db: RolledBackDatabase, settings: Any
) -> None:
    # given
    _, supervisor = await staff_world(db, settings)
    clinic = """... on MedicalOrganization { id registryCode name address timeZone }"""

    # when
    added = await graphql.data(
        f"mutation($i: RegisterClinicInput!) {{ registerClinic(input: $i) {{ {RESULT} {clinic} }} }}",
        i={"registryCode": "630001", "name": "ГП № 1", "address": "Самара, ул. Мира, 1"},
    )
    clinic_id = added["registerClinic"]["id"]
    moved = await graphql.data(
        f"mutation($i: UpdateClinicInput!) {{ updateClinic(input: $i) {{ {RESULT} {clinic} }} }}",
        i={"clinicId": clinic_id, "timeZone": "Europe/Samara", "address": ""},
    )
    bad_zone = await graphql.data(
        f"mutation($i: UpdateClinicInput!) {{ updateClinic(input: $i) {{ {RESULT} }} }}",
        i={"clinicId": clinic_id, "timeZone": "Mars/Olympus"},
    )
    by_supervisor = await graphql.as_(supervisor)(
        'mutation { registerClinic(input: {registryCode: "1", name: "x"}) { __typename } }'
    )
    listed = await graphql.as_(supervisor).data("{ clinics(first: 100) { totalCount } }")

    # then
    assert added["registerClinic"] | {"id": None} == {
        "__typename": "MedicalOrganization",
        "id": None,
        "registryCode": "630001",
        "name": "ГП № 1",
        "address": "Самара, ул. Мира, 1",
        "timeZone": "Europe/Moscow",
    }
    assert (moved["updateClinic"]["timeZone"], moved["updateClinic"]["address"]) == (
        "Europe/Samara",
        None,
    )
    assert (bad_zone["updateClinic"]["code"], bad_zone["updateClinic"]["field"]) == (
        "VALIDATION",
        "input.timeZone",
    )
    assert by_supervisor["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    assert listed["clinics"]["totalCount"] == 3
