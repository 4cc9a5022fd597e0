"""Scenario 3, the reminder pipeline: due SMS reminders from the outbox, through the dispatcher,
the broker and the sender, to the local SMS gateway, timed until every one is `sent`.

Three processes besides the harness: the gateway stand-in (uvicorn, `bench.gateway`), one
worker (`bench.pipeline_worker`: the service's worker with its clock pinned to daytime) and the
broker's server. The harness enqueues one `reminders.dispatch_due` message, as the scheduler
does once a minute; that actor claims batches of 500 due reminders until none is left and
enqueues a `reminders.send_batch` per 100 of them after each batch's commit. The clock starts at that
enqueue and stops when the database holds every reminder as `sent`.
"""

from __future__ import annotations

import asyncio
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import asyncpg
import dramatiq
import httpx

from bench import database, generate, processes
from bench.pipeline_worker import CLOCK, DUE_AT, run_queue
from bench.scenarios import drop_queues
from core.broker import build_broker

DISPATCH_ACTOR: Final = "reminders.dispatch_due"
# The queues of `reminders.actors`: the dispatcher's and the sender's.
QUEUES: Final = ("scans", "reminders")
# A run that makes no progress for this long is over: what was sent by then is reported.
STALL_SECONDS: Final = 60.0


def _start_worker(env: dict[str, str], threads: int, run: str, logs: Path) -> processes.Child:
    log = logs / "pipeline-worker.log"
    with log.open("wb") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.pipeline_worker", str(threads), run],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=errors,
        )
    worker = processes.Child("pipeline-worker", process, log)
    assert process.stdout is not None
    readable, _, _ = select.select([process.stdout], [], [], 60)
    if not readable or process.stdout.readline().strip() != b"ready":
        worker.stop()
        raise RuntimeError(f"the pipeline worker did not start; see {log}")
    return worker


def _enqueue_dispatch(url: str, queue: str) -> None:
    """What the scheduler does once a minute, on a connection closed at once (a long run would
    outlast its heartbeats)."""
    broker = build_broker(url)
    try:
        broker.declare_queue(queue)
        broker.enqueue(dramatiq.Message(queue, DISPATCH_ACTOR, (), {}, {}))
    finally:
        broker.close()


async def _statuses(dsn: str) -> dict[str, int]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch("SELECT status, count(*) AS n FROM reminder GROUP BY status")
    finally:
        await connection.close()
    return {row["status"]: row["n"] for row in rows}


def _gateway_counts(gateway: processes.Server) -> dict[str, int]:
    counts: dict[str, int] = httpx.get(f"http://127.0.0.1:{gateway.port}/counts").json()
    return counts


def _wait(progress: Callable[[], int], goal: int, worker: processes.Child, every: float) -> bool:
    """Poll `progress` until it reaches `goal`; False when it stalls or the worker is gone."""
    best, moved = -1, time.monotonic()
    while worker.process.poll() is None:
        done = progress()
        if done >= goal:
            return True
        if done > best:
            best, moved = done, time.monotonic()
        elif time.monotonic() - moved > STALL_SECONDS:
            return False
        time.sleep(every)
    return False


def pipeline_throughput(
    url: str, reminders: int, threads: int, database_name: str, logs: Path, keep: bool = False
) -> dict[str, Any]:
    """Send `reminders` due SMS reminders through the real actors on the broker at `url`."""
    run = f"bench_pipe_{os.getpid()}"
    database.create_migrated(database_name)
    dsn = database.dsn(database_name)
    generated = asyncio.run(generate.generate_due_reminders(dsn, reminders, DUE_AT))
    port = processes.free_port()
    env = {
        "DISPENSARY_DATABASE_URL": database.sqlalchemy_url(database_name),
        "DISPENSARY_BROKER_URL": url,
        "DISPENSARY_SMS_GATEWAY_URL": f"http://127.0.0.1:{port}",
        "DISPENSARY_LOG_LEVEL": "WARNING",
    }
    children: list[processes.Child] = []
    try:
        gateway = processes.start(
            "sms-gateway", processes.uvicorn_command("bench.gateway:create_app", port), port,
            env, logs, "/counts",
        )  # fmt: skip
        children.append(gateway)
        worker = _start_worker(env, threads, run, logs)
        children.append(worker)
        worker_cpu, gateway_cpu = worker.cpu_seconds() or 0.0, gateway.cpu_seconds() or 0.0
        started = time.perf_counter()
        _enqueue_dispatch(url, run_queue(QUEUES[0], run))
        # The gateway answers cheaply while the messages arrive; the database is asked at the end.
        _wait(lambda: _gateway_counts(gateway)["accepted"], reminders, worker, 0.2)
        finished = _wait(lambda: asyncio.run(_statuses(dsn)).get("sent", 0), reminders, worker, 0.1)
        seconds = time.perf_counter() - started
        statuses = asyncio.run(_statuses(dsn))
        counts = _gateway_counts(gateway)
        result = {
            "reminders": reminders,
            "worker_threads": threads,
            "dispatch": f"one {DISPATCH_ACTOR} message",
            "clock": CLOCK.isoformat(),
            "generation_seconds": generated["seconds"],
            "finished": finished,
            "seconds": round(seconds, 2),
            "reminders_per_second": round(statuses.get("sent", 0) / seconds, 1),
            "statuses": statuses,
            "gateway_accepted": counts["accepted"],
            "gateway_requests": counts["requests"],
            "worker_peak_rss_mib": worker.peak_rss_mib(),
            "worker_cpu_seconds": round((worker.cpu_seconds() or 0.0) - worker_cpu, 2),
            "gateway_cpu_seconds": round((gateway.cpu_seconds() or 0.0) - gateway_cpu, 2),
        }
    finally:
        for child in reversed(children):
            child.stop()
        drop_queues(url, [run_queue(queue, run) for queue in QUEUES])
        if not keep:
            asyncio.run(database.drop(database_name))
    return result
