"""The broker URL picks a real broker; messages make the round trip through Redis and RabbitMQ."""

from __future__ import annotations

import uuid

import dramatiq
import pytest
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
