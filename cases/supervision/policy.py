"""The visit plan: windows from a frequency, and the case rules a deployment configures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from cases.kit.columns import utcnow
from cases.reminders.policy import ReminderPolicy


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


MAX_VISITS_PER_YEAR: Final = 52
# Days after a window ends before its visit counts as missed, unless a deployment sets its own
# (`GRACE_PERIOD_DAYS`).
DEFAULT_GRACE_DAYS: Final = 7


_MAX_WINDOW_DAYS: Final = 30


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months, the day clamped to the target month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    next_month_first = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    last_day = (next_month_first - timedelta(days=1)).day
    return date(year, month, min(day.day, last_day))


def check_visits_per_year(visits_per_year: int) -> None:
    if not 1 <= visits_per_year <= MAX_VISITS_PER_YEAR:
        raise ValueError(
            f"visits per year must be between 1 and {MAX_VISITS_PER_YEAR}, got {visits_per_year}"
        )


def _spacing_months(visits_per_year: int) -> int | None:
    """Whole months between visits when the year divides evenly, else None (spacing in days)."""
    return 12 // visits_per_year if 12 % visits_per_year == 0 else None


def _spacing_days(visits_per_year: int) -> int:
    return round(365 / visits_per_year)


def due_date(anchor: date, visits_per_year: int, k: int) -> date:
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
    check_visits_per_year(visits_per_year)
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
