"""Compiled reads answer exactly what the general executor answers.

One region (the demo seeder's, plus appeals, examinations, informing events and a few awkward
rows) on its own PostgreSQL database, two apps over it: one with compiled reads, one without.
Every document is sent to both, as several kinds of caller, and the two answers must be the
same text once parsed, keys in the same order, errors included. The documents are a written
set (the benchmark's, fragments, aliases, directives, every lookup, the fallbacks) and a few
hundred drawn at random from the schema by a seeded generator.
"""

from __future__ import annotations

import base64
import json
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from dramatiq.brokers.stub import StubBroker
from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
)
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from api.app import create_app
from api.demo import seed_region
from bench import queries
from cases.appeals.models import (
    Appeal,
    AppealKind,
    ExaminationKind,
    ExaminedCase,
    QualityExamination,
)
from cases.audit.models import AuditEvent
from cases.patients.models import Channel, Patient
from cases.reads.projection import ProjectionReader
from cases.registry.api_keys import hash_api_key
from cases.registry.models import ApiClient, Insurer, MedicalOrganization, Representative
from cases.reminders.models import (
    InformingEvent,
    InformingMethod,
    InformingOutcome,
    Reminder,
    ReminderKind,
    ReminderStatus,
)
from cases.supervision.models import SupervisionCase, Visit
from cases.worklist.models import (
    ContactAttempt,
    ContactMethod,
    ContactOutcome,
    WorkItem,
    WorkItemKind,
    WorkItemStatus,
)
from core.db import create_engine, create_session_factory
from schema import schema as graphql_schema
from schema.compiled import OTHER_REASONS, CompiledReads
from tests.conftest import (
    ADMIN,
    FUND,
    app_settings,
    bearer,
    migrated_postgres_database,
)
from tests.factories import Region, gid, save

TODAY = date(2026, 11, 20)
API_KEY = "dsp_kcompiled_secret-key-of-the-clinic"
CALLERS = ("admin", "territorial_fund", "representative", "supervisor", "clinic_system")


@dataclass
class World:
    engine: AsyncEngine
    callers: dict[str, dict[str, str]]
    ids: dict[str, list[int]]  # type name -> ids of that type in the region
    representative: int  # a third-level representative of the first insurer with open items
    patient: int  # a patient of the first insurer with cases, consents, attempts, reminders
    foreign_patient: int
    # A patient of the first insurer last called by the other insurer's representative, whom
    # the first insurer's staff cannot see: a required relation the database answers with null.
    called_by_stranger: int
    foreign_representative: int  # of the other insurer, with open items


@pytest.fixture(scope="module")
def compiled_database_url() -> str:
    """A database of its own: the apps here commit, and the region is read by every test."""
    return migrated_postgres_database("compiled")


