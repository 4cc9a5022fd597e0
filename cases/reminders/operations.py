"""Operators' actions on the outbox, inbound SMS replies and the day's postal batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from cases.audit.service import AuditLog
from cases.kit.actor import Actor
from cases.kit.columns import utcnow
from cases.kit.dates import plausible
from cases.kit.errors import InvalidState, NotFound
from cases.kit.paging import PageQuery, PageRequest
from cases.patients.models import Channel, Patient
from cases.patients.repository import PatientRepository
from cases.patients.service import PatientService
from cases.reminders.models import (
    Reminder,
    ReminderStatus,
)
from cases.reminders.repository import (
    InformingEventRepository,
    InformingFilter,
    ReminderFilter,
    ReminderRepository,
)
from cases.supervision.policy import CaseRules

# Words that, sent back by SMS, withdraw consent to SMS (compared in upper case).
STOP_WORDS: Final = frozenset({"STOP", "СТОП", "ОТПИСКА", "UNSUBSCRIBE"})


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
            raise NotFound("no such reminder", field="reminder_id")
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
                f"the reminder is {reminder.status.value}; this needs it {names}",
                field="reminder_id",
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
        plausible(since, "since")
        counts: dict[date, int] = {}
        for sent_at in await self.reminders.letter_times(self._day_bounds(since)[0]):
            day = sent_at.astimezone(self.zone).date()
            counts[day] = counts.get(day, 0) + 1
        return sorted(counts.items(), reverse=True)

    async def letters(self, day: date) -> list[Letter]:
        plausible(day, "day")
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
