"""Relations under a connection are loaded a level at a time before the edges resolve, so the
relation fields read the loaders' caches; fragments and aliases are followed too."""

from __future__ import annotations

from typing import Any

import pytest
from strawberry.dataloader import DataLoader

from bench.queries import WORKLIST
from core.settings import Settings
from tests.conftest import Database, GraphQLClient, RolledBackDatabase, app_settings, statements_of
from tests.factories import caseload, gid

# The benchmark's worklist (bench.queries.WORKLIST), written with a named fragment, an inline
# fragment and aliases.
WORKLIST_IN_FRAGMENTS = """
query($rep: ID!, $first: Int) {
  worklist(first: $first, filter: {representativeId: $rep}) {
    edges { node { ...Item } }
  }
}
fragment Item on WorkItem {
  id kind priority dueAt
  who: patient { id lastName phone ... on Patient { lastContactAttempt { outcome attemptedAt } } lastReminder { status channel } }
  case { id icd10 nextVisit { windowStart windowEnd } }
  visit { id status }
}
"""

PATIENT_CASES_TWICE = """
query($first: Int) {
  patients(first: $first) { edges { node {
    one: cases(first: 1) { totalCount edges { node { icd10 visits(first: 1) { edges { node { id } } } } } }
    all: cases(first: 5) { edges { node { visits(first: 2) { edges { node { id } } } } } }
  } } }
}
"""


@pytest.fixture
def settings(database: Database) -> Settings:
    """The general executor's loaders are what these tests watch: no compiled reads."""
    return app_settings(database.url, compiled_reads=False)


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every key a resolver asked a loader for that the loader did not hold yet (a relation
    loaded ahead is found in the cache)."""
    keys: list[Any] = []
    load = DataLoader.load

    def counted(self: DataLoader[Any, Any], key: Any) -> Any:
        if self.cache_map.get(key) is None:
            keys.append(key)
        return load(self, key)

    monkeypatch.setattr(DataLoader, "load", counted)
    return keys


async def test_a_page_resolves_its_relations_from_what_was_loaded_ahead(
    graphql: GraphQLClient, db: RolledBackDatabase, loads: list[Any]
) -> None:
    # given
    representative, _ = await caseload(db, 6)

    # when
    data = await graphql.data(WORKLIST, rep=gid("Representative", representative), first=6)

    # then: six items with everything the page asks for, and no loader awaited one by one
    items = [edge["node"] for edge in data["worklist"]["edges"]]
    assert len(items) == 6
    for item in items:
        assert item["patient"]["lastContactAttempt"]["outcome"] == "NO_ANSWER"
        assert item["patient"]["lastReminder"]["channel"] == "SMS"
        assert item["case"]["nextVisit"]["windowStart"] == "2026-09-01"
        assert item["visit"]["status"] == "PLANNED"
    assert loads == []


async def test_fragments_and_aliases_are_followed_with_the_same_statements(
    graphql: GraphQLClient, db: RolledBackDatabase, loads: list[Any]
) -> None:
    # given
    representative, _ = await caseload(db, 4)
    rep = gid("Representative", representative)
    plain = await graphql.data(WORKLIST, rep=rep, first=4)
    plain_statements = await statements_of(graphql, db, WORKLIST, rep=rep, first=4)
    loads.clear()

    # when
    spread = await graphql.data(WORKLIST_IN_FRAGMENTS, rep=rep, first=4)
    spread_statements = await statements_of(graphql, db, WORKLIST_IN_FRAGMENTS, rep=rep, first=4)

    # then
    for ours, theirs in zip(spread["worklist"]["edges"], plain["worklist"]["edges"], strict=True):
        node = dict(ours["node"])
        node["patient"] = node.pop("who")
        assert node == theirs["node"]
    assert spread_statements == plain_statements == 7
    assert loads == []


async def test_one_relation_asked_twice_with_different_sizes_gives_each_its_own_page(
    graphql: GraphQLClient, db: RolledBackDatabase, loads: list[Any]
) -> None:
    # given: three patients with a case and two visits each
    await caseload(db, 3)

    # when
    data = await graphql.data(PATIENT_CASES_TWICE, first=3)

    # then
    for edge in data["patients"]["edges"]:
        patient = edge["node"]
        assert patient["one"]["totalCount"] == 1
        assert [len(case["node"]["visits"]["edges"]) for case in patient["one"]["edges"]] == [1]
        assert [len(case["node"]["visits"]["edges"]) for case in patient["all"]["edges"]] == [2]
    assert loads == []


async def test_an_object_outside_a_connection_still_loads_its_relations(
    graphql: GraphQLClient, db: RolledBackDatabase, loads: list[Any]
) -> None:
    # given
    _, patient = await caseload(db, 1)

    # when
    data = await graphql.data(
        "query($id: ID!) { patient(id: $id) { lastReminder { channel } cases { edges { node { clinic { name } } } } } }",
        id=gid("Patient", patient),
    )

    # then: the patient, its last reminder and its cases were each awaited; the case's clinic
    # came with the cases
    assert data["patient"]["lastReminder"]["channel"] == "SMS"
    assert data["patient"]["cases"]["edges"][0]["node"]["clinic"]["name"]
    assert loads == [patient, patient, (patient, 20)]