async def _awkward_rows(world_session: Any, insurers: list[Insurer]) -> int:
    """Rows the demo region lacks: appeals and examinations, informing events, a reminder that
    replaces another, times with microseconds, text that needs escaping, and a contact attempt
    by a representative of the other insurer (whom the first insurer's staff cannot see)."""
    session = world_session
    region = Region(session)
    first, second = insurers
    patients = (
        (
            await session.execute(
                sa.select(Patient).where(col(Patient.insurer_id) == first.id).limit(3)
            )
        )
        .scalars()
        .all()
    )
    cases = (
        (
            await session.execute(
                sa.select(SupervisionCase).where(
                    col(SupervisionCase.patient_id).in_([p.id for p in patients])
                )
            )
        )
        .scalars()
        .all()
    )
    case = cases[0]
    clinic = await session.get(MedicalOrganization, case.clinic_id)
    staff = (
        await session.execute(
            sa.select(Representative).where(col(Representative.insurer_id) == first.id).limit(1)
        )
    ).scalar_one()
    stranger = (
        await session.execute(
            sa.select(Representative).where(col(Representative.insurer_id) == second.id).limit(1)
        )
    ).scalar_one()
    visit = (
        await session.execute(sa.select(Visit).where(col(Visit.case_id) == case.id).limit(1))
    ).scalar_one()
    visit.appointment_at = datetime(2026, 12, 3, 9, 30, 15, 123456, tzinfo=UTC)
    previous = await region.reminder(
        case, visit, datetime(2026, 11, 1, 7, 0, 0, 5, tzinfo=UTC), status=ReminderStatus.FAILED
    )
    replacing = await region.reminder(
        case, visit, datetime(2026, 11, 1, 8, tzinfo=UTC), channel=Channel.EMAIL
    )
    replacing.previous_id = previous.id
    replacing.last_error = 'said "no" \\ twice\nand\ttabbed \x01 — ✓'
    await save(
        session,
        visit,
        replacing,
        ContactAttempt(
            patient_id=patients[0].id,
            case_id=case.id,
            representative_id=stranger.id,
            method=ContactMethod.CALL,
            outcome=ContactOutcome.REACHED,
            note="Звонил сотрудник другой СМО «Альфа»",
            attempted_at=datetime(2026, 11, 19, 12, 0, 0, 999999, tzinfo=UTC),
        ),
        ContactAttempt(
            patient_id=patients[1].id,
            representative_id=staff.id,
            method=ContactMethod.LETTER,
            outcome=ContactOutcome.WILL_ATTEND,
            note='Письмо: "приду"\\ 🙂',
            attempted_at=datetime(2026, 11, 19, 12, tzinfo=UTC),
        ),
        InformingEvent(
            patient_id=patients[0].id,
            case_id=case.id,
            reminder_id=previous.id,
            kind=ReminderKind.INVITATION.value,
            method=InformingMethod.SMS,
            outcome=InformingOutcome.FAILED,
            occurred_at=datetime(2026, 11, 1, 7, 0, 1, tzinfo=UTC),
        ),
        InformingEvent(
            patient_id=patients[0].id,
            kind="contact",
            method=InformingMethod.PHONE_CALL,
            outcome=InformingOutcome.REACHED,
            occurred_at=datetime(2026, 11, 1, 7, 0, 1, tzinfo=UTC),
        ),
    )
    assert clinic is not None
    for n, patient in enumerate(patients):
        appeal = await region.appeal(
            first,
            date(2026, 12, 1 + n),
            kind=AppealKind.COMPLAINT if n % 2 else AppealKind.STATEMENT,
            patient_id=patient.id if n < 2 else None,
            clinic_id=clinic.id,
            case_id=case.id if n == 0 else None,
            representative_id=staff.id if n else None,
        )
        examination = QualityExamination(
            insurer_id=first.id,
            kind=ExaminationKind.SCHEDULED,
            clinic_id=clinic.id,
            appeal_id=appeal.id if n < 2 else None,
            period_start=date(2026, 1, 1),
            period_end=date(2026, 3, 31),
            expert_name="Эксперт О'Нил",
            ordered_by="test",
            due_on=date(2026, 12, 20),
            violation_codes=["3.2.1", "4.6"] if n else [],
        )
        await save(session, examination)
        await save(session, ExaminedCase(examination_id=examination.id, case_id=case.id))
        await save(
            session,
            WorkItem(
                kind=WorkItemKind.APPEAL_DEADLINE,
                owner_id=staff.id,
                patient_id=appeal.patient_id,
                appeal_id=appeal.id,
                priority=1,
                due_at=datetime(2026, 11, 25, 6, tzinfo=UTC),
            ),
        )
    theirs = (
        (
            await session.execute(
                sa.select(Patient).where(col(Patient.insurer_id) == second.id).limit(2)
            )
        )
        .scalars()
        .all()
    )
    await save(
        session,
        *(
            WorkItem(
                kind=WorkItemKind.CALL_DUE,
                owner_id=stranger.id,
                patient_id=patient.id,
                priority=2,
                due_at=datetime(2026, 11, 21, 9, tzinfo=UTC),
            )
            for patient in theirs
        ),
    )
    first_patient: int = patients[0].id
    return first_patient


