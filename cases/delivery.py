"""Reminder delivery: the dispatcher that releases due outbox rows, and the sender that delivers them.

Channels are reached through couriers (`Courier`), which the caller supplies; this module
decides what to send, when, on which rung of the ladder, and what to record. It never commits.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy.ext.asyncio import AsyncSession

from cases.actor import Actor
from cases.audit import AuditLog
from cases.errors import InvalidState, NotFound
from cases.models import (
    CaseStatus,
    Channel,
    DeliveryError,
    InformingMethod,
    InformingOutcome,
    Patient,
    Reminder,
    ReminderKind,
    ReminderStatus,
    SkipReason,
    VisitStatus,
    WorkItemKind,
    WorkItemStatus,
    utcnow,
)
from cases.pagination import PageQuery, PageRequest
from cases.policy import Reachability, next_allowed_send_time, render
from cases.repository import (
    ConsentRepository,
    InformingEventRepository,
    InformingFilter,
    PatientRepository,
    ReminderFilter,
    ReminderForDelivery,
    ReminderRepository,
    SupervisionCaseRepository,
    WorkItemRepository,
)
from cases.service import CaseRules, PatientService, reachability_of

__all__ = [
    "Accepted",
    "BatchCourier",
    "Courier",
    "DeliveryFailed",
    "DeliveryLimits",
    "Outcome",
    "OutgoingMessage",
    "PostalBatches",
    "ReminderDelivery",
    "ReminderDispatcher",
    "ReminderOperations",
    "SmsReplies",
    "handed_over",
]

# Channels that reach the patient directly, and so wait for the patient's waking hours.
PATIENT_FACING: Final = frozenset({Channel.SMS, Channel.EMAIL})
INFORMING_METHOD: Final[Mapping[Channel, InformingMethod]] = {
    Channel.SMS: InformingMethod.SMS,
    Channel.EMAIL: InformingMethod.EMAIL,
    Channel.VOICE_CALL: InformingMethod.PHONE_CALL,
    Channel.POST: InformingMethod.LETTER,
}
EMAIL_SUBJECT: Final = "Диспансерное наблюдение"
# Words that, sent back by SMS, withdraw consent to SMS (compared in upper case).
STOP_WORDS: Final = frozenset({"STOP", "СТОП", "ОТПИСКА", "UNSUBSCRIBE"})
_UNKNOWN: Final = "—"


@dataclass(frozen=True)
class OutgoingMessage:
    """One message for a courier; `idempotency_key` is the same on every attempt."""

    channel: Channel
    recipient: str
    subject: str
    text: str
    idempotency_key: str


@dataclass(frozen=True)
class Accepted:
    provider_message_id: str


class DeliveryFailed(Exception):
    """A courier could not hand the message over; `detail` names a code, never personal data."""

    def __init__(self, error: DeliveryError, detail: str, *, permanent: bool) -> None:
        super().__init__(f"{error.value}: {detail}")
        self.error = error
        self.detail = detail[:500]
        self.permanent = permanent


class Courier(Protocol):
    async def deliver(self, message: OutgoingMessage) -> Accepted: ...


@runtime_checkable
class BatchCourier(Courier, Protocol):
    """A courier that hands many messages over at once (a provider's bulk endpoint)."""

    async def deliver_many(
        self, messages: Sequence[OutgoingMessage]
    ) -> Sequence[Accepted | DeliveryFailed]:
        """One result per message, in order; a failure is returned, not raised."""
        ...


@dataclass(frozen=True)
class DeliveryLimits:
    max_attempts: int = 6
    min_backoff: timedelta = timedelta(seconds=30)
    max_backoff: timedelta = timedelta(minutes=30)
    max_age: timedelta = timedelta(hours=24)

    def backoff(self, attempts: int) -> timedelta:
        """Exponential: min, 2·min, 4·min, ... capped at max."""
        grown: timedelta = self.min_backoff * 2 ** max(0, attempts - 1)
        return min(self.max_backoff, grown)

    @property
    def stale_after(self) -> timedelta:
        """A queued reminder untouched this long has lost its message (no retry waits longer)."""
        return self.max_backoff + timedelta(minutes=10)


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


class ReminderDispatcher:
    """Releases due reminders to the sender: inside the patient's waking hours, once each."""

    def __init__(
        self, session: AsyncSession, rules: CaseRules, limits: DeliveryLimits | None = None
    ) -> None:
        self.rules = rules
        self.limits = limits or DeliveryLimits()
        self.reminders = ReminderRepository.from_session(session)

    async def claim(self, now: datetime, batch_size: int = 500) -> list[int]:
        """Queue one batch of due reminders; returns their ids, plus any whose message was lost.

        A reminder due outside the patient's quiet-hours window is moved to the window's next
        opening in the patient's zone instead, so the next run does not look at it again.
        """
        policy = self.rules.policy
        ready: list[int] = []
        later: dict[int, datetime] = {}
        for row in await self.reminders.due(now, batch_size):
            if row.channel not in PATIENT_FACING:
                ready.append(row.id)
                continue
            at = next_allowed_send_time(
                now, ZoneInfo(row.time_zone), policy.quiet_start, policy.quiet_end
            )
            if at <= now:
                ready.append(row.id)
            else:
                later[row.id] = at
        await self.reminders.mark_queued(ready, now)
        await self.reminders.postpone(later, now)
        lost = await self.reminders.stale_queued(now - self.limits.stale_after, batch_size)
        await self.reminders.touch_queued(lost, now)
        return ready + lost


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


async def handed_over(courier: Courier, message: OutgoingMessage) -> Accepted | DeliveryFailed:
    """What the courier answered for `message`: its acceptance, or its failure returned."""
    try:
        return await courier.deliver(message)
    except DeliveryFailed as failure:
        return failure


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
        reminder.provider_message_id = result.provider_message_id
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

    async def apply_receipt(self, provider_message_id: str, delivered: bool, now: datetime) -> bool:
        """A delivery receipt from the SMS provider; a repeated or unknown one changes nothing."""
        reminder = await self.reminders.by_provider_message_id(provider_message_id, Channel.SMS)
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
                    {
                        "patient_id": reminder.patient_id,
                        "case_id": reminder.case_id,
                        "visit_id": reminder.visit_id,
                        "kind": reminder.kind,
                        "channel": channel,
                        "template": reminder.template,
                        "scheduled_for": now,
                        "status": ReminderStatus.PENDING,
                        "attempts": 0,
                        "previous_id": reminder.id,
                        "idempotency_key": f"{reminder.idempotency_key}>{channel.value}"[:128],
                        "created_at": now,
                        "updated_at": now,
                    }
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
                {
                    "kind": kind,
                    "owner_id": owner,
                    "patient_id": reminder.patient_id,
                    "case_id": reminder.case_id,
                    "visit_id": reminder.visit_id,
                    "reminder_id": reminder.id,
                    "priority": 2,
                    "due_at": due,
                    "status": WorkItemStatus.OPEN,
                    "dedup_key": dedup_key,
                    "created_at": now,
                }
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


class SmsReplies:
    """What a patient texts back: a stop word withdraws their SMS consent."""

    def __init__(self, session: AsyncSession, rules: CaseRules) -> None:
        self.patients = PatientRepository.from_session(session)
        self.consent = PatientService(session, rules)

    @staticmethod
    def is_stop(text: str) -> bool:
        words = text.strip().upper().split()
        return bool(words) and words[0].strip(".!") in STOP_WORDS

    async def receive(self, actor: Actor, phone: str, text: str) -> int:
        """Returns how many patients' consent the reply withdrew."""
        if not self.is_stop(text):
            return 0
        patients = await self.patients.with_phone(phone)
        for patient in patients:
            await self.consent.set_consent(
                actor,
                patient.id,  # type: ignore[arg-type]
                Channel.SMS,
                granted=False,
                method="sms STOP",
            )
        return len(patients)


class ReminderOperations:
    """What an operator does with the outbox: look, send now, cancel, retry a dead letter."""

    def __init__(self, session: AsyncSession) -> None:
        self.reminders = ReminderRepository.from_session(session)
        self.events = InformingEventRepository.from_session(session)
        self.audit = AuditLog(session)

    def page_query(self, filter: ReminderFilter, request: PageRequest) -> PageQuery:
        return PageQuery(self.reminders.listing(filter), self.reminders.ordering(), request)

    async def counts(self, filter: ReminderFilter) -> dict[ReminderStatus, int]:
        return await self.reminders.count_by_status(filter)

    def informing_page_query(self, filter: InformingFilter, request: PageRequest) -> PageQuery:
        return PageQuery(self.events.listing(filter), self.events.ordering(), request)

    async def get(self, reminder_id: int) -> Reminder:
        reminder = await self.reminders.lock(reminder_id)
        if reminder is None:
            raise NotFound("no such reminder", field="id")
        return reminder

    async def send_now(self, actor: Actor, reminder_id: int) -> Reminder:
        """Make a pending reminder due at once; the next dispatch sends it (waking hours apply)."""
        return await self._change(
            actor,
            reminder_id,
            "reminder.send_now",
            (ReminderStatus.PENDING,),
            ReminderStatus.PENDING,
        )

    async def cancel(self, actor: Actor, reminder_id: int) -> Reminder:
        return await self._change(
            actor,
            reminder_id,
            "reminder.cancelled",
            (ReminderStatus.PENDING, ReminderStatus.QUEUED),
            ReminderStatus.CANCELLED,
        )

    async def retry(self, actor: Actor, reminder_id: int) -> Reminder:
        """A dead or failed reminder goes back to the outbox, due now, with a fresh attempt budget."""
        reminder = await self._change(
            actor,
            reminder_id,
            "reminder.retried",
            (ReminderStatus.DEAD, ReminderStatus.FAILED),
            ReminderStatus.PENDING,
        )
        reminder.attempts, reminder.error = 0, None
        await self.reminders.add(reminder)
        return reminder

    async def _change(
        self,
        actor: Actor,
        reminder_id: int,
        action: str,
        allowed: Sequence[ReminderStatus],
        status: ReminderStatus,
    ) -> Reminder:
        reminder = await self.get(reminder_id)
        if reminder.status not in allowed:
            names = ", ".join(s.value for s in allowed)
            raise InvalidState(
                f"the reminder is {reminder.status.value}; this needs it {names}", field="id"
            )
        now = utcnow()
        before = reminder.status.value
        reminder.status, reminder.updated_at = status, now
        if status == ReminderStatus.PENDING:
            reminder.scheduled_for = now
        await self.reminders.add(reminder)
        changes: dict[str, Any] = {"status": {"before": before, "after": status.value}}
        await self.audit.record(actor, action, reminder, changes)
        return reminder


@dataclass(frozen=True)
class Letter:
    reminder_id: int
    addressee: str
    postal_address: str
    text: str


class PostalBatches:
    """Letters accumulate into one batch per day of the region's calendar, for a mailing house."""

    def __init__(self, session: AsyncSession, zone: ZoneInfo) -> None:
        self.zone = zone
        self.reminders = ReminderRepository.from_session(session)
        self.patients = PatientRepository.from_session(session)

    def _day_bounds(self, day: date) -> tuple[datetime, datetime]:
        start = datetime.combine(day, time(0), tzinfo=self.zone)
        return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)

    async def days(self, since: date) -> list[tuple[date, int]]:
        """(day, letters) for each day from `since` that has letters, latest first."""
        counts: dict[date, int] = {}
        for sent_at in await self.reminders.letter_times(self._day_bounds(since)[0]):
            day = sent_at.astimezone(self.zone).date()
            counts[day] = counts.get(day, 0) + 1
        return sorted(counts.items(), reverse=True)

    async def letters(self, day: date) -> list[Letter]:
        rows = await self.reminders.letters(*self._day_bounds(day))
        patients = await self.patients.get_many([row.patient_id for row in rows])
        return [
            Letter(
                reminder_id=row.id,  # type: ignore[arg-type]
                addressee=_full_name(patients[row.patient_id]),
                postal_address=row.recipient or "",
                text=row.body or "",
            )
            for row in rows
        ]


def _full_name(patient: Patient) -> str:
    return " ".join(filter(None, [patient.last_name, patient.first_name, patient.middle_name]))
