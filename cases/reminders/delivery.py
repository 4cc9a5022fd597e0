"""Sending claimed reminders through couriers, and recording every attempt and outcome."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy.ext.asyncio import AsyncSession

from cases.patients.models import Channel, Patient
from cases.patients.repository import ConsentRepository
from cases.reminders.couriers import (
    Accepted,
    BatchCourier,
    Courier,
    DeliveryFailed,
    DeliveryLimits,
    OutgoingMessage,
    handed_over,
)
from cases.reminders.models import (
    DeliveryError,
    InformingMethod,
    InformingOutcome,
    Reminder,
    ReminderKind,
    ReminderStatus,
    SkipReason,
)
from cases.reminders.outbox import outbox_row
from cases.reminders.policy import Reachability, next_allowed_send_time, reachability_of, render
from cases.reminders.repository import (
    InformingEventRepository,
    ReminderForDelivery,
    ReminderRepository,
)
from cases.supervision.models import CaseStatus, VisitStatus
from cases.supervision.policy import CaseRules
from cases.supervision.repository import SupervisionCaseRepository
from cases.worklist.models import WorkItemKind
from cases.worklist.policy import work_item_row
from cases.worklist.repository import WorkItemRepository

# Channels that reach the patient directly, and so wait for the patient's waking hours.
PATIENT_FACING: Final = frozenset({Channel.SMS, Channel.EMAIL})


INFORMING_METHOD: Final[Mapping[Channel, InformingMethod]] = {
    Channel.SMS: InformingMethod.SMS,
    Channel.EMAIL: InformingMethod.EMAIL,
    Channel.VOICE_CALL: InformingMethod.PHONE_CALL,
    Channel.POST: InformingMethod.LETTER,
}


EMAIL_SUBJECT: Final = "Диспансерное наблюдение"


_UNKNOWN: Final = "—"


class Outcome(enum.StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"
    RETRY = "retry"
    DEAD = "dead"
    NOTHING_TO_DO = "nothing_to_do"
    # Left out of a batch, untouched, for a send of its own (see `deliver_many`).
    ALONE = "alone"


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    # For RETRY: how long to wait before the next attempt.
    delay: timedelta | None = None


@dataclass(frozen=True)
class _Context:
    patient: Patient
    reachability: Reachability
    values: dict[str, str]


@dataclass(frozen=True)
class _Send:
    """A reminder ready for its courier."""

    reminder: Reminder
    context: _Context
    message: OutgoingMessage


class ReminderDelivery:
    """Delivers queued reminders, one or a batch at a time: re-checks each, renders it, hands it
    to a courier, records the result."""

    def __init__(
        self,
        session: AsyncSession,
        rules: CaseRules,
        couriers: Mapping[Channel, Courier],
        limits: DeliveryLimits | None = None,
    ) -> None:
        self.rules = rules
        self.couriers = couriers
        self.limits = limits or DeliveryLimits()
        self.reminders = ReminderRepository.from_session(session)
        self.consents = ConsentRepository.from_session(session)
        self.cases = SupervisionCaseRepository.from_session(session)
        self.work_items = WorkItemRepository.from_session(session)
        self.events = InformingEventRepository.from_session(session)
        # Informing events written at the end, in one statement for the whole batch.
        self._informed: list[dict[str, Any]] = []

    async def deliver(self, reminder_id: int, now: datetime) -> Attempt:
        return (await self._deliver([reminder_id], now, batch=False))[reminder_id]

    async def deliver_many(self, reminder_ids: Sequence[int], now: datetime) -> dict[int, Attempt]:
        """Deliver a batch in one transaction: one locked read of the reminders with what they
        need, one of the consents, every channel's messages handed over together, and the
        results written in one flush. Each reminder keeps its own rules, attempts and key.

        A batch that fails after its hand-over is rolled back and sent again, so it takes only
        messages the courier can be asked for twice (`BatchCourier`: one idempotency key per
        message) and the channels that go out through the database (calls, letters). Any other
        (e-mail over SMTP has no such key) is left queued and untouched, as `Outcome.ALONE`,
        for the caller to send on its own.
        """
        return await self._deliver(reminder_ids, now, batch=True)

    async def _deliver(
        self, reminder_ids: Sequence[int], now: datetime, *, batch: bool
    ) -> dict[int, Attempt]:
        attempts = dict.fromkeys(reminder_ids, Attempt(Outcome.NOTHING_TO_DO))
        # Delivered twice by the broker, cancelled meanwhile, or already done: nothing to do.
        queued = []
        for found in await self.reminders.for_delivery(reminder_ids):
            if found.reminder.status != ReminderStatus.QUEUED:
                continue
            if batch and not self._batches(found.reminder.channel):
                attempts[found.reminder.id] = Attempt(Outcome.ALONE)  # type: ignore[index]
                continue
            queued.append(found)
        contexts = await self._contexts(queued)
        sends: list[_Send] = []
        for found, context in zip(queued, contexts, strict=True):
            prepared = await self._prepare(found, context, now)
            if isinstance(prepared, Attempt):
                attempts[found.reminder.id] = prepared  # type: ignore[index]
            else:
                sends.append(prepared)
        for send, result in zip(sends, await self._hand_over(sends), strict=True):
            attempts[send.reminder.id] = await self._record(send, result, now)  # type: ignore[index]
        await self._write()
        return attempts

    async def _prepare(
        self, found: ReminderForDelivery, context: _Context, now: datetime
    ) -> Attempt | _Send:
        """Everything short of the courier: the hour, whether it is still needed, the rung."""
        reminder = found.reminder
        if reminder.channel in PATIENT_FACING:
            # A retry may come back at night: wait for the morning, it costs no attempt.
            opens = next_allowed_send_time(
                now,
                ZoneInfo(context.patient.time_zone),
                self.rules.policy.quiet_start,
                self.rules.policy.quiet_end,
            )
            if opens > now:
                return Attempt(Outcome.RETRY, opens - now)
        if not _still_needed(found):
            self._finish(reminder, ReminderStatus.SKIPPED, now, skip=SkipReason.NOT_NEEDED)
            return Attempt(Outcome.SKIPPED)
        if reminder.channel == Channel.VOICE_CALL:
            await self._call_task(reminder, context, now)
            return Attempt(Outcome.SENT)
        if not context.reachability.allows(reminder.channel):
            has_contact = _recipient(context.patient, reminder.channel) is not None
            reason = SkipReason.NO_CONSENT if has_contact else SkipReason.NO_CONTACT
            self._finish(reminder, ReminderStatus.SKIPPED, now, skip=reason)
            await self._next_rung(reminder, context, now)
            return Attempt(Outcome.SKIPPED)
        recipient = _recipient(context.patient, reminder.channel)
        assert recipient is not None  # reachability checked it
        text = render(reminder.template, **context.values)
        reminder.recipient, reminder.body = recipient, text
        if reminder.channel == Channel.POST:
            # A letter joins the day's batch for the mailing house; that is its sending.
            self._finish(reminder, ReminderStatus.SENT, now)
            self._inform(reminder, InformingOutcome.SENT, now)
            return Attempt(Outcome.SENT)
        reminder.attempts += 1
        reminder.queued_at = now
        message = OutgoingMessage(
            channel=reminder.channel,
            recipient=recipient,
            subject=EMAIL_SUBJECT,
            text=text,
            idempotency_key=reminder.idempotency_key,
        )
        return _Send(reminder, context, message)

    def _batches(self, channel: Channel) -> bool:
        """Whether a batch may carry `channel`: no courier (the database is the channel, or the
        send fails as not configured) or one that takes a batch under idempotency keys."""
        courier = self.couriers.get(channel)
        return courier is None or isinstance(courier, BatchCourier)

    async def _hand_over(self, sends: Sequence[_Send]) -> list[Accepted | DeliveryFailed]:
        """Each channel's messages to its courier at once; results in the order of `sends`."""
        results: dict[int, Accepted | DeliveryFailed] = {}
        for channel in dict.fromkeys(send.message.channel for send in sends):
            indexes = [i for i, send in enumerate(sends) if send.message.channel == channel]
            messages = [sends[i].message for i in indexes]
            courier = self.couriers.get(channel)
            outcomes: Sequence[Accepted | DeliveryFailed]
            if courier is None:
                missing = DeliveryFailed(
                    DeliveryError.NOT_CONFIGURED, "no courier for the channel", permanent=True
                )
                outcomes = [missing] * len(messages)
            elif isinstance(courier, BatchCourier):
                outcomes = await courier.deliver_many(messages)
            else:
                outcomes = [await handed_over(courier, message) for message in messages]
            results.update(zip(indexes, outcomes, strict=True))
        return [results[i] for i in range(len(sends))]

    async def _record(
        self, send: _Send, result: Accepted | DeliveryFailed, now: datetime
    ) -> Attempt:
        reminder = send.reminder
        if isinstance(result, DeliveryFailed):
            return await self._failed(reminder, send.context, result, now)
        reminder.provider, reminder.provider_message_id = (
            result.provider,
            result.provider_message_id,
        )
        reminder.sms_segments = result.sms_segments
        reminder.error, reminder.last_error = None, None
        self._finish(reminder, ReminderStatus.SENT, now)
        self._inform(reminder, InformingOutcome.SENT, now)
        return Attempt(Outcome.SENT)

    async def _failed(
        self, reminder: Reminder, context: _Context, failure: DeliveryFailed, now: datetime
    ) -> Attempt:
        reminder.error, reminder.last_error = failure.error, failure.detail
        if failure.permanent:
            self._finish(reminder, ReminderStatus.FAILED, now)
            self._inform(reminder, InformingOutcome.FAILED, now)
            await self._next_rung(reminder, context, now)
            return Attempt(Outcome.FAILED)
        exhausted = (
            reminder.attempts >= self.limits.max_attempts
            or now - reminder.scheduled_for >= self.limits.max_age
        )
        if exhausted:
            self._finish(reminder, ReminderStatus.DEAD, now)
            self._inform(reminder, InformingOutcome.FAILED, now)
            return Attempt(Outcome.DEAD)
        reminder.updated_at = now
        self.reminders.stage(reminder)
        return Attempt(Outcome.RETRY, self.limits.backoff(reminder.attempts))

    async def give_up(self, reminder_id: int, now: datetime) -> bool:
        """Mark a reminder dead whose message the broker stopped retrying (an unexpected error)."""
        reminder = await self.reminders.lock(reminder_id)
        if reminder is None or reminder.status != ReminderStatus.QUEUED:
            return False
        reminder.last_error = "retries exhausted"
        self._finish(reminder, ReminderStatus.DEAD, now)
        await self._write()
        return True

    async def apply_receipt(
        self, provider: str, provider_message_id: str, delivered: bool, now: datetime
    ) -> bool:
        """A delivery receipt from an SMS provider; a repeated or unknown one changes nothing.
        Of the reminders that provider numbered so, the newest is the one it means."""
        reminder = await self.reminders.by_provider_message_id(
            provider, provider_message_id, Channel.SMS
        )
        if reminder is None or reminder.status != ReminderStatus.SENT:
            return False
        if delivered:
            reminder.delivered_at = now
            self._finish(reminder, ReminderStatus.DELIVERED, now)
            self._inform(reminder, InformingOutcome.DELIVERED, now)
            await self._write()
            return True
        # Read before the reminder changes: the read refreshes the (already locked) row.
        found = await self.reminders.for_delivery([reminder.id])  # type: ignore[list-item]
        (context,) = await self._contexts(found)
        reminder.error, reminder.last_error = DeliveryError.UNDELIVERED, "receipt: not delivered"
        self._finish(reminder, ReminderStatus.FAILED, now)
        self._inform(reminder, InformingOutcome.FAILED, now)
        await self._next_rung(reminder, context, now)
        await self._write()
        return True

    # --- the pieces ---------------------------------------------------------------------

    async def _contexts(self, found: Sequence[ReminderForDelivery]) -> list[_Context]:
        """What each reminder's delivery needs to know, with one read of the consents."""
        consents = await self.consents.granted([f.reminder.patient_id for f in found])
        return [
            _Context(
                f.patient, reachability_of(f.patient, consents[f.reminder.patient_id]), _values(f)
            )
            for f in found
        ]

    async def _call_task(self, reminder: Reminder, context: _Context, now: datetime) -> None:
        """A call is a representative's task, due inside their working hours."""
        policy = self.rules.policy
        due = next_allowed_send_time(
            now, ZoneInfo(self.rules.default_zone), policy.work_start, policy.work_end
        )
        await self._raise_task(reminder, WorkItemKind.CALL_DUE, due, f"call:{reminder.id}", now)
        reminder.recipient = context.patient.phone
        reminder.body = render(ReminderKind.CALL_TASK.value, **context.values)
        self._finish(reminder, ReminderStatus.SENT, now)

    async def _next_rung(self, reminder: Reminder, context: _Context, now: datetime) -> None:
        """The same message on the next channel of the ladder, or a task: the patient is unreachable."""
        if reminder.kind == ReminderKind.CALL_TASK:
            return
        ladder = self.rules.policy.ladder
        following = (
            ladder[ladder.index(reminder.channel) + 1 :] if reminder.channel in ladder else ()
        )
        channel = next((c for c in following if context.reachability.allows(c)), None)
        if channel is not None:
            await self.reminders.plan(
                [
                    outbox_row(
                        patient_id=reminder.patient_id,
                        case_id=reminder.case_id,
                        visit_id=reminder.visit_id,
                        kind=reminder.kind,
                        channel=channel,
                        template=reminder.template,
                        scheduled_for=now,
                        idempotency_key=f"{reminder.idempotency_key}>{channel.value}"[:128],
                        now=now,
                        previous_id=reminder.id,
                    )
                ]
            )
            return
        root = reminder.idempotency_key.partition(">")[0]
        await self._raise_task(
            reminder, WorkItemKind.UNREACHABLE_CONTACT, now, f"unreachable:{root}"[:128], now
        )

    async def _raise_task(
        self,
        reminder: Reminder,
        kind: WorkItemKind,
        due: datetime,
        dedup_key: str,
        now: datetime,
    ) -> None:
        """A work item about `reminder` for its case's representative (raised once per key)."""
        owner = await self.cases.representative_of(reminder.case_id) if reminder.case_id else None
        await self.work_items.raise_many(
            [
                work_item_row(
                    kind=kind,
                    owner_id=owner,
                    patient_id=reminder.patient_id,
                    case_id=reminder.case_id,
                    visit_id=reminder.visit_id,
                    reminder_id=reminder.id,
                    due_at=due,
                    dedup_key=dedup_key,
                    now=now,
                )
            ]
        )

    def _finish(
        self,
        reminder: Reminder,
        status: ReminderStatus,
        now: datetime,
        skip: SkipReason | None = None,
    ) -> None:
        reminder.status, reminder.updated_at = status, now
        if skip is not None:
            reminder.skip_reason = skip
        if status == ReminderStatus.SENT:
            reminder.sent_at = now
        self.reminders.stage(reminder)

    def _inform(self, reminder: Reminder, outcome: InformingOutcome, now: datetime) -> None:
        self._informed.append(
            {
                "patient_id": reminder.patient_id,
                "case_id": reminder.case_id,
                "reminder_id": reminder.id,
                "contact_attempt_id": None,
                "kind": reminder.kind.value,
                "method": INFORMING_METHOD[reminder.channel],
                "outcome": outcome,
                "occurred_at": now,
            }
        )

    async def _write(self) -> None:
        """What the delivery staged: the reminders' changes, then the informing events."""
        await self.reminders.flush()
        informed, self._informed = self._informed, []
        await self.events.record(informed)


