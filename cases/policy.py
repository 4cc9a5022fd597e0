"""Pure supervision rules: visit windows, visits per year, reminder plans, quiet hours, SMS size."""

from __future__ import annotations

import csv
import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from cases.models import Channel, ReminderKind, WorkItemKind

__all__ = [
    "APPEAL_ANSWER_DAYS",
    "APPEAL_MAX_EXTENSION_DAYS",
    "APPEAL_NEAR_DEADLINE_DAYS",
    "APPEAL_REGISTRATION_DAYS",
    "MAX_VISITS_PER_YEAR",
    "MESSAGE_TEMPLATES",
    "SUPERVISION_RULES_PATH",
    "AppealDeadlineStage",
    "AppealDeadlines",
    "PlannedReminder",
    "Reachability",
    "ReminderPolicy",
    "SupervisionRuleRow",
    "add_months",
    "appeal_deadline_priority",
    "appeal_deadline_stage",
    "appeal_deadlines",
    "extended_answer_due",
    "first_channel",
    "load_supervision_rules",
    "match_rule",
    "missed_visit_dedup_key",
    "missed_visit_work_item",
    "next_allowed_send_time",
    "next_window_after",
    "plan_visit_windows",
    "reminders_after_miss",
    "reminders_for_visit",
    "render",
    "resolve_visits_per_year",
    "sms_segments",
    "window_days",
]

MAX_VISITS_PER_YEAR: Final = 52
_MAX_WINDOW_DAYS: Final = 30


# --- Visit plan ---------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months, the day clamped to the target month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    next_month_first = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    last_day = (next_month_first - timedelta(days=1)).day
    return date(year, month, min(day.day, last_day))


def _check_visits_per_year(visits_per_year: int) -> None:
    if not 1 <= visits_per_year <= MAX_VISITS_PER_YEAR:
        raise ValueError(
            f"visits per year must be between 1 and {MAX_VISITS_PER_YEAR}, got {visits_per_year}"
        )


def _spacing_months(visits_per_year: int) -> int | None:
    """Whole months between visits when the year divides evenly, else None (spacing in days)."""
    return 12 // visits_per_year if 12 % visits_per_year == 0 else None


def _spacing_days(visits_per_year: int) -> int:
    return round(365 / visits_per_year)


def _due_date(anchor: date, visits_per_year: int, k: int) -> date:
    """The k-th due date, counted from `anchor` itself so month-end clamping never drifts."""
    months = _spacing_months(visits_per_year)
    if months is not None:
        return add_months(anchor, k * months)
    return anchor + timedelta(days=k * _spacing_days(visits_per_year))


def window_days(visits_per_year: int) -> int:
    """How many days after its start a visit window ends (the end date is inclusive).

    30 days, or fewer when visits are so frequent that the next window would start inside
    this one: one day less than the shortest possible gap between two due dates (28 days
    for monthly visits, since February can be that short).
    """
    _check_visits_per_year(visits_per_year)
    months = _spacing_months(visits_per_year)
    shortest_gap = 28 * months if months is not None else _spacing_days(visits_per_year)
    return min(_MAX_WINDOW_DAYS, shortest_gap - 1)


def plan_visit_windows(
    opened_on: date, visits_per_year: int, today: date, count: int = 1
) -> list[tuple[date, date]]:
    """The next `count` visit windows (start, inclusive end) of a case opened on `opened_on`.

    Due dates fall every 12/visits_per_year months after `opened_on` (every
    round(365/visits_per_year) days when that is not a whole number of months). A window
    that would already be over by `today` is skipped, so the first window returned is
    either current or in the future.
    """
    _check_visits_per_year(visits_per_year)
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    length = timedelta(days=window_days(visits_per_year))
    k = 1
    while _due_date(opened_on, visits_per_year, k) + length < today:
        k += 1
    windows: list[tuple[date, date]] = []
    for offset in range(count):
        start = _due_date(opened_on, visits_per_year, k + offset)
        windows.append((start, start + length))
    return windows


