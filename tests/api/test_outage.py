"""A database outage answers 503 with Retry-After, whichever path meets it, and is logged once."""

from __future__ import annotations

import socket

import httpx
import pytest
from dramatiq.brokers.stub import StubBroker
from structlog.testing import capture_logs

from api.app import create_app
from api.middleware import Outage
from core.db import create_engine, create_session_factory, database_unavailable
from tests.conftest import ADMIN, app_settings, bearer


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_requests_meeting_an_outage_are_503_with_retry_after_logged_once() -> None:
    # given: an API whose PostgreSQL does not answer
    settings = app_settings(f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/gone")
    engine = create_engine(settings)
    app = create_app(settings, engine, create_session_factory(engine), StubBroker())
    transport = httpx.ASGITransport(app=app)

    # when: a query (its resolver meets it) and a representative's (the sign-in meets it)
    with capture_logs() as logs:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            answers = [
                await http.post(
                    "/graphql", json={"query": "{ insurers { totalCount } }"}, headers=caller
                )
                for caller in (ADMIN, bearer("someone"), ADMIN)
            ]
    await engine.dispose()

    # then
    for answer in answers:
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "5"
        [error] = answer.json()["errors"]
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    events = [entry["event"] for entry in logs if entry["log_level"] in ("error", "warning")]
    assert events == ["database.unavailable"]


def test_an_outage_is_logged_when_it_begins_and_when_it_ends() -> None:
    outage = Outage()
    with capture_logs() as logs:
        outage.noticed("r1")
        outage.noticed("r2")
        outage.passed()
        outage.passed()
        outage.noticed("r3")

    assert [entry["event"] for entry in logs] == [
        "database.unavailable",
        "database.recovered",
        "database.unavailable",
    ]


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (ConnectionRefusedError(111, "refused"), True),
        (TimeoutError(), True),
        (ValueError("a bad value"), False),
        (RuntimeError("wrapped"), False),
    ],
)
def test_what_counts_as_the_database_being_away(error: Exception, unavailable: bool) -> None:
    assert database_unavailable(error) is unavailable
    wrapped = RuntimeError("from a resolver")
    wrapped.__cause__ = error
    assert database_unavailable(wrapped) is unavailable
