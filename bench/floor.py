"""Baseline A, the floor: a bare Starlette endpoint that sends the API's statements with asyncpg.

`/graphql` answers the worklist and the patient card with the statements the API sends for them
(a compiled read, `schema.compiled`): the worklist's page of ids and the one statement that
builds its nodes' JSON, the card's one statement that builds it and records its read. The
statements are taken from the API's own code when the floor starts, or when it first meets a
worklist owner; answering a request then runs no code of the API: no GraphQL, no ORM, no
middleware, no session. Like the API it runs each statement on its own, in no transaction
(all are reads but the card's, which records the read in the same statement). Whatever the
API's throughput falls short of this is the cost of those layers.

`/graphql/previous-plan` answers the same two documents with the statement plan the API had
before its reads were compiled (a statement per level: 7 for the worklist, 9 for the card,
with the card's audit row), its JSON built in Python: the floor of the earlier measurements,
kept to compare with them.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.queries import CARD_CASES, CARD_VISITS, PATIENT_CARD, WORKLIST
from cases.kit.paging import PageQuery
from cases.reads.driver import DriverStatement

OPEN_STATUSES = ["open", "in_progress"]

WORK_ITEMS = """
SELECT id, kind, priority, due_at, patient_id, case_id, visit_id FROM work_item
WHERE owner_id = $1 AND status = ANY($2::text[]) ORDER BY priority, due_at, id LIMIT $3
"""
PATIENTS = "SELECT id, last_name, phone FROM patient WHERE id = ANY($1::bigint[])"
CASES = "SELECT id, icd10 FROM supervision_case WHERE id = ANY($1::bigint[])"
VISITS = "SELECT id, status FROM visit WHERE id = ANY($1::bigint[])"
LAST_ATTEMPTS = """
SELECT DISTINCT ON (patient_id) patient_id, outcome, attempted_at FROM contact_attempt
WHERE patient_id = ANY($1::bigint[]) ORDER BY patient_id, attempted_at DESC, id DESC
"""
LAST_REMINDERS = """
SELECT DISTINCT ON (patient_id) patient_id, status, channel, scheduled_for FROM reminder
WHERE patient_id = ANY($1::bigint[]) ORDER BY patient_id, scheduled_for DESC, id DESC
"""
NEXT_VISITS = """
SELECT DISTINCT ON (case_id) case_id, window_start, window_end FROM visit
WHERE case_id = ANY($1::bigint[]) AND status = 'planned' ORDER BY case_id, window_start, id
"""
PATIENT = """
SELECT id, last_name, first_name, middle_name, birth_date, phone, insurer_id FROM patient
WHERE id = $1
"""
READ_AUDIT = """
INSERT INTO audit_event (actor, action, entity_type, entity_id, changes, request_id, occurred_at,
                         patient_id, insurer_id)
