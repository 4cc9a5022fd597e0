"""A scoped caller's statements read rows of their answer, not the whole of their insurer.

Every table of a patient's data is narrowed to the caller's scope (`cases.tenancy.row_rules`).
Written as a list of the scope's patients, a rule made PostgreSQL read every patient of the
insurer wherever it could not turn the list into a join (under an OR, in the nested selects of
a compiled read): a representative's worklist took 40 times the administrator's time at
100,000 patients. Here a region of the benchmark's generator is read by one of its
representatives through the API; each statement the API sent is run again under EXPLAIN
ANALYZE, and the patient rows its plan read are counted.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import httpx
import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import event

from api.app import create_app
from bench import queries
from bench.generate import generate
from bench.queries import gid
from cases.kit.caching import ByObject
from cases.patients.models import Patient
from cases.reads.driver import DriverStatements
from cases.reads.pages import PageReader
from cases.registry.models import Representative
from cases.supervision.models import SupervisionCase, Visit
from cases.tenancy import DataScope, implied_by_parent, row_rules
from cases.worklist.models import ContactAttempt, WorkItem
from core.db import create_engine, create_session_factory
from tests.conftest import app_settings, bearer, migrated_postgres_database

PATIENTS = 5000


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture(scope="module")
def region_url() -> str:
    url = migrated_postgres_database("scope_plans")
    asyncio.run(generate(_dsn(url), PATIENTS, seed=7))
    return url


async def _reader(dsn: str) -> tuple[int, int, int, int]:
    """A representative with open work items and how many; their insurer's patient count; a
    patient of that insurer with cases."""
    connection = await asyncpg.connect(dsn)
    try:
        owner, insurer, open_items = await connection.fetchrow(
            "SELECT w.owner_id, r.insurer_id, count(*) FROM work_item w "
            "JOIN representative r ON r.id = w.owner_id WHERE w.status = 'open' "
            "GROUP BY w.owner_id, r.insurer_id ORDER BY count(*), w.owner_id LIMIT 1"
        )
        await connection.execute(
            "UPDATE representative SET subject = 'scope-plans' WHERE id = $1", owner
        )
        insured = await connection.fetchval(
            "SELECT count(*) FROM patient WHERE insurer_id = $1", insurer
        )
        patient = await connection.fetchval(
            "SELECT min(p.id) FROM patient p JOIN supervision_case c ON c.patient_id = p.id "
            "WHERE p.insurer_id = $1",
            insurer,
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return owner, open_items, insured, patient


def _patient_rows_read(plan: dict[str, Any]) -> int:
    """Rows of `patient` a plan's nodes read (kept or filtered out), over all their loops."""
    read = 0
    if plan.get("Relation Name") == "patient":
        kept = plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)
        read += int(kept * plan.get("Actual Loops", 1))
    for child in plan.get("Plans", []):
        read += _patient_rows_read(child)
    return read


@pytest.fixture(scope="module")
async def sent(region_url: str) -> tuple[int, int, list[tuple[str, str, tuple[Any, ...]]]]:
    """How many patients a representative's insurer has, how many open work items they have,
    and what their worklist and a card sent: (document, SQL, values) per statement that reads."""
    owner, open_items, insured, patient = await _reader(_dsn(region_url))
    settings = app_settings(region_url, max_query_cost=10**9)
    engine = create_engine(settings)
    statements: list[tuple[str, str, tuple[Any, ...]]] = []
    document = {"name": ""}

    def heard(_conn: Any, _cursor: Any, sql: str, values: Any, _context: Any, _many: Any) -> None:
        if sql.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((document["name"], sql, tuple(values or ())))

    event.listen(engine.sync_engine, "before_cursor_execute", heard)
    app = create_app(settings, engine, create_session_factory(engine), StubBroker())
    headers = bearer("scope-plans", "representative")
    bodies = {
        "worklist": queries.worklist_body(owner),
        "card": queries.card_body(patient),
    }
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://x"
    ) as client:
        for name, body in bodies.items():
            # The first request is judged by strawberry's pipeline; the second is answered at
            # the route. Both are heard.
            for _ in range(2):
                document["name"] = name
                answer = (await client.post("/graphql", json=body, headers=headers)).json()
                assert "errors" not in answer, answer
                assert any(answer["data"].values())
    await engine.dispose()
    return insured, open_items, statements


