"""One insurer's representative cannot reach another insurer's patients by any path, and
every card read is on the audit trail."""

from __future__ import annotations

from datetime import time

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import aliased

from cases.audit.models import AuditEvent
from cases.kit.columns import utcnow
from cases.kit.errors import PermissionDenied
from cases.patients.models import Channel, Patient
from cases.registry.models import DeskHours, Representative
from cases.reminders.models import ReminderStatus
from cases.supervision.models import SupervisionCase, Visit
from cases.tenancy import SCOPE_INSURER, DataScope, bind_scope
from core.settings import Settings
from schema.core.loaders import Loaders
from tests.api.access import World, build_world
from tests.conftest import GraphQLClient, RolledBackDatabase
from tests.factories import Region, gid, save

BY_ENP = "query($enp: String!) { patient(enp: $enp) { id } }"
SEARCH = "query($s: String!) { patients(search: $s) { totalCount edges { node { id } } } }"
NODE_PATH = """
query($id: ID!) { node(id: $id) { ... on Visit { case { patient { enp lastName } } } } }
"""
CARD = "query($id: ID!) { patient(id: $id) { id } }"
AUDIT = "query($p: ID) { auditEvents(filter: {patientId: $p}) { totalCount edges { node { action actor requestId patientId } } } }"


@pytest.fixture
async def world(db: RolledBackDatabase, settings: Settings) -> World:
    return await build_world(db, settings)


async def test_a_foreign_patient_is_not_found_by_enp_search_or_node(
    graphql: GraphQLClient, world: World
) -> None:
    # given
    representative = graphql.as_(world.callers["representative_3"])
    foreign = world.foreign.ids()

    # when
    by_enp = await representative.data(BY_ENP, enp=foreign["enp"])
    searched = await representative.data(SEARCH, s=foreign["enp"])
    through_node = await representative.data(NODE_PATH, id=foreign["visit"])
    own = await representative.data(NODE_PATH, id=world.own.ids()["visit"])

    # then
    assert by_enp == {"patient": None}
    assert searched["patients"] == {"totalCount": 0, "edges": []}
    assert through_node == {"node": None}
    assert own["node"]["case"]["patient"]["enp"] == world.own.patient.enp


async def test_nested_fields_load_through_the_same_scope(
    db: RolledBackDatabase, world: World
) -> None:
    # given: the loaders every nested field resolves through, in a session of the own insurer
    async with db.session() as session:
        bind_scope(session, DataScope(insurer_id=world.own.insurer.id))
        loaders = Loaders(session)

        # when
        patients = await loaders.patient.load_many(
            [world.own.patient.id or 0, world.foreign.patient.id or 0]
        )
        visits = await loaders.visits_of_case.load((world.foreign.case.id, 10))
        next_visit = await loaders.next_visit_of_case.load(world.foreign.case.id)

    # then
    assert [patient.id if patient else None for patient in patients] == [world.own.patient.id, None]
    assert visits == []
    assert next_visit is None


async def test_one_statement_finds_in_each_scope_its_own_rows(
    db: RolledBackDatabase, world: World
) -> None:
    # given: one statement object, run in sessions of either insurer and either clinic (the
    # criteria are built once per kind of scope, each session giving its own ids)
    statement = sa.select(Visit.case_id).join(SupervisionCase).order_by(Visit.case_id)
    scopes = {
        tenant: (
            DataScope(insurer_id=getattr(world, tenant).insurer.id),
            DataScope(clinic_id=getattr(world, tenant).clinic.id),
        )
        for tenant in ("own", "foreign")
    }

    # when
    found = {}
    for kinds in scopes.values():
        for scope in kinds:
            async with db.session() as session:
                bind_scope(session, scope)
                found[scope] = set((await session.execute(statement)).scalars())

    # then
    for tenant, kinds in scopes.items():
        for scope in kinds:
            assert found[scope] == {getattr(world, tenant).case.id}, scope


async def test_an_aliased_entity_is_narrowed_as_its_table(
    db: RolledBackDatabase, world: World
) -> None:
    patient = aliased(Patient)
    async with db.session() as session:
        bind_scope(session, DataScope(insurer_id=world.own.insurer.id))
        found = set((await session.execute(sa.select(patient.id))).scalars())

    assert found == {world.own.patient.id}


async def test_a_change_by_primary_key_is_refused_in_a_scoped_session(
    db: RolledBackDatabase, world: World
) -> None:
    # SQLAlchemy attaches no criteria to an UPDATE given rows: it would reach another insurer's
    async with db.session() as session:
        bind_scope(session, DataScope(insurer_id=world.own.insurer.id))
        with pytest.raises(PermissionDenied):
            await session.execute(
                sa.update(Patient), [{"id": world.foreign.patient.id, "last_name": "Changed"}]
            )


async def test_a_statement_cannot_give_the_scopes_own_values(
    db: RolledBackDatabase, world: World
) -> None:
    statement = sa.select(Patient.id).where(Patient.insurer_id == sa.bindparam(SCOPE_INSURER))
    async with db.session() as session:
        bind_scope(session, DataScope(insurer_id=world.own.insurer.id))
        with pytest.raises(ValueError, match="named like the scope's"):
            await session.execute(statement, {SCOPE_INSURER: world.foreign.insurer.id})


