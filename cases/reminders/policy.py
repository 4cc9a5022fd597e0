"""When, how and through which channel a patient is reminded; the Russian templates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Protocol
from zoneinfo import ZoneInfo

from cases.patients.models import Channel
from cases.reminders.models import (
    ReminderKind,
)


class ContactData(Protocol):
    """A patient's contact data: an entity, or a row that selected these columns."""

    @property
    def phone(self) -> str | None: ...
    @property
    def email(self) -> str | None: ...
    @property
    def postal_address(self) -> str | None: ...


class ChannelConsent(Protocol):
    @property
    def channel(self) -> Channel: ...
    @property
    def granted(self) -> bool: ...


def reachability_of(patient: ContactData, consents: Iterable[ChannelConsent]) -> Reachability:
    """What contact data the patient has and which channels they have not withdrawn."""
    return Reachability(
        phone=patient.phone is not None,
        email=patient.email is not None,
        postal_address=patient.postal_address is not None,
        consents={consent.channel: consent.granted for consent in consents},
    )


_APPOINTMENT_KINDS: Final[Mapping[int, ReminderKind]] = {
    3: ReminderKind.APPOINTMENT_3_DAYS,
    1: ReminderKind.APPOINTMENT_1_DAY,
}


@dataclass(frozen=True)
class ReminderPolicy:
    """When reminders go out and on which channels; every field is configurable."""

    invite_on_window_open: bool = True
    # Only 3 and 1 have a reminder kind and a template of their own.
    appointment_reminder_days: tuple[int, ...] = (3, 1)
    rebooking_after_miss_days: int = 1
    call_task_after_miss_days: int = 7
    ladder: tuple[Channel, ...] = (Channel.SMS, Channel.EMAIL, Channel.VOICE_CALL, Channel.POST)
    # Patient's local time: messages go out in [quiet_start, quiet_end).
    quiet_start: time = time(9)
    quiet_end: time = time(20)
    # Representatives' working hours, for call tasks.
    work_start: time = time(9)
    work_end: time = time(18)

    def __post_init__(self) -> None:
        unknown = [
            days for days in self.appointment_reminder_days if days not in _APPOINTMENT_KINDS
        ]
        if unknown:
            raise ValueError(
                f"appointment_reminder_days may only hold 3 and 1 (one template each), got {unknown}"
            )
        if len(set(self.appointment_reminder_days)) != len(self.appointment_reminder_days):
            raise ValueError("appointment_reminder_days must not repeat a day")
        if self.rebooking_after_miss_days < 0 or self.call_task_after_miss_days < 0:
            raise ValueError("days after a miss must not be negative")
        if not self.ladder or len(set(self.ladder)) != len(self.ladder):
            raise ValueError("ladder must list at least one channel, each once")
        if self.quiet_start >= self.quiet_end:
            raise ValueError("quiet_start must be before quiet_end")
        if self.work_start >= self.work_end:
            raise ValueError("work_start must be before work_end")


@dataclass(frozen=True)
class Reachability:
    """What contact data a patient has and which channels they consented to.

    A channel with no entry in `consents` counts as consented (consent to be informed is
    given at enrolment); an entry set to False (withdrawn) excludes the channel.
    """

    phone: bool
    email: bool
    postal_address: bool
    consents: Mapping[Channel, bool]

    def allows(self, channel: Channel) -> bool:
        """Whether the patient can be reached on `channel` and has not withdrawn consent for it."""
        has_contact = {
            Channel.SMS: self.phone,
            Channel.EMAIL: self.email,
            # A representative's call task still needs a number to dial.
            Channel.VOICE_CALL: self.phone,
            Channel.POST: self.postal_address,
        }[channel]
        return has_contact and self.consents.get(channel, True)


@dataclass(frozen=True)
class PlannedReminder:
    """A reminder to write to the outbox; `scheduled_for` is an aware UTC instant."""

    kind: ReminderKind
    channel: Channel
    template: str
    scheduled_for: datetime
    idempotency_key: str


