"""Tests for cases.supervision.policy: the visit windows of a case."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import pytest

from cases.supervision.policy import next_window_after, plan_visit_windows, window_days
from cases.supervision.schedule import add_months


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2025, 8, 31), 6, date(2026, 2, 28)),
        (date(2023, 8, 31), 6, date(2024, 2, 29)),
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2025, 3, 31), 1, date(2025, 4, 30)),
        (date(2025, 11, 15), 3, date(2026, 2, 15)),
        (date(2025, 12, 1), 12, date(2026, 12, 1)),
    ],
)
def test_add_months_clamps_to_the_last_day(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("visits_per_year", "expected_starts"),
    [
        (1, [date(2026, 3, 10), date(2027, 3, 10), date(2028, 3, 10)]),
        (2, [date(2025, 9, 10), date(2026, 3, 10), date(2026, 9, 10)]),
        (4, [date(2025, 6, 10), date(2025, 9, 10), date(2025, 12, 10)]),
    ],
)
def test_plan_starts_one_spacing_after_opening(
    visits_per_year: int, expected_starts: list[date]
) -> None:
    # given
    opened_on = date(2025, 3, 10)

    # when
    windows = plan_visit_windows(opened_on, visits_per_year, today=opened_on, count=3)

    # then
    assert [start for start, _ in windows] == expected_starts
    assert all(end == start + timedelta(days=30) for start, end in windows)


@pytest.mark.parametrize("visits_per_year", [1, 2, 3, 4, 5, 6, 12, 26, 52])
def test_plan_is_never_in_the_past_and_windows_never_overlap(visits_per_year: int) -> None:
    # given: a case opened years ago
    opened_on, today = date(2019, 1, 31), date(2025, 5, 20)

    # when
    windows = plan_visit_windows(opened_on, visits_per_year, today, count=6)

    # then
    assert len(windows) == 6
    assert windows[0][1] >= today
    assert all(start <= end for start, end in windows)
    assert all(end < next_start for (_, end), (next_start, _) in pairwise(windows))


def test_plan_skips_windows_already_over_but_keeps_the_current_one() -> None:
    # given: opened a year ago, twice a year; the 2025-09-01 window ends 2025-10-01
    opened_on = date(2025, 3, 1)

    # when
    current = plan_visit_windows(opened_on, 2, today=date(2025, 10, 1))
    next_one = plan_visit_windows(opened_on, 2, today=date(2025, 10, 2))

    # then
    assert current == [(date(2025, 9, 1), date(2025, 10, 1))]
    assert next_one == [(date(2026, 3, 1), date(2026, 3, 31))]


def test_plan_counts_from_the_opening_date_so_month_ends_do_not_drift() -> None:
    # when
    windows = plan_visit_windows(date(2025, 8, 31), 2, today=date(2025, 8, 31), count=3)

    # then
    assert [start for start, _ in windows] == [
        date(2026, 2, 28),
        date(2026, 8, 31),
        date(2027, 2, 28),
    ]


@pytest.mark.parametrize(
    ("visits_per_year", "expected"), [(1, 30), (4, 30), (6, 30), (12, 27), (26, 13), (52, 6)]
)
def test_window_days_shrink_for_frequent_visits(visits_per_year: int, expected: int) -> None:
    assert window_days(visits_per_year) == expected


@pytest.mark.parametrize("visits_per_year", [0, 53, -1])
def test_plan_rejects_impossible_frequencies(visits_per_year: int) -> None:
    with pytest.raises(ValueError, match="visits per year"):
        plan_visit_windows(date(2025, 1, 1), visits_per_year, date(2025, 1, 1))


def test_next_window_after_attendance_is_one_spacing_later() -> None:
    assert next_window_after(date(2025, 8, 31), 2) == (date(2026, 2, 28), date(2026, 3, 30))
    assert next_window_after(date(2025, 1, 10), 1) == (date(2026, 1, 10), date(2026, 2, 9))
