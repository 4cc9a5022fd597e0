"""The measurements that run inside the harness process: statement counts, batch writes, the scan
and the broker's no-op throughput. The HTTP load scenarios are in `bench.__main__`."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import sqlalchemy as sa
from dramatiq.brokers.stub import StubBroker
from sqlmodel import col

from api.app import create_app
from bench.generate import ANCHOR, ANCHOR_AT, GRACE_DAYS, WINDOW_DAYS
from bench.noop_worker import declare
from bench.processes import API_SETTINGS, BENCH_API_KEY_SECRET, auth_headers
from bench.queries import RECORD_VISITS, card_body, gid, worklist_body
from cases.kit.actor import Actor, ClinicScope, Role
from cases.registry.api_keys import ApiClientService
from cases.registry.models import MedicalOrganization
from cases.supervision.scan import MissedVisitScan
from core.broker import build_broker
from core.db import create_engine, create_session_factory
from core.settings import Settings
from reminders.rules import case_rules

PAGE_SIZES = (10, 50, 100)
SCAN_BATCH = 500  # the actor's batch (reminders.actors.visits.SCAN_BATCH)
NEWLY_MISSED = 10_000
# Rounds of the scan and its single statement, the order alternating: a noisy machine's figure
# is the median.
SCAN_ROUNDS = 3


async def statement_counts(url: str, representative_id: int, patient_id: int) -> dict[str, Any]:
    """Statements per request, counted on the engine, for each page size."""
    settings = Settings(database_url=url, **API_SETTINGS)  # type: ignore[arg-type]
    engine = create_engine(settings)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine.sync_engine, "before_cursor_execute", count)
    app = create_app(settings, engine, create_session_factory(engine), StubBroker())
    counts: dict[str, dict[str, int]] = {"worklist": {}, "patient_card": {}}
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers=auth_headers()
        ) as http:
            for size in PAGE_SIZES:
                bodies = {
                    "worklist": worklist_body(representative_id, size),
                    "patient_card": card_body(patient_id),
                }
                bodies["patient_card"]["variables"].update(cases=size, visits=size)
                for name, body in bodies.items():
                    statements.clear()
                    response = (await http.post("/graphql", json=body)).json()
                    if "errors" in response:
                        raise RuntimeError(f"{name}: {response['errors']}")
                    counts[name][str(size)] = len(statements)
    finally:
        await engine.dispose()
    return {
        name: {"by_page_size": by_size, "constant": len(set(by_size.values())) == 1}
        for name, by_size in counts.items()
    }


async def _cases_to_report(url: str, count: int) -> list[dict[str, Any]]:
    """The planned visits of active cases, spread over the region, one per case."""
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                sa.text(
                    """
                    SELECT v.id, v.case_id, v.clinic_id FROM visit v
                    JOIN supervision_case c ON c.id = v.case_id AND c.status = 'active'
                    WHERE v.status = 'planned' AND v.window_start <= :day
                    ORDER BY (v.id * 2654435761) % 1000003, v.id LIMIT :count
                    """
                ),
                {"day": ANCHOR, "count": count},
            )
            return [dict(row._mapping) for row in rows]
    finally:
        await engine.dispose()


async def clinic_callers(url: str) -> dict[int, str]:
    """An API key for visits of each clinic of the region, as its system would present it."""
    engine = create_engine(Settings(database_url=url))
    actor = Actor(role=Role.ADMIN, label="bench")
    try:
        async with create_session_factory(engine)() as session:
            keys = ApiClientService(session, BENCH_API_KEY_SECRET)
            clinics = (
                (await session.execute(sa.select(col(MedicalOrganization.id)))).scalars().all()
            )
            issued = {
                clinic: await keys.issue(actor, str(clinic), "bench", [ClinicScope.VISITS_WRITE])
                for clinic in clinics
                if clinic is not None
            }
            await session.commit()
    finally:
        await engine.dispose()
    return {clinic: f"ApiKey {found.key}" for clinic, found in issued.items()}


def _batches(
    visits: Sequence[dict[str, Any]], count: int, callers: Mapping[int, str] | None
) -> list[tuple[dict[str, str], list[dict[str, Any]]]]:
    """`count` batches of 100 visits, each with the headers it is sent with: as an administrator,
    or one clinic's visits as that clinic's system (in a small region, with fewer than 100 where
    a clinic has too few)."""
    if callers is None:
        groups = [(auth_headers(), list(visits))]
    else:
        by_clinic: dict[int, list[dict[str, Any]]] = {}
        for visit in visits:
            by_clinic.setdefault(visit["clinic_id"], []).append(visit)
        groups = [({"Authorization": callers[clinic]}, rows) for clinic, rows in by_clinic.items()]
    batches = [
        (headers, rows[n : n + 100]) for headers, rows in groups for n in range(0, len(rows), 100)
    ]
    return sorted(batches, key=lambda batch: -len(batch[1]))[:count]


async def record_visits(
    server_url: str,
    url: str,
    batches: int,
    clients: int = 4,
    callers: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """`recordVisits` in batches of 100 from `clients` clinics at once: visits per second. Sent
    as an administrator, or with `callers` (a clinic's id to its Authorization) by each clinic's
    system for its own visits."""
    # A clinic's batch holds its own visits: twice as many are read to fill whole batches.
    visits = await _cases_to_report(url, batches * 100 * (1 if callers is None else 2))
    day = min(ANCHOR, date.today()).isoformat()
    documents: list[tuple[dict[str, str], dict[str, Any]]] = [
        (
            headers,
            {
                "query": RECORD_VISITS,
                "variables": {
                    "input": [
                        {
                            "caseId": gid("SupervisionCase", row["case_id"]),
                            "clinicId": gid("MedicalOrganization", row["clinic_id"]),
                            "externalId": f"bench-{row['id']}",
                            "attended": True,
                            "visitDate": day,
                            "visitId": gid("Visit", row["id"]),
                        }
                        for row in batch
                    ]
                },
            },
        )
        for headers, batch in _batches(visits, batches, callers)
    ]
    sent = sum(len(document["variables"]["input"]) for _, document in documents)
    failures = 0
    queue = list(documents)

    async def clinic(http: httpx.AsyncClient) -> None:
        nonlocal failures
        while queue:
            headers, document = queue.pop()
            body = (await http.post(server_url, json=document, headers=headers)).json()
            items = (body.get("data") or {}).get("recordVisits") or []
            failures += len(document["variables"]["input"]) - sum(
                item["result"]["__typename"] == "Visit" for item in items
            )

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=120) as http:
        await asyncio.gather(*(clinic(http) for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "visits": sent,
        "batches": len(documents),
        "as": "administrator" if callers is None else "clinic systems",
        "concurrent_clients": clients,
        "seconds": round(elapsed, 2),
        "visits_per_second": round(sent / elapsed, 1) if elapsed else None,
        "failed_items": failures,
    }


MAKE_OVERDUE = """
UPDATE visit SET window_end = CAST(:cutoff AS date) - 1 - (id % 60)::int,
                 window_start = CAST(:cutoff AS date) - 1 - (id % 60)::int - CAST(:window AS int)
WHERE id IN (
  SELECT id FROM visit WHERE status = 'planned' ORDER BY (id * 2654435761) % 1000003, id LIMIT :count
)
"""

# The floor: one statement that does what the scan does, in SQL: flags every overdue visit,
# raises its work item, and plans the re-booking reminder and the call task for patients with a
# phone (the scan's channel ladder and consent checks reduced to "has a phone").
SINGLE_UPDATE = """
WITH missed AS (
  UPDATE visit SET status = 'missed', missed_at = :now, updated_at = :now,
                   changed_by = 'job:visits.flag_missed'
  WHERE status = 'planned' AND window_end < :cutoff
  RETURNING id, case_id
), flagged AS (
  SELECT m.id, m.case_id, c.patient_id, c.representative_id, p.phone
  FROM missed m JOIN supervision_case c ON c.id = m.case_id JOIN patient p ON p.id = c.patient_id
), items AS (
  INSERT INTO work_item (kind, owner_id, patient_id, case_id, visit_id, priority, due_at, status,
                         dedup_key, created_at)
  SELECT 'missed_visit', representative_id, patient_id, case_id, id, 2, :now, 'open',
         'missed:' || id, :now
  FROM flagged
  ON CONFLICT (dedup_key) DO NOTHING
  RETURNING visit_id
), reminders AS (
  INSERT INTO reminder (patient_id, case_id, visit_id, kind, channel, template, scheduled_for,
                        status, attempts, idempotency_key, created_at, updated_at)
  SELECT f.patient_id, f.case_id, f.id, k.kind, k.channel, k.kind,
         ((CAST(:today AS date) + k.days) + time '09:00') AT TIME ZONE 'Europe/Moscow',
         'pending', 0, 'visit:' || f.id || ':' || k.kind || ':' || (CAST(:today AS date) + k.days),
         :now, :now
  FROM flagged f
  CROSS JOIN (VALUES ('rebooking', 'sms', 1), ('call_task', 'voice_call', 7)) AS k(kind, channel, days)
  WHERE f.phone IS NOT NULL
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING id
)
SELECT (SELECT count(*) FROM items) AS flagged, (SELECT count(*) FROM reminders) AS reminders
"""


async def _pending_reminders(session: Any) -> int:
    found = await session.execute(sa.text("SELECT count(*) FROM reminder WHERE status = 'pending'"))
    return int(found.scalar_one())


async def missed_visit_scan(
    url: str, newly_missed: int = NEWLY_MISSED, rounds: int = SCAN_ROUNDS
) -> dict[str, Any]:
    """The scan (the actor's loop of batches) against the single UPDATE, each on the same
    `newly_missed` overdue visits, each in a transaction that is rolled back afterwards.

    Each round runs both, the order alternating from round to round (whichever runs second
    finds the pages the first one read in the cache); the figures are the medians.
    """
    settings = Settings(database_url=url)
    engine = create_engine(settings)
    sessions = create_session_factory(engine)
    rules = case_rules(settings)
    cutoff = ANCHOR - timedelta(days=GRACE_DAYS)
    setup = {"cutoff": cutoff, "window": WINDOW_DAYS, "count": newly_missed}

    async def scan() -> tuple[float, int, int]:
        async with sessions() as session:
            await session.execute(sa.text(MAKE_OVERDUE), setup)
            reminders_before = await _pending_reminders(session)
            started = time.perf_counter()
            flagged = 0
            while True:
                count = await MissedVisitScan(session, rules).run(
                    ANCHOR_AT, GRACE_DAYS, ZoneInfo("Europe/Moscow"), SCAN_BATCH
                )
                flagged += count
                if count < SCAN_BATCH:
                    break
            seconds = time.perf_counter() - started
            reminders = await _pending_reminders(session) - reminders_before
            await session.rollback()
        return seconds, flagged, reminders

    async def single() -> tuple[float, int, int]:
        async with sessions() as session:
            await session.execute(sa.text(MAKE_OVERDUE), setup)
            started = time.perf_counter()
            result = await session.execute(
                sa.text(SINGLE_UPDATE),
                {"now": ANCHOR_AT, "cutoff": cutoff, "today": ANCHOR},
            )
            flagged, reminders = result.one()
            seconds = time.perf_counter() - started
            await session.rollback()
        return seconds, flagged, reminders

    measured: dict[str, list[tuple[float, int, int]]] = {"scan": [], "single": []}
    try:
        for round_ in range(rounds):
            order = ("scan", "single") if round_ % 2 == 0 else ("single", "scan")
            for name in order:
                measured[name].append(await (scan() if name == "scan" else single()))
    finally:
        await engine.dispose()
    scan_seconds = statistics.median(seconds for seconds, _, _ in measured["scan"])
    single_seconds = statistics.median(seconds for seconds, _, _ in measured["single"])
    _, flagged, scan_reminders = measured["scan"][-1]
    _, single_flagged, single_reminders = measured["single"][-1]
    return {
        "newly_missed": newly_missed,
        "rounds": rounds,
        "flagged_by_scan": flagged,
        "flagged_by_single_update": single_flagged,
        "reminders_by_scan": scan_reminders,
        "reminders_by_single_update": single_reminders,
        "scan_seconds": round(scan_seconds, 3),
        "single_update_seconds": round(single_seconds, 3),
        "ratio": round(scan_seconds / single_seconds, 2) if single_seconds else None,
        "scan_seconds_per_round": [round(seconds, 3) for seconds, _, _ in measured["scan"]],
        "single_update_seconds_per_round": [
            round(seconds, 3) for seconds, _, _ in measured["single"]
        ],
    }


def drop_queues(url: str, queues: Sequence[str]) -> None:
    """Leave nothing behind on a server other checkouts use too.

    On a connection of its own: one opened before a long run has missed its heartbeats by the
    end of it, and RabbitMQ has closed it.
    """
    from dramatiq.brokers.rabbitmq import RabbitmqBroker
    from dramatiq.brokers.redis import RedisBroker

    broker = build_broker(url)
    try:
        for queue in queues:
            for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
                if isinstance(broker, RedisBroker):
                    broker.client.delete(f"dramatiq:{name}", f"dramatiq:{name}.msgs")
                elif isinstance(broker, RabbitmqBroker):
                    broker.channel.queue_delete(name)
    finally:
        broker.close()


def noop_actor_throughput(url: str, messages: int, threads: int) -> dict[str, Any]:
    """Enqueue `messages` no-op messages, then time a separate worker process draining them."""
    queue = f"bench_noop_{os.getpid()}"
    broker = build_broker(url)
    try:
        actor = declare(broker, queue)
        started = time.perf_counter()
        for _ in range(messages):
            actor.send()
        enqueue_seconds = time.perf_counter() - started
    finally:
        broker.close()
    try:
        output = subprocess.run(
            [sys.executable, "-m", "bench.noop_worker", url, queue, str(messages), str(threads)],
            check=True, capture_output=True, text=True, timeout=900,
        ).stdout  # fmt: skip
    finally:
        drop_queues(url, [queue])
    worker = json.loads(output.strip().splitlines()[-1])
    seconds = worker["seconds"]
    return {
        "messages": messages,
        "worker_threads": threads,
        "enqueue_per_second": round(messages / enqueue_seconds, 1),
        "consumed": worker["consumed"],
        "seconds": seconds,
        "messages_per_second": round(worker["consumed"] / seconds, 1) if seconds else None,
        "worker_peak_rss_mib": worker["peak_rss_mib"],
        "worker_cpu_seconds": worker.get("cpu_seconds"),
    }
