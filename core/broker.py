"""The Dramatiq broker chosen by `DISPENSARY_BROKER_URL`: in-process, Redis or RabbitMQ."""

from __future__ import annotations

import asyncio

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware.asyncio import AsyncIO

# A worker that sends no command for this long is dead to Redis (every command of any of its
# consumers is a heartbeat, and idle consumers poll at least once a second), and the messages
# it held go back to their queues at the next maintenance...
REDIS_HEARTBEAT_TIMEOUT_MS = 20_000
# ...which runs with this chance per million commands (1 in 20): with consumers polling, several
# times a minute (Dramatiq's default, 1,000, left a killed worker's messages waiting minutes).
REDIS_MAINTENANCE_CHANCE = 50_000


def build_broker(url: str) -> dramatiq.Broker:
    scheme = url.partition("://")[0]
    broker: dramatiq.Broker
    if scheme == "memory":
        broker = StubBroker()
    elif scheme in ("redis", "rediss"):
        broker = RedisBroker(  # type: ignore[no-untyped-call]
            url=url,
            heartbeat_timeout=REDIS_HEARTBEAT_TIMEOUT_MS,
            maintenance_chance=REDIS_MAINTENANCE_CHANCE,
        )
    elif scheme in ("amqp", "amqps"):
        # Without confirms a publish the server drops is lost silently.
        broker = RabbitmqBroker(url=url, confirm_delivery=True)
    else:
        raise ValueError(f"unknown broker scheme {scheme!r}")
    broker.add_middleware(AsyncIO())
    return broker


_installed: dramatiq.Broker | None = None


def install_broker(url: str) -> dramatiq.Broker:
    """Make the broker global; must run before any actor module is imported."""
    global _installed
    broker = build_broker(url)
    if _installed is not None:
        # Actors already declared move over, so their `send` goes to the new broker.
        for actor in list(_installed.actors.values()):
            actor.broker = broker
            broker.declare_actor(actor)
    dramatiq.set_broker(broker)
    _installed = broker
    return broker


def _ping(broker: dramatiq.Broker) -> None:
    if isinstance(broker, RedisBroker):
        broker.client.ping()
    elif isinstance(broker, RabbitmqBroker):
        import pika

        pika.BlockingConnection(broker.parameters).close()


async def broker_problem(broker: dramatiq.Broker, within: float = 3.0) -> str | None:
    """None when the broker answers, else a short reason (no credentials in it)."""
    try:
        await asyncio.wait_for(asyncio.to_thread(_ping, broker), within)
    except TimeoutError:
        return "broker did not answer in time"
    except Exception as error:  # noqa: BLE001 - any failure means "not ready"
        return f"broker unreachable ({type(error).__name__})"
    return None


def current_broker() -> dramatiq.Broker:
    """The broker actors are declared on: the one installed, else the one the settings name."""
    global _installed
    if _installed is None:
        from core.settings import get_settings

        _installed = build_broker(get_settings().broker_url)
        dramatiq.set_broker(_installed)
    return _installed
