"""Dispatch and delivery of reminders against a real local SMS gateway and a real SMTP server."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from cases.kit.actor import Actor, Role
from cases.patients.models import Channel
from cases.patients.service import PatientService
from cases.reminders.couriers import DeliveryLimits
from cases.reminders.delivery import Outcome, ReminderDelivery
from cases.reminders.dispatcher import ReminderDispatcher
from cases.reminders.models import (
    DeliveryError,
    InformingEvent,
    InformingMethod,
    InformingOutcome,
    Reminder,
    ReminderKind,
    ReminderStatus,
    SkipReason,
)
from cases.reminders.operations import PostalBatches
from cases.reminders.policy import sms_segments
from cases.supervision.models import Visit, VisitStatus
from cases.supervision.policy import CaseRules
from cases.worklist.models import WorkItem, WorkItemKind
from reminders.channels import SmsGatewayCourier, SmtpCourier
from tests.conftest import RolledBackDatabase
from tests.factories import DAY, MOSCOW, reminder_for
from tests.stand_ins import RunningGateway, RunningMailServer, free_port

RULES = CaseRules()
VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")
MORNING = datetime.combine(DAY, time(11), tzinfo=MOSCOW).astimezone(UTC)
ADMIN = Actor(role=Role.ADMIN, label="test")


def local(zone: ZoneInfo, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)


def sms(gateway: RunningGateway) -> dict[Channel, Any]:
    return {Channel.SMS: SmsGatewayCourier(gateway.url, callback_url=None)}


async def reload(session: AsyncSession, reminder: Reminder) -> Reminder:
    found = await session.get(Reminder, reminder.id, populate_existing=True)
    assert found is not None
    return found


async def rows(session: AsyncSession, model: Any) -> list[Any]:
    return list((await session.execute(sa.select(model).order_by(model.id))).scalars())


@pytest.mark.parametrize("zone", [MOSCOW, VLADIVOSTOK], ids=["moscow", "vladivostok"])
async def test_a_reminder_due_at_night_goes_out_at_nine_the_next_morning(
    db: RolledBackDatabase, sms_gateway: RunningGateway, zone: ZoneInfo
) -> None:
    async with db.session() as session:
        # given: due at 23:30 the patient's time
        reminder = await reminder_for(
            session, local(zone, DAY, 23, 30), zone=zone, status=ReminderStatus.PENDING
        )
        dispatcher = ReminderDispatcher(session, RULES)

        # when: the dispatcher runs through the night
        at_night = await dispatcher.claim(local(zone, DAY, 23, 31))
        before_nine = await dispatcher.claim(local(zone, DAY + timedelta(days=1), 8, 59))
        at_nine = await dispatcher.claim(local(zone, DAY + timedelta(days=1), 9, 0))
        attempt = await ReminderDelivery(session, RULES, sms(sms_gateway)).deliver(
            reminder.id,
            local(zone, DAY + timedelta(days=1), 9, 0),
        )

        # then
        reminder = await reload(session, reminder)
    assert (at_night, before_nine, at_nine) == ([], [], [reminder.id])
    assert attempt.outcome is Outcome.SENT
    assert reminder.sent_at is not None
    assert reminder.sent_at.astimezone(zone) == datetime.combine(
        DAY + timedelta(days=1), time(9), tzinfo=zone
    )
    assert [m.to for m in sms_gateway.state.accepted] == ["+79280000001"]


async def test_a_retry_that_comes_back_at_night_waits_for_the_morning_without_an_attempt(
    db: RolledBackDatabase, sms_gateway: RunningGateway
) -> None:
    async with db.session() as session:
        reminder = await reminder_for(session, local(MOSCOW, DAY, 19, 0))

        attempt = await ReminderDelivery(session, RULES, sms(sms_gateway)).deliver(
            reminder.id,
            local(MOSCOW, DAY, 21, 0),
        )

        reminder = await reload(session, reminder)
    assert attempt.outcome is Outcome.RETRY
    assert attempt.delay == timedelta(hours=12)
    assert (reminder.status, reminder.attempts) == (ReminderStatus.QUEUED, 0)
    assert sms_gateway.state.requests == {}


async def test_the_same_reminder_delivered_twice_reaches_the_gateway_once(
    db: RolledBackDatabase, sms_gateway: RunningGateway
) -> None:
    async with db.session() as session:
        reminder = await reminder_for(session, MORNING)
        delivery = ReminderDelivery(session, RULES, sms(sms_gateway))

        first = await delivery.deliver(reminder.id, MORNING)
        second = await delivery.deliver(reminder.id, MORNING)

        reminder = await reload(session, reminder)
        events = await rows(session, InformingEvent)
    assert (first.outcome, second.outcome) == (Outcome.SENT, Outcome.NOTHING_TO_DO)
    assert sms_gateway.state.requests == {reminder.idempotency_key: 1}
    assert reminder.provider_message_id == sms_gateway.state.accepted[0].id
    assert reminder.sms_segments == sms_segments(sms_gateway.state.accepted[0].text) == 3
    assert "Пётр Сергеевич" in (reminder.body or "")
    assert [(e.method, e.outcome, e.kind) for e in events] == [
        (InformingMethod.SMS, InformingOutcome.SENT, "invitation")
    ]


@pytest.mark.parametrize("size", [1, 20])
async def test_a_batch_takes_four_statements_whatever_its_size(
    db: RolledBackDatabase, sms_gateway: RunningGateway, size: int
) -> None:
    # given
    async with db.session() as session:
        reminders = [await reminder_for(session, MORNING) for _ in range(size)]
        delivery = ReminderDelivery(session, RULES, sms(sms_gateway))
        db.statements.clear()

        # when
        attempts = await delivery.deliver_many([r.id for r in reminders if r.id], MORNING)

    # then: the reminders with what they need (locked), the consents, the reminders' updates
    # (one executemany), the informing events
    assert {a.outcome for a in attempts.values()} == {Outcome.SENT}
    assert [statement.split()[0] for statement in db.statements] == [
        "SELECT",
        "SELECT",
        "UPDATE",
        "INSERT",
    ]
    assert len(sms_gateway.state.accepted) == size
    assert sms_gateway.state.batches == ([size] if size > 1 else [])


async def test_in_a_batch_each_reminder_keeps_its_own_outcome(
    db: RolledBackDatabase, sms_gateway: RunningGateway
) -> None:
    # given: three SMS in one batch; the gateway is down for the first, the second's number
    # does not exist, and a fourth id names a reminder already sent
    async with db.session() as session:
        transient = await reminder_for(session, MORNING)
        invalid = await reminder_for(
            session, MORNING, phone="+70001234567", email="patient@example.org"
        )
        fine = await reminder_for(session, MORNING)
        done = await reminder_for(session, MORNING, status=ReminderStatus.SENT)
        sms_gateway.state.fail_next(1, status=503)

        # when
        attempts = await ReminderDelivery(session, RULES, sms(sms_gateway)).deliver_many(
            [r.id for r in (fine, invalid, transient, done) if r.id], MORNING
        )

        reminders = {r.id: r for r in await rows(session, Reminder)}
        events = await rows(session, InformingEvent)

    # then: one request to the gateway, and each reminder as if it had been sent alone
    assert sms_gateway.state.batches == [3]
    assert {id_: (a.outcome, a.delay) for id_, a in attempts.items()} == {
        transient.id: (Outcome.RETRY, timedelta(seconds=30)),
        invalid.id: (Outcome.FAILED, None),
        fine.id: (Outcome.SENT, None),
        done.id: (Outcome.NOTHING_TO_DO, None),
    }
    assert (reminders[transient.id].status, reminders[transient.id].attempts) == (
        ReminderStatus.QUEUED,
        1,
    )
    assert reminders[transient.id].last_error == "http 503 unavailable"
    assert (reminders[invalid.id].status, reminders[invalid.id].error) == (
        ReminderStatus.FAILED,
        DeliveryError.INVALID_RECIPIENT,
    )
    following = [r for r in reminders.values() if r.previous_id == invalid.id]
    assert [(r.channel, r.status) for r in following] == [(Channel.EMAIL, ReminderStatus.PENDING)]
    assert reminders[fine.id].provider_message_id == sms_gateway.state.accepted[0].id
    assert reminders[fine.id].sms_segments == sms_segments(sms_gateway.state.accepted[0].text)
    assert reminders[transient.id].sms_segments is None
    assert sorted((e.reminder_id, e.outcome) for e in events) == sorted(
        [(fine.id, InformingOutcome.SENT), (invalid.id, InformingOutcome.FAILED)]
    )


async def test_a_batch_carries_sms_calls_and_letters_and_leaves_e_mail_for_a_send_of_its_own(
    db: RolledBackDatabase, sms_gateway: RunningGateway, mail_server: RunningMailServer
) -> None:
    # given: one reminder on each channel; e-mail has no idempotency key, so a batch sent
    # again after a rollback would send it twice
    couriers: dict[Channel, Any] = {
        **sms(sms_gateway),
        Channel.EMAIL: SmtpCourier(mail_server.url, "dispensary@example.org"),
    }
    async with db.session() as session:
        text = await reminder_for(session, MORNING)
        email = await reminder_for(session, MORNING, channel=Channel.EMAIL, email="p@example.org")
        call = await reminder_for(session, MORNING, channel=Channel.VOICE_CALL)
        letter = await reminder_for(
            session, MORNING, channel=Channel.POST, postal_address="Ставрополь, ул. Ленина, 1"
        )
        delivery = ReminderDelivery(session, RULES, couriers)

        # when
        attempts = await delivery.deliver_many(
            [r.id for r in (text, email, call, letter) if r.id], MORNING
        )
        untouched = await reload(session, email)
        (untouched_status, untouched_attempts) = (untouched.status, untouched.attempts)
        alone = await delivery.deliver(email.id, MORNING)

        items = await rows(session, WorkItem)
    # then
    assert {id_: a.outcome for id_, a in attempts.items()} == {
        text.id: Outcome.SENT,
        email.id: Outcome.ALONE,
        call.id: Outcome.SENT,
        letter.id: Outcome.SENT,
    }
    assert (untouched_status, untouched_attempts) == (ReminderStatus.QUEUED, 0)
    assert mail_server.mailbox.messages[0]["To"] == "p@example.org"
    assert alone.outcome is Outcome.SENT
    assert [m.to for m in sms_gateway.state.accepted] == ["+79280000001"]
    assert [(i.kind, i.reminder_id) for i in items] == [(WorkItemKind.CALL_DUE, call.id)]


async def test_a_batch_the_gateway_refuses_as_a_whole_is_no_verdict_on_its_recipients(
    db: RolledBackDatabase, sms_gateway: RunningGateway
) -> None:
    async with db.session() as session:
        reminders = [await reminder_for(session, MORNING) for _ in range(2)]
        # a gateway without the bulk endpoint
        courier = SmsGatewayCourier(sms_gateway.url + "/elsewhere", callback_url=None)

        attempts = await ReminderDelivery(session, RULES, {Channel.SMS: courier}).deliver_many(
            [r.id for r in reminders if r.id], MORNING
        )

        reminders = await rows(session, Reminder)
    assert [a.outcome for a in attempts.values()] == [Outcome.RETRY, Outcome.RETRY]
    assert {(r.status, r.error, r.last_error) for r in reminders} == {
        (ReminderStatus.QUEUED, DeliveryError.UNAVAILABLE, "batch: http 404 ")
    }


async def test_a_batch_that_cannot_reach_the_gateway_retries_every_reminder(
    db: RolledBackDatabase,
) -> None:
    async with db.session() as session:
        reminders = [await reminder_for(session, MORNING) for _ in range(2)]
        # nothing listens there
        courier = SmsGatewayCourier(f"http://127.0.0.1:{free_port()}", callback_url=None)

        attempts = await ReminderDelivery(session, RULES, {Channel.SMS: courier}).deliver_many(
            [r.id for r in reminders if r.id], MORNING
        )

        reminders = await rows(session, Reminder)
    assert [a.outcome for a in attempts.values()] == [Outcome.RETRY, Outcome.RETRY]
    assert {(r.status, r.attempts, r.last_error) for r in reminders} == {
        (ReminderStatus.QUEUED, 1, "ConnectError")
    }


async def test_a_sender_killed_after_the_gateway_call_never_makes_it_accept_twice(
    db: RolledBackDatabase, sms_gateway: RunningGateway
) -> None:
    async with db.session() as session:
        reminder = await reminder_for(session, MORNING)
        await session.commit()

    # when: the gateway takes the message, then the sender dies before its commit
    async with db.session() as doomed:
        attempt = await ReminderDelivery(doomed, RULES, sms(sms_gateway)).deliver(
            reminder.id,
            MORNING,
        )
        await doomed.rollback()
    # and the broker hands the message to another sender
    async with db.session() as session:
        again = await ReminderDelivery(session, RULES, sms(sms_gateway)).deliver(
            reminder.id,
            MORNING + timedelta(minutes=1),
        )
        await session.commit()
        reminder = await reload(session, reminder)

    # then: asked twice, accepted once, recorded with the first message's id
    assert (attempt.outcome, again.outcome) == (Outcome.SENT, Outcome.SENT)
    assert sms_gateway.state.requests == {reminder.idempotency_key: 2}
    assert len(sms_gateway.state.accepted) == 1
    assert reminder.provider_message_id == sms_gateway.state.accepted[0].id
    assert reminder.status is ReminderStatus.SENT


async def test_transient_failures_retry_with_growing_backoff_then_succeed(
    db: RolledBackDatabase, sms_gateway: RunningGateway
) -> None:
    async with db.session() as session:
        reminder = await reminder_for(session, MORNING)
        delivery = ReminderDelivery(session, RULES, sms(sms_gateway))
        sms_gateway.state.fail_next(2, status=503)

        outcomes = [await delivery.deliver(reminder.id, MORNING) for _ in range(3)]

        reminder = await reload(session, reminder)
    assert [(a.outcome, a.delay) for a in outcomes] == [
        (Outcome.RETRY, timedelta(seconds=30)),
        (Outcome.RETRY, timedelta(seconds=60)),
        (Outcome.SENT, None),
    ]
    assert (reminder.status, reminder.attempts) == (ReminderStatus.SENT, 3)
    assert len(sms_gateway.state.accepted) == 1


async def test_transient_failures_past_the_budget_make_a_dead_letter(
    db: RolledBackDatabase, sms_gateway: RunningGateway
) -> None:
    async with db.session() as session:
        reminder = await reminder_for(session, MORNING)
        limits = DeliveryLimits(max_attempts=2)
        delivery = ReminderDelivery(session, RULES, sms(sms_gateway), limits)
        sms_gateway.state.fail_next(5, status=503)

        outcomes = [(await delivery.deliver(reminder.id, MORNING)).outcome for _ in range(2)]

        reminder = await reload(session, reminder)
    assert outcomes == [Outcome.RETRY, Outcome.DEAD]
    assert (reminder.status, reminder.error) == (ReminderStatus.DEAD, DeliveryError.UNAVAILABLE)
    assert reminder.last_error == "http 503 unavailable"


async def test_an_invalid_number_moves_the_reminder_to_the_next_channel(
    db: RolledBackDatabase, sms_gateway: RunningGateway
) -> None:
    async with db.session() as session:
        reminder = await reminder_for(
            session, MORNING, phone="+70001234567", email="patient@example.org"
        )

        attempt = await ReminderDelivery(session, RULES, sms(sms_gateway)).deliver(
            reminder.id,
            MORNING,
        )

        reminders = await rows(session, Reminder)
    assert attempt.outcome is Outcome.FAILED
    failed, following = reminders
    assert (failed.status, failed.error) == (
        ReminderStatus.FAILED,
        DeliveryError.INVALID_RECIPIENT,
    )
    assert (following.channel, following.status, following.previous_id) == (
        Channel.EMAIL,
        ReminderStatus.PENDING,
        failed.id,
    )
    assert following.scheduled_for == MORNING


async def test_a_receipt_of_non_delivery_fails_the_sms_and_moves_to_the_next_channel(
    db: RolledBackDatabase, sms_gateway: RunningGateway
) -> None:
    # given: an SMS the gateway accepted
    async with db.session() as session:
        reminder = await reminder_for(session, MORNING, email="patient@example.org")
        delivery = ReminderDelivery(session, RULES, sms(sms_gateway))
        await delivery.deliver(reminder.id, MORNING)
        reminder = await reload(session, reminder)
        assert reminder.provider_message_id is not None

        # when: the provider reports it undelivered, twice
        later = MORNING + timedelta(minutes=5)
        applied = await delivery.apply_receipt(
            "gateway", reminder.provider_message_id, False, later
        )
        repeated = await delivery.apply_receipt(
            "gateway", reminder.provider_message_id, False, later
        )

        reminders = await rows(session, Reminder)
        events = await rows(session, InformingEvent)

    # then
    assert (applied, repeated) == (True, False)
    failed, following = reminders
    assert (failed.status, failed.error, failed.provider_message_id) == (
        ReminderStatus.FAILED,
        DeliveryError.UNDELIVERED,
        reminder.provider_message_id,
    )
    assert (following.channel, following.status, following.previous_id) == (
        Channel.EMAIL,
        ReminderStatus.PENDING,
        failed.id,
    )
    assert [e.outcome for e in events] == [InformingOutcome.SENT, InformingOutcome.FAILED]


async def test_withdrawn_consent_stops_the_channel_and_an_exhausted_ladder_raises_a_task(
    db: RolledBackDatabase, sms_gateway: RunningGateway
) -> None:
    async with db.session() as session:
        reminder = await reminder_for(session, MORNING)
        await PatientService(session).set_consent(
            ADMIN, reminder.patient_id, Channel.SMS, False, "written form"
        )
        await PatientService(session).set_consent(
            ADMIN, reminder.patient_id, Channel.VOICE_CALL, False, "written form"
        )

        attempt = await ReminderDelivery(session, RULES, sms(sms_gateway)).deliver(
            reminder.id,
            MORNING,
        )

        reminder = await reload(session, reminder)
        items = await rows(session, WorkItem)
    assert attempt.outcome is Outcome.SKIPPED
    assert (reminder.status, reminder.skip_reason) == (
        ReminderStatus.SKIPPED,
        SkipReason.NO_CONSENT,
    )
    assert sms_gateway.state.requests == {}
    assert [(i.kind, i.reminder_id) for i in items] == [
        (WorkItemKind.UNREACHABLE_CONTACT, reminder.id)
    ]


async def test_a_reminder_for_an_attended_visit_is_skipped(
    db: RolledBackDatabase, sms_gateway: RunningGateway
) -> None:
    async with db.session() as session:
        reminder = await reminder_for(session, MORNING)
        visit = await session.get(Visit, reminder.visit_id)
        assert visit is not None
        visit.status, visit.attended_on = VisitStatus.ATTENDED, DAY
        await session.flush()

        attempt = await ReminderDelivery(session, RULES, sms(sms_gateway)).deliver(
            reminder.id,
            MORNING,
        )

        reminder = await reload(session, reminder)
    assert attempt.outcome is Outcome.SKIPPED
    assert reminder.skip_reason is SkipReason.NOT_NEEDED
    assert sms_gateway.state.requests == {}


async def test_a_call_task_is_due_inside_the_representatives_working_hours(
    db: RolledBackDatabase,
) -> None:
    async with db.session() as session:
        evening = local(MOSCOW, DAY, 19, 0)
        reminder = await reminder_for(
            session, evening, channel=Channel.VOICE_CALL, kind=ReminderKind.INVITATION
        )

        attempt = await ReminderDelivery(session, RULES, {}).deliver(reminder.id, evening)

        items = await rows(session, WorkItem)
    assert attempt.outcome is Outcome.SENT
    assert [(i.kind, i.due_at) for i in items] == [
        (WorkItemKind.CALL_DUE, local(MOSCOW, DAY + timedelta(days=1), 9, 0))
    ]


async def test_letters_join_the_days_postal_batch(db: RolledBackDatabase) -> None:
    async with db.session() as session:
        reminder = await reminder_for(
            session, MORNING, channel=Channel.POST, postal_address="355000, Ставрополь, ул. Мира, 1"
        )

        attempt = await ReminderDelivery(session, RULES, {}).deliver(reminder.id, MORNING)
        batches = PostalBatches(session, MOSCOW)
        days = await batches.days(DAY - timedelta(days=7))
        letters = await batches.letters(DAY)
    assert attempt.outcome is Outcome.SENT
    assert days == [(DAY, 1)]
    assert [(letter.addressee, letter.postal_address) for letter in letters] == [
        ("Иванов Пётр Сергеевич", "355000, Ставрополь, ул. Мира, 1")
    ]
    assert "диспансерный приём" in letters[0].text


async def test_email_goes_to_a_real_smtp_server_and_a_hard_bounce_is_permanent(
    db: RolledBackDatabase, mail_server: RunningMailServer
) -> None:
    couriers: dict[Channel, Any] = {
        Channel.EMAIL: SmtpCourier(mail_server.url, "dispensary@example.org")
    }
    async with db.session() as session:
        good = await reminder_for(session, MORNING, channel=Channel.EMAIL, email="p@example.org")
        bounced = await reminder_for(
            session, MORNING, channel=Channel.EMAIL, email="p@bounce.invalid", phone=None
        )
        delivery = ReminderDelivery(session, RULES, couriers)

        sent = await delivery.deliver(good.id, MORNING)
        failed = await delivery.deliver(bounced.id, MORNING)

        bounced = await reload(session, bounced)
    assert (sent.outcome, failed.outcome) == (Outcome.SENT, Outcome.FAILED)
    (message,) = mail_server.mailbox.messages
    assert message["To"] == "p@example.org"
    assert message["Subject"] == "Диспансерное наблюдение"
    assert "Пётр Сергеевич" in message.get_content()
    assert bounced.error is DeliveryError.HARD_BOUNCE


async def test_a_receipt_whose_id_two_reminders_carry_applies_to_the_newest(
    db: RolledBackDatabase, sms_gateway: RunningGateway
) -> None:
    # given: an SMS the gateway took as gw-1, then, after the gateway numbered its messages
    # from 1 again (a restart), another it also took as gw-1
    async with db.session() as session:
        delivery = ReminderDelivery(session, RULES, sms(sms_gateway))
        older = await reminder_for(session, MORNING)
        await delivery.deliver(older.id, MORNING)
        sms_gateway.state.restart()
        newer = await reminder_for(session, MORNING)
        await delivery.deliver(newer.id, MORNING + timedelta(minutes=1))
        older, newer = await reload(session, older), await reload(session, newer)
        assert older.provider_message_id == newer.provider_message_id
        assert (older.provider, newer.provider) == ("gateway", "gateway")

        # when: a receipt for that id from another provider, then from the gateway
        later = MORNING + timedelta(minutes=5)
        elsewhere = await delivery.apply_receipt("smsru", "gw-1", True, later)
        applied = await delivery.apply_receipt("gateway", "gw-1", True, later)

        older, newer = await reload(session, older), await reload(session, newer)

    # then: the other provider's changes nothing; the gateway's lands on the newer reminder
    assert (elsewhere, applied) == (False, True)
    assert (older.status, newer.status) == (ReminderStatus.SENT, ReminderStatus.DELIVERED)