@pytest.fixture(scope="module")
async def world(compiled_database_url: str) -> AsyncIterator[World]:
    engine = create_engine(app_settings(compiled_database_url))
    sessions = create_session_factory(engine)
    await seed_region(sessions, patients=60, seed=5, progress=False, today=TODAY)
    async with sessions() as session:
        insurers = list((await session.execute(sa.select(Insurer).order_by(Insurer.id))).scalars())
        called_by_stranger = await _awkward_rows(session, insurers[:2])
        first = insurers[0]
        staff = list(
            (
                await session.execute(
                    sa.select(Representative)
                    .where(col(Representative.insurer_id) == first.id, Representative.level == 3)
                    .order_by(Representative.id)
                )
            ).scalars()
        )
        worker, boss = staff[0], staff[1]
        worker.subject, boss.subject, boss.is_supervisor = "compiled-worker", "compiled-boss", True
        busiest = (
            await session.execute(
                sa.select(WorkItem.owner_id)
                .join(Representative, col(Representative.id) == col(WorkItem.owner_id))
                .where(col(Representative.insurer_id) == first.id)
                .group_by(WorkItem.owner_id)
                .order_by(sa.func.count().desc())
                .limit(1)
            )
        ).scalar_one()
        clinic = (
            (await session.execute(sa.select(MedicalOrganization).order_by(MedicalOrganization.id)))
            .scalars()
            .first()
        )
        assert clinic is not None
        session.add_all([worker, boss])
        session.add(
            ApiClient(
                clinic_id=clinic.id,
                name="compiled reads",
                key_prefix="kcompiled",
                key_hash=hash_api_key(API_KEY, app_settings(compiled_database_url).api_key_secret),
                scopes=["patients:read"],
            )
        )
        ids = {
            type_name: list(
                (await session.execute(sa.select(model.id).order_by(model.id))).scalars()
            )
            for type_name, model in (
                ("Patient", Patient),
                ("SupervisionCase", SupervisionCase),
                ("Visit", Visit),
                ("WorkItem", WorkItem),
                ("Reminder", Reminder),
                ("ContactAttempt", ContactAttempt),
                ("InformingEvent", InformingEvent),
                ("Appeal", Appeal),
                ("QualityExamination", QualityExamination),
                ("Insurer", Insurer),
                ("MedicalOrganization", MedicalOrganization),
                ("Representative", Representative),
            )
        }
        richest = (
            await session.execute(
                sa.select(ContactAttempt.patient_id)
                .join(Patient, col(Patient.id) == col(ContactAttempt.patient_id))
                .where(col(Patient.insurer_id) == first.id)
                .order_by(ContactAttempt.patient_id)
                .limit(1)
            )
        ).scalar_one()
        foreign = (
            await session.execute(
                sa.select(Patient.id).where(col(Patient.insurer_id) != first.id).limit(1)
            )
        ).scalar_one()
        foreign_representative = (
            await session.execute(
                sa.select(WorkItem.owner_id)
                .join(Representative, col(Representative.id) == col(WorkItem.owner_id))
                .where(
                    col(Representative.insurer_id) != first.id,
                    col(WorkItem.status) == WorkItemStatus.OPEN,
                )
                .limit(1)
            )
        ).scalar_one()
        await session.commit()
    yield World(
        engine=engine,
        callers={
            "admin": ADMIN,
            "territorial_fund": FUND,
            "representative": bearer("compiled-worker"),
            "supervisor": bearer("compiled-boss"),
            "clinic_system": {"Authorization": f"ApiKey {API_KEY}"},
        },
        ids=ids,
        representative=busiest,
        patient=richest,
        foreign_patient=foreign,
        called_by_stranger=called_by_stranger,
        foreign_representative=foreign_representative,
    )
    await engine.dispose()


@dataclass
class Pair:
    """The same region behind two apps: compiled reads on, and off."""

    compiled: httpx.AsyncClient
    general: httpx.AsyncClient
    world: World
    reads: CompiledReads

    def answered(self) -> int:
        """How many requests the compiled app has answered compiled so far."""
        return self.reads.answered

    async def both(
        self, caller: str, query: str, variables: dict[str, Any] | None = None
    ) -> tuple[Any, Any, Any]:
        """The compiled app's answer, twice (once judged, it may answer before strawberry
        sees the request: `api.app.GraphQLRoute.known_answer`), and the general one's."""
        body = {"query": query, "variables": variables or {}}
        headers = self.world.callers[caller]
        first = await self.compiled.post("/graphql", json=body, headers=headers)
        again = await self.compiled.post("/graphql", json=body, headers=headers)
        theirs = await self.general.post("/graphql", json=body, headers=headers)
        assert first.status_code == again.status_code == theirs.status_code, theirs.text
        return _ordered(first.text), _ordered(again.text), _ordered(theirs.text)

    async def same(self, caller: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        first, again, theirs = await self.both(caller, query, variables)
        assert _masked(first) == _masked(theirs), f"{caller}: {query} {variables}"
        assert _masked(again) == _masked(theirs), f"{caller}, again: {query} {variables}"
        return theirs


def _ordered(text: str) -> Any:
    """The answer with every object as its list of (key, value) pairs: order counts."""
    return json.loads(text, object_pairs_hook=list)


def _masked(answer: Any) -> Any:
    """The answer with request ids (which differ from request to request) taken out."""
    if isinstance(answer, list):
        return [
            _masked(item)
            for item in answer
            if not (isinstance(item, tuple) and item[0] == "requestId")
        ]
    if isinstance(answer, tuple):
        return (answer[0], _masked(answer[1]))
    return answer


@pytest.fixture(scope="module")
async def pair(world: World, compiled_database_url: str) -> AsyncIterator[Pair]:
    sessions = create_session_factory(world.engine)
    apps = [
        create_app(
            app_settings(compiled_database_url, compiled_reads=compiled, max_query_cost=10**9),
            world.engine,
            sessions,
            StubBroker(),
        )
        for compiled in (True, False)
    ]
    reads = apps[0].state.schema.compiled_reads
    assert reads is not None
    assert apps[1].state.schema.compiled_reads is None
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=apps[0]), base_url="http://x") as one,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=apps[1]), base_url="http://x") as two,
    ):
        yield Pair(one, two, world, reads)


def _variables(world: World) -> dict[str, Any]:
    return {
        "rep": gid("Representative", world.representative),
        "patient": gid("Patient", world.patient),
        "foreign": gid("Patient", world.foreign_patient),
    }


Variables = Callable[[World], dict[str, Any]]