def next_window_after(attended_on: date, visits_per_year: int) -> tuple[date, date]:
    """The window that attending a visit on `attended_on` schedules: one spacing later."""
    _check_visits_per_year(visits_per_year)
    start = _due_date(attended_on, visits_per_year, 1)
    return start, start + timedelta(days=window_days(visits_per_year))


# --- Visits per year and the supervision rules table ---------------------------------------

SUPERVISION_RULES_PATH: Final = Path(__file__).parent / "data" / "supervision_rules.csv"
_RULE_COLUMNS: Final = ("icd10_prefix", "min_visits_per_year", "specialty", "source", "verified")
_ICD10_PREFIX: Final = re.compile(r"^[A-Z][0-9]{2}(\.[0-9]{1,2})?$")
# Column sizes of the supervision_rule table, so a loaded row always fits.
_MAX_SPECIALTY: Final = 100
_MAX_SOURCE: Final = 300


@dataclass(frozen=True)
class SupervisionRuleRow:
    """A rules-table row: ICD-10 prefix, minimum visits per year and supervising specialty."""

    icd10_prefix: str
    min_visits_per_year: int
    specialty: str
    source: str
    # True only for rows read from the official text of Order 168н.
    verified: bool


def match_rule(icd10: str, rules: Sequence[SupervisionRuleRow]) -> SupervisionRuleRow | None:
    """The rule with the longest ICD-10 prefix that `icd10` starts with, or None."""
    code = icd10.strip().upper()
    best: SupervisionRuleRow | None = None
    for rule in rules:
        if code.startswith(rule.icd10_prefix) and (
            best is None or len(rule.icd10_prefix) > len(best.icd10_prefix)
        ):
            best = rule
    return best


def resolve_visits_per_year(
    clinic_plan: int | None, rule: SupervisionRuleRow | None, default: int
) -> tuple[int, bool]:
    """(visits per year, below_minimum): the clinic's plan, else the rule's minimum, else `default`.

    A clinic plan below the rule's minimum is accepted; the flag says so.
    """
    if clinic_plan is not None:
        _check_visits_per_year(clinic_plan)
        below_minimum = rule is not None and clinic_plan < rule.min_visits_per_year
        return clinic_plan, below_minimum
    if rule is not None:
        return rule.min_visits_per_year, False
    _check_visits_per_year(default)
    return default, False


def _parse_rule(row: dict[str, str | None], where: str) -> SupervisionRuleRow:
    values = {column: (row.get(column) or "").strip() for column in _RULE_COLUMNS}
    if None in row:
        raise ValueError(f"{where}: more fields than the {len(_RULE_COLUMNS)} columns")
    prefix = values["icd10_prefix"]
    if not _ICD10_PREFIX.match(prefix):
        raise ValueError(
            f"{where}: icd10_prefix {prefix!r} is not a letter, two digits and an optional .subcode"
        )
    try:
        minimum = int(values["min_visits_per_year"])
    except ValueError:
        raise ValueError(
            f"{where}: min_visits_per_year {values['min_visits_per_year']!r} is not a whole number"
        ) from None
    if not 1 <= minimum <= MAX_VISITS_PER_YEAR:
        raise ValueError(
            f"{where}: min_visits_per_year must be between 1 and {MAX_VISITS_PER_YEAR}, got {minimum}"
        )
    specialty, source = values["specialty"], values["source"]
    if not specialty or len(specialty) > _MAX_SPECIALTY:
        raise ValueError(f"{where}: specialty must be 1..{_MAX_SPECIALTY} characters")
    if not source or len(source) > _MAX_SOURCE:
        raise ValueError(f"{where}: source must be 1..{_MAX_SOURCE} characters")
    if values["verified"] not in ("true", "false"):
        raise ValueError(f"{where}: verified must be 'true' or 'false', got {values['verified']!r}")
    return SupervisionRuleRow(
        icd10_prefix=prefix,
        min_visits_per_year=minimum,
        specialty=specialty,
        source=source,
        verified=values["verified"] == "true",
    )


