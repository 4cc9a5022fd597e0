"""Tests for cases.supervision.schedule: the order's schedules and durations, and the windows
they plan."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from cases.supervision.schedule import (
    Duration,
    Frequency,
    Schedule,
    add_months,
    parse_duration,
    parse_schedule,
)


@pytest.mark.parametrize(
    "text",
    [
        "per_year:1",
        "per_year:4",
        "every_months:6",
        "every_years:2",
        "phases:every_months:3@12;every_months:6",
        "phases:every_months:6@24;per_year:1",
        "clinical",
    ],
)
def test_a_schedule_reads_back_as_it_was_written(text: str) -> None:
    assert str(parse_schedule(text)) == text


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("per_year:0", "between 1 and 52"),
        ("per_year:53", "between 1 and 52"),
        ("twice", "not a frequency"),
        ("phases:per_year:2", "at least two parts"),
        ("phases:per_year:2;per_year:1", "needs @months"),
        ("phases:per_year:2@12;per_year:1@12", "last phase"),
    ],
)
def test_a_bad_schedule_says_what_is_wrong(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_schedule(text)


def test_every_three_months_in_the_first_year_then_every_six() -> None:
    # given
    schedule = parse_schedule("phases:every_months:3@12;every_months:6")
    opened = date(2025, 1, 15)

    # when
    dues = [due for due, _ in zip(schedule.due_dates(opened), range(7), strict=False)]

    # then
    assert [due for due, _ in dues] == [
        date(2025, 4, 15),
        date(2025, 7, 15),
        date(2025, 10, 15),
        date(2026, 1, 15),
        date(2026, 7, 15),
        date(2027, 1, 15),
        date(2027, 7, 15),
    ]
    assert schedule.frequency_on(opened, date(2025, 12, 31)) == Frequency("every_months", 3)
    assert schedule.frequency_on(opened, date(2026, 1, 15)) == Frequency("every_months", 6)


def test_a_case_opened_eleven_months_ago_plans_its_second_year() -> None:
    # given: opened eleven months before today, so its first year ends next month
    schedule = parse_schedule("phases:every_months:3@12;every_months:6")
    today = date(2026, 12, 4)
    opened = add_months(today, -11)

    # when
    windows = schedule.windows(opened, today)

    # then: the first year's last visit, on its anniversary, then every six months
    assert windows == [
        (date(2027, 1, 4), date(2027, 2, 3)),
        (date(2027, 7, 4), date(2027, 8, 3)),
    ]


def test_the_plan_reaches_a_year_ahead_and_keeps_the_open_window() -> None:
    # given: four visits a year, the last due a week ago and its window still open
    schedule = Schedule.per_year(4)
    opened = date(2025, 11, 27)

    # when
    windows = schedule.windows(opened, today=date(2026, 12, 4))

    # then
    assert windows == [
        (date(2026, 11, 27), date(2026, 12, 27)),
        (date(2027, 2, 27), date(2027, 3, 29)),
        (date(2027, 5, 27), date(2027, 6, 26)),
        (date(2027, 8, 27), date(2027, 9, 26)),
        (date(2027, 11, 27), date(2027, 12, 27)),
    ]


def test_every_two_years_and_monthly_windows_do_not_overlap() -> None:
    assert parse_schedule("every_years:2").windows(date(2025, 6, 1), date(2026, 12, 4)) == [
        (date(2027, 6, 1), date(2027, 7, 1))
    ]
    monthly = Schedule.per_year(12).windows(date(2026, 1, 31), date(2026, 2, 1), months=2)
    assert all(end < start for (_, end), (start, _) in itertools.pairwise(monthly))


def test_a_stricter_schedule_asks_for_more_visits_sooner() -> None:
    assert Schedule.per_year(2).intensity() > Schedule.per_year(1).intensity()
    assert parse_schedule("phases:every_months:3@12;every_months:6").intensity() > (
        parse_schedule("phases:every_months:6@12;per_year:1").intensity()
    )


def test_a_clinical_schedule_plans_nothing_by_itself() -> None:
    with pytest.raises(ValueError, match="clinical"):
        parse_schedule("clinical").windows(date(2026, 1, 1), date(2026, 12, 4))


@pytest.mark.parametrize(
    ("text", "review_on"),
    [
        ("lifelong", None),
        ("individual", None),
        ("until_surgery", None),
        ("months:12", date(2027, 3, 31)),
        ("years:5:since_last_exacerbation", date(2031, 3, 31)),
        ("months:12:after_recovery", date(2027, 3, 31)),
    ],
)
def test_only_a_fixed_duration_has_a_review_date(text: str, review_on: date | None) -> None:
    duration = parse_duration(text)
    assert str(duration) == text
    assert duration.review_on(date(2026, 3, 31)) == review_on


@pytest.mark.parametrize(
    ("text", "complaint"),
    [("forever", "not a duration"), ("years:5:eventually", "qualifier"), ("months:0", "between")],
)
def test_a_bad_duration_says_what_is_wrong(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_duration(text)


def test_a_duration_in_years_counts_its_months() -> None:
    duration = parse_duration("years:3:without_relapse")
    assert duration == Duration("fixed", 3, "years", "without_relapse")
    assert duration.months == 36
