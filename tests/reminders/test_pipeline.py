"""End to end on real brokers: a case opened over GraphQL, the clock travelled, the workers deliver.

The dispatcher, the sender and the missed-visit scan run as Dramatiq actors in a real worker
on real Redis and real RabbitMQ, against a committed PostgreSQL database, delivering through
the local SMS gateway over HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dramatiq
import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from cases.reminders.models import Reminder, ReminderStatus
from cases.supervision.models import Visit, VisitStatus
from core.broker import install_broker
from core.db import create_engine, create_session_factory
from core.settings import Settings, get_settings, use_settings
from reminders.actors import common, delivery, visits
from reminders.database import forget_worker_engine
from tests.conftest import (
    ADMIN,
    RABBITMQ_URL,
    REDIS_URL,
    TOKEN_SECRET,
    eventually,
    migrated_postgres_database,
    require_service,
)
from tests.factories import Region, gid
from tests.stand_ins import RunningGateway

BROKERS = {"redis": ("Redis", 6379, REDIS_URL), "amqp": ("RabbitMQ", 5672, RABBITMQ_URL)}
VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")

OPEN_CASE = """
mutation($patient: ID!, $clinic: ID!, $rep: ID!, $opened: Date!) {
  openCase(input: {patientId: $patient, icd10: "I10", clinicId: $clinic, openedOn: $opened,
                   visitsPerYear: 2, representativeId: $rep}) {
    ... on SupervisionCase { id visits { edges { node { id windowStart windowEnd } } } }
  }
}
"""


@pytest.fixture
async def pipeline(
    request: pytest.FixtureRequest, sms_gateway: RunningGateway
) -> AsyncIterator[tuple[Settings, dramatiq.Broker]]:
    name, port, broker_url = BROKERS[request.param]
    require_service(name, "127.0.0.1", port)
    url = await asyncio.to_thread(migrated_postgres_database, "pipeline")
    settings = Settings(
        database_url=url,
        broker_url=broker_url,
        sms_gateway_url=sms_gateway.url,
        delivery_min_backoff_seconds=0.2,
        jwt_hs256_secret=TOKEN_SECRET,
    )
    previous = get_settings()
    use_settings(settings)
    common.use_couriers(None)
    forget_worker_engine()
    broker = install_broker(broker_url)
    for queue in ("scans", "reminders"):
        broker.declare_queue(queue)
        broker.flush(queue)
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        yield settings, broker
    finally:
        worker.stop()
        forget_worker_engine()
        common.use_clock(None)
        common.use_couriers(None)
        use_settings(previous)
        install_broker("memory://")
        broker.close()


@pytest.mark.services
@pytest.mark.parametrize("pipeline", ["redis", "amqp"], indirect=True)
async def test_reminders_and_missed_visits_flow_through_real_brokers(
    pipeline: tuple[Settings, dramatiq.Broker], sms_gateway: RunningGateway
) -> None:
    settings, broker = pipeline
    engine = create_engine(settings)
    sessions = create_session_factory(engine)
    app = create_app(settings, engine, sessions, broker)
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api", headers=ADMIN
    )
    try:
        # given: a patient in Vladivostok, and a case opened over GraphQL
        async with sessions() as session:
            region = Region(session)
            insurer, clinic, representative = await region.basics()
            patient = await region.patient(insurer, phone="+79240000001", time_zone=VLADIVOSTOK.key)
            await session.commit()
        opened = date.today()
        answer = await http.post(
            "/graphql",
            json={
                "query": OPEN_CASE,
                "variables": {
                    "patient": gid("Patient", patient.id),
                    "clinic": gid("MedicalOrganization", clinic.id),
                    "rep": gid("Representative", representative.id),
                    "opened": opened.isoformat(),
                },
            },
        )
        case = answer.json()["data"]["openCase"]
        window_start = date.fromisoformat(case["visits"]["edges"][0]["node"]["windowStart"])
        window_end = date.fromisoformat(case["visits"]["edges"][0]["node"]["windowEnd"])

        # when: the clock reaches 09:05 of the window's first day, Vladivostok time
        travel_to(
            datetime.combine(window_start, datetime.min.time(), VLADIVOSTOK)
            + timedelta(hours=9, minutes=5)
        )
        delivery.dispatch_due_reminders.send()

        # then: the gateway takes the invitation once, and the sender records it
        async def invited() -> bool:
            async with sessions() as session:
                sent = (
                    await session.execute(
                        sa.select(Reminder.kind).where(Reminder.status == ReminderStatus.SENT)
                    )
                ).scalars()
                return [kind.value for kind in sent] == ["invitation"]

        assert await eventually(invited), sms_gateway.state.requests
        assert len(sms_gateway.state.accepted) == 1
        assert sms_gateway.state.accepted[0].to == "+79240000001"
        assert "Пётр Сергеевич" in sms_gateway.state.accepted[0].text

        # when: the window closes and the grace period runs out
        travel_to(
            datetime.combine(window_end, datetime.min.time(), VLADIVOSTOK)
            + timedelta(days=settings.grace_period_days + 1, hours=10)
        )
        visits.flag_missed_visits.send()

        async def missed() -> bool:
            async with sessions() as session:
                status = (await session.execute(sa.select(Visit.status))).scalars().first()
            return status is VisitStatus.MISSED

        assert await eventually(missed)
        worklist = await http.post(
            "/graphql",
            json={
                "query": """query($rep: ID!) { worklist(filter: {representativeId: $rep}) {
                             edges { node { kind patient { id } } } } }""",
                "variables": {"rep": gid("Representative", representative.id)},
            },
        )
        kinds = [
            (edge["node"]["kind"], edge["node"]["patient"]["id"])
            for edge in worklist.json()["data"]["worklist"]["edges"]
        ]
        assert ("MISSED_VISIT", gid("Patient", patient.id)) in kinds
    finally:
        await http.aclose()
        await engine.dispose()


def travel_to(moment: datetime) -> None:
    common.use_clock(lambda: moment.astimezone(ZoneInfo("UTC")))


MOSCOW_MORNING = datetime(2026, 11, 23, 11, tzinfo=ZoneInfo("Europe/Moscow"))


@pytest.fixture
async def sessions(
    pipeline: tuple[Settings, dramatiq.Broker],
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the pipeline's database; the actors' clock stands at `MOSCOW_MORNING`."""
    engine = create_engine(pipeline[0])
    travel_to(MOSCOW_MORNING)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def due_sms(
    sessions: async_sessionmaker[AsyncSession], count: int, status: ReminderStatus
) -> list[int]:
    """`count` SMS reminders due an hour ago, each for a patient of its own in Moscow."""
    due = MOSCOW_MORNING - timedelta(hours=1)
    async with sessions() as session:
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        ids = []
        for n in range(count):
            patient = await region.patient(
                insurer, phone=f"+7928000{n:04d}", time_zone="Europe/Moscow"
            )
            case = await region.case(patient, clinic, representative)
            visit = await region.visit(case, due.date() + timedelta(days=20))
            reminder = await region.reminder(case, visit, due, status=status)
            assert reminder.id is not None
            ids.append(reminder.id)
        await session.commit()
    return ids


