"""The visit plan: windows from a frequency, and the case rules a deployment configures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from cases.kit.columns import utcnow
from cases.reminders.policy import ReminderPolicy
from cases.supervision.schedule import Frequency, check_visits_per_year


@dataclass(frozen=True)
class CaseRules:
    """The configurable parts of the rules: reminder policy, default frequency, the region's zone,
    and the clock that says what "now" is (fixed in tests)."""

    policy: ReminderPolicy = field(default_factory=ReminderPolicy)
    default_visits_per_year: int = 1
    default_zone: str = "Europe/Moscow"
    clock: Callable[[], datetime] = utcnow

    def today(self) -> date:
        """Today in the region (never the server's local date)."""
        return self.clock().astimezone(ZoneInfo(self.default_zone)).date()


# Days after a window ends before its visit counts as missed, unless a deployment sets its own
# (`GRACE_PERIOD_DAYS`).
DEFAULT_GRACE_DAYS: Final = 7


def due_date(anchor: date, visits_per_year: int, k: int) -> date:
    """The k-th due date of `visits_per_year` visits a year, counted from `anchor`."""
    return Frequency("per_year", visits_per_year).due(anchor, k)


def window_days(visits_per_year: int) -> int:
    """How many days after its start a visit window ends (the end date is inclusive)."""
    return Frequency("per_year", visits_per_year).window_days


def plan_visit_windows(
    opened_on: date, visits_per_year: int, today: date, count: int = 1
) -> list[tuple[date, date]]:
    """The next `count` visit windows (start, inclusive end) of a case opened on `opened_on`.

    Due dates fall every 12/visits_per_year months after `opened_on` (every
    round(365/visits_per_year) days when that is not a whole number of months). A window
    that would already be over by `today` is skipped, so the first window returned is
    either current or in the future.
    """
    check_visits_per_year(visits_per_year)
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    length = timedelta(days=window_days(visits_per_year))
    k = 1
    while due_date(opened_on, visits_per_year, k) + length < today:
        k += 1
    windows: list[tuple[date, date]] = []
    for offset in range(count):
        start = due_date(opened_on, visits_per_year, k + offset)
        windows.append((start, start + length))
    return windows


def next_window_after(attended_on: date, visits_per_year: int) -> tuple[date, date]:
    """The window that attending a visit on `attended_on` schedules: one spacing later."""
    check_visits_per_year(visits_per_year)
    start = due_date(attended_on, visits_per_year, 1)
    return start, start + timedelta(days=window_days(visits_per_year))
