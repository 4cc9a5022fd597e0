"""The representative's worklist: open items, most urgent first, acted on through mutations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from api.demo import seed_region
from cases.supervision.scan import MissedVisitScan
from tests.conftest import GraphQLClient, RolledBackDatabase
from tests.factories import Region, caseload, gid

WORKLIST = """
query($rep: ID!) {
  worklist(filter: {representativeId: $rep}) {
    totalCount
    edges { node { id kind priority dueAt status } }
  }
}
"""

SCANNED_AT = datetime(2026, 11, 20, 9, tzinfo=UTC)


async def test_worklist_is_ordered_by_priority_then_due_time(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    representative, _ = await caseload(db, 6)

    items = (await graphql.data(WORKLIST, rep=gid("Representative", representative)))["worklist"]

    keys = [(edge["node"]["priority"], edge["node"]["dueAt"]) for edge in items["edges"]]
    assert keys == sorted(keys)
    assert items["totalCount"] == 6


async def test_resolved_items_leave_the_worklist(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    representative, _ = await caseload(db, 2)
    rep = gid("Representative", representative)
    first = (await graphql.data(WORKLIST, rep=rep))["worklist"]["edges"][0]["node"]

    started = await graphql.data(
        "mutation($id: ID!) { startWorkItem(id: $id) { ... on WorkItem { status } } }",
        id=first["id"],
    )
    resolved = await graphql.data(
        """mutation($id: ID!) { resolveWorkItem(id: $id, resolution: "booked for Monday") {
             ... on WorkItem { status resolution } } }""",
        id=first["id"],
    )
    left = (await graphql.data(WORKLIST, rep=rep))["worklist"]

    assert started["startWorkItem"] == {"status": "IN_PROGRESS"}
    assert resolved["resolveWorkItem"] == {"status": "DONE", "resolution": "booked for Monday"}
    assert [edge["node"]["id"] for edge in left["edges"]] != [first["id"]]
    assert left["totalCount"] == 1


async def test_a_missed_visit_reaches_the_representatives_worklist(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    # given
    async with db.session() as session:
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        case = await region.case(await region.patient(insurer), clinic, representative)
        await region.visit(case, SCANNED_AT.date() - timedelta(days=10))
        # when
        await MissedVisitScan(session).run(SCANNED_AT, 7, ZoneInfo("Europe/Moscow"))
        await session.commit()

    # then
    items = (await graphql.data(WORKLIST, rep=gid("Representative", representative.id)))["worklist"]
    assert [(edge["node"]["kind"], edge["node"]["status"]) for edge in items["edges"]] == [
        ("MISSED_VISIT", "OPEN")
    ]


async def test_the_demo_region_is_readable_over_graphql(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    counts = await seed_region(db.sessions, patients=40, seed=7, progress=False)

    data = await graphql.data(
        """{ insurers { totalCount edges { node { registryCode hotlinePhone } } }
             supervisionCases(first: 5) { totalCount edges { node { icd10 patient { enp } nextVisit { status } } } } }"""
    )

    assert data["insurers"]["totalCount"] == 2
    assert {edge["node"]["hotlinePhone"] for edge in data["insurers"]["edges"]} == {
        "+78003332225",
        "+78652560668",
    }
    assert data["supervisionCases"]["totalCount"] == counts["cases"]
