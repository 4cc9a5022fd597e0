"""Liveness and readiness probes, and the request id on every response."""

from __future__ import annotations

import httpx
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from api.app import create_app
from core.db import create_engine, create_session_factory
from core.settings import Settings
from tests.conftest import Database


async def get(app: object, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        return await http.get(path, headers={"X-Request-ID": "probe-1"})


async def test_healthz_and_readyz_answer_when_all_is_up(client: httpx.AsyncClient) -> None:
    health = await client.get("/healthz")
    ready = await client.get("/readyz")

    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}
    assert health.headers["x-request-id"]


async def test_readyz_is_503_with_a_reason_when_the_database_is_down(database: Database) -> None:
    # given: a PostgreSQL URL on a port where nothing listens
    settings = Settings(database_url="postgresql://postgres@127.0.0.1:1/none")
    engine = create_engine(settings)
    app = create_app(settings, engine, create_session_factory(engine), StubBroker())

    # when
    response = await get(app, "/readyz")

    # then
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["reasons"][0].startswith("database unreachable")
    assert response.headers["x-request-id"] == "probe-1"
    await engine.dispose()


async def test_readyz_is_503_when_the_broker_is_down(database: Database) -> None:
    # given: a Redis broker on a port where nothing listens
    app = create_app(
        database.settings,
        database.engine,
        create_session_factory(database.engine),
        RedisBroker(url="redis://127.0.0.1:1/0"),  # type: ignore[no-untyped-call]
    )

    # when
    response = await get(app, "/readyz")

    # then
    assert response.status_code == 503
    assert response.json()["reasons"] == ["broker unreachable (ConnectionError)"]
