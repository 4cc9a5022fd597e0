"""Tests for cases.supervision.calendar: the 3-working-day start of Order 168н п. 4 on the
Russian production calendar."""

from __future__ import annotations

from datetime import date

import pytest

from cases.supervision.calendar import opened_late, start_deadline


def test_a_friday_diagnosis_before_a_holiday_monday_is_due_by_thursday() -> None:
    # given: Friday 6 March 2026; Sunday 8 March is Women's Day, observed on Monday 9 March
    diagnosed = date(2026, 3, 6)

    # then: the working days are 10, 11 and 12 March
    assert start_deadline(diagnosed) == date(2026, 3, 12)
    assert not opened_late(diagnosed, date(2026, 3, 12))
    assert opened_late(diagnosed, date(2026, 3, 13))


@pytest.mark.parametrize(
    ("diagnosed", "deadline"),
    [
        # 31 December 2026 is a transferred day off, then the New Year holidays to 8 January
        (date(2026, 12, 29), date(2027, 1, 12)),
        # Saturday 20 February 2027 is a working day (its Monday 22nd is off instead)
        (date(2027, 2, 18), date(2027, 2, 24)),
        # an ordinary week
        (date(2026, 12, 1), date(2026, 12, 4)),
    ],
)
def test_transferred_days_off_and_working_saturdays_count(diagnosed: date, deadline: date) -> None:
    assert start_deadline(diagnosed) == deadline


def test_no_diagnosis_date_is_never_late() -> None:
    assert not opened_late(None, date(2026, 12, 4))
