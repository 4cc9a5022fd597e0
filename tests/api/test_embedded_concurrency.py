"""The embedded store under writes that arrive together: each waits for the one before it
instead of failing with "database is locked"."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from dramatiq.brokers.stub import StubBroker
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.app import create_app
from cases.reminders.models import Reminder, ReminderStatus
from core.db import create_engine, create_session_factory
from core.migrate import upgrade
from tests.conftest import app_settings
from tests.factories import Region

RECEIPTS = 8
SENT_AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@dataclass
class Embedded:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[Embedded]:
    """`dispensary serve`'s store: a migrated SQLite file, sessions of its own engine."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'dispensary.sqlite3'}"
    await asyncio.to_thread(upgrade, url)
    settings = app_settings(url)
    engine = create_engine(settings)
    sessions = create_session_factory(engine)
    app = create_app(settings, engine, sessions, StubBroker())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Embedded(engine, sessions, http)
    await engine.dispose()


async def test_receipts_that_arrive_together_are_all_applied(embedded: Embedded) -> None:
    # given: SMS reminders the gateway took
    async with embedded.sessions() as session:
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        for n in range(RECEIPTS):
            patient = await region.patient(insurer, phone=f"+7928000{n:04d}")
            case = await region.case(patient, clinic, representative)
            visit = await region.visit(case, date(2026, 12, 20))
            reminder = await region.reminder(case, visit, SENT_AT, status=ReminderStatus.SENT)
            reminder.provider, reminder.provider_message_id = "gateway", f"gw-{n}"
            reminder.sent_at = SENT_AT
            session.add(reminder)
        await session.commit()

    # when: their receipts all come at once
    answers = await asyncio.gather(
        *(
            embedded.http.post(
                "/webhooks/sms/gateway",
                json={"event": "receipt", "message_id": f"gw-{n}", "status": "delivered"},
            )
            for n in range(RECEIPTS)
        )
    )

    # then
    assert [answer.status_code for answer in answers] == [200] * RECEIPTS
    assert all(answer.json()["applied"] for answer in answers)
    async with embedded.sessions() as session:
        statuses = (await session.execute(sa.select(Reminder.status))).scalars().all()
    assert statuses == [ReminderStatus.DELIVERED] * RECEIPTS