WRITTEN: dict[str, tuple[str, Variables]] = {
    "worklist": (
        queries.WORKLIST,
        lambda w: {"rep": gid("Representative", w.representative), "first": 50},
    ),
    "card": (
        queries.PATIENT_CARD,
        lambda w: {"id": gid("Patient", w.patient), "cases": 10, "visits": 20},
    ),
    "worklist with page info, cursors and names": (
        """
        query($rep: ID!) {
          list: worklist(first: 3, filter: {representativeId: $rep}) {
            __typename totalCount
            pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
            edges { __typename cursor node { __typename id ...Item } }
          }
        }
        fragment Item on WorkItem {
          kind due: dueAt status resolution resolvedAt createdAt
          owner { id lastName level insurer { registryCode name } }
          appeal { id kind status answerDue examinations(first: 1) { totalCount edges { cursor node { id violationCodes } } } }
          patient { ... on Patient { id enp snils sex birthDate timeZone version } }
        }
        """,
        lambda w: {"rep": gid("Representative", w.representative)},
    ),
    "directives": (
        """
        query($id: ID!, $with: Boolean!, $without: Boolean!) {
          patient(id: $id) {
            lastName @include(if: $with)
            firstName @skip(if: $with)
            cases(first: 2) @include(if: $without) { totalCount }
            ... on Patient @skip(if: $without) { phone email }
            consents { pageInfo { hasNextPage endCursor } edges { cursor node { channel granted changedAt method } } }
          }
        }
        """,
        lambda w: {"id": gid("Patient", w.patient), "with": True, "without": False},
    ),
    "nested pages of every size": (
        """
        query($id: ID!) {
          patient(id: $id) {
            none: cases(first: 0) { totalCount pageInfo { hasNextPage startCursor endCursor } edges { cursor } }
            one: cases(first: 1) { pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { visits(first: 100) { totalCount edges { cursor node { id appointmentAt attendedOn missedAt } } } } } }
            informingEvents(first: 5) { totalCount edges { cursor node { id kind method outcome occurredAt } } }
            lastContactAttempt { id note attemptedAt representative { id lastName } }
            lastReminder { id status lastError previous { id status channel } patient { id } }
          }
        }
        """,
        lambda w: {"id": gid("Patient", w.patient)},
    ),
    "a page too large": (
        "query($id: ID!) { patient(id: $id) { cases(first: 101) { totalCount } } }",
        lambda w: {"id": gid("Patient", w.patient)},
    ),
    "a foreign patient": (
        "query($id: ID!) { patient(id: $id) { id lastName } }",
        lambda w: {"id": gid("Patient", w.foreign_patient)},
    ),
    "by ЕНП (the executor's)": (
        'query { patient(enp: "0000000000000000") { id } }',
        lambda w: {},
    ),
    "an id of another type": (
        "query($id: ID!) { patient(id: $id) { id } }",
        lambda w: {"id": gid("Visit", w.ids["Visit"][0])},
    ),
    "not an id": ('query { patient(id: "nonsense") { id } }', lambda w: {}),
    "no such patient": (
        "query($id: ID!, $case: ID!) { patient(id: $id) { id } supervisionCase(id: $case) { id } }",
        lambda w: {"id": gid("Patient", 10**9), "case": gid("SupervisionCase", 10**9)},
    ),
    "another insurer's worklist": (
        "query($rep: ID!) { worklist(first: 5, filter: {representativeId: $rep}) { totalCount edges { node { id } } } }",
        lambda w: {"rep": gid("Representative", w.foreign_representative)},
    ),
    "introspection": ("query { __schema { queryType { name } } }", lambda w: {}),
    "a root __typename": ("query { __typename insurers(first: 1) { totalCount } }", lambda w: {}),
    "two cards in one document": (
        "query($id: ID!) { patient(id: $id) { id } node(id: $id) { id } }",
        lambda w: {"id": gid("Patient", w.patient)},
    ),
    "siblings": (
        """
        query($rep: ID!) {
          worklist(first: 5, filter: {representativeId: $rep}) { edges { node { patient { lastName lastReminder { status } } case { nextVisit { id } } } } }
          supervisionCases(first: 5, orderBy: {field: OPENED_ON, descending: true}) { totalCount edges { cursor node { openedOn patient { lastName } visits(first: 2) { totalCount } } } }
          patients(first: 5, filter: {hasActiveCase: true}) { totalCount edges { node { cases(first: 2) { edges { node { clinic { name } } } } } } }
          insurers { totalCount edges { node { id registryCode hotlinePhone createdAt } } }
        }
        """,
        lambda w: {"rep": gid("Representative", w.representative)},
    ),
    "lists with filters": (
        """
        query {
          visits(first: 4, filter: {status: MISSED}) { totalCount edges { cursor node { id status windowEnd case { icd10 status closeReason source representative { id } } } } }
          appeals(first: 5) { totalCount edges { node { id kind channel subject text status registrationDue answerDue extensionDays receivedAt clinic { name } patient { lastName } case { icd10 } representative { lastName } insurer { name } examinations(first: 2) { edges { node { id } } } } } }
          qualityExaminations(first: 5) { totalCount edges { node { id kind reason periodStart periodEnd expertName dueOn orderedAt status violationCodes findings outcome completedAt version clinic { name } appeal { id } } } }
          informingEvents(first: 5) { totalCount edges { cursor node { id kind method outcome occurredAt } } }
          reminders(first: 5, filter: {statuses: [FAILED, PENDING]}) { totalCount edges { cursor node { id kind channel scheduledFor status skipReason error lastError attempts providerMessageId sentAt deliveredAt previous { id } patient { lastName } } } }
        }
        """,
        lambda w: {},
    ),
    "a list that is never compiled": (
        "query { reminders(first: 3) { counts { pending failed } edges { node { id } } } }",
        lambda w: {},
    ),
    "a field with a resolver of its own": (
        "query { qualityExaminations(first: 3) { edges { node { id examined { case { icd10 } visit { id } } } } } }",
        lambda w: {},
    ),
}


