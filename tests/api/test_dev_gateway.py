"""The local SMS gateway of development: the worker hands messages over without a token; what it
took is for the administrator's eyes only; production never mounts it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy.ext.asyncio import async_sessionmaker

from api.app import DEV_SMS_GATEWAY_PATH, create_app
from core.settings import Settings
from reminders.gateway import SmsGatewayStandIn
from tests.conftest import ADMIN, Database, RolledBackDatabase, bearer

MESSAGES = f"{DEV_SMS_GATEWAY_PATH}/messages"
SMS = {"to": "+79280000009", "text": "Пора на приём", "idempotency_key": "test:1"}


@pytest.fixture
async def http(
    db: RolledBackDatabase, database: Database, broker: StubBroker
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        database.settings, database.engine, db.sessions, broker, sms_gateway=SmsGatewayStandIn()
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_messages_are_handed_over_without_a_token(http: httpx.AsyncClient) -> None:
    response = await http.post(MESSAGES, json=SMS)

    assert response.status_code == 201, response.text


async def test_what_the_gateway_took_is_shown_to_the_administrator_alone(
    http: httpx.AsyncClient,
) -> None:
    # given
    await http.post(MESSAGES, json=SMS)

    # when
    anonymous = await http.get(MESSAGES)
    representative = await http.get(MESSAGES, headers=bearer("rep-1"))
    fund = await http.get(MESSAGES, headers=bearer("test-fund", "territorial_fund"))
    administrator = await http.get(MESSAGES, headers=ADMIN)

    # then
    assert anonymous.status_code == 401
    assert representative.status_code == 401  # a subject no representative is linked to
    assert fund.status_code == 403
    for refused in (anonymous, representative, fund):
        assert "+7928" not in refused.text
    assert administrator.status_code == 200
    assert [message["to"] for message in administrator.json()] == ["+79280000009"]


def test_production_never_mounts_the_gateway(database: Database, broker: StubBroker) -> None:
    production = Settings(
        database_url=database.settings.database_url,
        environment="production",
        api_key_secret="a-production-secret",
    )

    with pytest.raises(ValueError, match="development only"):
        create_app(
            production,
            database.engine,
            async_sessionmaker(database.engine),
            broker,
            sms_gateway=SmsGatewayStandIn(),
        )
