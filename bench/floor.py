"""Baseline A, the floor: a bare Starlette endpoint that runs the API's SQL plan with asyncpg.

It answers the worklist and the patient card with the same statements the API issues (one per
level of the document, never one per row) and the same JSON, serialised with orjson, and
nothing else: no GraphQL parsing or validation, no ORM, no middleware, no session. Like the
API it runs each request in one transaction, and the patient card writes the same audit row
(152-ФЗ: every read of a card is recorded), so both pay the same commit. Whatever the API's
throughput falls short of this is the cost of those layers.
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

from bench.queries import PATIENT_CARD, WORKLIST

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


async def graphql(request: Request) -> Response:
    """Recognises the two documents the benchmark sends; anything else is a 400."""
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
            return Response(b'{"errors":[{"message":"unknown document"}]}', status_code=400)
    return Response(orjson.dumps({"data": data}), media_type="application/json")


def create_app() -> Starlette:
    """The floor app; its database comes from DISPENSARY_BENCH_DSN, its pool matches the API's."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        size = int(os.environ.get("DISPENSARY_DATABASE_POOL_SIZE", "10"))
        app.state.pool = await asyncpg.create_pool(
            os.environ["DISPENSARY_BENCH_DSN"], min_size=1, max_size=size
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])], lifespan=lifespan)