# The written documents the executor answers instead: what the general executor refuses or
# reports (the compiled reads leave every error to it), and what is no plain column or relation.
DECLINED = {
    "a page too large",
    "by ЕНП (the executor's)",
    "an id of another type",
    "not an id",
    "a list that is never compiled",
    "a field with a resolver of its own",
    # Each records its read; compiled, they would take a statement that writes each.
    "two cards in one document",
    "introspection",
    "a root __typename",
}


@pytest.mark.parametrize("name", list(WRITTEN))
@pytest.mark.parametrize("caller", CALLERS)
async def test_written_documents_are_answered_the_same(
    pair: Pair, world: World, name: str, caller: str
) -> None:
    # given
    query, variables = WRITTEN[name]
    answered = pair.answered()

    # when
    answer = await pair.same(caller, query, variables(world))

    # then: the same answer, compiled (both times) unless the document is one the executor
    # must answer (or the caller may not ask it: the permission rules refuse it before execution)
    refused = "errors" in dict(answer) and dict(answer).get("data") is None
    compiled = pair.answered() - answered
    assert compiled == (0 if name in DECLINED or refused else 2), answer


@pytest.mark.parametrize("caller", CALLERS)
async def test_every_node_by_id_is_answered_the_same(pair: Pair, world: World, caller: str) -> None:
    rng = random.Random(11)
    for type_name, ids in world.ids.items():
        for id_ in rng.sample(ids, min(3, len(ids))):
            document = f"""
            query($id: ID!) {{
              node(id: $id) {{
                __typename id
                ... on {type_name} {{ {_every_field(type_name)} }}
              }}
            }}
            """
            answered = pair.answered()
            await pair.same(caller, document, {"id": gid(type_name, id_)})
            # compiled, both times: what is compared is the compiled answer
            assert pair.answered() - answered == 2, f"{caller}: {type_name} {id_}"


def _every_field(type_name: str) -> str:
    """Each scalar and enumeration of the type, and the id of each object it points at."""
    object_type = graphql_schema._schema.type_map[type_name]
    assert isinstance(object_type, GraphQLObjectType)
    parts = []
    for name, field in object_type.fields.items():
        named = get_named_type(field.type)
        if isinstance(named, GraphQLScalarType | GraphQLEnumType):
            parts.append(name)
        elif isinstance(named, GraphQLObjectType) and "id" in named.fields:
            parts.append(f"{name} {{ id }}")
    return " ".join(parts)


# A document drawn at random: a root list or lookup, then at each object type a random part of
# its fields, aliased now and then, some in fragments or under directives, down three levels.
ROOTS = {
    "worklist": "(first: {first}, filter: {{representativeId: $rep}})",
    "patients": "(first: {first})",
    "supervisionCases": "(first: {first})",
    "visits": "(first: {first})",
    "appeals": "(first: {first})",
    "qualityExaminations": "(first: {first})",
    "informingEvents": "(first: {first})",
    "reminders": "(first: {first})",
    "insurers": "(first: {first})",
    "patient": "(id: $patient)",
    "node": "(id: $patient)",
}


