"""Operators and providers over HTTP: the outbox query and mutations, SMS webhooks, postal batches."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import sqlalchemy as sa
from pydantic import SecretStr

from cases.kit.columns import utcnow
from cases.patients.models import Channel, NotificationConsent
from cases.reminders.delivery import ReminderDelivery
from cases.reminders.models import InformingOutcome, Reminder, ReminderStatus
from cases.supervision.policy import CaseRules
from core.settings import Settings
from reminders.channels import SmsGatewayCourier
from reminders.gateway import SIGNATURE_HEADER, signature
from tests.conftest import ADMIN, GraphQLClient, RolledBackDatabase, bearer
from tests.factories import daytime_zone, gid, reminder_for
from tests.stand_ins import RunningGateway

REMINDERS = """
query($statuses: [ReminderStatus!]) {
  reminders(filter: {statuses: $statuses}) {
    totalCount
    counts { pending queued sent dead }
    edges { node { id status channel attempts patient { lastName } } }
  }
}
"""


# When `sent_reminder` sends: before any receipt a test posts, which the webhook takes at the
# real time.
SENT_AT = datetime(2026, 11, 23, 8, tzinfo=UTC)


async def sent_reminder(db: RolledBackDatabase, gateway: RunningGateway) -> Reminder:
    """An SMS reminder the local gateway accepted at `SENT_AT` (waking hours in its own zone)."""
    zone = daytime_zone(SENT_AT)
    async with db.session() as session:
        reminder = await reminder_for(session, SENT_AT, zone=ZoneInfo(zone), phone="+79280000002")
        courier = SmsGatewayCourier(gateway.url, callback_url=None)
        await ReminderDelivery(session, CaseRules(), {Channel.SMS: courier}).deliver(
            reminder.id,
            SENT_AT,
        )
        await session.commit()
        found = await session.get(Reminder, reminder.id, populate_existing=True)
        assert found is not None
        assert found.status is ReminderStatus.SENT
        return found


async def test_operators_see_the_outbox_with_counts_and_act_on_it(
    graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    async with db.session() as session:
        pending = await reminder_for(
            session, utcnow() + timedelta(days=2), status=ReminderStatus.PENDING
        )
        dead = await reminder_for(session, utcnow(), status=ReminderStatus.DEAD)
        await session.commit()

    listed = (await graphql.data(REMINDERS))["reminders"]
    dead_letters = (await graphql.data(REMINDERS, statuses=["DEAD"]))["reminders"]
    sent_now = await graphql.data(
        "mutation($id: ID!) { sendReminderNow(id: $id) { ... on Reminder { status scheduledFor } } }",
        id=gid("Reminder", pending.id),
    )
    retried = await graphql.data(
        "mutation($id: ID!) { retryReminder(id: $id) { ... on Reminder { status attempts } } }",
        id=gid("Reminder", dead.id),
    )
    cancelled = await graphql.data(
        "mutation($id: ID!) { cancelReminder(id: $id) { ... on Reminder { status } } }",
        id=gid("Reminder", pending.id),
    )
    refused = await graphql.data(
        """mutation($id: ID!) { retryReminder(id: $id) {
             ... on InvalidStateError { code field message } } }""",
        id=gid("Reminder", pending.id),
    )

    assert listed["totalCount"] == 2
    assert listed["counts"] == {"pending": 1, "queued": 0, "sent": 0, "dead": 1}
    assert [edge["node"]["patient"]["lastName"] for edge in listed["edges"]] == ["Иванов"] * 2
    assert [edge["node"]["id"] for edge in dead_letters["edges"]] == [gid("Reminder", dead.id)]
    assert dead_letters["counts"]["pending"] == 1  # counts ignore the status filter
    assert sent_now["sendReminderNow"]["status"] == "PENDING"
    assert datetime.fromisoformat(sent_now["sendReminderNow"]["scheduledFor"]) <= datetime.now(UTC)
    assert retried["retryReminder"] == {"status": "PENDING", "attempts": 0}
    assert cancelled["cancelReminder"] == {"status": "CANCELLED"}
    assert refused["retryReminder"]["code"] == "INVALID_STATE"
    assert refused["retryReminder"]["field"] == "id"


async def test_a_delivery_receipt_marks_the_reminder_delivered_once(
    client: httpx.AsyncClient,
    graphql: GraphQLClient,
    db: RolledBackDatabase,
    sms_gateway: RunningGateway,
) -> None:
    reminder = await sent_reminder(db, sms_gateway)
    receipt = {
        "event": "receipt",
        "message_id": reminder.provider_message_id,
        "status": "delivered",
    }

    first = await client.post("/webhooks/sms/gateway", json=receipt)
    repeated = await client.post("/webhooks/sms/gateway", json=receipt)
    events = await graphql.data(
        """query($p: ID!) { informingEvents(filter: {patientId: $p}) {
             edges { node { kind method outcome } } } }""",
        p=gid("Patient", reminder.patient_id),
    )

    read = await graphql.data(
        "query($id: ID!) { node(id: $id) { ... on Reminder { status smsSegments } } }",
        id=gid("Reminder", reminder.id),
    )

    assert (first.json()["applied"], repeated.json()["applied"]) == (True, False)
    async with db.session() as session:
        found = await session.get(Reminder, reminder.id, populate_existing=True)
    assert found is not None
    assert found.status is ReminderStatus.DELIVERED
    # The courier counted the parts of the text it sent.
    assert found.sms_segments is not None
    assert found.sms_segments >= 1
    assert read["node"] == {"status": "DELIVERED", "smsSegments": found.sms_segments}
    assert [edge["node"]["outcome"] for edge in events["informingEvents"]["edges"]] == [
        InformingOutcome.DELIVERED.name,
        InformingOutcome.SENT.name,
    ]


async def test_stop_over_the_sms_webhook_withdraws_sms_consent(
    client: httpx.AsyncClient, db: RolledBackDatabase
) -> None:
    async with db.session() as session:
        reminder = await reminder_for(session, utcnow(), phone="+79280000003")
        await session.commit()

    answer = await client.post(
        "/webhooks/sms/gateway",
        json={"event": "inbound", "from": "8 928 000-00-03", "text": "stop"},
    )

    assert answer.json() == {"ok": True, "consentsWithdrawn": 1}
    async with db.session() as session:
        consent = (
            await session.execute(
                sa.select(NotificationConsent).where(
                    NotificationConsent.patient_id == reminder.patient_id
                )
            )
        ).scalar_one()
    assert (consent.channel, consent.granted, consent.method) == (Channel.SMS, False, "sms STOP")


async def test_webhooks_refuse_bad_signatures_unknown_providers_and_bad_payloads(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    settings.sms_webhook_secret = SecretStr("s3cret")
    body = json.dumps({"event": "inbound", "from": "+79280000004", "text": "STOP"}).encode()

    unsigned = await client.post("/webhooks/sms/gateway", content=body)
    signed = await client.post(
        "/webhooks/sms/gateway",
        content=body,
        headers={SIGNATURE_HEADER: signature("s3cret", body)},
    )
    unknown = await client.post("/webhooks/sms/other", content=body)
    garbage = await client.post(
        "/webhooks/sms/gateway",
        content=b"{",
        headers={SIGNATURE_HEADER: signature("s3cret", b"{")},
    )

    assert (unsigned.status_code, unsigned.json()["error"]) == (401, "bad_signature")
    assert signed.status_code == 200
    assert (unknown.status_code, unknown.json()["error"]) == (404, "unknown_provider")
    assert (garbage.status_code, garbage.json()["error"]) == (400, "bad_payload")


async def test_the_days_letters_are_listed_and_downloadable_as_csv(
    client: httpx.AsyncClient, graphql: GraphQLClient, db: RolledBackDatabase
) -> None:
    now = utcnow()
    async with db.session() as session:
        reminder = await reminder_for(
            session, now, channel=Channel.POST, postal_address="355000, Ставрополь, ул. Мира, 1"
        )
        await ReminderDelivery(session, CaseRules(), {}).deliver(reminder.id, now)
        await session.commit()

    batches = (
        await graphql.data("{ letterBatches { edges { node { day letters downloadPath } } } }")
    )["letterBatches"]["edges"]
    download = await client.get(batches[0]["node"]["downloadPath"], headers=ADMIN)
    refused = await client.get(batches[0]["node"]["downloadPath"], headers=bearer("nobody"))

    assert batches[0]["node"]["letters"] == 1
    assert download.status_code == 200
    assert refused.status_code == 401
    assert download.headers["content-type"].startswith("text/csv")
    lines = download.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "letter_id,addressee,postal_address,text"
    assert "Иванов Пётр Сергеевич" in lines[1]
    assert "ул. Мира" in lines[1]