async def test_a_clinic_key_cannot_read_another_clinics_patients(
    graphql: GraphQLClient, world: World
) -> None:
    clinic = graphql.as_(world.callers["clinic_system"])

    foreign = await clinic.data(CARD, id=world.foreign.ids()["patient"])
    own = await clinic.data(CARD, id=world.own.ids()["patient"])
    listed = await clinic.data("{ patients { totalCount } }")

    assert foreign == {"patient": None}
    assert own["patient"]["id"] == world.own.ids()["patient"]
    assert listed["patients"]["totalCount"] == 1


REPRESENTATIVE = "query($id: ID!) { node(id: $id) { ... on Representative { lastName phone } } }"


async def test_a_clinic_key_sees_only_the_representatives_who_deal_with_it(
    graphql: GraphQLClient, db: RolledBackDatabase, world: World
) -> None:
    # given: besides the representative of the clinic's patient's case, one of the same
    # insurer with nothing to do with the clinic, and one who keeps desk hours there
    async with db.session() as session:
        stranger, at_desk = (
            Representative(
                insurer_id=world.own.insurer.id, level=2, last_name=name, first_name="Анна"
            )
            for name in ("Посторонняя", "Дежурная")
        )
        await save(session, stranger, at_desk)
        await save(
            session,
            DeskHours(
                representative_id=at_desk.id,
                clinic_id=world.own.clinic.id,
                weekday=1,
                starts_at=time(9),
                ends_at=time(13),
            ),
        )
        await session.commit()
    clinic = graphql.as_(world.callers["clinic_system"])

    # when
    seen = {
        name: (await clinic.data(REPRESENTATIVE, id=gid("Representative", person.id)))["node"]
        for name, person in (
            ("responsible", world.own.representative),
            ("at the desk", at_desk),
            ("stranger", stranger),
            ("another insurer's", world.foreign.representative),
        )
    }

    # then
    assert seen["responsible"] is not None
    assert seen["at the desk"] == {"lastName": "Дежурная", "phone": None}
    assert seen["stranger"] is None
    assert seen["another insurer's"] is None


async def test_a_clinic_key_without_patients_read_cannot_reach_a_patient_through_a_result(
    graphql: GraphQLClient, world: World
) -> None:
    clinic = graphql.as_(world.callers["clinic_without_scopes"])

    body = await clinic(
        'mutation($id: ID!) { cancelVisit(visitId: $id, reasonCode: "x") {'
        " ... on Visit { case { patient { enp } } } } }",
        id=world.own.ids()["visit"],
    )

    assert body["data"] is None
    assert {error["extensions"]["code"] for error in body["errors"]} == {"PERMISSION_DENIED"}


async def test_a_card_read_is_audited_and_supervisors_see_their_insurers_trail(
    graphql: GraphQLClient, db: RolledBackDatabase, world: World
) -> None:
    # given
    representative = graphql.as_(world.callers["representative_3"])
    patient = world.own.ids()["patient"]
    response = await representative.post(CARD, id=patient)

    # when
    own_trail = await graphql.as_(world.callers["supervisor"]).data(AUDIT, p=patient)
    foreign_trail = await graphql.as_(world.callers["supervisor"]).data(
        AUDIT, p=world.foreign.ids()["patient"]
    )
    fund_trail = await graphql.as_(world.callers["territorial_fund"]).data(AUDIT, p=None)

    # then
    newest = own_trail["auditEvents"]["edges"][0]["node"]
    assert newest == {
        "action": "patient.read",
        "actor": f"representative:{world.own.representative.id}",
        "requestId": response.headers["x-request-id"],
        "patientId": patient,
    }
    assert own_trail["auditEvents"]["totalCount"] == 2
    assert foreign_trail["auditEvents"]["totalCount"] == 0
    assert fund_trail["auditEvents"]["totalCount"] >= 3


async def test_audit_rows_are_never_changed(db: RolledBackDatabase, world: World) -> None:
    async with db.session() as session:
        event = (await session.execute(sa.select(AuditEvent))).scalars().first()
        event.action = "patient.forgotten"
        with pytest.raises(PermissionDenied):
            await session.flush()
        await session.rollback()
        with pytest.raises(PermissionDenied):
            await session.execute(sa.delete(AuditEvent))


async def test_aggregates_count_only_what_the_caller_may_see(
    graphql: GraphQLClient, db: RolledBackDatabase, world: World
) -> None:
    # given: a letter in today's batch for each insurer's patient
    async with db.session() as session:
        region = Region(session)
        for tenant in (world.own, world.foreign):
            letter = await region.reminder(
                tenant.case, tenant.visit, utcnow(), Channel.POST, status=ReminderStatus.SENT
            )
            letter.sent_at = utcnow()
        await session.commit()
    query = """{ letterBatches { edges { node { letters } } }
                 statistics(periodStart: "2026-01-01", periodEnd: "2026-12-31") { activeCases } }"""

    # when
    supervisor = await graphql.as_(world.callers["supervisor"]).data(query)
    fund = await graphql.as_(world.callers["territorial_fund"]).data(query)

    # then
    assert supervisor["letterBatches"]["edges"][0]["node"]["letters"] == 1
    assert fund["letterBatches"]["edges"][0]["node"]["letters"] == 2
    assert (supervisor["statistics"]["activeCases"], fund["statistics"]["activeCases"]) == (1, 2)