class Drawer:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fragments: dict[str, str] = {}

    def document(self) -> str:
        root = self.rng.choice(list(ROOTS))
        query_type = graphql_schema._schema.query_type
        assert query_type is not None
        field = query_type.fields[root]
        arguments = ROOTS[root].format(first=self.rng.choice([0, 1, 3, 7]))
        selection = (
            "__typename ... on Patient { " + self.selection(_object("Patient"), 0) + " }"
            if root == "node"
            else self.selection(_object_of(field.type), 0)
        )
        alias = self.alias()
        fragments = "\n".join(self.fragments.values())
        body = f"  {alias}{root}{arguments} {{ {selection} }}\n}}\n{fragments}"
        # Only the variables it uses: an unused one fails the document's validation.
        declared = ", ".join(
            f"${name}: {kind}"
            for name, kind in (("rep", "ID!"), ("patient", "ID!"), ("yes", "Boolean!"))
            if f"${name}" in body
        )
        return f"query{f'({declared})' if declared else ''} {{\n{body}"

    def alias(self) -> str:
        return f"a{self.rng.randrange(1000)}: " if self.rng.random() < 0.2 else ""

    def selection(self, object_type: GraphQLObjectType, depth: int) -> str:
        fields = list(object_type.fields.items())
        chosen = self.rng.sample(fields, min(len(fields), self.rng.randint(1, 5)))
        parts = []
        for name, field in chosen:
            named = get_named_type(field.type)
            part = ""
            if isinstance(named, GraphQLScalarType | GraphQLEnumType):
                part = f"{self.alias()}{name}"
            elif isinstance(named, GraphQLObjectType) and depth < 3:
                arguments = ""
                if "first" in field.args:
                    arguments = f"(first: {self.rng.choice([0, 1, 2, 5])})"
                part = f"{self.alias()}{name}{arguments} {{ {self.selection(named, depth + 1)} }}"
            if not part:
                continue
            roll = self.rng.random()
            if roll < 0.1:
                part = f"... on {object_type.name} {{ {part} }}"
            elif roll < 0.15:
                fragment = f"F{len(self.fragments)}"
                self.fragments[fragment] = f"fragment {fragment} on {object_type.name} {{ {part} }}"
                part = f"...{fragment}"
            elif roll < 0.2:
                part = f"{part} @include(if: $yes)" if "{" not in part else part
            elif roll < 0.25:
                part = f"{part} @skip(if: $yes)" if "{" not in part else part
            parts.append(part)
        return " ".join(parts) or "__typename"


def _object(name: str) -> GraphQLObjectType:
    found = graphql_schema._schema.type_map[name]
    assert isinstance(found, GraphQLObjectType)
    return found


def _object_of(kind: Any) -> GraphQLObjectType:
    while isinstance(kind, GraphQLNonNull | GraphQLList):
        kind = kind.of_type
    assert isinstance(kind, GraphQLObjectType)
    return kind


def drawn(count: int, seed: int) -> Iterator[str]:
    for n in range(count):
        yield Drawer(seed * 10_000 + n).document()


# What the compiled reads leave to the executor by design, as they count it.
EXECUTOR_ONLY = {
    "ReminderConnection.counts",
    "QualityExamination.examined has a resolver",
    "the loader examinations_of_case reads no plain rows",
}


@pytest.mark.parametrize("caller", ["admin", "representative", "clinic_system"])
async def test_documents_drawn_from_the_schema_are_answered_the_same(
    pair: Pair, world: World, caller: str
) -> None:
    variables = {**_variables(world), "yes": True}
    answered = pair.answered()
    for document in drawn(70, seed=CALLERS.index(caller) + 1):
        before, declined = pair.answered(), Counter(pair.reads.declined)
        answer = await pair.same(caller, document, variables)
        # each compiled both times, or refused before execution, or left to the executor (both
        # times) for something only the executor answers
        compiled, reasons = pair.answered() - before, pair.reads.declined - declined
        refused = "errors" in dict(answer) and dict(answer).get("data") is None
        assert (
            compiled == 2
            or (compiled == 0 and refused and not reasons)
            or (compiled == 0 and set(reasons) <= EXECUTOR_ONLY and reasons.total() == 2)
        ), f"{caller}: {document} compiled {compiled} times, declined {dict(reasons)}"
    # most of those the caller may ask compiled (each twice): the rest asked for something only
    # the executor answers (a clinic system may ask for fewer roots)
    assert pair.answered() - answered > 2 * (25 if caller == "clinic_system" else 35)


async def test_a_card_read_is_audited_once_either_way(pair: Pair, world: World) -> None:
    # given
    query = "query($id: ID!) { patient(id: $id) { lastName } }"
    body = {"query": query, "variables": {"id": gid("Patient", world.patient)}}
    headers = world.callers["representative"]

    async def events() -> list[tuple[Any, ...]]:
        async with world.engine.connect() as connection:
            rows = await connection.execute(
                sa.select(
                    AuditEvent.actor,
                    AuditEvent.action,
                    AuditEvent.entity_type,
                    AuditEvent.entity_id,
                    AuditEvent.patient_id,
                    AuditEvent.insurer_id,
                    AuditEvent.request_id,
                    AuditEvent.changes,
                ).where(col(AuditEvent.request_id).in_(["compiled-card", "general-card"]))
            )
            return [tuple(row) for row in rows]

    # when
    answered = pair.answered()
    await pair.compiled.post(
        "/graphql", json=body, headers={**headers, "X-Request-ID": "compiled-card"}
    )
    await pair.general.post(
        "/graphql", json=body, headers={**headers, "X-Request-ID": "general-card"}
    )

    # then: the compiled app answered compiled, and the same event was recorded, once each, but
    # for the request id
    assert pair.answered() == answered + 1
    found = await events()
    assert len(found) == 2
    by_request = {row[6]: row[:6] + row[7:] for row in found}
    assert by_request["compiled-card"] == by_request["general-card"]
    assert by_request["compiled-card"][1:4] == ("patient.read", "Patient", world.patient)