def first_channel(policy: ReminderPolicy, reachability: Reachability) -> Channel | None:
    """The first rung of the policy's ladder the patient can be reached on, or None."""
    return next((channel for channel in policy.ladder if reachability.allows(channel)), None)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _at_local(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _planned(
    visit_id: int, kind: ReminderKind, channel: Channel, day: date, at: time, zone: ZoneInfo
) -> PlannedReminder:
    return PlannedReminder(
        kind=kind,
        channel=channel,
        template=kind.value,
        scheduled_for=_at_local(day, at, zone),
        idempotency_key=reminder_key(visit_id, kind, day),
    )


def reminder_key(visit_id: int, kind: ReminderKind, day: date) -> str:
    """A visit's reminder of one kind on one local date: the key depends on nothing else, so
    recomputing a plan yields the same keys and the outbox's unique constraint turns replays
    into no-ops."""
    return f"visit:{visit_id}:{kind.value}:{day.isoformat()}"


def reminders_for_visit(
    policy: ReminderPolicy,
    *,
    visit_id: int,
    window_start: date,
    appointment_at: datetime | None,
    zone: ZoneInfo,
    reachability: Reachability,
    now: datetime,
) -> list[PlannedReminder]:
    """The invitation and appointment reminders a planned visit implies, earliest first.

    Each goes out at `quiet_start` in the patient's zone; those already before `now` are
    dropped. Returns [] when no channel reaches the patient (the caller raises a work item
    instead: `SupervisionService`).
    """
    _require_aware(now, "now")
    channel = first_channel(policy, reachability)
    if channel is None:
        return []
    planned: list[PlannedReminder] = []
    if policy.invite_on_window_open:
        planned.append(
            _planned(
                visit_id, ReminderKind.INVITATION, channel, window_start, policy.quiet_start, zone
            )
        )
    if appointment_at is not None:
        _require_aware(appointment_at, "appointment_at")
        appointment_day = appointment_at.astimezone(zone).date()
        for days in policy.appointment_reminder_days:
            planned.append(
                _planned(
                    visit_id,
                    _APPOINTMENT_KINDS[days],
                    channel,
                    appointment_day - timedelta(days=days),
                    policy.quiet_start,
                    zone,
                )
            )
    return sorted(
        (reminder for reminder in planned if reminder.scheduled_for >= now),
        key=lambda reminder: reminder.scheduled_for,
    )


def reminders_after_miss(
    policy: ReminderPolicy,
    *,
    visit_id: int,
    missed_on: date,
    zone: ZoneInfo,
    reachability: Reachability,
    now: datetime,
) -> list[PlannedReminder]:
    """The re-booking reminder and the representative's call task that a missed visit implies.

    The re-booking reminder goes on the first reachable channel at `quiet_start`; the call
    task (channel VOICE_CALL, at `work_start`) only when the patient has a phone and has not
    withdrawn voice-call consent. Either is dropped when already before `now`.
    """
    _require_aware(now, "now")
    planned: list[PlannedReminder] = []
    channel = first_channel(policy, reachability)
    if channel is not None:
        planned.append(
            _planned(
                visit_id,
                ReminderKind.REBOOKING,
                channel,
                missed_on + timedelta(days=policy.rebooking_after_miss_days),
                policy.quiet_start,
                zone,
            )
        )
    if reachability.allows(Channel.VOICE_CALL):
        planned.append(
            _planned(
                visit_id,
                ReminderKind.CALL_TASK,
                Channel.VOICE_CALL,
                missed_on + timedelta(days=policy.call_task_after_miss_days),
                policy.work_start,
                zone,
            )
        )
    return sorted(
        (reminder for reminder in planned if reminder.scheduled_for >= now),
        key=lambda reminder: reminder.scheduled_for,
    )


def next_allowed_send_time(at: datetime, zone: ZoneInfo, start: time, end: time) -> datetime:
    """The earliest instant from `at` that falls in [start, end) of `zone`'s local time, in UTC."""
    _require_aware(at, "at")
    if start >= end:
        raise ValueError("start must be before end")
    local = at.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start <= clock < end:
        return at.astimezone(UTC)
    day = local.date() if clock < start else local.date() + timedelta(days=1)
    return _at_local(day, start, zone)


# GSM 03.38 default alphabet (one septet each) and its extension table (escape + septet).
_GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


_GSM7_EXTENSION: Final = frozenset("^{}\\[~]|€\f")


def _segments(units: Sequence[int], single: int, part: int) -> int:
    if not units:
        return 0
    if sum(units) <= single:
        return 1
    # A character (an escape pair, a surrogate pair) is never split across two parts.
    parts, used = 1, 0
    for size in units:
        if used + size > part:
            parts, used = parts + 1, 0
        used += size
    return parts


def sms_segments(text: str) -> int:
    """How many SMS parts `text` needs (0 for empty text).

    GSM-7 when every character is in the GSM 03.38 alphabet: 160 septets in one message,
    153 per part when split; extension characters (€ [ ] { } ^ ~ \\ |) take two. Anything
    else (Cyrillic) needs UCS-2: 70 characters, 67 per part; characters outside the Basic
    Multilingual Plane take two.
    """
    if all(char in _GSM7_BASIC or char in _GSM7_EXTENSION for char in text):
        return _segments([2 if char in _GSM7_EXTENSION else 1 for char in text], 160, 153)
    return _segments([1 if ord(char) <= 0xFFFF else 2 for char in text], 70, 67)


MESSAGE_TEMPLATES: Final[dict[str, str]] = {
    ReminderKind.INVITATION.value: (
        "Здравствуйте, {name}! Пора пройти диспансерный приём в {clinic} "
        "с {window_start} по {window_end}. Запишитесь заранее. Вопросы: {hotline}."
    ),
    ReminderKind.APPOINTMENT_3_DAYS.value: (
        "Здравствуйте, {name}! Напоминаем: {appointment_date} в {appointment_time} "
        "вас ждут на диспансерном приёме в {clinic}. Не сможете прийти — сообщите: {hotline}."
    ),
    ReminderKind.APPOINTMENT_1_DAY.value: (
        "Здравствуйте, {name}! Завтра, {appointment_date}, в {appointment_time} "
        "ваш диспансерный приём в {clinic}. Перенести: {hotline}."
    ),
    ReminderKind.REBOOKING.value: (
        "Здравствуйте, {name}! Мы не видим отметки о вашем диспансерном приёме в {clinic}. "
        "Пожалуйста, запишитесь на новую дату. Помощь: {hotline}."
    ),
    # For the representative, never sent to the patient.
    ReminderKind.CALL_TASK.value: (
        "Позвоните пациенту {name}: пропущен диспансерный приём в {clinic} "
        "({window_start} — {window_end}). Помогите записаться на новую дату и отметьте итог звонка."
    ),
}


def render(template: str, **values: str) -> str:
    """The text of message `template` filled with `values`.

    Raises KeyError for an unknown template or a missing value.
    """
    try:
        text = MESSAGE_TEMPLATES[template]
    except KeyError:
        known = ", ".join(sorted(MESSAGE_TEMPLATES))
        raise KeyError(f"unknown message template {template!r} (known: {known})") from None
    try:
        return text.format(**values)
    except KeyError as missing:
        raise KeyError(
            f"message template {template!r} needs a value for {missing.args[0]!r}"
        ) from None
