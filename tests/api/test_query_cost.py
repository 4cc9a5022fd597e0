"""N+1 is impossible by construction: the statement count of the main queries is pinned
and does not grow with the page size; sibling root fields share the request session safely."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bench.queries import WORKLIST
from cases.appeals.models import AppealKind, ExaminationKind, ExaminationReason, QualityExamination
from core.settings import Settings
from tests.conftest import Database, GraphQLClient, RolledBackDatabase, app_settings, statements_of
from tests.factories import Region, caseload, gid, save

CASES = """
query($first: Int) {
  supervisionCases(first: $first) {
    edges { node {
      id icd10
      patient { lastName insurer { name } }
      clinic { name }
      representative { lastName }
      nextVisit { windowStart }
      visits(first: 3) { totalCount edges { node { status } } }
    } }
  }
}
"""

PATIENT = """
query($id: ID!, $first: Int) {
  patient(id: $id) {
    lastName
    consents { edges { node { channel granted } } }
    lastContactAttempt { outcome }
    lastReminder { status }
    cases(first: $first) { totalCount edges { node { icd10 clinic { name } visits(first: $first) { edges { node { status } } } } } }
  }
}
"""

APPEALS = """
query($first: Int) {
  appeals(first: $first) {
    totalCount
    edges { node {
      id kind answerDue
      insurer { name }
      patient { lastName }
      clinic { name }
      case { icd10 representative { lastName } }
      representative { lastName }
      examinations(first: 2) { edges { node { id outcome clinic { name } } } }
    } }
  }
}
"""

SIBLINGS = """
query($rep: ID!) {
  worklist(first: 20, filter: {representativeId: $rep}) { edges { node { patient { lastName lastReminder { status } } case { nextVisit { id } } } } }
  supervisionCases(first: 20) { totalCount edges { node { patient { lastName } visits(first: 2) { totalCount } } } }
  patients(first: 20) { totalCount edges { node { cases(first: 2) { edges { node { clinic { name } } } } } } }
  insurers { totalCount }
}
"""


@pytest.fixture(params=["compiled", "general"])
def reads(request: pytest.FixtureRequest) -> str:
    """Each count is pinned for both ways a query is answered: compiled (`schema.compiled`, on
    PostgreSQL only: the page of ids, then every node's JSON in one statement) and by the
    general executor (a statement per level)."""
    return str(request.param)


@pytest.fixture
def settings(database: Database, reads: str) -> Settings:
    return app_settings(database.url, compiled_reads=reads == "compiled")


def expected(db: RolledBackDatabase, reads: str, *, general: int, compiled: int) -> int:
    return compiled if reads == "compiled" and db.dialect == "postgresql" else general


@pytest.mark.parametrize(
    ("query", "general", "compiled"), [(WORKLIST, 7, 2), (CASES, 8, 2)], ids=["worklist", "cases"]
)
async def test_statement_count_does_not_grow_with_the_page(
    graphql: GraphQLClient,
    db: RolledBackDatabase,
    reads: str,
    query: str,
    general: int,
    compiled: int,
) -> None:
    # given
    representative, _ = await caseload(db, 12)
    rep = gid("Representative", representative)

    # when
    small = await statements_of(graphql, db, query, rep=rep, first=2)
    large = await statements_of(graphql, db, query, rep=rep, first=12)

    # then
    assert small == large == expected(db, reads, general=general, compiled=compiled)


async def test_patient_card_statement_count_is_fixed(
    graphql: GraphQLClient, db: RolledBackDatabase, reads: str
) -> None:
    _, patient = await caseload(db, 3)

    small = await statements_of(graphql, db, PATIENT, id=gid("Patient", patient), first=1)
    large = await statements_of(graphql, db, PATIENT, id=gid("Patient", patient), first=50)

    # general: eight reads and the audit row of the card read; compiled: one statement that
    # builds the card and records its read
    assert small == large == expected(db, reads, general=9, compiled=1)


REMINDERS = """
query($first: Int!) {
  reminders(first: $first) {
    totalCount
    counts { pending sent dead }
    edges { node { id status channel patient { lastName lastReminder { status } } previous { id } } }
  }
}
"""


async def test_operators_reminder_list_statement_count_is_fixed(
    graphql: GraphQLClient, db: RolledBackDatabase, reads: str
) -> None:
    await caseload(db, 12)

    small = await statements_of(graphql, db, REMINDERS, first=2)
    large = await statements_of(graphql, db, REMINDERS, first=12)

    # the page, its count, the counts by status, the patients, their latest reminders (the
    # counts by status are no list of rows: the document is never compiled)
    assert small == large == 5


async def test_sibling_root_fields_with_nested_loaders_share_one_session(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    # given: four root fields resolved concurrently, each fanning out into loaders
    representative, _ = await caseload(db, 15)

    # when
    data = await graphql.data(SIBLINGS, rep=gid("Representative", representative))

    # then
    assert len(data["worklist"]["edges"]) == 15
    assert data["supervisionCases"]["totalCount"] == 15
    assert data["patients"]["totalCount"] == 15
    assert all(
        edge["node"]["patient"]["lastReminder"]["status"] == "PENDING"
        for edge in data["worklist"]["edges"]
    )


async def appeal_load(db: RolledBackDatabase, size: int) -> None:
    """`size` complaints, each with a patient, a case, an assignee and an examination."""
    async with db.session() as session:
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        for n in range(size):
            patient = await region.patient(insurer)
            case = await region.case(patient, clinic, representative)
            appeal = await region.appeal(
                insurer,
                date(2026, 12, 1) + timedelta(days=n),
                kind=AppealKind.COMPLAINT,
                patient_id=patient.id,
                clinic_id=clinic.id,
                case_id=case.id,
                representative_id=representative.id,
            )
            await save(
                session,
                QualityExamination(
                    insurer_id=insurer.id,
                    kind=ExaminationKind.TARGETED,
                    reason=ExaminationReason.COMPLAINT,
                    clinic_id=clinic.id,
                    appeal_id=appeal.id,
                    period_start=date(2026, 1, 1),
                    period_end=date(2026, 6, 30),
                    expert_name="Эксперт",
                    due_on=date(2027, 1, 1),
                    ordered_by="test",
                ),
            )
        await session.commit()


async def test_appeals_statement_count_is_fixed(
    graphql: GraphQLClient, db: RolledBackDatabase, reads: str
) -> None:
    # given
    await appeal_load(db, 12)

    # when
    small = await statements_of(graphql, db, APPEALS, first=2)
    large = await statements_of(graphql, db, APPEALS, first=12)

    # then: the page, its count, insurer, patient, clinic, case, representative, examinations
    # (the case's representative and the examinations' clinic come from the loaders' cache);
    # compiled: the page of ids, the nodes and the count
    assert small == large == expected(db, reads, general=8, compiled=3)