def load_supervision_rules(path: Path | None = None) -> list[SupervisionRuleRow]:
    """Read and validate the rules table (by default the one shipped in `cases/data`).

    Raises ValueError naming the file and line of the first bad row.
    """
    path = path or SUPERVISION_RULES_PATH
    rules: list[SupervisionRuleRow] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        if tuple(reader.fieldnames or ()) != _RULE_COLUMNS:
            raise ValueError(
                f"{path.name} line 1: header must be {','.join(_RULE_COLUMNS)}, "
                f"got {','.join(reader.fieldnames or ())}"
            )
        for row in reader:
            where = f"{path.name} line {reader.line_num}"
            rule = _parse_rule(row, where)
            if rule.icd10_prefix in seen:
                raise ValueError(
                    f"{where}: icd10_prefix {rule.icd10_prefix} repeats line {seen[rule.icd10_prefix]}"
                )
            seen[rule.icd10_prefix] = reader.line_num
            rules.append(rule)
    return rules


# --- Reminders ----------------------------------------------------------------------------

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
    # The key depends only on the visit, the kind and the local date, so recomputing a plan
    # yields the same keys and the outbox's unique constraint turns replays into no-ops.
    return PlannedReminder(
        kind=kind,
        channel=channel,
        template=kind.value,
        scheduled_for=_at_local(day, at, zone),
        idempotency_key=f"visit:{visit_id}:{kind.value}:{day.isoformat()}",
    )


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
    dropped. Returns [] when no channel reaches the patient (the caller raises a work item).
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


# --- SMS length ---------------------------------------------------------------------------

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


# --- Message templates --------------------------------------------------------------------

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


def missed_visit_work_item(*, second_in_a_row: bool) -> tuple[WorkItemKind, int]:
    """What a missed visit puts on the worklist: a second miss in a row escalates (priority 1)."""
    if second_in_a_row:
        return WorkItemKind.ESCALATION, 1
    return WorkItemKind.MISSED_VISIT, 2


def missed_visit_dedup_key(visit_id: int) -> str:
    """One work item per missed visit, however often the miss is flagged."""
    return f"missed:{visit_id}"


# --- Appeals (59-ФЗ) -------------------------------------------------------------------------

# Calendar days: weekends and holidays count like any other day, and a due date that falls
# on a Saturday stays there.
APPEAL_REGISTRATION_DAYS: Final = 3
APPEAL_ANSWER_DAYS: Final = 30
APPEAL_MAX_EXTENSION_DAYS: Final = 30
APPEAL_NEAR_DEADLINE_DAYS: Final = 5


@dataclass(frozen=True)
class AppealDeadlines:
    registration_due: date
    answer_due: date


def appeal_deadlines(received_on: date, registered_on: date) -> AppealDeadlines:
    """Registration within 3 days of receipt; the answer within 30 days of registration."""
    return AppealDeadlines(
        registration_due=received_on + timedelta(days=APPEAL_REGISTRATION_DAYS),
        answer_due=registered_on + timedelta(days=APPEAL_ANSWER_DAYS),
    )


def extended_answer_due(answer_due: date, days: int) -> date:
    """The answer deadline after the one extension the law allows (1 to 30 days)."""
    if not 1 <= days <= APPEAL_MAX_EXTENSION_DAYS:
        raise ValueError(f"an extension is 1 to {APPEAL_MAX_EXTENSION_DAYS} days, not {days}")
    return answer_due + timedelta(days=days)


class AppealDeadlineStage(enum.StrEnum):
    NEAR = "near"
    OVERDUE = "overdue"


def appeal_deadline_priority(stage: AppealDeadlineStage) -> int:
    """An overdue appeal is the most urgent item a representative has; a near one comes next."""
    return 1 if stage is AppealDeadlineStage.OVERDUE else 2


def appeal_deadline_stage(
    answer_due: date, today: date, near_days: int
) -> AppealDeadlineStage | None:
    if answer_due < today:
        return AppealDeadlineStage.OVERDUE
    if (answer_due - today).days <= near_days:
        return AppealDeadlineStage.NEAR
    return None
