"""The broker URL picks a real broker; messages make the round trip through Redis and RabbitMQ."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid

import dramatiq
import pytest
import redis
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from core.broker import broker_problem, build_broker
from tests.conftest import RABBITMQ_URL, REDIS_URL, require_service

SERVICES = {"redis": ("Redis", 6379, REDIS_URL), "amqp": ("RabbitMQ", 5672, RABBITMQ_URL)}


def test_memory_url_gives_the_in_process_broker() -> None:
    assert isinstance(build_broker("memory://"), StubBroker)


def test_rabbitmq_publishes_with_confirms() -> None:
    broker = build_broker(RABBITMQ_URL)
    assert isinstance(broker, RabbitmqBroker)
    assert broker.confirm_delivery is True


@pytest.mark.services
@pytest.mark.parametrize("scheme", ["redis", "amqp"])
async def test_broker_is_ready_when_reachable(scheme: str) -> None:
    name, port, url = SERVICES[scheme]
    require_service(name, "127.0.0.1", port)

    assert await broker_problem(build_broker(url)) is None


@pytest.mark.services
@pytest.mark.parametrize("scheme", ["redis", "amqp"])
def test_message_round_trip(scheme: str) -> None:
    # given
    name, port, url = SERVICES[scheme]
    require_service(name, "127.0.0.1", port)
    broker = build_broker(url)
    queue = f"test-{uuid.uuid4().hex[:12]}"
    received: list[str] = []

    @dramatiq.actor(broker=broker, queue_name=queue, actor_name=f"{queue}.record", max_retries=0)
    def record(value: str) -> None:
        received.append(value)

    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        # when
        record.send("ping")
        broker.join(queue, timeout=10_000)
        worker.join()
    finally:
        worker.stop()
        broker.flush(queue)
        if isinstance(broker, RabbitmqBroker):
            broker.channel.queue_delete(queue)
            broker.channel.queue_delete(f"{queue}.DQ")
            broker.channel.queue_delete(f"{queue}.XQ")
        if isinstance(broker, RedisBroker):
            broker.client.delete(f"{broker.namespace}:{queue}", f"{broker.namespace}:{queue}.msgs")
        broker.close()

    # then
    assert received == ["ping"]


def _worker(queue: str, mode: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.core.killed_worker", REDIS_URL, queue, mode],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


@pytest.mark.services
def test_a_killed_workers_messages_come_back_within_a_minute_on_redis() -> None:
    # given: a worker holding every message of a queue, then killed without a chance to
    # hand them back
    require_service("Redis", "127.0.0.1", 6379)
    queue = f"killed-{uuid.uuid4().hex[:8]}"
    counter = redis.Redis.from_url(REDIS_URL)
    holder = _worker(queue, "hold")
    second: subprocess.Popen[str] | None = None
    try:
        broker = build_broker(REDIS_URL)

        @dramatiq.actor(queue_name=queue, actor_name=f"{queue}.work", broker=broker)
        def work(number: int) -> None:  # the worker's actor, as the sender names it
            raise AssertionError("runs in the worker")

        for number in range(4):
            work.send(number)
        deadline = time.monotonic() + 30
        while counter.llen(f"dramatiq:{queue}") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert counter.llen(f"dramatiq:{queue}") == 0, "the holder took no message"
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        killed_at = time.monotonic()

        # when: another worker runs
        second = _worker(queue, "record")
        while counter.scard(f"{queue}:done") < 4 and time.monotonic() - killed_at < 120:
            time.sleep(0.5)
        waited = time.monotonic() - killed_at

        # then: every message was done, within about a minute of the kill
        assert counter.scard(f"{queue}:done") == 4
        assert waited < 60, f"the messages came back after {waited:.0f} s"
    finally:
        for process in (holder, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        counter.delete(f"{queue}:done", f"dramatiq:{queue}")