async def all_sent(sessions: async_sessionmaker[AsyncSession], count: int) -> bool:
    async with sessions() as session:
        found = await session.execute(sa.select(Reminder.status))
        return list(found.scalars()) == [ReminderStatus.SENT] * count


@pytest.mark.services
@pytest.mark.parametrize("pipeline", ["redis", "amqp"], indirect=True)
async def test_a_batch_hands_a_reminder_that_must_try_again_to_a_delayed_send_of_its_own(
    sessions: async_sessionmaker[AsyncSession], sms_gateway: RunningGateway
) -> None:
    # given: three due SMS, and a gateway that is down for the first message it gets
    await due_sms(sessions, 3, ReminderStatus.PENDING)
    sms_gateway.state.fail_next(1, status=503)

    # when
    delivery.dispatch_due_reminders.send()

    # then: one batch request for the three; the one that failed went again on its own
    assert await eventually(lambda: all_sent(sessions, 3)), sms_gateway.state.requests
    assert sms_gateway.state.batches == [3]
    assert sorted(sms_gateway.state.requests.values()) == [1, 1, 2]
    assert len(sms_gateway.state.accepted) == 3


@pytest.mark.services
@pytest.mark.parametrize("pipeline", ["redis", "amqp"], indirect=True)
async def test_a_batch_the_broker_gave_up_on_goes_on_one_reminder_at_a_time(
    sessions: async_sessionmaker[AsyncSession], sms_gateway: RunningGateway
) -> None:
    # given: two queued reminders whose batch message ran out of retries
    ids = await due_sms(sessions, 2, ReminderStatus.QUEUED)

    # when: the broker hands the batch to the actor for exhausted retries
    delivery.split_batch.send({"args": [ids]}, {"retries": 4})

    # then: each reminder is sent by a message of its own
    assert await eventually(lambda: all_sent(sessions, 2)), sms_gateway.state.requests
    assert sms_gateway.state.batches == []
    assert sorted(sms_gateway.state.requests.values()) == [1, 1]