def _values(found: ReminderForDelivery) -> dict[str, str]:
    """What the reminder's template may name, `—` where it is unknown."""
    patient, visit = found.patient, found.visit
    values = {
        "name": " ".join(filter(None, [patient.first_name, patient.middle_name])),
        "hotline": _spoken_phone(found.hotline) if found.hotline else _UNKNOWN,
        "clinic": _UNKNOWN,
        "window_start": _UNKNOWN,
        "window_end": _UNKNOWN,
        "appointment_date": _UNKNOWN,
        "appointment_time": _UNKNOWN,
    }
    if visit is not None:
        values["window_start"] = visit.window_start.strftime("%d.%m.%Y")
        values["window_end"] = visit.window_end.strftime("%d.%m.%Y")
        if visit.appointment_at is not None:
            local = visit.appointment_at.astimezone(ZoneInfo(patient.time_zone))
            values["appointment_date"] = local.strftime("%d.%m.%Y")
            values["appointment_time"] = local.strftime("%H:%M")
    if found.reminder.case_id is not None:
        values["clinic"] = found.clinic_name or _UNKNOWN
    return values


def _still_needed(found: ReminderForDelivery) -> bool:
    reminder = found.reminder
    if reminder.case_id is not None and (
        found.case is None or found.case.status != CaseStatus.ACTIVE
    ):
        return False
    if reminder.visit_id is None:
        return True
    if found.visit is None:
        return False
    if reminder.kind in (ReminderKind.REBOOKING, ReminderKind.CALL_TASK):
        # After a miss: needed unless the miss was reversed or the visit withdrawn.
        return found.visit.status == VisitStatus.MISSED
    return found.visit.status == VisitStatus.PLANNED


def _recipient(patient: Patient, channel: Channel) -> str | None:
    return {
        Channel.SMS: patient.phone,
        Channel.EMAIL: patient.email,
        Channel.VOICE_CALL: patient.phone,
        Channel.POST: patient.postal_address,
    }[channel]


def _spoken_phone(e164: str) -> str:
    """+78007071135 as a Russian reader writes it: 8 (800) 707-11-35."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
