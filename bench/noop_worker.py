"""The broker's own limit: a worker process that consumes no-op messages, with the real settings.

Run as `python -m bench.noop_worker URL QUEUE COUNT THREADS`: it declares a no-op async actor on
the broker that `core.broker.build_broker` builds (the same middleware as the reminder actors),
starts a Dramatiq worker with THREADS threads, and prints, as one JSON line, how long COUNT
messages took from the worker's start, the process's peak RSS and the CPU time it used from the
worker's start on (a worker that is mostly idle while messages wait is held back by its fetch
loop, not its CPU).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable

import dramatiq

from bench.processes import peak_rss_mib
from core.broker import build_broker

ACTOR_NAME = "bench.noop"


def declare(
    broker: dramatiq.Broker, queue: str, on_message: Callable[[], None] | None = None
) -> dramatiq.Actor[[], None]:
    """The no-op actor, declared the same way in the process that sends and the one that works."""

    async def noop() -> None:
        if on_message is not None:
            on_message()

    decorate = dramatiq.actor(actor_name=ACTOR_NAME, queue_name=queue, broker=broker, max_retries=0)
    actor: dramatiq.Actor[[], None] = decorate(noop)
    return actor


def main(url: str, queue: str, count: int, threads: int) -> None:
    broker = build_broker(url)
    done = threading.Event()
    seen = 0
    lock = threading.Lock()

    def on_message() -> None:
        nonlocal seen
        with lock:
            seen += 1
            if seen >= count:
                done.set()

    declare(broker, queue, on_message)
    worker = dramatiq.Worker(broker, worker_threads=threads)
    before = os.times()
    started = time.perf_counter()
    worker.start()
    finished = done.wait(timeout=600)
    elapsed = time.perf_counter() - started
    rss = peak_rss_mib(os.getpid())
    used = os.times()
    worker.stop()
    broker.close()
    print(
        json.dumps(
            {
                "seconds": round(elapsed, 3),
                "consumed": seen,
                "finished": finished,
                "peak_rss_mib": rss,
                "cpu_seconds": round(used.user + used.system - before.user - before.system, 2),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