async def _audit_rows(world: World, request_id: str) -> int:
    async with world.engine.connect() as connection:
        found = await connection.execute(
            sa.select(sa.func.count()).where(col(AuditEvent.request_id) == request_id)
        )
        return int(found.scalar_one())


async def test_a_required_value_the_database_has_not_got_is_left_to_the_executor(
    pair: Pair, world: World
) -> None:
    # given: the patient's last call was made by a representative the caller cannot see
    query = """
    query($id: ID!) {
      patient(id: $id) { lastName lastContactAttempt { outcome representative { lastName } } }
    }
    """
    variables = {"id": gid("Patient", world.called_by_stranger)}
    headers = {**world.callers["representative"], "X-Request-ID": "stranger-compiled"}
    answered, declined = pair.answered(), pair.reads.declined["a required value is missing"]

    # when
    response = await pair.compiled.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    theirs = await pair.general.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={**world.callers["representative"], "X-Request-ID": "stranger-general"},
    )

    # then: the executor's answer (a non-null field came back null), and the executor's audit
    # trail (an answer with an error discards the request's writes): the compiled statement
    # recorded nothing of its own
    assert _masked(_ordered(response.text)) == _masked(_ordered(theirs.text))
    assert response.json()["errors"][0]["path"] == [
        "patient",
        "lastContactAttempt",
        "representative",
    ]
    assert pair.answered() == answered
    assert pair.reads.declined["a required value is missing"] == declined + 1
    assert await _audit_rows(world, "stranger-compiled") == await _audit_rows(
        world, "stranger-general"
    )


async def test_an_unexpected_failure_of_a_compiled_read_is_masked_and_logged(
    pair: Pair, world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    detail = "Иванов Пётр: 79161234567"

    async def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError(detail)

    query = "query($id: ID!) { broken: patient(id: $id) { lastName } }"
    variables = {"id": gid("Patient", world.patient)}

    async def send(request_id: str) -> httpx.Response:
        return await pair.compiled.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={**world.callers["admin"], "X-Request-ID": request_id},
        )

    # when: a document failing the first time it is seen (strawberry's pipeline), and one
    # judged and answered before (answered early)
    monkeypatch.setattr(ProjectionReader, "rows", broken)
    first = await send("broken-read-1")
    monkeypatch.undo()
    await send("judged")
    monkeypatch.setattr(ProjectionReader, "rows", broken)
    early = pair.reads.early
    second = await send("broken-read-2")
    responses = [first, second]

    # then: each time, the client learns where to look, not what failed; the log has the kind
    # of failure
    assert pair.reads.early == early  # it went early, and failed
    for n, response in enumerate(responses, start=1):
        assert response.status_code == 200
        assert response.json() == {
            "data": None,
            "errors": [
                {
                    "message": "Unexpected error; quote the request id when reporting it.",
                    "extensions": {"code": "INTERNAL", "requestId": f"broken-read-{n}"},
                }
            ],
        }
    logged = capsys.readouterr().out
    assert logged.count("graphql.unexpected_error") == 2
    assert "RuntimeError" in logged
    assert "79161234567" not in logged + "".join(response.text for response in responses)


async def test_a_request_left_to_the_executor_has_recorded_no_read(
    pair: Pair, world: World
) -> None:
    # given: a card, and a list in which a required value comes back null (found only once
    # the list's statement has run)
    query = """
    query($id: ID!) {
      card: patient(id: $id) { lastName }
      list: patients(first: 100) { edges { node { lastContactAttempt { representative { id } } } } }
    }
    """
    variables = {"id": gid("Patient", world.called_by_stranger)}
    body = {"query": query, "variables": variables}
    headers = world.callers["representative"]
    answered, declined = pair.answered(), pair.reads.declined["a required value is missing"]

    # when
    ours = await pair.compiled.post(
        "/graphql", json=body, headers={**headers, "X-Request-ID": "two-roots-compiled"}
    )
    theirs = await pair.general.post(
        "/graphql", json=body, headers={**headers, "X-Request-ID": "two-roots-general"}
    )

    # then: the compiled read ran the list's statement and left the request to the executor;
    # the card's statement, which records the read, never ran
    assert pair.answered() == answered
    assert pair.reads.declined["a required value is missing"] == declined + 1
    assert _masked(_ordered(ours.text)) == _masked(_ordered(theirs.text))
    assert "errors" in ours.json()
    assert await _audit_rows(world, "two-roots-compiled") == await _audit_rows(
        world, "two-roots-general"
    )


