"""A worker process for `test_broker`'s killed-worker test: `python -m tests.core.killed_worker
URL QUEUE MODE`; in `hold` mode it takes messages and never finishes them, in `record` mode
it counts each message in Redis under `QUEUE:done`."""

from __future__ import annotations

import sys
import time

import dramatiq
import redis

from core.broker import install_broker


def main(url: str, queue: str, mode: str) -> None:
    broker = install_broker(url)
    counter = redis.Redis.from_url(url)

    @dramatiq.actor(queue_name=queue, actor_name=f"{queue}.work", broker=broker, max_retries=0)
    def work(number: int) -> None:
        if mode == "hold":
            time.sleep(3600)
        else:
            counter.sadd(f"{queue}:done", number)

    worker = dramatiq.Worker(broker, queues={queue}, worker_threads=2)
    worker.start()
    print("ready", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main(*sys.argv[1:4])