VALUES ('bench', 'patient.read', 'Patient', $1, '{}', $2, now(), $1, $3)
"""
CONSENTS = "SELECT channel, granted FROM notification_consent WHERE patient_id = $1 ORDER BY id"
PATIENT_CASES = """
SELECT id, icd10, status, clinic_id FROM supervision_case WHERE patient_id = $1 ORDER BY id LIMIT $2
"""
CASE_COUNT = "SELECT count(*) FROM supervision_case WHERE patient_id = $1"
CLINICS = "SELECT id, name FROM medical_organization WHERE id = ANY($1::bigint[])"
CASE_VISITS = """
SELECT case_id, id, window_start, window_end, status FROM (
  SELECT case_id, id, window_start, window_end, status,
         row_number() OVER (PARTITION BY case_id ORDER BY window_start, id) AS rank
  FROM visit WHERE case_id = ANY($1::bigint[])
) ranked WHERE rank <= $2 ORDER BY case_id, rank
"""


def gid(type_name: str, id_: int) -> str:
    return base64.b64encode(f"{type_name}:{id_}".encode()).decode()


def _decode(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().partition(":")[2])


def _by(rows: Iterable[asyncpg.Record], key: str) -> dict[int, asyncpg.Record]:
    return {row[key]: row for row in rows}


def _attempt(row: asyncpg.Record | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"outcome": row["outcome"].upper(), "attemptedAt": row["attempted_at"].isoformat()}


def _reminder(row: asyncpg.Record | None, *, scheduled: bool) -> dict[str, Any] | None:
    if row is None:
        return None
    shown = {"status": row["status"].upper(), "channel": row["channel"].upper()}
    if scheduled:
        shown["scheduledFor"] = row["scheduled_for"].isoformat()
    return shown


async def worklist(connection: asyncpg.Connection, owner: int, first: int) -> dict[str, Any]:
    items = await connection.fetch(WORK_ITEMS, owner, OPEN_STATUSES, first)
    patient_ids = list({item["patient_id"] for item in items})
    case_ids = list({item["case_id"] for item in items if item["case_id"]})
    visit_ids = list({item["visit_id"] for item in items if item["visit_id"]})
    patients = _by(await connection.fetch(PATIENTS, patient_ids), "id")
    cases = _by(await connection.fetch(CASES, case_ids), "id")
    visits = _by(await connection.fetch(VISITS, visit_ids), "id")
    attempts = _by(await connection.fetch(LAST_ATTEMPTS, patient_ids), "patient_id")
    reminders = _by(await connection.fetch(LAST_REMINDERS, patient_ids), "patient_id")
    next_visits = _by(await connection.fetch(NEXT_VISITS, case_ids), "case_id")
    edges = []
    for item in items:
        patient = patients[item["patient_id"]]
        attempt = attempts.get(patient["id"])
        reminder = reminders.get(patient["id"])
        case = cases.get(item["case_id"])
        next_visit = next_visits.get(item["case_id"])
        visit = visits.get(item["visit_id"])
        edges.append(
            {
                "node": {
                    "id": gid("WorkItem", item["id"]),
                    "kind": item["kind"].upper(),
                    "priority": item["priority"],
                    "dueAt": item["due_at"].isoformat(),
                    "patient": {
                        "id": gid("Patient", patient["id"]),
                        "lastName": patient["last_name"],
                        "phone": patient["phone"],
                        "lastContactAttempt": _attempt(attempt),
                        "lastReminder": _reminder(reminder, scheduled=False),
                    },
                    "case": case
                    and {
                        "id": gid("SupervisionCase", case["id"]),
                        "icd10": case["icd10"],
                        "nextVisit": next_visit
                        and {
                            "windowStart": next_visit["window_start"].isoformat(),
                            "windowEnd": next_visit["window_end"].isoformat(),
                        },
                    },
                    "visit": visit
                    and {"id": gid("Visit", visit["id"]), "status": visit["status"].upper()},
                }
            }
        )
    return {"worklist": {"edges": edges}}


async def patient_card(
    connection: asyncpg.Connection, patient_id: int, first_cases: int, first_visits: int
) -> dict[str, Any]:
    patient = await connection.fetchrow(PATIENT, patient_id)
    if patient is None:
        return {"patient": None}
    await connection.execute(READ_AUDIT, patient_id, uuid.uuid4().hex, patient["insurer_id"])
    consents = await connection.fetch(CONSENTS, patient_id)
    attempt = await connection.fetchrow(LAST_ATTEMPTS, [patient_id])
    reminder = await connection.fetchrow(LAST_REMINDERS, [patient_id])
    cases = await connection.fetch(PATIENT_CASES, patient_id, first_cases)
    total = await connection.fetchval(CASE_COUNT, patient_id)
    clinics = _by(await connection.fetch(CLINICS, list({c["clinic_id"] for c in cases})), "id")
    visits: dict[int, list[dict[str, Any]]] = {case["id"]: [] for case in cases}
    for visit in await connection.fetch(CASE_VISITS, list(visits), first_visits):
        visits[visit["case_id"]].append(
            {
                "node": {
                    "id": gid("Visit", visit["id"]),
                    "windowStart": visit["window_start"].isoformat(),
                    "windowEnd": visit["window_end"].isoformat(),
                    "status": visit["status"].upper(),
                }
            }
        )
    return {
        "patient": {
            "id": gid("Patient", patient["id"]),
            "lastName": patient["last_name"],
            "firstName": patient["first_name"],
            "middleName": patient["middle_name"],
            "birthDate": patient["birth_date"].isoformat(),
            "phone": patient["phone"],
            "consents": {
                "edges": [
                    {"node": {"channel": row["channel"].upper(), "granted": row["granted"]}}
                    for row in consents
                ]
            },
            "lastContactAttempt": _attempt(attempt),
            "lastReminder": _reminder(reminder, scheduled=True),
            "cases": {
                "totalCount": total,
                "edges": [
                    {
                        "node": {
                            "id": gid("SupervisionCase", case["id"]),
                            "icd10": case["icd10"],
                            "status": case["status"].upper(),
                            "clinic": {"name": clinics[case["clinic_id"]]["name"]},
                            "visits": {"edges": visits[case["id"]]},
                        }
                    }
                    for case in cases
                ],
            },
        }
    }


UNKNOWN = Response(b'{"errors":[{"message":"unknown document"}]}', status_code=400)


async def previous_plan(request: Request) -> Response:
    """The two documents by the statement plan of before compiled reads; anything else is a 400."""
    body = orjson.loads(await request.body())
    variables = body.get("variables") or {}
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as connection, connection.transaction():
        if body.get("query") == WORKLIST:
            data = await worklist(connection, _decode(variables["rep"]), int(variables["first"]))
        elif body.get("query") == PATIENT_CARD:
            data = await patient_card(
                connection, _decode(variables["id"]), variables["cases"], variables["visits"]
            )
        else:
            return UNKNOWN
    return Response(orjson.dumps({"data": data}), media_type="application/json")


class CompiledPlan:
    """The statements the API sends for the two documents, as it compiles them for an
    administrator (whose scope is the whole region), taken from its code once."""

    def __init__(self) -> None:
        from sqlalchemy.dialects.postgresql.asyncpg import dialect

        from cases.tenancy import DataScope
        from schema import schema
        from schema.compiled import node_statements

        self.dialect = dialect()  # type: ignore[no-untyped-call]
        scope = DataScope(unrestricted=True)
        worklist_nodes = node_statements(
            schema._schema,
            WORKLIST,
            {"rep": gid("Representative", 1), "first": 50},
            scope,
            self.dialect,
        )["worklist"]
        card = node_statements(
            schema._schema,
            PATIENT_CARD,
            {"id": gid("Patient", 1), "cases": CARD_CASES, "visits": CARD_VISITS},
            scope,
            self.dialect,
        )["patient"]
        self.worklist_nodes, self.worklist_values = worklist_nodes
        self.card, self.card_values = card
        self.pages: dict[tuple[int, int], DriverStatement] = {}

    def worklist_page(self, owner: int, first: int) -> DriverStatement:
        """The worklist's page of ids for one owner, as the API's resolver builds it (compiled
        when the floor first meets the owner: a few dozen owners in a run)."""
        found = self.pages.get((owner, first))
        if found is None:
            from cases.kit.paging import PageRequest
            from cases.reads.pages import PageReader
            from cases.worklist.models import WorkItem
            from cases.worklist.repository import WorkItemFilter, WorklistRepository

            query = PageQuery(
                WorklistRepository.listing(WorkItemFilter(owner_id=owner)),
                WorklistRepository.ordering(),
                PageRequest(first, None),
            )
            statement = PageReader.ids_statement(query, WorkItem.__table__.c.id)  # type: ignore[attr-defined]
            found = self.pages[(owner, first)] = DriverStatement.of(statement, self.dialect)
        return found


def _audit(request_id: str) -> dict[str, Any]:
    from cases.kit.actor import Actor, Role
    from cases.kit.columns import utcnow
    from cases.reads.projection import audit_values

    return audit_values(
        Actor(role=Role.ADMIN, label="admin:bench", request_id=request_id), utcnow()
    )


async def compiled(request: Request) -> Response:
    """The two documents by the API's compiled statements; anything else is a 400."""
    body = orjson.loads(await request.body())
    variables = body.get("variables") or {}
    plan: CompiledPlan = request.app.state.plan
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as connection:
        if body.get("query") == WORKLIST:
            first = int(variables["first"])
            page = plan.worklist_page(_decode(variables["rep"]), first)
            rows = await connection.fetch(page.sql, *page.arguments({}))
            ids = [row[0] for row in rows[:first]]
            nodes = plan.worklist_nodes
            documents = await connection.fetch(
                nodes.sql, *nodes.arguments({**plan.worklist_values, "ids": ids})
            )
            data: Any = {
                "worklist": {"edges": [{"node": orjson.Fragment(row[1])} for row in documents]}
            }
        elif body.get("query") == PATIENT_CARD:
            values = {
                **plan.card_values,
                **_audit(uuid.uuid4().hex),
                "first_0": variables["cases"],
                "first_1": variables["visits"],
                "id": _decode(variables["id"]),
            }
            found = await connection.fetch(plan.card.sql, *plan.card.arguments(values))
            data = {"patient": orjson.Fragment(found[0][1]) if found else None}
        else:
            return UNKNOWN
    return Response(orjson.dumps({"data": data}), media_type="application/json")


def create_app() -> Starlette:
    """The floor app; its database comes from DISPENSARY_BENCH_DSN, its pool matches the API's."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        size = int(os.environ.get("DISPENSARY_DATABASE_POOL_SIZE", "10"))
        app.state.plan = CompiledPlan()
        app.state.pool = await asyncpg.create_pool(
            os.environ["DISPENSARY_BENCH_DSN"], min_size=1, max_size=size
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    return Starlette(
        routes=[
            Route("/graphql", compiled, methods=["POST"]),
            Route("/graphql/previous-plan", previous_plan, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