async def test_the_statement_that_records_a_read_runs_after_every_other(
    pair: Pair, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a card read asked before a list
    ran: list[bool] = []
    rows = ProjectionReader.rows

    async def watched(self: ProjectionReader, statement: Any, *args: Any) -> Any:
        ran.append("INSERT INTO audit_event" in statement.sql)
        return await rows(self, statement, *args)

    monkeypatch.setattr(ProjectionReader, "rows", watched)
    query = """
    query($id: ID!) {
      card: patient(id: $id) { lastName }
      list: patients(first: 3) { edges { node { lastName } } }
    }
    """

    # when
    answered = pair.answered()
    await pair.same("admin", query, {"id": gid("Patient", world.patient)})

    # then: answered compiled (twice), the list's statement first each time
    assert pair.answered() == answered + 2
    assert ran == [False, True, False, True]


async def test_a_query_judged_once_is_answered_early_for_callers_of_its_profile_only(
    pair: Pair, world: World
) -> None:
    # given: a document no test has sent
    query = "query($id: ID!) { patient(id: $id) { lastName birthDate } }"
    variables = {"id": gid("Patient", world.patient)}
    early = pair.reads.early

    # when: judged for a representative, sent again by them, then by the territorial fund and
    # by a clinic system without the patient scope it needs
    async def send(caller: str) -> dict[str, Any]:
        response = await pair.compiled.post(
            "/graphql", json={"query": query, "variables": variables}, headers=world.callers[caller]
        )
        answer: dict[str, Any] = response.json()
        return answer

    judged = await send("representative")
    again = await send("representative")
    after_first = pair.reads.early
    fund = await send("territorial_fund")

    # then: the second request was answered early; the fund's, of another permission
    # profile, was judged first
    assert judged == again
    assert after_first == early + 1
    assert pair.reads.early == after_first
    assert fund == judged


async def test_ids_of_made_up_types_are_counted_under_one_reason(pair: Pair, world: World) -> None:
    # given: node ids whose type names are whatever a client wrote
    names = [f"Made{n}x{'y' * n}" for n in range(5)]
    query = "query($id: ID!) { node(id: $id) { id } }"
    before = pair.reads.declined["an id of no node type"]

    # when
    for name in names:
        made_up = base64.b64encode(f"{name}:1".encode()).decode()
        response = await pair.compiled.post(
            "/graphql",
            json={"query": query, "variables": {"id": made_up}},
            headers=world.callers["admin"],
        )
        assert response.status_code == 200

    # then: one reason, whatever the names; none of them kept
    assert pair.reads.declined["an id of no node type"] == before + len(names)
    assert not any(name in reason for reason in pair.reads.declined for name in names)


def test_the_reasons_counted_are_bounded() -> None:
    # given
    reads = CompiledReads()
    reads.reasons = 3

    # when
    for n in range(10):
        reads.decline(f"reason {n}")
    reads.decline("reason 1")

    # then
    assert reads.declined == {
        "reason 0": 1,
        "reason 1": 2,
        "reason 2": 1,
        OTHER_REASONS: 7,
    }


async def _plan_nodes(engine: AsyncEngine, sql: str, arguments: tuple[Any, ...]) -> list[str]:
    """The kind of each node of PostgreSQL's plan of a statement with these arguments."""
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        # SQLAlchemy's connections decode JSON themselves.
        plan = await driver.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *arguments)

    def kinds(node: dict[str, Any]) -> list[str]:
        return [
            node["Node Type"],
            *(kind for child in node.get("Plans", []) for kind in kinds(child)),
        ]

    return kinds(plan[0]["Plan"])


async def test_pages_without_page_info_are_read_without_windows_and_aggregates(
    pair: Pair, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the benchmark's card, whose pages ask for items only (the cases' count has its own
    # statement), and the same card with page info on one page
    plans: list[list[str]] = []
    rows = ProjectionReader.rows

    async def explained(self: ProjectionReader, statement: Any, ids: Any, values: Any) -> Any:
        arguments = statement.arguments({**values, "ids": list(ids), "id": ids[0]})
        plans.append(await _plan_nodes(world.engine, statement.sql, arguments))
        return await rows(self, statement, ids, values)

    monkeypatch.setattr(ProjectionReader, "rows", explained)
    variables = {"id": gid("Patient", world.patient), "cases": 10, "visits": 20}
    with_page_info = queries.PATIENT_CARD.replace(
        "cases(first: $cases) { totalCount", "cases(first: $cases) { pageInfo { hasNextPage }"
    )

    # when
    answered = pair.answered()
    await pair.same("representative", queries.PATIENT_CARD, variables)
    await pair.same("representative", with_page_info, variables)

    # then: every page of the card is an array of rows in their order; page info still needs
    # the rows ranked (a window) and aggregated
    assert pair.answered() == answered + 4
    card, _, paged, _ = plans
    assert "WindowAgg" not in card
    assert card.count("Aggregate") == 1  # the count of cases
    assert "WindowAgg" in paged