async def test_a_representatives_reads_do_not_read_their_insurers_patients(
    sent: tuple[int, int, list[tuple[str, str, tuple[Any, ...]]]], region_url: str
) -> None:
    insured, open_items, statements = sent
    assert {name for name, _, _ in statements} == {"worklist", "card"}
    connection = await asyncpg.connect(_dsn(region_url))
    try:
        read: dict[str, int] = {}
        for name, sql, values in statements:
            plan = await connection.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *values)
            rows = _patient_rows_read(json.loads(plan)[0]["Plan"])
            read[name] = max(read.get(name, 0), rows)
    finally:
        await connection.close()
    # A probe or a few per row of the answer: the page's work items (read in the worklist's
    # order from its index and cut after the page) and what they show, the card; where a list
    # of the insurer's patients reads every one of them, and a check of each open item of the
    # owner before sorting them reads one per item.
    assert insured > open_items > 2 * queries.PAGE_SIZE
    assert read["worklist"] <= 10 * queries.PAGE_SIZE, read
    assert read["card"] < 50, read


@pytest.mark.parametrize(
    ("model", "column", "parent", "implied"),
    [
        (ContactAttempt, "patient_id", Patient, True),
        (WorkItem, "patient_id", Patient, True),  # its patient in scope admits it
        (Visit, "case_id", SupervisionCase, True),
        (Visit, "case_id", Patient, False),
        (ContactAttempt, "patient_id", SupervisionCase, False),
        (Patient, "id", Patient, False),
        (Representative, "patient_id", Patient, False),  # staff are scoped by their insurer
    ],
)
def test_a_child_is_left_unchecked_only_where_its_parent_in_scope_admits_it(
    model: type, column: str, parent: Any, implied: bool
) -> None:
    # given the statement's alias of the parent's table, as a compiled read makes it
    alias = parent.__table__.alias("t1")

    # then
    assert implied_by_parent(model, column, alias) is implied
    for scope in (DataScope(insurer_id=1), DataScope(clinic_id=1)):
        if implied:
            # what the implication rests on: the child's rule is a test of that parent's id
            rule = str(row_rules(scope)[model](model.__table__))
            assert f"{model.__tablename__}.{column}" in rule


async def _two_owners(dsn: str) -> list[tuple[int, str, list[int]]]:
    """Two representatives with open work items (of different insurers where there are such),
    each linked to a subject, and the first five of their worklists."""
    connection = await asyncpg.connect(dsn)
    try:
        owners = await connection.fetch(
            "SELECT DISTINCT ON (r.insurer_id) w.owner_id FROM work_item w "
            "JOIN representative r ON r.id = w.owner_id WHERE w.status = 'open' "
            "ORDER BY r.insurer_id, w.owner_id"
        )
        if len(owners) < 2:
            owners = await connection.fetch(
                "SELECT DISTINCT owner_id FROM work_item WHERE status = 'open' "
                "ORDER BY owner_id LIMIT 2"
            )
        found = []
        for number, row in enumerate(owners):
            owner, subject = row["owner_id"], f"shapes-{number}"
            await connection.execute(
                "UPDATE representative SET subject = $1 WHERE id = $2", subject, owner
            )
            page = await connection.fetch(
                "SELECT id FROM work_item WHERE owner_id = $1 AND status IN ('open', "
                "'in_progress') ORDER BY priority, due_at, id LIMIT 5",
                owner,
            )
            found.append((owner, subject, [item["id"] for item in page]))
    finally:
        await connection.close()
    return found


async def test_every_owners_worklist_page_is_one_compiled_statement_with_its_own_values(
    region_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: no page statement kept yet, and two owners
    shapes = DriverStatements(16)
    monkeypatch.setattr(PageReader, "_compiled", ByObject(16))
    monkeypatch.setattr(PageReader, "_shapes", shapes)
    owners = await _two_owners(_dsn(region_url))
    assert len(owners) == 2
    settings = app_settings(region_url, max_query_cost=10**9)
    engine = create_engine(settings)
    app = create_app(settings, engine, create_session_factory(engine), StubBroker())

    # when each asks for their worklist
    answers = {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://x"
    ) as client:
        for owner, subject, _ in owners:
            for _ in range(2):  # through strawberry's pipeline, then answered at the route
                body = queries.worklist_body(owner, first=5)
                answer = await client.post("/graphql", json=body, headers=bearer(subject))
                answers[owner] = answer.json()
    await engine.dispose()

    # then: each owner's own items, from one compilation of the page's statement
    for owner, _, page in owners:
        edges = answers[owner]["data"]["worklist"]["edges"]
        assert [edge["node"]["id"] for edge in edges] == [gid("WorkItem", id_) for id_ in page]
    assert len(shapes) == 1
