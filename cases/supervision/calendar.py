"""Working days of the Russian production calendar, for the order's deadlines (168н п. 4:
supervision is established within 3 working days of the diagnosis or the discharge summary).

The calendar is the `holidays` package's Russian one, with its transferred days off and working
Saturdays; a year whose transfers the government has not yet published has only its fixed
holidays and weekends.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Final

import holidays

# Working days after the diagnosis (or the hospital's discharge summary) within which
# supervision must be established.
START_WORKING_DAYS: Final = 3


@lru_cache(maxsize=8)
def _calendar(year: int) -> holidays.HolidayBase:
    # Two years, so that a count that starts in late December runs on into January.
    return holidays.country_holidays("RU", years=(year, year + 1))


def nth_working_day_after(day: date, n: int) -> date:
    """The n-th working day after `day` (the day itself not counted)."""
    return _calendar(day.year).get_nth_working_day(day, n)


def start_deadline(diagnosed_on: date) -> date:
    """The last day on which supervision of a condition diagnosed on `diagnosed_on` starts in
    time."""
    return nth_working_day_after(diagnosed_on, START_WORKING_DAYS)


def opened_late(diagnosed_on: date | None, opened_on: date) -> bool:
    """Whether supervision opened on `opened_on` missed the order's start deadline."""
    return diagnosed_on is not None and opened_on > start_deadline(diagnosed_on)
